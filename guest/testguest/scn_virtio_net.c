// SPDX-License-Identifier: GPL-2.0
/*
 * scenario=virtio-net: drive a modern virtio-net device (virtio 1.2, 5.1): negotiate
 * features, set up the receive and transmit split queues, send raw Ethernet frames
 * and take the same frames back from a backend that loops them, checking contents
 * and counts and interrupts per vector; then reset the device and do it again.
 */
#include "apic.h"
#include "cpu.h"
#include "trap.h"
#include "virtio.h"
#include "vnet.h"

#define VIRTIO_NET_F_MAC 5
#define NET_HDR_LEN 12 /* struct virtio_net_hdr with num_buffers (VERSION_1, 5.1.6) */
#define RX_BUF_LEN 2048
#define RX_BUFS 32
#define ETH_TYPE 0x88b5	       /* IEEE 802 local experimental */
#define FRAME_MAGIC 0x544e4754 /* "TGNT" */
#define MAX_FRAMES 4096
#define VEC_MSIX 0x60 /* config, rx, tx: MSI-X entries 0, 1, 2 */
#define VEC_INTX 0x70 /* + GSI, for the GSIs INTx may arrive on */
#define VEC_TICK 0x41 /* LAPIC timer: wakes the idle wait */
#define Q_RX 0
#define Q_TX 1
#define VEC_MOVED (VEC_MSIX + 3) /* mask=move: the receive entry's new data */
#define MASK_FRAMES 4		 /* frames received with the vector masked */
#define MSIX_CTRL_FMASK 0x4000	 /* Message Control: Function Mask (PCI 3.0, 6.8.2.3) */
#define MSIX_ENTRY_MASK 1	 /* Vector Control: Mask Bit (6.8.2.9) */

enum mask_kind { MASK_NONE, MASK_VECTOR, MASK_FUNCTION, MASK_MOVE };

struct net_opts {
	uint64_t frames, len, qsize, timeout_ms, window;
	bool event_idx, indirect, msix, intx, expect_rx, reset_in_flight;
	/* Frames not of this run (still queued in the tap across a reset) are skipped. */
	bool skip_foreign;
	enum mask_kind mask;
};

/* mask=: where the last run is in masking the receive queue's MSI-X entry. */
struct mask_state {
	int phase; /* 0 not yet, 1 masked, 2 unmasked again */
	uint64_t irq0, rx0, vec;
};

static struct virtio_dev vdev;
static struct virtq rxq, txq;
uint8_t vnet_mac[6];
static uint8_t seen[MAX_FRAMES / 8];
static uint8_t *rx_bufs, *tx_hdr, *tx_frames;
static uint64_t intx_isr;
/* The options of the device started last, for vnet_send() and vnet_recv(). */
static struct net_opts *cur_opts;
static int intx_gsi = -1;

static void intx_handler(struct trap_frame *f)
{
	/* Reading ISR status deasserts the level-triggered line (4.1.4.5). */
	if (virtio_read_isr(&vdev)) {
		intx_isr++;
		intx_gsi = f->vector - VEC_INTX;
	}
}

static void intx_route(uint8_t line, bool on)
{
	/* Where INTx lands depends on the machine: the interrupt line the firmware
	 * wrote and the PCI GSIs 16-23 are all routed, each to its own vector. */
	for (unsigned int gsi = 0; gsi < 24; gsi++) {
		if (gsi != line && gsi < 16)
			continue;
		trap_set_handler(VEC_INTX + gsi, on ? intx_handler : NULL);
		ioapic_route(gsi, VEC_INTX + gsi, true, !on);
	}
}

void vnet_frame_build(uint8_t *f, uint64_t len, uint32_t magic, uint32_t seq, uint32_t run)
{
	memcpy(f, vnet_mac, 6);
	memcpy(f + 6, vnet_mac, 6);
	f[12] = ETH_TYPE >> 8;
	f[13] = ETH_TYPE & 0xff;
	*(uint32_t *)(f + 14) = magic;
	*(uint32_t *)(f + 18) = seq;
	*(uint32_t *)(f + 22) = run;
	for (uint64_t i = 26; i < len; i++)
		f[i] = (uint8_t)(seq + i);
}

static void build_frame(uint8_t *f, uint64_t len, uint32_t seq, uint32_t run)
{
	vnet_frame_build(f, len, FRAME_MAGIC, seq, run);
}

/*
 * Checks a received frame of this run. Returns false for a frame of another
 * run that may pass: o->skip_foreign lets any pass (the hostile scenario); with
 * reset-in-flight=1 intact frames of an earlier run were on their way back when
 * the driver reset the device, and the echo peer may still deliver them.
 */
static bool check_frame(const uint8_t *f, uint32_t len, const struct net_opts *o, uint32_t run)
{
	uint32_t seq;

	if (o->skip_foreign && (len < 26 || *(const uint32_t *)(f + 14) != FRAME_MAGIC ||
				*(const uint32_t *)(f + 22) != run))
		return false;
	if (o->reset_in_flight && len == o->len && *(const uint32_t *)(f + 14) == FRAME_MAGIC &&
	    *(const uint32_t *)(f + 22) < run)
		return false;
	if (len != o->len || memcmp(f, vnet_mac, 6) || memcmp(f + 6, vnet_mac, 6) ||
	    f[12] != ETH_TYPE >> 8 || f[13] != (ETH_TYPE & 0xff) ||
	    *(const uint32_t *)(f + 14) != FRAME_MAGIC || *(const uint32_t *)(f + 22) != run)
		tg_fail("virtio-net: unexpected frame of %u bytes received (run %u)", len, run);
	seq = *(const uint32_t *)(f + 18);
	if (seq >= o->frames || (seen[seq / 8] & (1 << (seq % 8))))
		tg_fail("virtio-net: frame %u received twice or never sent", seq);
	for (uint32_t i = 26; i < len; i++)
		if (f[i] != (uint8_t)(seq + i))
			tg_fail("virtio-net: frame %u corrupt at byte %u", seq, i);
	seen[seq / 8] |= 1 << (seq % 8);
	return true;
}

static void post_rx(unsigned int i, const struct net_opts *o)
{
	uint64_t b = (uint64_t)rx_bufs + (uint64_t)i * RX_BUF_LEN;
	/* With indirect tables, header and data in separate entries; else one buffer. */
	struct virtq_buf split[2] = {{b, NET_HDR_LEN, true},
				     {b + NET_HDR_LEN, RX_BUF_LEN - NET_HDR_LEN, true}};
	struct virtq_buf one = {b, RX_BUF_LEN, true};
	bool ok = o->indirect ? virtq_add(&rxq, split, 2, i) : virtq_add(&rxq, &one, 1, i);

	if (!ok)
		tg_fail("virtio-net: receive queue full");
}

static void device_start(struct net_opts *o)
{
	uint64_t offered, want = 1ULL << VIRTIO_F_VERSION_1;

	virtio_reset(&vdev);
	virtio_add_status(&vdev, VIRTIO_STATUS_ACK);
	virtio_add_status(&vdev, VIRTIO_STATUS_DRIVER);
	offered = virtio_device_features(&vdev);
	if (!(offered & want))
		tg_fail("virtio-net: device does not offer VERSION_1 (features 0x%lx)", offered);
	want |= offered & (1ULL << VIRTIO_NET_F_MAC);
	if (o->event_idx)
		want |= 1ULL << VIRTIO_F_EVENT_IDX;
	if (o->indirect)
		want |= 1ULL << VIRTIO_F_INDIRECT_DESC;
	if ((want & offered) != want)
		tg_fail("virtio-net: features 0x%lx wanted, device offers 0x%lx", want, offered);
	if (!virtio_set_features(&vdev, want))
		tg_fail("virtio-net: device refused features 0x%lx", want);

	if (o->msix) {
		if (!virtio_msix_enable(&vdev, VEC_MSIX, 3))
			tg_fail("virtio-net: no MSI-X with 3 entries");
		if (!virtio_set_config_vector(&vdev, 0))
			tg_fail("virtio-net: config vector refused");
	} else {
		virtio_msix_disable(&vdev);
	}
	dma_reset();
	virtq_setup(&rxq, &vdev, Q_RX, o->qsize, o->msix ? 1 : VIRTIO_MSI_NO_VECTOR);
	virtq_setup(&txq, &vdev, Q_TX, o->qsize, o->msix ? 2 : VIRTIO_MSI_NO_VECTOR);
	rx_bufs = dma_alloc((uint64_t)RX_BUFS * RX_BUF_LEN, 64);
	tx_hdr = dma_alloc(NET_HDR_LEN, 16);
	tx_frames = dma_alloc(txq.size * 2048ULL, 64);
	memset(tx_hdr, 0, NET_HDR_LEN);
	virtio_add_status(&vdev, VIRTIO_STATUS_DRIVER_OK);
	if (virtio_status(&vdev) & VIRTIO_STATUS_FAILED)
		tg_fail("virtio-net: device failed at DRIVER_OK");

	if (vdev.features & (1ULL << VIRTIO_NET_F_MAC) && vdev.device)
		for (int i = 0; i < 6; i++)
			vnet_mac[i] = mmio_read8(vdev.device + i);
	printf("VIRTIO-NET features=0x%lx qsize=%u mac=%02x:%02x:%02x:%02x:%02x:%02x irq=%s\n",
	       vdev.features, txq.size, vnet_mac[0], vnet_mac[1], vnet_mac[2], vnet_mac[3],
	       vnet_mac[4], vnet_mac[5],
	       o->msix	 ? "msix"
	       : o->intx ? "intx"
			 : "poll");
	for (unsigned int i = 0; i < RX_BUFS && i < rxq.size; i++)
		post_rx(i, o);
	virtq_want_irq(&rxq);
	virtq_want_irq(&txq);
	virtq_kick(&rxq);
}

static uint64_t rx_entry(void)
{
	return vdev.msix_table + 16 * 1;
}

static void msix_fmask(bool on)
{
	uint16_t ctrl = pci_read16(vdev.pci->bdf, vdev.msix_cap + 2);

	pci_write16(vdev.pci->bdf, vdev.msix_cap + 2,
		    on ? ctrl | MSIX_CTRL_FMASK : ctrl & ~MSIX_CTRL_FMASK);
}

static bool rx_pending_bit(void)
{
	return mmio_read32(vdev.msix_pba) & (1u << 1);
}

/*
 * Masks the receive queue's entry (or the whole function) while frames flow.
 * An interrupt the device sent just before the mask may still be latched in
 * the LAPIC: a short window with IF set takes it before the count is read.
 */
static void mask_begin(const struct net_opts *o, struct mask_state *m, uint64_t rx)
{
	uint64_t until;

	if (o->mask == MASK_FUNCTION)
		msix_fmask(true);
	else
		mmio_write32(rx_entry() + 12, MSIX_ENTRY_MASK);
	until = time_ns() + 2000000;
	irq_enable();
	while (time_ns() < until)
		cpu_relax();
	irq_disable();
	m->vec = VEC_MSIX + 1;
	m->irq0 = irq_count[m->vec];
	m->rx0 = rx;
	m->phase = 1;
}

/*
 * Once MASK_FRAMES frames came in while masked and the device has marked the
 * vector pending (PBA, PCI 3.0 6.8.2.10): no interrupt may have arrived on it,
 * and unmasking must deliver the pending one at once (6.8.2.9). mask=move also
 * points the entry at another vector while it is masked, as a driver moving an
 * interrupt does; the pending interrupt and later ones must arrive there.
 */
static void mask_check(const struct net_opts *o, struct mask_state *m, uint64_t rx)
{
	static const char *const names[] = {"none", "vector", "function", "move"};
	uint64_t got, t0;

	if (m->phase != 1 || rx < m->rx0 + MASK_FRAMES || !rx_pending_bit())
		return;
	got = irq_count[m->vec] - m->irq0;
	if (got)
		tg_fail("virtio-net: mask=%s: %lu interrupts on a masked vector", names[o->mask],
			got);
	if (o->mask == MASK_MOVE) {
		mmio_write32(rx_entry() + 0, 0xfee00000u | lapic_id() << 12);
		mmio_write32(rx_entry() + 8, VEC_MOVED);
		m->vec = VEC_MOVED;
	}
	m->irq0 = irq_count[m->vec];
	t0 = time_ns();
	if (o->mask == MASK_FUNCTION)
		msix_fmask(false);
	else
		mmio_write32(rx_entry() + 12, 0);
	if (!wait_irq_count(&irq_count[m->vec], m->irq0 + 1, 2000))
		tg_fail("virtio-net: mask=%s: the pending interrupt was not delivered on unmask",
			names[o->mask]);
	printf("VIRTIO-NET mask=%s masked-rx=%lu irq-while-masked=0 pending=1 "
	       "irq-after-unmask=vector-0x%lx us=%lu pending-after=%u\n",
	       names[o->mask], rx - m->rx0, m->vec, (time_ns() - t0) / 1000, rx_pending_bit());
	if (rx_pending_bit())
		tg_fail("virtio-net: mask=%s: pending bit still set after unmask", names[o->mask]);
	m->phase = 2;
}

/*
 * One run: start the device, move o->frames frames. With cut set (reset-in-flight=1,
 * every run but the last), stop when half of them are sent: the driver resets the
 * device (status 0, virtio 1.2 2.4.1) right after kicking the transmit queue, with
 * frames not yet transmitted or not yet back, and the next run starts it again.
 */
static void run_once(struct net_opts *o, uint32_t run, bool cut)
{
	uint64_t irq0[3], intx0 = intx_isr, sent = 0, txdone = 0, rx = 0, stale = 0, token, end;
	struct mask_state ms = {0};
	bool masking = o->mask != MASK_NONE && !cut;
	uint64_t expect_rx = o->expect_rx ? o->frames : 0;
	uint32_t len;

	for (int i = 0; i < 3; i++)
		irq0[i] = irq_count[VEC_MSIX + i];
	memset(seen, 0, sizeof(seen));
	cur_opts = o;
	device_start(o);
	end = time_ns() + o->timeout_ms * 1000000;
	lapic_timer(VEC_TICK, 100000);
	irq_enable();
	while ((txdone < o->frames || rx < expect_rx) && time_ns() < end) {
		bool kick = false;

		/* A looping backend drops what finds no receive buffer (a UDP socket
		 * does): keep at most window frames on their way back. */
		while (sent < o->frames && txq.num_free >= (txq.indirect ? 1 : 2) &&
		       (!expect_rx || sent - rx < o->window)) {
			uint8_t *f = tx_frames + (sent % txq.size) * 2048;
			struct virtq_buf b[2] = {{(uint64_t)tx_hdr, NET_HDR_LEN, false},
						 {(uint64_t)f, o->len, false}};

			build_frame(f, o->len, sent, run);
			if (!virtq_add(&txq, b, 2, sent))
				break;
			sent++;
			kick = true;
		}
		if (kick)
			virtq_kick(&txq);
		if (cut && sent >= o->frames / 2) {
			virtio_reset(&vdev);
			irq_disable();
			lapic_timer(VEC_TICK, 0);
			printf("VIRTIO-NET reset-in-flight run=%u sent=%lu tx=%lu rx=%lu stale=%lu\n",
			       run, sent, txdone, rx, stale);
			if (rx >= sent)
				tg_fail("virtio-net: run %u: no frame in flight at the reset", run);
			return;
		}
		while (virtq_get(&txq, &token, &len))
			txdone++;
		kick = false;
		while (virtq_get(&rxq, &token, &len)) {
			if (len < NET_HDR_LEN)
				tg_fail("virtio-net: used length %u below the header", len);
			if (check_frame(rx_bufs + token * RX_BUF_LEN + NET_HDR_LEN,
					len - NET_HDR_LEN, o, run))
				rx++;
			else
				stale++;
			post_rx(token, o);
			kick = true;
		}
		if (kick)
			virtq_kick(&rxq);
		if (masking && ms.phase == 0 && sent >= o->frames / 4)
			mask_begin(o, &ms, rx);
		else if (masking)
			mask_check(o, &ms, rx);
		virtq_want_irq(&rxq);
		virtq_want_irq(&txq);
		/* Nothing to do: sleep until an interrupt (the tick bounds the wait). The
		 * check runs with IF clear and sti's one-instruction shadow covers hlt, so no
		 * wakeup is lost. Otherwise IF stays set: where ring 0 is emulated (the CI
		 * host), pending interrupts are not taken inside a short sti window. */
		irq_disable();
		if (!virtq_pending(&rxq) && !virtq_pending(&txq) &&
		    (sent == o->frames || (expect_rx && sent - rx >= o->window)))
			asm volatile("sti; hlt" ::: "memory");
		else
			irq_enable();
	}
	/*
	 * A short run can find every used buffer by polling before the interrupt
	 * for it is taken (it may come through kvmini's watcher thread, which is
	 * slow under strace): give each queue vector up to a second to fire.
	 */
	if (o->msix && txdone == o->frames) {
		wait_irq_count(&irq_count[VEC_MSIX + 2], irq0[2] + 1, 1000);
		if (expect_rx && !masking && rx == expect_rx)
			wait_irq_count(&irq_count[VEC_MSIX + 1], irq0[1] + 1, 1000);
	}
	irq_disable();
	lapic_timer(VEC_TICK, 0);
	printf("VIRTIO-NET run=%u tx=%lu rx=%lu irq-config=%lu irq-rx=%lu irq-tx=%lu intx=%lu "
	       "kicks=%lu/%lu skipped=%lu/%lu stale=%lu\n",
	       run, txdone, rx, irq_count[VEC_MSIX] - irq0[0], irq_count[VEC_MSIX + 1] - irq0[1],
	       irq_count[VEC_MSIX + 2] - irq0[2], intx_isr - intx0, rxq.kicks, txq.kicks,
	       rxq.kicks_skipped, txq.kicks_skipped, stale);
	if (masking && ms.phase != 2)
		tg_fail("virtio-net: run %u: masked vector never became pending with %lu frames",
			run, rx - ms.rx0);
	if (txdone < o->frames || rx < expect_rx)
		tg_fail("virtio-net: run %u sent %lu/%lu, received %lu/%lu before the timeout", run,
			txdone, o->frames, rx, expect_rx);
	if (o->msix && (irq_count[VEC_MSIX + 2] == irq0[2] ||
			(expect_rx && !masking && irq_count[VEC_MSIX + 1] == irq0[1])))
		tg_fail("virtio-net: run %u saw no MSI-X interrupt on a queue vector", run);
	if (o->intx && intx_isr == intx0)
		tg_fail("virtio-net: run %u saw no INTx interrupt", run);
}

/* Sleeps until an interrupt or the LAPIC tick unless used buffers are waiting; the
 * check runs with IF clear and sti's shadow covers hlt (see run_once()). */
static void idle_wait(void)
{
	virtq_want_irq(&rxq);
	virtq_want_irq(&txq);
	irq_disable();
	if (!virtq_pending(&rxq) && !virtq_pending(&txq))
		asm volatile("sti; hlt" ::: "memory");
	else
		irq_enable();
}

bool vnet_send(const uint8_t *frame, uint32_t len, uint64_t end_ns)
{
	struct virtq_buf b[2] = {{(uint64_t)tx_hdr, NET_HDR_LEN, false},
				 {(uint64_t)tx_frames, len, false}};
	uint64_t token;
	uint32_t used;

	/* One frame in flight at a time: the first transmit slot is always free here. */
	while (virtq_get(&txq, &token, &used))
		;
	memcpy(tx_frames, frame, len);
	if (!virtq_add(&txq, b, 2, 0))
		tg_fail("virtio-net: transmit queue full");
	virtq_kick(&txq);
	while (time_ns() < end_ns) {
		if (virtq_get(&txq, &token, &used))
			return true;
		idle_wait();
	}
	return false;
}

uint32_t vnet_recv(uint8_t *buf, uint64_t end_ns)
{
	uint64_t token;
	uint32_t len;

	while (!virtq_get(&rxq, &token, &len)) {
		if (time_ns() >= end_ns)
			return 0;
		idle_wait();
	}
	if (len < NET_HDR_LEN)
		tg_fail("virtio-net: used length %u below the header", len);
	len -= NET_HDR_LEN;
	if (len > VNET_FRAME_MAX)
		len = VNET_FRAME_MAX;
	memcpy(buf, rx_bufs + token * RX_BUF_LEN + NET_HDR_LEN, len);
	post_rx(token, cur_opts);
	virtq_kick(&rxq);
	return len ? len : 1; /* an empty frame still counts as one */
}

/* End of the highest RAM range: where a buffer that runs past guest RAM starts. */
static uint64_t ram_end(void)
{
	uint64_t end = 0;

	for (int i = 0; i < boot.nmem; i++)
		if (boot.mem[i].type == 1 && boot.mem[i].base + boot.mem[i].size > end)
			end = boot.mem[i].base + boot.mem[i].size;
	return end;
}

/*
 * Makes the transmit queue invalid in one way and kicks. A device that finds an
 * error it cannot recover from sets DEVICE_NEEDS_RESET and, with VERSION_1, sends
 * a configuration change notification (virtio 1.2, 2.1.2); the driver then resets
 * it. The cases: a buffer outside guest memory, a buffer that runs past its end, a
 * chain that loops (2.7.5.3.1: a chain longer than the queue), and an available
 * index more than a queue size ahead of the used index (2.7.13.3).
 */
static void bad_ring(const char *kind, struct net_opts *o)
{
	uint64_t t0, t1, end, cfg0 = irq_count[VEC_MSIX], token;
	uint16_t used0 = txq.used[0] >> 16;
	uint32_t len;
	uint8_t st;

	while (virtq_get(&txq, &token, &len))
		;
	if (!strcmp(kind, "desc-oob") || !strcmp(kind, "len-oob")) {
		uint64_t top = ram_end();
		struct virtq_buf b[2] = {{(uint64_t)tx_hdr, NET_HDR_LEN, false},
					 {0xfffff000000ULL, 64, false}};

		if (kind[0] == 'l')
			b[1] = (struct virtq_buf){top - 64, 4096, false};
		if (!virtq_add(&txq, b, 2, 0))
			tg_fail("virtio-net: transmit queue full");
		printf("BAD-RING kind=%s addr=0x%lx len=%u\n", kind, b[1].addr, b[1].len);
	} else if (!strcmp(kind, "loop")) {
		uint16_t head = txq.free_head;

		/* Written directly: virtq_add() would use an indirect table if negotiated. */
		txq.desc[head].addr = (uint64_t)tx_hdr;
		txq.desc[head].len = NET_HDR_LEN;
		txq.desc[head].flags = VRING_DESC_F_NEXT;
		txq.desc[head].next = head;
		txq.avail[2 + txq.avail_idx % txq.size] = head;
		txq.avail_idx++;
		printf("BAD-RING kind=loop desc=%u next=%u\n", head, head);
	} else if (!strcmp(kind, "avail-jump")) {
		txq.avail_idx += txq.size + 5;
		printf("BAD-RING kind=avail-jump avail=%u used=%u\n", txq.avail_idx, used0);
	} else {
		tg_fail("virtio-net: bad-ring=%s (want desc-oob, len-oob, loop or avail-jump)",
			kind);
	}
	t0 = time_ns();
	end = t0 + o->timeout_ms * 1000000;
	lapic_timer(VEC_TICK, 100000);
	virtq_kick(&txq);
	while (!((st = virtio_status(&vdev)) & VIRTIO_STATUS_NEEDS_RESET) && time_ns() < end)
		idle_wait();
	t1 = time_ns();
	/* The configuration interrupt may still be on its way: give it a moment. */
	end = time_ns() + 200 * 1000000ULL;
	while (o->msix && (st & VIRTIO_STATUS_NEEDS_RESET) && irq_count[VEC_MSIX] == cfg0 &&
	       time_ns() < end)
		idle_wait();
	irq_disable();
	lapic_timer(VEC_TICK, 0);
	printf("BAD-RING kind=%s needs_reset=%u after_ms=%lu status=0x%x irq-config=%lu "
	       "used-moved=%u\n",
	       kind, !!(st & VIRTIO_STATUS_NEEDS_RESET), (t1 - t0) / 1000000, st,
	       irq_count[VEC_MSIX] - cfg0, (uint16_t)((txq.used[0] >> 16) - used0));
	if (!(st & VIRTIO_STATUS_NEEDS_RESET))
		tg_fail("virtio-net: bad-ring=%s: no DEVICE_NEEDS_RESET within %lu ms", kind,
			o->timeout_ms);
}

/* scenario=hostile: MSI-X, queues of 64, a looping peer, stale frames skipped. */
static struct net_opts hostile_opts = {
	.frames = 64,
	.len = 128,
	.qsize = 64,
	.timeout_ms = 30000,
	.msix = true,
	.expect_rx = true,
	.window = RX_BUFS / 2,
	.skip_foreign = true,
};

struct pci_dev *vnet_find_nic(struct pci_dev *devs, int max)
{
	struct pci_dev *p = NULL;
	int n = pci_scan(pci_ecam_base() ? PCI_MECH_ECAM : PCI_MECH_CF8, devs, max);

	for (int i = 0; i < n && i < max; i++) {
		pci_probe(&devs[i]);
		if (!p && devs[i].vendor == 0x1af4 && devs[i].device == 0x1041)
			p = &devs[i];
	}
	if (!p)
		tg_fail("virtio-net: no modern virtio-net device (1af4:1041)");
	return p;
}

struct virtio_dev *vnet_open(struct pci_dev *devs, int max)
{
	struct pci_dev *p = vnet_find_nic(devs, max);

	pci_enable(p);
	virtio_pci_init(&vdev, p);
	memcpy(vnet_mac, (uint8_t[]){0x52, 0x54, 0x00, 0x12, 0x34, 0x56}, 6);
	apic_init();
	cur_opts = &hostile_opts;
	return &vdev;
}

void vnet_start(void)
{
	device_start(&hostile_opts);
}

unsigned int vnet_burst(unsigned int n, uint32_t run)
{
	unsigned int sent = 0;
	uint64_t token;
	uint32_t len;

	while (virtq_get(&txq, &token, &len))
		;
	for (; sent < n && txq.num_free >= 2; sent++) {
		uint8_t *f = tx_frames + (sent % txq.size) * 2048;
		struct virtq_buf b[2] = {{(uint64_t)tx_hdr, NET_HDR_LEN, false},
					 {(uint64_t)f, hostile_opts.len, false}};

		build_frame(f, hostile_opts.len, sent, run);
		if (!virtq_add(&txq, b, 2, sent))
			break;
	}
	virtq_kick(&txq);
	return sent;
}

void vnet_roundtrip(uint64_t frames, uint32_t run)
{
	hostile_opts.frames = frames;
	run_once(&hostile_opts, run, false);
}

static void virtio_net(struct scn_ctx *c)
{
	static struct pci_dev devs[64];
	const char *irq = scn_opt(c, "irq");
	const char *bad = scn_opt(c, "bad-ring");
	const char *mask = scn_opt(c, "mask");
	uint64_t restarts = scn_opt_u64(c, "restarts", 1);
	struct net_opts o = {
		.frames = scn_opt_u64(c, "frames", 16),
		.len = scn_opt_u64(c, "len", 128),
		.qsize = scn_opt_u64(c, "qsize", 64),
		.timeout_ms = scn_opt_u64(c, "timeout-ms", 10000),
		.event_idx = scn_opt_u64(c, "event-idx", 0),
		.indirect = scn_opt_u64(c, "indirect", 0),
		.msix = !irq || !strcmp(irq, "msix"),
		.intx = irq && !strcmp(irq, "intx"),
		.expect_rx = scn_opt_u64(c, "loop", 1),
		.window = scn_opt_u64(c, "window", RX_BUFS / 2),
		.reset_in_flight = scn_opt_u64(c, "reset-in-flight", 0),
	};
	struct pci_dev *p;

	if (mask && !strcmp(mask, "vector"))
		o.mask = MASK_VECTOR;
	else if (mask && !strcmp(mask, "function"))
		o.mask = MASK_FUNCTION;
	else if (mask && !strcmp(mask, "move"))
		o.mask = MASK_MOVE;
	else if (mask && strcmp(mask, "none"))
		tg_fail("virtio-net: mask=%s (want none, vector, function or move)", mask);
	if (o.mask && (!o.msix || !o.expect_rx || o.frames < 4 * MASK_FRAMES))
		tg_fail("virtio-net: mask= needs irq=msix, loop=1 and frames >= %d",
			4 * MASK_FRAMES);
	if (irq && !o.msix && !o.intx && strcmp(irq, "poll"))
		tg_fail("virtio-net: irq=%s (want msix, intx or poll)", irq);
	if (o.frames > MAX_FRAMES || o.len < 26 || o.len > RX_BUF_LEN - NET_HDR_LEN || !o.qsize ||
	    !o.window)
		tg_fail("virtio-net: frames <= %d, 26 <= len <= %d, qsize > 0, window > 0",
			MAX_FRAMES, RX_BUF_LEN - NET_HDR_LEN);
	pci_init(scn_opt_u64(c, "ecam", 0));
	p = vnet_find_nic(devs, 64);
	pci_enable(p);
	virtio_pci_init(&vdev, p);
	memcpy(vnet_mac, (uint8_t[]){0x52, 0x54, 0x00, 0x12, 0x34, 0x56}, 6);
	apic_init();
	if (o.intx)
		intx_route(p->irq_line, true);
	if (o.reset_in_flight && (!restarts || o.frames < 2))
		tg_fail("virtio-net: reset-in-flight=1 needs restarts >= 1 and frames >= 2");
	for (uint32_t run = 0; run <= restarts; run++)
		run_once(&o, run, o.reset_in_flight && run < restarts);
	if (scn_opt(c, "arp") || scn_opt(c, "ping")) {
		lapic_timer(VEC_TICK, 100000);
		vnet_ip(c, o.timeout_ms);
		irq_disable();
		lapic_timer(VEC_TICK, 0);
	}
	if (bad && strcmp(bad, "none")) {
		bad_ring(bad, &o);
		/* After the reset in device_start(), frames must flow as before. */
		run_once(&o, ++restarts, false);
	}
	if (o.intx) {
		intx_route(p->irq_line, false);
		printf("VIRTIO-NET intx pin=%u line=%u gsi=%d\n", p->irq_pin, p->irq_line,
		       intx_gsi);
	}
	virtio_reset(&vdev);
	printf("ITERATIONS %lu\n", restarts + 1);
}
SCENARIO("virtio-net", virtio_net, "modern virtio-net: send and receive frames, reset, repeat");
