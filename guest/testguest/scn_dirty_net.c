// SPDX-License-Identifier: GPL-2.0
/*
 * net=1 of scenario=dirty: the network half of the migration oracle. The dirty
 * rounds check pages the vCPU writes; this checks pages the NIC backend writes
 * (received frames, used rings), which a VMM must migrate from its own dirty
 * tracking (vhost's log, its device code's writes).
 *
 * Between rounds, in ring 0, the guest sends frames with increasing 64-bit sequence
 * numbers to its own MAC and takes them back from a peer that echoes them (a looping
 * backend). Every receive buffer is poisoned before it is posted. Without
 * MRG_RXBUF a device uses receive buffers in the order they were made available
 * (vhost-net and the userspace backend both do), and transmit buffers complete in
 * order too, so a used entry for another buffer means used entries were lost or
 * replayed; poison in a used buffer means the frame's write was lost; an old frame
 * (sequence going backwards) means a stale page came back. Frames may be lost in
 * flight (gaps), as on a wire.
 *
 * No interrupts: MSI-X and INTx stay off and the used rings are polled.
 */
#include "cpu.h"
#include "scn_dirty_net.h"
#include "trap.h"
#include "virtio.h"

#define VIRTIO_NET_F_MAC 5
#define NET_HDR_LEN 12 /* struct virtio_net_hdr with num_buffers (VERSION_1, 5.1.6) */
#define RX_BUF_LEN 2048
#define TX_BUF_LEN 2048
#define QSIZE 64
#define ETH_TYPE 0x88b5		/* IEEE 802 local experimental, as scenario=virtio-net */
#define FRAME_MAGIC 0x4e44474bu /* "KGDN" */
#define FRAME_SEQ 18		/* offset of the 64-bit sequence number */
#define FRAME_HDR 26		/* MACs, type, magic, sequence; then the pattern */
#define FRAME_MIN 64
#define FRAME_SPAN 448
#define POISON 0xee
#define STALL_NS 500000000ULL /* no frame back for this long: the window's are lost */
#define LAST_ROUNDS 3

/* virtio_pci.c's DMA window, where dma_alloc() puts rings and buffers. */
#define DMA_BASE 0x180000ULL
#define DMA_END 0x200000ULL

enum selftest { ST_NONE, ST_POISON, ST_ORDER, ST_SEQ, ST_CORRUPT };

static struct dnet {
	struct virtio_dev vdev;
	struct virtq rxq, txq;
	struct pci_dev devs[64];
	uint8_t *rx_bufs, *tx_bufs;
	unsigned int nrx;
	uint64_t burst, window, drain_ms;
	int ring;
	/* Receive buffers in the order they were posted: rx_fifo[n % nrx] is the n-th. */
	uint16_t rx_fifo[QSIZE];
	uint64_t rx_posted, rx_used;
	/* Sequence numbers start at 1: next to send, last transmit completion, highest
	 * received, and the last given up on after a stall. */
	uint64_t next_seq, tx_done, last_seq, giveup_seq;
	uint64_t rx, lost, last_rx_ns;
	uint64_t rarp;		/* the VMM's announce after a migration, echoed back */
	uint64_t rx_hist[LAST_ROUNDS + 1]; /* rx after round r's service, at r % 4 */
	enum selftest selftest;
	uint64_t selftest_round;
} dn;

/* Read from ring 3 by the frame check: all memory is user-accessible. */
static uint8_t dn_mac[6];

static uint32_t frame_len(uint64_t seq)
{
	return FRAME_MIN + (uint32_t)(seq * 37 % FRAME_SPAN);
}

static uint8_t pattern(uint64_t seq, uint32_t i)
{
	return (uint8_t)(seq * 131 + (seq >> 8) + i * 7);
}

/* Runs in ring 3 with ring=3 (or 0): writes seq's frame at f. No calls, as
 * frame_check(). */
static uint64_t frame_build(uint64_t f, uint64_t seq, uint64_t unused)
{
	uint8_t *p = (uint8_t *)f;
	uint32_t len = frame_len(seq);

	for (uint32_t i = 0; i < 12; i++)
		p[i] = dn_mac[i % 6];
	p[12] = ETH_TYPE >> 8;
	p[13] = ETH_TYPE & 0xff;
	*(uint32_t *)(p + 14) = FRAME_MAGIC;
	*(uint64_t *)(p + FRAME_SEQ) = seq;
	for (uint32_t i = FRAME_HDR; i < len; i++)
		p[i] = pattern(seq, i);
	return 0;
}

/* Runs in ring 3 (or 0): 1 + the first byte of frame f that differs from what seq's
 * frame holds, or 0. No calls: ring 3 must not reach ring-0 helpers. */
static uint64_t frame_check(uint64_t f, uint64_t len, uint64_t seq)
{
	const volatile uint8_t *p = (const volatile uint8_t *)f;

	for (uint32_t i = 0; i < 12; i++)
		if (p[i] != dn_mac[i % 6])
			return i + 1;
	for (uint32_t i = FRAME_HDR; i < len; i++)
		if (p[i] != pattern(seq, i))
			return i + 1;
	return 0;
}

static void post_rx(unsigned int b)
{
	struct virtq_buf buf = {(uint64_t)dn.rx_bufs + (uint64_t)b * RX_BUF_LEN, RX_BUF_LEN, true};

	/* A write the device makes and the migration loses leaves this behind. */
	memset(dn.rx_bufs + (uint64_t)b * RX_BUF_LEN, POISON, RX_BUF_LEN);
	if (!virtq_add(&dn.rxq, &buf, 1, b))
		tg_fail("net: receive queue full with %lu buffers posted",
			dn.rx_posted - dn.rx_used);
	dn.rx_fifo[dn.rx_posted % dn.nrx] = b;
	dn.rx_posted++;
}

/*
 * The id of the next used entry, as its token, after checking that the used index
 * moved by no more than what is in flight (an index that went backwards or a replayed
 * ring shows up here) and that the id is one the driver made available. Returns false
 * when nothing is pending.
 */
static bool peek_used(struct virtq *q, const char *name, uint64_t in_flight, uint64_t *token)
{
	uint16_t idx = q->used[0] >> 16, ahead = idx - q->last_used, id;

	if (!ahead)
		return false;
	if (ahead > in_flight)
		tg_fail("net: %s used index %u is %u past %u with %lu in flight", name, idx, ahead,
			q->last_used, in_flight);
	barrier();
	id = q->used[1 + 2 * (q->last_used % q->size)];
	if (id >= q->size || !q->ndesc[id])
		tg_fail("net: %s used id %u was not made available", name, id);
	*token = q->token[id];
	return true;
}

static void check_rx(unsigned int b, uint32_t used_len)
{
	uint8_t *f = dn.rx_bufs + (uint64_t)b * RX_BUF_LEN + NET_HDR_LEN;
	uint32_t len = used_len - NET_HDR_LEN;
	uint64_t seq, bad;
	unsigned int i;

	/*
	 * A migrated guest's VMM announces its MAC with RARP frames (ethertype
	 * 0x8035, the guest's MAC as source); the echo peer returns them too.
	 */
	if (used_len == NET_HDR_LEN + 60 && f[12] == 0x80 && f[13] == 0x35 &&
	    !memcmp(f + 6, dn_mac, 6)) {
		dn.rarp++;
		return;
	}
	if (used_len < NET_HDR_LEN + FRAME_MIN || used_len > RX_BUF_LEN)
		tg_fail("net: rx buffer %u used length %u out of range", b, used_len);
	for (i = 0; i < 16 && f[i] == POISON; i++)
		;
	if (i == 16)
		tg_fail("net: rx buffer %u holds poison (length %u)", b, used_len);
	if (f[12] != ETH_TYPE >> 8 || f[13] != (ETH_TYPE & 0xff) ||
	    *(uint32_t *)(f + 14) != FRAME_MAGIC)
		tg_fail("net: rx buffer %u holds no frame of ours (type 0x%02x%02x)", b, f[12],
			f[13]);
	seq = *(uint64_t *)(f + FRAME_SEQ);
	if (seq <= dn.last_seq)
		tg_fail("net: rx frame seq %lu after %lu", seq, dn.last_seq);
	if (seq >= dn.next_seq)
		tg_fail("net: rx frame seq %lu never sent (next %lu)", seq, dn.next_seq);
	if (len != frame_len(seq))
		tg_fail("net: rx frame %lu length %u, expected %u", seq, len, frame_len(seq));
	bad = dn.ring == 3 ? user_call(frame_check, (uint64_t)f, len, seq)
			   : frame_check((uint64_t)f, len, seq);
	if (bad == USER_FAULTED)
		tg_fail("net: ring 3 fault %lu at 0x%lx", last_user_fault.vector,
			last_user_fault.rip);
	if (bad)
		tg_fail("net: rx frame %lu corrupt at byte %lu", seq, bad - 1);
	dn.lost += seq - dn.last_seq - 1;
	dn.last_seq = seq;
	dn.rx++;
	dn.last_rx_ns = time_ns();
}

/* The mid-run corruption of net-selftest=: proves the check it aims at can fail. */
static void selftest(unsigned int b, unsigned int *expect_skip)
{
	uint8_t *f = dn.rx_bufs + (uint64_t)b * RX_BUF_LEN + NET_HDR_LEN;
	enum selftest st = dn.selftest;

	dn.selftest = ST_NONE;
	printf("NET selftest now rx=%lu buffer=%u\n", dn.rx, b);
	if (st == ST_POISON)
		memset(f - NET_HDR_LEN, POISON, RX_BUF_LEN);
	else if (st == ST_ORDER)
		*expect_skip = 1;
	else if (st == ST_CORRUPT)
		f[frame_len(*(uint64_t *)(f + FRAME_SEQ)) - 1] ^= 0x5a;
}

static void reap(uint64_t round)
{
	uint64_t token, seq;
	uint32_t len;
	bool refill = false;

	while (peek_used(&dn.txq, "tx", dn.next_seq - 1 - dn.tx_done, &token)) {
		seq = token;
		if (seq != dn.tx_done + 1)
			tg_fail("net: tx frame %lu returned, expected %lu", seq, dn.tx_done + 1);
		virtq_get(&dn.txq, &token, &len);
		dn.tx_done++;
	}
	while (peek_used(&dn.rxq, "rx", dn.rx_posted - dn.rx_used, &token)) {
		unsigned int skip = 0, want;
		bool replay = false;

		if (dn.selftest != ST_NONE && round >= dn.selftest_round) {
			replay = dn.selftest == ST_SEQ;
			selftest(token, &skip);
		}
		want = dn.rx_fifo[(dn.rx_used + skip) % dn.nrx];
		if (token != want)
			tg_fail("net: rx buffer %lu returned, expected %u", token, want);
		virtq_get(&dn.rxq, &token, &len);
		dn.rx_used++;
		check_rx(token, len);
		/* A replayed used entry: the same buffer checked again. */
		if (replay)
			check_rx(token, len);
		post_rx(token);
		refill = true;
	}
	if (refill)
		virtq_kick(&dn.rxq);
}

static void send_burst(void)
{
	uint64_t accounted = dn.last_seq > dn.giveup_seq ? dn.last_seq : dn.giveup_seq;
	bool kick = false;

	/* A looping backend drops what finds no receive buffer: at most window frames
	 * on their way back. When none came back for a while they are lost (in flight
	 * at a migration, say): stop waiting for them. */
	if (dn.next_seq - 1 - accounted >= dn.window && time_ns() - dn.last_rx_ns > STALL_NS &&
	    dn.tx_done == dn.next_seq - 1) {
		dn.giveup_seq = dn.next_seq - 1;
		dn.last_rx_ns = time_ns();
		accounted = dn.giveup_seq;
	}
	for (uint64_t n = 0; n < dn.burst && dn.next_seq - 1 - accounted < dn.window; n++) {
		uint64_t seq = dn.next_seq;
		uint8_t *b = dn.tx_bufs + seq % dn.txq.size * TX_BUF_LEN;
		struct virtq_buf buf = {(uint64_t)b, NET_HDR_LEN + frame_len(seq), false};

		/* Header and frame in one descriptor: any layout with VERSION_1 (2.7.4). */
		memset(b, 0, NET_HDR_LEN);
		if ((dn.ring == 3 ? user_call(frame_build, (uint64_t)b + NET_HDR_LEN, seq, 0)
				  : frame_build((uint64_t)b + NET_HDR_LEN, seq, 0)) == USER_FAULTED)
			tg_fail("net: ring 3 fault %lu at 0x%lx", last_user_fault.vector,
				last_user_fault.rip);
		if (!virtq_add(&dn.txq, &buf, 1, seq))
			break;
		dn.next_seq++;
		kick = true;
	}
	if (kick)
		virtq_kick(&dn.txq);
}

void dnet_service(uint64_t round)
{
	reap(round);
	send_burst();
	dn.rx_hist[round % (LAST_ROUNDS + 1)] = dn.rx;
}

void dnet_print(uint64_t round)
{
	printf("NET round=%lu tx=%lu rx=%lu lost=%lu rarp=%lu\n", round, dn.tx_done, dn.rx, dn.lost,
	       dn.rarp);
}

void dnet_finish(uint64_t round)
{
	uint64_t before =
		round > LAST_ROUNDS ? dn.rx_hist[(round - LAST_ROUNDS) % (LAST_ROUNDS + 1)] : 0;
	uint64_t end = time_ns() + dn.drain_ms * 1000000ULL;

	/* Frames still on their way back are waited for, not sent any more. */
	while ((dn.tx_done < dn.next_seq - 1 || dn.last_seq < dn.next_seq - 1) && time_ns() < end) {
		reap(round);
		cpu_relax();
	}
	if (dn.tx_done < dn.next_seq - 1)
		tg_fail("net: %lu of %lu frames not transmitted within %lu ms",
			dn.next_seq - 1 - dn.tx_done, dn.next_seq - 1, dn.drain_ms);
	if (!dn.rx)
		tg_fail("net: no frame received (tx=%lu)", dn.tx_done);
	if (dn.rx == before)
		tg_fail("net: no frames in the last rounds (rx=%lu, none after round %lu)", dn.rx,
			round - LAST_ROUNDS);
	if (dn.selftest != ST_NONE)
		tg_fail("net: net-selftest did not run (no frame after round %lu)",
			dn.selftest_round);
	/* Those never back after the drain are lost too, like the gaps. */
	dn.lost += dn.next_seq - 1 - dn.last_seq;
	virtio_reset(&dn.vdev);
	printf("NET verify ok tx=%lu rx=%lu lost=%lu rarp=%lu\n", dn.tx_done, dn.rx, dn.lost,
	       dn.rarp);
}

static struct pci_dev *find_nic(struct scn_ctx *c)
{
	int n;

	pci_init(scn_opt_u64(c, "ecam", 0));
	n = pci_scan(pci_ecam_base() ? PCI_MECH_ECAM : PCI_MECH_CF8, dn.devs, 64);
	for (int i = 0; i < n && i < 64; i++) {
		pci_probe(&dn.devs[i]);
		if (dn.devs[i].vendor == 0x1af4 && dn.devs[i].device == 0x1041)
			return &dn.devs[i];
	}
	tg_fail("net: no modern virtio-net device (1af4:1041)");
}

static void device_start(bool event_idx)
{
	uint64_t offered, want = 1ULL << VIRTIO_F_VERSION_1;
	struct pci_dev *p = dn.vdev.pci;

	virtio_reset(&dn.vdev);
	virtio_add_status(&dn.vdev, VIRTIO_STATUS_ACK);
	virtio_add_status(&dn.vdev, VIRTIO_STATUS_DRIVER);
	offered = virtio_device_features(&dn.vdev);
	want |= offered & (1ULL << VIRTIO_NET_F_MAC);
	if (event_idx)
		want |= 1ULL << VIRTIO_F_EVENT_IDX;
	if ((want & offered) != want)
		tg_fail("net: features 0x%lx wanted, device offers 0x%lx", want, offered);
	if (!virtio_set_features(&dn.vdev, want))
		tg_fail("net: device refused features 0x%lx", want);
	/* Polled: no MSI-X, and INTx off too (nothing routes or acknowledges it). */
	virtio_msix_disable(&dn.vdev);
	pci_write16(p->bdf, PCI_COMMAND, pci_read16(p->bdf, PCI_COMMAND) | PCI_CMD_INTX_DISABLE);
	dma_reset();
	virtq_setup(&dn.rxq, &dn.vdev, 0, QSIZE, VIRTIO_MSI_NO_VECTOR);
	virtq_setup(&dn.txq, &dn.vdev, 1, QSIZE, VIRTIO_MSI_NO_VECTOR);
	dn.nrx = dn.rxq.size;
	dn.rx_bufs = dma_alloc((uint64_t)dn.nrx * RX_BUF_LEN, 64);
	dn.tx_bufs = dma_alloc((uint64_t)dn.txq.size * TX_BUF_LEN, 64);
	virtio_add_status(&dn.vdev, VIRTIO_STATUS_DRIVER_OK);
	if (virtio_status(&dn.vdev) & VIRTIO_STATUS_FAILED)
		tg_fail("net: device failed at DRIVER_OK");
	memcpy(dn_mac, (uint8_t[]){0x52, 0x54, 0x00, 0x12, 0x34, 0x56}, 6);
	if (dn.vdev.features & (1ULL << VIRTIO_NET_F_MAC) && dn.vdev.device)
		for (int i = 0; i < 6; i++)
			dn_mac[i] = mmio_read8(dn.vdev.device + i);
	for (unsigned int b = 0; b < dn.nrx; b++)
		post_rx(b);
	virtq_kick(&dn.rxq);
}

void dnet_start(struct scn_ctx *c, uint64_t base, uint64_t pages, uint64_t rounds, int ring)
{
	const char *st = scn_opt(c, "net-selftest");
	static const char *const names[] = {"none", "poison", "order", "seq", "corrupt"};
	bool event_idx = scn_opt_u64(c, "net-event-idx", 0);
	struct pci_dev *p;

	memset(&dn, 0, sizeof(dn));
	dn.burst = scn_opt_u64(c, "net-burst", 8);
	dn.window = scn_opt_u64(c, "net-window", 32);
	dn.drain_ms = scn_opt_u64(c, "net-drain-ms", 2000);
	dn.selftest_round = scn_opt_u64(c, "net-selftest-round", rounds ? (rounds + 1) / 2 : 10);
	dn.ring = ring;
	dn.next_seq = 1;
	for (unsigned int i = 0; st && i < ARRAY_SIZE(names); i++)
		if (!strcmp(st, names[i]))
			dn.selftest = i;
	if (st && strcmp(st, "none") && dn.selftest == ST_NONE)
		tg_fail("net: net-selftest=%s (want poison, order, seq or corrupt)", st);
	if (base < DMA_END && base + pages * 4096 > DMA_BASE)
		tg_fail("net: dirty range overlaps the rings at 0x%llx-0x%llx", DMA_BASE, DMA_END);

	p = find_nic(c);
	pci_enable(p);
	virtio_pci_init(&dn.vdev, p);
	device_start(event_idx);
	if (!dn.burst || !dn.window || dn.window > dn.nrx || dn.window > dn.txq.size)
		tg_fail("net: net-burst=%lu, net-window=%lu: want > 0, window <= %u", dn.burst,
			dn.window, dn.nrx < dn.txq.size ? dn.nrx : dn.txq.size);
	dn.last_rx_ns = time_ns();
	printf("NET start features=0x%lx mac=%02x:%02x:%02x:%02x:%02x:%02x rx-bufs=%u tx-slots=%u "
	       "burst=%lu window=%lu selftest=%s\n",
	       dn.vdev.features, dn_mac[0], dn_mac[1], dn_mac[2], dn_mac[3], dn_mac[4], dn_mac[5],
	       dn.nrx, dn.txq.size, dn.burst, dn.window, names[dn.selftest]);
}
