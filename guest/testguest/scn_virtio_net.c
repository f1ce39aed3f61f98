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

struct net_opts {
	uint64_t frames, len, qsize, timeout_ms, window;
	bool event_idx, indirect, msix, intx, expect_rx;
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

static void build_frame(uint8_t *f, uint64_t len, uint32_t seq, uint32_t run)
{
	memcpy(f, vnet_mac, 6);
	memcpy(f + 6, vnet_mac, 6);
	f[12] = ETH_TYPE >> 8;
	f[13] = ETH_TYPE & 0xff;
	*(uint32_t *)(f + 14) = FRAME_MAGIC;
	*(uint32_t *)(f + 18) = seq;
	*(uint32_t *)(f + 22) = run;
	for (uint64_t i = 26; i < len; i++)
		f[i] = (uint8_t)(seq + i);
}

static void check_frame(const uint8_t *f, uint32_t len, const struct net_opts *o, uint32_t run)
{
	uint32_t seq;

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

static void run_once(struct net_opts *o, uint32_t run)
{
	uint64_t irq0[3], intx0 = intx_isr, sent = 0, txdone = 0, rx = 0, token, end;
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
		while (virtq_get(&txq, &token, &len))
			txdone++;
		kick = false;
		while (virtq_get(&rxq, &token, &len)) {
			if (len < NET_HDR_LEN)
				tg_fail("virtio-net: used length %u below the header", len);
			check_frame(rx_bufs + token * RX_BUF_LEN + NET_HDR_LEN, len - NET_HDR_LEN,
				    o, run);
			rx++;
			post_rx(token, o);
			kick = true;
		}
		if (kick)
			virtq_kick(&rxq);
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
	irq_disable();
	lapic_timer(VEC_TICK, 0);
	printf("VIRTIO-NET run=%u tx=%lu rx=%lu irq-config=%lu irq-rx=%lu irq-tx=%lu intx=%lu "
	       "kicks=%lu/%lu skipped=%lu/%lu\n",
	       run, txdone, rx, irq_count[VEC_MSIX] - irq0[0], irq_count[VEC_MSIX + 1] - irq0[1],
	       irq_count[VEC_MSIX + 2] - irq0[2], intx_isr - intx0, rxq.kicks, txq.kicks,
	       rxq.kicks_skipped, txq.kicks_skipped);
	if (txdone < o->frames || rx < expect_rx)
		tg_fail("virtio-net: run %u sent %lu/%lu, received %lu/%lu before the timeout", run,
			txdone, o->frames, rx, expect_rx);
	if (o->msix && (irq_count[VEC_MSIX + 2] == irq0[2] ||
			(expect_rx && irq_count[VEC_MSIX + 1] == irq0[1])))
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

static void virtio_net(struct scn_ctx *c)
{
	static struct pci_dev devs[64];
	const char *irq = scn_opt(c, "irq");
	const char *bad = scn_opt(c, "bad-ring");
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
	};
	struct pci_dev *p = NULL;
	int n;

	if (irq && !o.msix && !o.intx && strcmp(irq, "poll"))
		tg_fail("virtio-net: irq=%s (want msix, intx or poll)", irq);
	if (o.frames > MAX_FRAMES || o.len < 26 || o.len > RX_BUF_LEN - NET_HDR_LEN || !o.qsize ||
	    !o.window)
		tg_fail("virtio-net: frames <= %d, 26 <= len <= %d, qsize > 0, window > 0",
			MAX_FRAMES, RX_BUF_LEN - NET_HDR_LEN);
	pci_init(scn_opt_u64(c, "ecam", 0));
	n = pci_scan(pci_ecam_base() ? PCI_MECH_ECAM : PCI_MECH_CF8, devs, 64);
	for (int i = 0; i < n && i < 64; i++) {
		pci_probe(&devs[i]);
		if (!p && devs[i].vendor == 0x1af4 && devs[i].device == 0x1041)
			p = &devs[i];
	}
	if (!p)
		tg_fail("virtio-net: no modern virtio-net device (1af4:1041)");
	pci_enable(p);
	virtio_pci_init(&vdev, p);
	memcpy(vnet_mac, (uint8_t[]){0x52, 0x54, 0x00, 0x12, 0x34, 0x56}, 6);
	apic_init();
	if (o.intx)
		intx_route(p->irq_line, true);
	for (uint32_t run = 0; run <= restarts; run++)
		run_once(&o, run);
	if (scn_opt(c, "arp") || scn_opt(c, "ping")) {
		lapic_timer(VEC_TICK, 100000);
		vnet_ip(c, o.timeout_ms);
		irq_disable();
		lapic_timer(VEC_TICK, 0);
	}
	if (bad && strcmp(bad, "none")) {
		bad_ring(bad, &o);
		/* After the reset in device_start(), frames must flow as before. */
		run_once(&o, ++restarts);
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
