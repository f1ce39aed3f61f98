// SPDX-License-Identifier: GPL-2.0
/*
 * scenario=hostile: a guest that attacks its VMM's devices, phase by phase (kick
 * floods, random values in every register, broken rings, resets under traffic, a
 * triple fault), and proves after each phase that the machine still works: the UART
 * prints, the LAPIC timer ticks, and the NIC moves frames through the echo peer.
 * The VMM passes when it neither crashes, hangs nor spins; what it logs is checked
 * by tests/integration/hostile_guest.sh.
 */
#include "apic.h"
#include "cpu.h"
#include "scn_hostile.h"
#include "smp.h"
#include "trap.h"
#include "vnet.h"

#define VEC_TICK 0x43
#define VEC_AP_TICK 0x44 /* the second CPU's timer */
#define RUN_RESETS 1000	 /* run numbers of frames sent while resetting */
#define CF8_ADDR 0xcf8
#define CF8_DATA 0xcfc
#define PORT_DEBUG_EXIT 0xf4 /* to 0xf7, as QEMU's iosize=4 */
#define DEBUG_EXIT_PORTS 4
#define PORT_I8042_CMD 0x64
#define PORT_PM1A_CNT_HI 0x605
#define PORT_RST_CNT 0xcf9

uint64_t hostile_rand(struct hostile *h)
{
	/* xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift
	 * generators"): deterministic per seed= so a failing run can be repeated. */
	h->rng ^= h->rng >> 12;
	h->rng ^= h->rng << 25;
	h->rng ^= h->rng >> 27;
	return h->rng * 0x2545f4914f6cdd1dULL;
}

static void mmio_write(uint64_t addr, unsigned int width, uint64_t v)
{
	switch (width) {
	case 1:
		mmio_write8(addr, v);
		break;
	case 2:
		mmio_write16(addr, v);
		break;
	case 4:
		mmio_write32(addr, v);
		break;
	default:
		asm volatile("movq %0, (%1)" : : "r"(v), "r"(addr) : "memory");
		break;
	}
}

static void port_write(uint16_t port, unsigned int width, uint32_t v)
{
	if (width == 1)
		outb(port, v);
	else if (width == 2)
		outw(port, v);
	else
		outl(port, v);
}

/* Sets the bits of mask (a byte's worth at byte address at) in v written at addr. */
static uint64_t force_byte_bits(uint64_t addr, unsigned int width, uint64_t v, uint64_t at,
				uint8_t mask, bool set)
{
	uint64_t bit;

	if (at < addr || at >= addr + width)
		return v;
	bit = (uint64_t)mask << (8 * (at - addr));
	return set ? v | bit : v & ~bit;
}

uint8_t hostile_wait_needs_reset(struct hostile *h, uint64_t *ms)
{
	uint64_t t0 = time_ns(), end = t0 + h->timeout_ms * 1000000;
	uint8_t st;

	while (!((st = virtio_status(h->vd)) & VIRTIO_STATUS_NEEDS_RESET) && time_ns() < end)
		cpu_relax();
	*ms = (time_ns() - t0) / 1000000;
	return st;
}

/*
 * The machine still works: the UART prints, this CPU's LAPIC timer ticks, the
 * second CPU (when there is one) still takes its timer interrupts, frames flow.
 */
static void alive(struct hostile *h, const char *after, uint64_t frames)
{
	uint64_t t0 = irq_count[VEC_TICK], ap0 = irq_count[VEC_AP_TICK];

	console_init(); /* the regs phase leaves the UART in any state */
	printf("\nHOSTILE checking after=%s\n", after);
	lapic_timer(VEC_TICK, 50000);
	irq_enable();
	if (!wait_irq_count(&irq_count[VEC_TICK], t0 + 5, 5000))
		tg_fail("hostile: after %s the LAPIC timer stopped (%lu ticks)", after,
			irq_count[VEC_TICK] - t0);
	if (h->ap_id >= 0 && !wait_irq_count(&irq_count[VEC_AP_TICK], ap0 + 5, 5000))
		tg_fail("hostile: after %s the second CPU stopped ticking (%lu ticks)", after,
			irq_count[VEC_AP_TICK] - ap0);
	irq_disable();
	lapic_timer(VEC_TICK, 0);
	if (frames)
		vnet_roundtrip(frames, h->run++);
	printf("HOSTILE alive after=%s uart=ok ticks=%lu ap-ticks=%lu frames=%lu\n", after,
	       irq_count[VEC_TICK] - t0, irq_count[VEC_AP_TICK] - ap0, frames);
}

static uint64_t queue_notify(struct hostile *h, uint16_t q)
{
	mmio_write16(h->vd->common + CC_Q_SELECT, q);
	return h->vd->notify +
	       (uint64_t)mmio_read16(h->vd->common + CC_Q_NOTIFY_OFF) * h->vd->notify_mult;
}

/*
 * Phase (a): kicks as fast as the vCPU can write them. Right-sized kicks of each
 * queue take the ioeventfd path; kicks of other widths and values, kicks of queues
 * that do not exist and kicks of a reset device reach the VMM's MMIO handler.
 */
static void phase_kicks(struct hostile *h, uint64_t n)
{
	uint16_t nq;
	uint64_t other = 0;

	vnet_start();
	nq = mmio_read16(h->vd->common + CC_NUM_QUEUES);
	for (uint16_t q = 0; q < nq; q++) {
		uint64_t a = queue_notify(h, q);

		for (uint64_t i = 0; i < n; i++)
			mmio_write16(a, q);
	}
	for (uint64_t i = 0; i < n; i++) {
		uint16_t q = hostile_rand(h) % (nq + 4);
		uint64_t a = h->vd->notify + (uint64_t)q * h->vd->notify_mult;

		mmio_write(a, 1u << (hostile_rand(h) % 4), hostile_rand(h));
		other++;
	}
	virtio_reset(h->vd);
	for (uint16_t q = 0; q < nq; q++)
		for (uint64_t i = 0; i < n; i++)
			mmio_write16(h->vd->notify + (uint64_t)q * h->vd->notify_mult, q);
	printf("HOSTILE kicks queues=%u per-queue=%lu odd=%lu reset=%lu\n", nq, n, other, n * nq);
}

/* Config space through ECAM when there is one (every width, 4 KiB), else 0xCF8. */
static void cfg_write(uint16_t bdf, unsigned int off, unsigned int width, uint32_t v)
{
	if (pci_ecam_base()) {
		mmio_write(pci_ecam_base() + ((uint64_t)bdf << 12) + off, width, v);
		return;
	}
	outl(CF8_ADDR, 0x80000000u | (uint32_t)bdf << 8 | (off & 0xfc));
	port_write(CF8_DATA + (off & 3), width, v);
}

static uint32_t saved_cfg[HOSTILE_MAX_DEVS][64];

/* Through 0xCF8 only: a random BAR may have landed on the ECAM window. */
static void cfg_save_restore(struct hostile *h, bool restore)
{
	for (int d = 0; d < h->ndevs; d++) {
		uint16_t bdf = h->devs[d].bdf;

		for (unsigned int i = 0; i < 64; i++) {
			unsigned int off = (i + 2) % 64 * 4; /* the command register last */

			outl(CF8_ADDR, 0x80000000u | (uint32_t)bdf << 8 | off);
			if (!restore) {
				saved_cfg[d][off / 4] = inl(CF8_DATA);
			} else if (off == 4) {
				outl(CF8_DATA, saved_cfg[d][1]);
			} else {
				if (i == 0) {
					/* Decoding off while the BARs go back. */
					outl(CF8_ADDR, 0x80000004u | (uint32_t)bdf << 8);
					outw(CF8_DATA, 0);
					outl(CF8_ADDR, 0x80000000u | (uint32_t)bdf << 8 | off);
				}
				outl(CF8_DATA, saved_cfg[d][off / 4]);
			}
		}
	}
}

static uint8_t msix_cap_of(const struct pci_dev *p)
{
	for (int i = 0; i < p->ncaps; i++)
		if (p->cap_id[i] == PCI_CAP_MSIX)
			return p->cap_off[i];
	return 0;
}

/* A register block inside a BAR: a virtio structure, the MSI-X table or PBA. */
struct region {
	uint8_t bar;
	uint32_t off, len;
};

#define MAX_REGIONS (PCI_MAX_CAPS + 2)

/* The virtio capabilities (virtio 1.2, 4.1.4) and MSI-X (PCI 3.0, 6.8.2.4-5) of p. */
static int bar_regions(const struct pci_dev *p, struct region *r)
{
	int n = 0;

	for (int i = 0; i < p->ncaps && n + 2 <= MAX_REGIONS; i++) {
		uint8_t off = p->cap_off[i];

		if (p->cap_id[i] == PCI_CAP_VENDOR) {
			r[n++] = (struct region){pci_read8(p->bdf, off + 4) % 6,
						 pci_read32(p->bdf, off + 8),
						 pci_read32(p->bdf, off + 12)};
		} else if (p->cap_id[i] == PCI_CAP_MSIX) {
			uint32_t entries = (pci_read16(p->bdf, off + 2) & 0x7ff) + 1;
			uint32_t tbl = pci_read32(p->bdf, off + 4),
				 pba = pci_read32(p->bdf, off + 8);

			r[n++] = (struct region){(tbl & 7) % 6, tbl & ~7u, 16 * entries};
			r[n++] = (struct region){(pba & 7) % 6, pba & ~7u,
						 8 * ((entries + 63) / 64)};
		}
	}
	return n;
}

static bool in_region(const struct region *r, int n, int bar, uint64_t off)
{
	for (int i = 0; i < n; i++)
		if (r[i].bar == bar && off >= r[i].off && off - r[i].off < r[i].len)
			return true;
	return false;
}

/*
 * Phase (b): random values of every width at every offset of every function's
 * config space and of every register block in its memory BARs (the virtio
 * structures, the MSI-X table and PBA; the space between them every 64 bytes),
 * then of the legacy ports. Only the bits that
 * would end the run or hit this guest itself are kept clear (README): MSI-X stays
 * function-masked and every table entry masked, so that a random address and data
 * never deliver an INIT or NMI to this vCPU.
 */
static void phase_regs(struct hostile *h, uint64_t stride)
{
	uint64_t cfg_writes = 0, bar_writes = 0, port_writes = 0;
	unsigned int cfg_size = pci_ecam_base() ? 4096 : 256;

	virtio_reset(h->vd);
	irq_disable();
	cfg_save_restore(h, false);
	for (int d = 0; d < h->ndevs; d++) {
		uint8_t msix = msix_cap_of(&h->devs[d]);

		for (unsigned int off = 0; off < cfg_size; off += stride)
			for (unsigned int w = 1; w <= 4; w <<= 1) {
				uint64_t v = hostile_rand(h);

				if (!pci_ecam_base() && (off & 3) + w > 4)
					continue;
				if (msix)
					v = force_byte_bits(off, w, v, msix + 3, 0x40, true);
				cfg_write(h->devs[d].bdf, off, w, v);
				cfg_writes++;
			}
	}
	cfg_save_restore(h, true);
	printf("\nHOSTILE regs config functions=%d writes=%lu\n", h->ndevs, cfg_writes);
	/* Function mask on while the table entries go from valid to random and masked. */
	for (int d = 0; d < h->ndevs; d++) {
		uint8_t msix = msix_cap_of(&h->devs[d]);

		if (msix)
			pci_write16(h->devs[d].bdf, msix + 2,
				    pci_read16(h->devs[d].bdf, msix + 2) | 0x4000);
	}

	for (int d = 0; d < h->ndevs; d++) {
		const struct pci_dev *p = &h->devs[d];
		uint8_t msix = msix_cap_of(p);
		uint64_t tbl = 0, tbl_end = 0;
		struct region regions[MAX_REGIONS];
		int nregions = bar_regions(p, regions);

		if (msix) {
			uint32_t t = pci_read32(p->bdf, msix + 4);

			tbl = p->bar[t & 7].addr + (t & ~7u);
			tbl_end = tbl + 16 * ((pci_read16(p->bdf, msix + 2) & 0x7ff) + 1);
		}
		for (int b = 0; b < 6; b++) {
			const struct pci_bar *bar = &p->bar[b];
			uint64_t before = bar_writes;

			if ((bar->type != BAR_MEM32 && bar->type != BAR_MEM64) || !bar->addr ||
			    bar->addr + bar->size > 0x100000000ULL)
				continue;
			for (uint64_t off = 0; off < bar->size; off += stride) {
				if (off % 64 && !in_region(regions, nregions, b, off))
					continue;
				for (unsigned int w = 1; w <= 8 && off + w <= bar->size; w <<= 1) {
					uint64_t a = bar->addr + off, v = hostile_rand(h);

					/* Vector control bit 0 (PCI 3.0, 6.8.2.9): masked. */
					for (uint64_t e = tbl; e < tbl_end; e += 16)
						v = force_byte_bits(a, w, v, e + 12, 1, true);
					mmio_write(a, w, v);
					bar_writes++;
				}
			}
			printf("\nHOSTILE regs %02x:%02x.%x bar%d size=0x%lx blocks=%d writes=%lu\n",
			       PCI_BUS(p->bdf), PCI_DEV(p->bdf), PCI_FN(p->bdf), b, bar->size,
			       nregions, bar_writes - before);
		}
	}
	cfg_save_restore(h, true);
	printf("\nHOSTILE regs bars writes=%lu\n", bar_writes);

	/*
	 * The legacy ports kvmini emulates, less: 0xf4-0xf7 (debug exit: ends the run), the
	 * i8042 commands 0xd1 (write output port, whose bit 0 is the reset line) and
	 * 0xf0-0xff (pulse the reset line), SLP_EN in PM1a_CNT (power off), RST_CPU
	 * in 0xcf9 (reset). 0xcf8/0xcfc reach random functions' config space.
	 */
	static const uint16_t ports[] = {0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff,
					 0x60,	0x64,  0x70,  0x71,  0x80,  0xed,  0x92,  0x600,
					 0x601, 0x602, 0x603, 0x604, 0x605, 0xcf8, 0xcf9, 0xcfa,
					 0xcfb, 0xcfc, 0xcfd, 0xcfe, 0xcff, 0xf0,  0xf8};
	for (unsigned int i = 0; i < ARRAY_SIZE(ports); i++)
		for (unsigned int rep = 0; rep < 64; rep++)
			for (unsigned int w = 1; w <= 4; w <<= 1) {
				uint16_t port = ports[i];
				uint64_t v = hostile_rand(h);

				if (port < PORT_DEBUG_EXIT + DEBUG_EXIT_PORTS &&
				    port + w > PORT_DEBUG_EXIT)
					continue;
				/* 0xd1 and 0xf0-0xff all have bit 4 set. */
				v = force_byte_bits(port, w, v, PORT_I8042_CMD, 0x10, false);
				v = force_byte_bits(port, w, v, PORT_PM1A_CNT_HI, 0x20, false);
				v = force_byte_bits(port, w, v, PORT_RST_CNT, 0x04, false);
				port_write(port, w, v);
				port_writes++;
			}
	cfg_save_restore(h, true);
	console_init();
	printf("\nHOSTILE regs ports=%u writes=%lu\n", (unsigned int)ARRAY_SIZE(ports),
	       port_writes);
}

/*
 * Phase (d): reset and start the NIC again and again while frames are on their way
 * out and echoes on their way back in; sometimes only status 0 is written and the
 * device started at once, without waiting for the reset to read back.
 */
static void phase_resets(struct hostile *h, uint64_t n)
{
	uint64_t frames = 0;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t end;

		vnet_start();
		frames += vnet_burst(1 + hostile_rand(h) % 16, RUN_RESETS + i);
		end = time_ns() + hostile_rand(h) % 3000000;
		while (time_ns() < end)
			cpu_relax();
		if (hostile_rand(h) & 1)
			mmio_write8(h->vd->common + 0x14, 0);
	}
	printf("HOSTILE resets count=%lu frames=%lu\n", n, frames);
}

/* Phase (e): an IDT of limit 0 and an exception (see scn_machine.c, triple-fault). */
static void __attribute__((noreturn)) phase_triple(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {0, 0};

	printf("HOSTILE triple-fault now\n");
	irq_disable();
	asm volatile("lidt %0" : : "m"(idtr) : "memory");
	asm volatile("ud2");
	tg_fail("hostile: execution continued after the triple fault");
}

static bool wants(const char *list, const char *phase)
{
	size_t n = strlen(phase);

	if (!list)
		return true;
	for (const char *p = list; *p;) {
		if (!strncmp(p, phase, n) && (p[n] == ',' || !p[n]))
			return true;
		while (*p && *p != ',')
			p++;
		if (*p)
			p++;
	}
	return false;
}

static void hostile(struct scn_ctx *c)
{
	static struct hostile h;
	const char *phases = scn_opt(c, "hostile");
	static const char *const known[] = {"kicks", "regs", "rings", "resets", "triple"};
	uint64_t frames = scn_opt_u64(c, "frames", 32);

	h.rng = scn_opt_u64(c, "seed", 1) * 0x9e3779b97f4a7c15ULL | 1;
	h.timeout_ms = scn_opt_u64(c, "timeout-ms", 10000);
	h.run = 1;
	for (int i = 0; i < boot.nmem; i++)
		if (boot.mem[i].type == 1 && boot.mem[i].base + boot.mem[i].size > h.ram_end)
			h.ram_end = boot.mem[i].base + boot.mem[i].size;
	pci_init(scn_opt_u64(c, "ecam", 0));
	h.vd = vnet_open(h.devs, HOSTILE_MAX_DEVS);
	for (h.ndevs = 0; h.ndevs < HOSTILE_MAX_DEVS && h.devs[h.ndevs].vendor; h.ndevs++)
		;
	h.ap_id = smp_start_ticker(VEC_AP_TICK, 5000);
	printf("HOSTILE start phases=%s seed=%lu functions=%d ram-end=0x%lx ap=%d\n",
	       phases ? phases : "all", scn_opt_u64(c, "seed", 1), h.ndevs, h.ram_end, h.ap_id);
	if (scn_opt_u64(c, "need-ap", 0) && h.ap_id < 0)
		tg_fail("hostile: need-ap=1 but no second CPU started");
	alive(&h, "start", frames);
	for (unsigned int i = 0; i < ARRAY_SIZE(known); i++)
		if (!wants(phases, known[i]))
			printf("HOSTILE skip %s\n", known[i]);
	if (wants(phases, "kicks")) {
		phase_kicks(&h, scn_opt_u64(c, "kicks", 2000));
		alive(&h, "kicks", frames);
	}
	if (wants(phases, "regs")) {
		phase_regs(&h, scn_opt_u64(c, "regs-stride", 1) ?: 1);
		alive(&h, "regs", frames);
	}
	if (wants(phases, "rings")) {
		hostile_rings(&h);
		alive(&h, "rings", frames);
	}
	if (wants(phases, "resets")) {
		phase_resets(&h, scn_opt_u64(c, "resets", 20));
		alive(&h, "resets", frames);
	}
	if (wants(phases, "triple"))
		phase_triple();
}
SCENARIO("hostile", hostile, "attack the VMM's devices phase by phase; the machine must survive");
