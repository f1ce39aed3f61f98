// SPDX-License-Identifier: GPL-2.0
/*
 * scenario=virtio-net-mq: a multiqueue virtio-net driver (virtio 1.2, 5.1.6.5.5).
 * Negotiates MQ and CTRL_VQ, sets up every receive and transmit queue the device
 * has, and walks through the queue pair counts pairs= names (starting from the
 * one pair a device uses after DRIVER_OK) with VQ_PAIRS_SET on the control queue.
 * At each count it sends frames tagged with their pair on every active transmit
 * queue and wants each back exactly once, from the echo peer, on an active
 * receive queue; a frame on the receive queue of an idle pair fails the run.
 * With hold=1 it stops at each count, prints "VIRTIO-NET-MQ hold pairs=N", and
 * goes on when a frame of ethertype 0x88b6 arrives: the host looks at the tap
 * in between (how many tap queues are attached, for instance).
 * Polls; interrupts are other scenarios' business.
 */
#include "apic.h"
#include "cpu.h"
#include "trap.h"
#include "virtio.h"
#include "vnet.h"

#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_MQ 22
#define VIRTIO_NET_F_MAC 5
#define CTRL_MQ 4	       /* class VIRTIO_NET_CTRL_MQ */
#define CTRL_MQ_VQ_PAIRS_SET 0 /* its command */
#define CTRL_OK 0
#define CTRL_ERR 1
#define NET_HDR_LEN 12
#define MAX_PAIRS 4
#define RXQ_BUFS 16 /* receive buffers per queue */
#define TX_SLOTS 16 /* frame buffers per transmit queue */
#define BUF_LEN 2048
#define ETH_TYPE_DATA 0x88b5
#define ETH_TYPE_GO 0x88b6
#define FRAME_MAGIC 0x514d4754 /* "TGMQ" */
#define MAX_FRAMES 1024
#define MAX_STEPS 8
#define VEC_TICK 0x41

static struct virtio_dev vdev;
static struct virtq rxq[MAX_PAIRS], txq[MAX_PAIRS], ctrlq;
static uint8_t *rx_bufs[MAX_PAIRS], *tx_bufs[MAX_PAIRS], *tx_hdr, *ctrl_buf;
static uint8_t seen[MAX_FRAMES / 8];
static unsigned int max_pairs;

static void post_rx(unsigned int q, unsigned int slot)
{
	struct virtq_buf b = {(uint64_t)rx_bufs[q] + slot * BUF_LEN, BUF_LEN, true};

	if (!virtq_add(&rxq[q], &b, 1, slot))
		tg_fail("virtio-net-mq: receive queue %u full", q);
}

static void device_start(uint64_t qsize)
{
	uint64_t want = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_NET_F_MAC |
			1ULL << VIRTIO_NET_F_CTRL_VQ | 1ULL << VIRTIO_NET_F_MQ;
	uint64_t offered;

	virtio_reset(&vdev);
	virtio_add_status(&vdev, VIRTIO_STATUS_ACK);
	virtio_add_status(&vdev, VIRTIO_STATUS_DRIVER);
	offered = virtio_device_features(&vdev);
	if ((offered & want) != want)
		tg_fail("virtio-net-mq: features 0x%lx wanted, device offers 0x%lx (queues=N>1?)",
			want, offered);
	if (!virtio_set_features(&vdev, want))
		tg_fail("virtio-net-mq: device refused features 0x%lx", want);
	/* max_virtqueue_pairs: le16 at offset 8 of the device configuration (5.1.4). */
	max_pairs = mmio_read16(vdev.device + 8);
	if (max_pairs < 2 || max_pairs > MAX_PAIRS)
		tg_fail("virtio-net-mq: max_virtqueue_pairs %u (want 2 to %d)", max_pairs,
			MAX_PAIRS);
	for (int i = 0; i < 6; i++)
		vnet_mac[i] = mmio_read8(vdev.device + i);
	virtio_msix_disable(&vdev);
	dma_reset();
	/* receiveqN is 2(N-1), transmitqN 2(N-1)+1, the control queue 2 * max (5.1.2). */
	for (unsigned int q = 0; q < max_pairs; q++) {
		virtq_setup(&rxq[q], &vdev, 2 * q, qsize, VIRTIO_MSI_NO_VECTOR);
		virtq_setup(&txq[q], &vdev, 2 * q + 1, qsize, VIRTIO_MSI_NO_VECTOR);
		rx_bufs[q] = dma_alloc(RXQ_BUFS * BUF_LEN, 64);
		tx_bufs[q] = dma_alloc(TX_SLOTS * BUF_LEN, 64);
	}
	virtq_setup(&ctrlq, &vdev, 2 * max_pairs, 16, VIRTIO_MSI_NO_VECTOR);
	tx_hdr = dma_alloc(NET_HDR_LEN, 16);
	ctrl_buf = dma_alloc(64, 16);
	memset(tx_hdr, 0, NET_HDR_LEN);
	virtio_add_status(&vdev, VIRTIO_STATUS_DRIVER_OK);
	if (virtio_status(&vdev) & VIRTIO_STATUS_FAILED)
		tg_fail("virtio-net-mq: device failed at DRIVER_OK");
	/* Buffers on every receive queue, idle ones too: nothing may land there. */
	for (unsigned int q = 0; q < max_pairs; q++) {
		for (unsigned int i = 0; i < RXQ_BUFS && i < rxq[q].size; i++)
			post_rx(q, i);
		virtq_kick(&rxq[q]);
	}
	printf("VIRTIO-NET-MQ features=0x%lx max-pairs=%u queues=%u qsize=%u\n", vdev.features,
	       max_pairs, 2 * max_pairs + 1, txq[0].size);
}

/* Sleeps until the LAPIC tick unless a queue has used buffers (see scn_virtio_net.c). */
static void idle_wait(void)
{
	bool busy = virtq_pending(&ctrlq);

	for (unsigned int q = 0; q < max_pairs; q++)
		busy |= virtq_pending(&rxq[q]) || virtq_pending(&txq[q]);
	irq_disable();
	if (!busy)
		asm volatile("sti; hlt" ::: "memory");
	else
		irq_enable();
}

/* VQ_PAIRS_SET: header and le16 out, the ack byte in (5.1.6.5). Returns the ack. */
static uint8_t set_pairs(unsigned int pairs, uint64_t end)
{
	struct virtq_buf b[2] = {{(uint64_t)ctrl_buf, 4, false}, {(uint64_t)ctrl_buf + 8, 1, true}};
	uint64_t token;
	uint32_t len;

	ctrl_buf[0] = CTRL_MQ;
	ctrl_buf[1] = CTRL_MQ_VQ_PAIRS_SET;
	ctrl_buf[2] = pairs & 0xff;
	ctrl_buf[3] = pairs >> 8;
	ctrl_buf[8] = 0xee;
	if (!virtq_add(&ctrlq, b, 2, pairs))
		tg_fail("virtio-net-mq: control queue full");
	virtq_kick(&ctrlq);
	while (!virtq_get(&ctrlq, &token, &len)) {
		if (time_ns() > end)
			tg_fail("virtio-net-mq: VQ_PAIRS_SET %u not answered", pairs);
		idle_wait();
	}
	if (len != 1 || ctrl_buf[8] == 0xee)
		tg_fail("virtio-net-mq: VQ_PAIRS_SET %u: used length %u, no ack written", pairs,
			len);
	return ctrl_buf[8];
}

/* Fails the run when the receive queue of an idle pair got a frame. */
static void check_idle(unsigned int active)
{
	for (unsigned int q = active; q < max_pairs; q++)
		if (virtq_pending(&rxq[q]))
			tg_fail("virtio-net-mq: a frame on receive queue %u with %u pairs", q,
				active);
}

/* The next received frame on an active queue: its queue and slot, or false. */
static bool recv_any(unsigned int active, unsigned int *q, uint8_t **f, uint32_t *len)
{
	uint64_t slot;

	check_idle(active);
	for (*q = 0; *q < active; (*q)++) {
		if (!virtq_get(&rxq[*q], &slot, len))
			continue;
		if (slot >= RXQ_BUFS || *len < NET_HDR_LEN + 14)
			tg_fail("virtio-net-mq: queue %u: used id %lu length %u", *q, slot, *len);
		*f = rx_bufs[*q] + slot * BUF_LEN + NET_HDR_LEN;
		*len -= NET_HDR_LEN;
		post_rx(*q, slot);
		virtq_kick(&rxq[*q]);
		return true;
	}
	return false;
}

static void wait_go(unsigned int active, uint64_t end)
{
	unsigned int q;
	uint8_t *f;
	uint32_t len;

	printf("VIRTIO-NET-MQ hold pairs=%u\n", active);
	for (;;) {
		if (recv_any(active, &q, &f, &len)) {
			if (f[12] == ETH_TYPE_GO >> 8 && f[13] == (ETH_TYPE_GO & 0xff))
				return;
			tg_fail("virtio-net-mq: a frame of ethertype 0x%02x%02x while holding",
				f[12], f[13]);
		}
		if (time_ns() > end)
			tg_fail("virtio-net-mq: no go frame (ethertype 0x%x) from the host",
				ETH_TYPE_GO);
		idle_wait();
	}
}

/* vnet_frame_build()'s frame with the transmit pair as le32 at 26 (the pattern from 30). */
static void build_frame(uint8_t *f, uint64_t len, uint32_t seq, uint32_t step, uint32_t pair)
{
	vnet_frame_build(f, len, FRAME_MAGIC, seq, step);
	*(uint32_t *)(f + 26) = pair;
}

static void check_frame(const uint8_t *f, uint32_t len, uint64_t want_len, uint64_t frames,
			uint32_t step, unsigned int active)
{
	uint32_t seq = *(const uint32_t *)(f + 18);

	if (len != want_len || f[12] != ETH_TYPE_DATA >> 8 ||
	    *(const uint32_t *)(f + 14) != FRAME_MAGIC || *(const uint32_t *)(f + 22) != step)
		tg_fail("virtio-net-mq: step %u: unexpected frame of %u bytes", step, len);
	if (seq >= frames || seen[seq / 8] & (1 << (seq % 8)))
		tg_fail("virtio-net-mq: step %u: frame %u twice or never sent", step, seq);
	if (*(const uint32_t *)(f + 26) != seq % active)
		tg_fail("virtio-net-mq: step %u: frame %u names pair %u", step, seq,
			*(const uint32_t *)(f + 26));
	for (uint32_t i = 30; i < len; i++)
		if (f[i] != (uint8_t)(seq + i))
			tg_fail("virtio-net-mq: step %u: frame %u corrupt at byte %u", step, seq,
				i);
	seen[seq / 8] |= 1 << (seq % 8);
}

/*
 * frames frames, frame i on transmit queue i % active, at most window of them
 * on their way back (the echo peer drops what finds no receive buffer, and
 * tun may steer every echo to one queue: window <= RXQ_BUFS).
 */
static void burst(uint32_t step, unsigned int active, uint64_t frames, uint64_t len,
		  uint64_t window, uint64_t end)
{
	uint64_t sent = 0, rx = 0, txdone = 0, sent_q[MAX_PAIRS] = {0}, rx_q[MAX_PAIRS] = {0};
	uint64_t token;
	unsigned int q;
	uint8_t *f;
	uint32_t used;
	char per[64];
	int n = 0;

	memset(seen, 0, sizeof(seen));
	while ((rx < frames || txdone < frames) && time_ns() < end) {
		while (sent < frames && sent - rx < window) {
			unsigned int p = sent % active;
			struct virtq_buf b[2] = {
				{(uint64_t)tx_hdr, NET_HDR_LEN, false},
				{(uint64_t)tx_bufs[p] + sent_q[p] % TX_SLOTS * BUF_LEN, len,
				 false}};

			build_frame((uint8_t *)b[1].addr, len, sent, step, p);
			if (!virtq_add(&txq[p], b, 2, sent))
				tg_fail("virtio-net-mq: transmit queue %u full", p);
			virtq_kick(&txq[p]);
			sent_q[p]++;
			sent++;
		}
		for (q = 0; q < max_pairs; q++)
			while (virtq_get(&txq[q], &token, &used)) {
				if (q >= active)
					tg_fail("virtio-net-mq: idle transmit queue %u used", q);
				txdone++;
			}
		while (recv_any(active, &q, &f, &used)) {
			check_frame(f, used, len, frames, step, active);
			rx_q[q]++;
			rx++;
		}
		if (rx < frames || txdone < frames)
			idle_wait();
	}
	for (q = 0; q < max_pairs; q++)
		n += snprintf(per + n, sizeof(per) - n, "%s%lu", q ? "/" : "", rx_q[q]);
	printf("VIRTIO-NET-MQ step=%u pairs=%u tx=%lu rx=%lu rx-per-queue=%s\n", step, active,
	       txdone, rx, per);
	if (rx < frames || txdone < frames)
		tg_fail("virtio-net-mq: step %u sent %lu/%lu, received %lu/%lu before the timeout",
			step, txdone, frames, rx, frames);
}

static void virtio_net_mq(struct scn_ctx *c)
{
	static struct pci_dev devs[64];
	const char *list = scn_opt(c, "pairs");
	uint64_t frames = scn_opt_u64(c, "frames", 64), len = scn_opt_u64(c, "len", 128);
	uint64_t window = scn_opt_u64(c, "window", 8), qsize = scn_opt_u64(c, "qsize", 64);
	uint64_t timeout = scn_opt_u64(c, "timeout-ms", 30000) * 1000000ULL;
	bool hold = scn_opt_u64(c, "hold", 0);
	unsigned int steps[MAX_STEPS] = {1}, nsteps = 1;
	struct pci_dev *p;
	uint8_t ack;

	if (!frames || frames > MAX_FRAMES || len < 30 || len > BUF_LEN - NET_HDR_LEN || !window ||
	    window > RXQ_BUFS || qsize < TX_SLOTS)
		tg_fail("virtio-net-mq: 1 <= frames <= %d, 30 <= len <= %d, 1 <= window <= %d, "
			"qsize >= %d",
			MAX_FRAMES, BUF_LEN - NET_HDR_LEN, RXQ_BUFS, TX_SLOTS);
	for (const char *s = list ? list : "2,1"; *s && nsteps < MAX_STEPS;) {
		steps[nsteps++] = parse_u64(s, &s);
		if (*s == ',')
			s++;
		else if (*s)
			tg_fail("virtio-net-mq: pairs=%s (want a list like 2,1)", list);
	}
	pci_init(scn_opt_u64(c, "ecam", 0));
	p = vnet_find_nic(devs, 64);
	pci_enable(p);
	virtio_pci_init(&vdev, p);
	apic_init();
	device_start(qsize);
	lapic_timer(VEC_TICK, 100000);
	/* Out of range (5.1.6.5.5: 1 to max_virtqueue_pairs): refused, one pair stays. */
	if ((ack = set_pairs(0, time_ns() + timeout)) != CTRL_ERR ||
	    (ack = set_pairs(max_pairs + 1, time_ns() + timeout)) != CTRL_ERR)
		tg_fail("virtio-net-mq: VQ_PAIRS_SET out of range acked %u", ack);
	printf("VIRTIO-NET-MQ refused pairs=0 pairs=%u\n", max_pairs + 1);
	for (unsigned int i = 0; i < nsteps; i++) {
		if (!steps[i] || steps[i] > max_pairs)
			tg_fail("virtio-net-mq: pairs=%u: want 1 to %u", steps[i], max_pairs);
		if (i && (ack = set_pairs(steps[i], time_ns() + timeout)) != CTRL_OK)
			tg_fail("virtio-net-mq: VQ_PAIRS_SET %u acked %u", steps[i], ack);
		if (hold)
			wait_go(steps[i], time_ns() + timeout);
		burst(i, steps[i], frames, len, window, time_ns() + timeout);
	}
	irq_disable();
	lapic_timer(VEC_TICK, 0);
	virtio_reset(&vdev);
	printf("ITERATIONS %u\n", nsteps);
}
SCENARIO("virtio-net-mq", virtio_net_mq,
	 "multiqueue virtio-net: VQ_PAIRS_SET on the control queue, frames on every pair");
