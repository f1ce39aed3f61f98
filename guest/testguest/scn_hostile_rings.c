// SPDX-License-Identifier: GPL-2.0
/*
 * scenario=hostile, phase (c): the NIC's queues pointed at what is not RAM (its own
 * BAR, the LAPIC and I/O APIC pages, beyond and across the end of RAM, across 2^64)
 * and chains the device must refuse: loops, chains longer than the queue, next
 * beyond the queue, indirect tables outside RAM, of a bad length or nested (virtio
 * 1.2, 2.7.5.3.1: "the driver MUST NOT create a descriptor chain longer than the
 * Queue Size"; 2.7.5.3.1 again: no INDIRECT within an indirect table). A device that
 * meets one sets DEVICE_NEEDS_RESET (2.1.2); each case waits for it, then resets.
 */
#include "cpu.h"
#include "scn_hostile.h"
#include "vnet.h"

#define QSIZE 64
#define LAPIC_PAGE 0xfee00000ULL
#define IOAPIC_PAGE 0xfec00000ULL
#define NET_HDR_LEN 12
#define FRAME_LEN 64
#define BEYOND (1ULL << 20) /* past the end of RAM by this much */
#define WRAP 0xffffffffffffff00ULL

struct rings {
	uint64_t desc, avail, used;
	struct vring_desc *d; /* in RAM: what the case writes before the kick */
	uint16_t *a;
};

enum ring_case {
	RC_DESC_AT_BAR,
	RC_AVAIL_AT_BAR,
	RC_USED_AT_LAPIC,
	RC_DESC_AT_IOAPIC,
	RC_ALL_BEYOND_RAM,
	RC_DESC_ACROSS_RAM_END,
	RC_USED_ACROSS_RAM_END,
	RC_DESC_WRAPS,
	RC_USED_WRAPS,
	RC_CHAIN_LOOP,
	RC_CHAIN_LONGER_THAN_QUEUE,
	RC_NEXT_BEYOND_QUEUE,
	RC_AVAIL_JUMP,
	RC_BUF_AT_BAR,
	RC_BUF_ACROSS_RAM_END,
	RC_INDIRECT_BEYOND_RAM,
	RC_INDIRECT_ACROSS_RAM_END,
	RC_INDIRECT_WRAPS,
	RC_INDIRECT_BAD_LEN,
	RC_INDIRECT_NESTED,
	RC_INDIRECT_HUGE,
	RC_RX_BUF_AT_LAPIC,
	RC_COUNT,
};

static const char *const case_name[RC_COUNT] = {
	"desc-at-bar",
	"avail-at-bar",
	"used-at-lapic",
	"desc-at-ioapic",
	"all-beyond-ram",
	"desc-across-ram-end",
	"used-across-ram-end",
	"desc-wraps",
	"used-wraps",
	"chain-loop",
	"chain-longer-than-queue",
	"next-beyond-queue",
	"avail-jump",
	"buf-at-bar",
	"buf-across-ram-end",
	"indirect-beyond-ram",
	"indirect-across-ram-end",
	"indirect-wraps",
	"indirect-bad-len",
	"indirect-nested",
	"indirect-huge",
	"rx-buf-at-lapic",
};

static uint8_t *frame;

static void ram_rings(struct rings *r)
{
	r->d = dma_alloc(16 * QSIZE, 16);
	r->a = dma_alloc(6 + 2 * QSIZE, 2);
	r->desc = (uint64_t)r->d;
	r->avail = (uint64_t)r->a;
	r->used = (uint64_t)dma_alloc(4096, 4096);
	memset(r->d, 0, 16 * QSIZE);
	memset(r->a, 0, 6 + 2 * QSIZE);
	memset((void *)r->used, 0, 4096);
}

/* One chain made available: head, one entry in the ring, avail idx 1. */
static void publish(struct rings *r, uint16_t head)
{
	r->a[2] = head;
	barrier();
	r->a[1] = 1;
}

static void one_buf(struct rings *r, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next)
{
	r->d[i] = (struct vring_desc){.addr = addr, .len = len, .flags = flags, .next = next};
}

static void queue_setup(struct hostile *h, uint16_t q, const struct rings *r)
{
	uint64_t cc = h->vd->common;

	mmio_write16(cc + CC_Q_SELECT, q);
	mmio_write16(cc + CC_Q_SIZE, QSIZE);
	mmio_write32(cc + CC_Q_DESC, (uint32_t)r->desc);
	mmio_write32(cc + CC_Q_DESC + 4, r->desc >> 32);
	mmio_write32(cc + CC_Q_DRIVER, (uint32_t)r->avail);
	mmio_write32(cc + CC_Q_DRIVER + 4, r->avail >> 32);
	mmio_write32(cc + CC_Q_DEVICE, (uint32_t)r->used);
	mmio_write32(cc + CC_Q_DEVICE + 4, r->used >> 32);
	mmio_write16(cc + CC_Q_MSIX, VIRTIO_MSI_NO_VECTOR);
	mmio_write16(cc + CC_Q_ENABLE, 1);
}

static void kick(struct hostile *h, uint16_t q)
{
	uint64_t cc = h->vd->common;

	mmio_write16(cc + CC_Q_SELECT, q);
	mmio_write16(h->vd->notify +
			     (uint64_t)mmio_read16(cc + CC_Q_NOTIFY_OFF) * h->vd->notify_mult,
		     q);
}

/* The transmit queue (and for rx-buf-at-lapic the receive one) made hostile. */
static void build(struct hostile *h, enum ring_case c, struct rings *tx, struct rings *rx)
{
	uint64_t end = h->ram_end, hdr = (uint64_t)frame, data = hdr + NET_HDR_LEN;
	struct vring_desc *t = dma_alloc(4 * 16, 16);
	uint16_t head = 0;

	ram_rings(tx);
	ram_rings(rx);
	/* A good two-part frame at head 0 unless the case says otherwise. */
	one_buf(tx, 0, hdr, NET_HDR_LEN, VRING_DESC_F_NEXT, 1);
	one_buf(tx, 1, data, FRAME_LEN, 0, 0);
	switch (c) {
	case RC_DESC_AT_BAR:
		tx->desc = h->vd->common;
		break;
	case RC_AVAIL_AT_BAR:
		tx->avail = h->vd->common;
		break;
	case RC_USED_AT_LAPIC:
		tx->used = LAPIC_PAGE;
		break;
	case RC_DESC_AT_IOAPIC:
		tx->desc = IOAPIC_PAGE;
		break;
	case RC_ALL_BEYOND_RAM:
		tx->desc = end + BEYOND;
		tx->avail = end + BEYOND + 0x1000;
		tx->used = end + BEYOND + 0x2000;
		break;
	case RC_DESC_ACROSS_RAM_END:
		/* Entry 63 lies past the end: the table is 1 KiB from 256 bytes before it. */
		tx->desc = end - 256;
		head = QSIZE - 1;
		break;
	case RC_USED_ACROSS_RAM_END:
		tx->used = end - 8;
		break;
	case RC_DESC_WRAPS:
		tx->desc = WRAP;
		head = QSIZE - 1;
		break;
	case RC_USED_WRAPS:
		tx->used = 0xfffffffffffffffcULL;
		break;
	case RC_CHAIN_LOOP:
		one_buf(tx, 1, data, FRAME_LEN, VRING_DESC_F_NEXT, 1);
		break;
	case RC_CHAIN_LONGER_THAN_QUEUE:
		for (uint16_t i = 0; i < QSIZE; i++)
			one_buf(tx, i, data, 4, VRING_DESC_F_NEXT, (i + 1) % QSIZE);
		break;
	case RC_NEXT_BEYOND_QUEUE:
		one_buf(tx, 0, hdr, NET_HDR_LEN, VRING_DESC_F_NEXT, 1000);
		break;
	case RC_AVAIL_JUMP:
		tx->a[2] = 0;
		tx->a[1] = QSIZE + 5;
		return;
	case RC_BUF_AT_BAR:
		one_buf(tx, 1, h->vd->common, FRAME_LEN, 0, 0);
		break;
	case RC_BUF_ACROSS_RAM_END:
		one_buf(tx, 1, end - 8, FRAME_LEN, 0, 0);
		break;
	case RC_INDIRECT_BEYOND_RAM:
		one_buf(tx, 0, end + BEYOND, 32, VRING_DESC_F_INDIRECT, 0);
		break;
	case RC_INDIRECT_ACROSS_RAM_END:
		one_buf(tx, 0, end - 16, 64, VRING_DESC_F_INDIRECT, 0);
		break;
	case RC_INDIRECT_WRAPS:
		one_buf(tx, 0, 0xfffffffffffffff0ULL, 32, VRING_DESC_F_INDIRECT, 0);
		break;
	case RC_INDIRECT_BAD_LEN:
	case RC_INDIRECT_NESTED:
	case RC_INDIRECT_HUGE:
		t[0] = (struct vring_desc){hdr, NET_HDR_LEN, VRING_DESC_F_NEXT, 1};
		t[1] = (struct vring_desc){data, FRAME_LEN, 0, 0};
		if (c == RC_INDIRECT_NESTED)
			t[1].flags = VRING_DESC_F_INDIRECT;
		one_buf(tx, 0, (uint64_t)t,
			c == RC_INDIRECT_BAD_LEN ? 17
			: c == RC_INDIRECT_HUGE	 ? 0xfffffff0
						 : 32,
			VRING_DESC_F_INDIRECT, 0);
		break;
	case RC_RX_BUF_AT_LAPIC:
		/* The frame goes out, the peer echoes it, the device writes the LAPIC page. */
		one_buf(rx, 0, LAPIC_PAGE, 2048, VRING_DESC_F_WRITE, 0);
		publish(rx, 0);
		break;
	case RC_COUNT:
		break;
	}
	publish(tx, head);
}

static bool run_case(struct hostile *h, enum ring_case c)
{
	struct rings tx, rx;
	uint64_t want = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_INDIRECT_DESC, ms;
	uint8_t st;

	virtio_reset(h->vd);
	virtio_add_status(h->vd, VIRTIO_STATUS_ACK);
	virtio_add_status(h->vd, VIRTIO_STATUS_DRIVER);
	want &= virtio_device_features(h->vd);
	if (!virtio_set_features(h->vd, want))
		tg_fail("hostile: rings: the device refused features 0x%lx", want);
	dma_reset();
	frame = dma_alloc(NET_HDR_LEN + FRAME_LEN, 64);
	memset(frame, 0, NET_HDR_LEN + FRAME_LEN);
	memcpy(frame + NET_HDR_LEN, vnet_mac, 6);
	memcpy(frame + NET_HDR_LEN + 6, vnet_mac, 6);
	frame[NET_HDR_LEN + 12] = 0x88;
	frame[NET_HDR_LEN + 13] = 0xb5;
	build(h, c, &tx, &rx);
	queue_setup(h, 0, &rx);
	queue_setup(h, 1, &tx);
	virtio_add_status(h->vd, VIRTIO_STATUS_DRIVER_OK);
	kick(h, 0);
	kick(h, 1);
	st = hostile_wait_needs_reset(h, &ms);
	printf("HOSTILE rings case=%s needs_reset=%u ms=%lu status=0x%x\n", case_name[c],
	       !!(st & VIRTIO_STATUS_NEEDS_RESET), ms, st);
	return st & VIRTIO_STATUS_NEEDS_RESET;
}

void hostile_rings(struct hostile *h)
{
	unsigned int flagged = 0;

	for (int c = 0; c < RC_COUNT; c++)
		flagged += run_case(h, c);
	virtio_reset(h->vd);
	printf("HOSTILE rings cases=%d flagged=%u\n", RC_COUNT, flagged);
	if (flagged != RC_COUNT)
		tg_fail("hostile: rings: %u of %d broken queues not flagged DEVICE_NEEDS_RESET",
			RC_COUNT - flagged, RC_COUNT);
}
