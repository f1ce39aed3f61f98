// SPDX-License-Identifier: GPL-2.0
/*
 * PCI configuration space through both mechanisms (PCI Local Bus 3.0, 3.2.2.3.2
 * for 0xCF8/0xCFC; PCIe 5.0, 7.2.2 for ECAM), enumeration, BAR sizing (PCI 3.0,
 * 6.2.5.1) and capability lists.
 */
#include "acpi.h"
#include "cpu.h"
#include "pci.h"
#include "testguest.h"

#define CF8_ADDR 0xcf8
#define CF8_DATA 0xcfc
/* Unassigned BARs go here: kvmini's 32-bit hole (vmm/layout.h, PCI_MMIO32_BASE). */
#define MMIO_ALLOC_BASE 0xc0000000ULL
#define MMIO_ALLOC_END 0xe0000000ULL

static uint64_t ecam_base;
static unsigned int ecam_end_bus;
static uint64_t mmio_next = MMIO_ALLOC_BASE;

void pci_init(uint64_t ecam_override)
{
	const struct acpi_header *mcfg = acpi_find("MCFG");

	if (ecam_override) {
		ecam_base = ecam_override;
		ecam_end_bus = 0;
		return;
	}
	/* MCFG: header, 8 reserved bytes, then 16-byte allocations (PCI Firmware 3.3,
	 * 4.1.2); segment 0's first entry is the one we use. */
	if (mcfg && mcfg->length >= sizeof(*mcfg) + 8 + 16) {
		const uint8_t *e = (const uint8_t *)mcfg + sizeof(*mcfg) + 8;
		uint64_t base = *(const uint64_t *)e;
		uint8_t start = e[10], end = e[11];

		/* The table's base is for bus 0 even when start_bus is not 0. */
		if (*(const uint16_t *)(e + 8) == 0 && start == 0) {
			ecam_base = base;
			ecam_end_bus = end;
		}
	}
}

uint64_t pci_ecam_base(void)
{
	return ecam_base;
}

unsigned int pci_ecam_end_bus(void)
{
	return ecam_end_bus;
}

static uint64_t ecam_addr(uint16_t bdf, unsigned int off)
{
	return ecam_base + ((uint64_t)bdf << 12) + off;
}

static uint32_t cf8_addr(uint16_t bdf, unsigned int off)
{
	return 0x80000000u | (uint32_t)bdf << 8 | (off & 0xfc);
}

uint32_t pci_read32_mech(enum pci_mech m, uint16_t bdf, unsigned int off)
{
	if (m == PCI_MECH_ECAM) {
		if (!ecam_base || PCI_BUS(bdf) > ecam_end_bus)
			return 0xffffffff;
		return mmio_read32(ecam_addr(bdf, off));
	}
	outl(CF8_ADDR, cf8_addr(bdf, off));
	return inl(CF8_DATA);
}

uint32_t pci_read32(uint16_t bdf, unsigned int off)
{
	return pci_read32_mech(ecam_base ? PCI_MECH_ECAM : PCI_MECH_CF8, bdf, off);
}

uint16_t pci_read16(uint16_t bdf, unsigned int off)
{
	if (ecam_base)
		return mmio_read16(ecam_addr(bdf, off));
	outl(CF8_ADDR, cf8_addr(bdf, off));
	return inw(CF8_DATA + (off & 2));
}

uint8_t pci_read8(uint16_t bdf, unsigned int off)
{
	if (ecam_base)
		return mmio_read8(ecam_addr(bdf, off));
	outl(CF8_ADDR, cf8_addr(bdf, off));
	return inb(CF8_DATA + (off & 3));
}

void pci_write32(uint16_t bdf, unsigned int off, uint32_t v)
{
	if (ecam_base) {
		mmio_write32(ecam_addr(bdf, off), v);
		return;
	}
	outl(CF8_ADDR, cf8_addr(bdf, off));
	outl(CF8_DATA, v);
}

void pci_write16(uint16_t bdf, unsigned int off, uint16_t v)
{
	if (ecam_base) {
		mmio_write16(ecam_addr(bdf, off), v);
		return;
	}
	outl(CF8_ADDR, cf8_addr(bdf, off));
	outw(CF8_DATA + (off & 2), v);
}

static int scan_bus(enum pci_mech m, unsigned int bus, struct pci_dev *out, int n, int max,
		    int depth)
{
	for (unsigned int dev = 0; dev < 32; dev++) {
		for (unsigned int fn = 0; fn < 8; fn++) {
			uint16_t bdf = PCI_BDF(bus, dev, fn);
			uint32_t id = pci_read32_mech(m, bdf, 0);
			uint32_t hdr;

			if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0) {
				if (fn == 0)
					break;
				continue;
			}
			hdr = (pci_read32_mech(m, bdf, 0x0c) >> 16) & 0xff;
			if (n < max) {
				struct pci_dev *d = &out[n];

				*d = (struct pci_dev){.bdf = bdf,
						      .vendor = id & 0xffff,
						      .device = id >> 16,
						      .hdr = hdr};
				d->class = pci_read32_mech(m, bdf, 0x08) >> 8;
			}
			n++;
			/* A PCI-to-PCI bridge: its secondary bus number is at 0x19. */
			if ((hdr & 0x7f) == 1 && depth < 8) {
				unsigned int sec = (pci_read32_mech(m, bdf, 0x18) >> 8) & 0xff;

				if (sec > bus)
					n = scan_bus(m, sec, out, n, max, depth + 1);
			}
			if (fn == 0 && !(hdr & 0x80))
				break;
		}
	}
	return n;
}

int pci_scan(enum pci_mech m, struct pci_dev *out, int max)
{
	return scan_bus(m, 0, out, 0, max, 0);
}

static void size_bars(struct pci_dev *d)
{
	uint16_t cmd = pci_read16(d->bdf, PCI_COMMAND);
	int nbars = (d->hdr & 0x7f) == 0 ? 6 : (d->hdr & 0x7f) == 1 ? 2 : 0;

	/* No decoding while a BAR holds all-ones. */
	pci_write16(d->bdf, PCI_COMMAND, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM));
	for (int i = 0; i < nbars; i++) {
		unsigned int off = 0x10 + 4 * i;
		uint32_t orig = pci_read32(d->bdf, off), mask;
		struct pci_bar *b = &d->bar[i];

		pci_write32(d->bdf, off, 0xffffffff);
		mask = pci_read32(d->bdf, off);
		pci_write32(d->bdf, off, orig);
		if (!mask)
			continue;
		if (orig & 1) {
			b->type = BAR_IO;
			b->addr = orig & ~3u;
			b->size = (uint32_t) ~(mask & ~3u) + 1;
			b->size &= 0xffff;
			continue;
		}
		b->prefetch = orig & 8;
		b->addr = orig & ~0xfu;
		if (((orig >> 1) & 3) == 2 && i + 1 < nbars) {
			uint32_t orig_hi = pci_read32(d->bdf, off + 4), mask_hi;

			pci_write32(d->bdf, off + 4, 0xffffffff);
			mask_hi = pci_read32(d->bdf, off + 4);
			pci_write32(d->bdf, off + 4, orig_hi);
			b->type = BAR_MEM64;
			b->addr |= (uint64_t)orig_hi << 32;
			b->size = ~(((uint64_t)mask_hi << 32) | (mask & ~0xfu)) + 1;
			i++;
		} else {
			b->type = BAR_MEM32;
			b->size = (uint32_t) ~(mask & ~0xfu) + 1;
		}
	}
	pci_write16(d->bdf, PCI_COMMAND, cmd);
}

static void read_caps(struct pci_dev *d)
{
	uint8_t off;

	d->ncaps = 0;
	if (!(pci_read16(d->bdf, PCI_STATUS) & PCI_STATUS_CAPS))
		return;
	off = pci_read8(d->bdf, PCI_CAP_PTR) & 0xfc;
	/* Bounded: a looping list must not hang the guest. */
	for (int guard = 0; off >= 0x40 && guard < 48; guard++) {
		if (d->ncaps < PCI_MAX_CAPS) {
			d->cap_id[d->ncaps] = pci_read8(d->bdf, off);
			d->cap_off[d->ncaps] = off;
			d->ncaps++;
		}
		off = pci_read8(d->bdf, off + 1) & 0xfc;
	}
}

void pci_probe(struct pci_dev *d)
{
	memset(d->bar, 0, sizeof(d->bar));
	if ((d->hdr & 0x7f) == 0) {
		d->irq_line = pci_read8(d->bdf, PCI_INT_LINE);
		d->irq_pin = pci_read8(d->bdf, PCI_INT_PIN);
	}
	size_bars(d);
	read_caps(d);
	/* Later allocations (pci_enable) stay clear of what firmware assigned. */
	for (int i = 0; i < 6; i++) {
		const struct pci_bar *b = &d->bar[i];

		if ((b->type == BAR_MEM32 || b->type == BAR_MEM64) && b->addr >= MMIO_ALLOC_BASE &&
		    b->addr < MMIO_ALLOC_END && b->addr + b->size > mmio_next)
			mmio_next = b->addr + b->size;
	}
}

void pci_enable(struct pci_dev *d)
{
	uint16_t cmd = pci_read16(d->bdf, PCI_COMMAND);

	for (int i = 0; i < 6; i++) {
		struct pci_bar *b = &d->bar[i];
		unsigned int off = 0x10 + 4 * i;

		if (b->type == BAR_IO)
			cmd |= PCI_CMD_IO;
		if (b->type != BAR_MEM32 && b->type != BAR_MEM64)
			continue;
		cmd |= PCI_CMD_MEM;
		/* Unassigned, or above the 4 GiB our page tables map: place it ourselves. */
		if (b->addr && b->addr + b->size <= 0x100000000ULL)
			continue;
		mmio_next = ALIGN_UP(mmio_next, b->size);
		if (mmio_next + b->size > MMIO_ALLOC_END)
			tg_fail("pci: no room for BAR%d of %02x:%02x.%x (size 0x%lx)", i,
				PCI_BUS(d->bdf), PCI_DEV(d->bdf), PCI_FN(d->bdf), b->size);
		b->addr = mmio_next;
		mmio_next += b->size;
		pci_write16(d->bdf, PCI_COMMAND, cmd & ~PCI_CMD_MEM);
		pci_write32(d->bdf, off, (uint32_t)b->addr | (pci_read32(d->bdf, off) & 0xf));
		if (b->type == BAR_MEM64)
			pci_write32(d->bdf, off + 4, b->addr >> 32);
	}
	pci_write16(d->bdf, PCI_COMMAND, cmd | PCI_CMD_MASTER);
}

const char *pci_bdf_str(uint16_t bdf, char buf[8])
{
	snprintf(buf, 8, "%02x:%02x.%x", PCI_BUS(bdf), PCI_DEV(bdf), PCI_FN(bdf));
	return buf;
}
