// SPDX-License-Identifier: GPL-2.0
/* Split virtqueues, driver side (virtio 1.2, 2.7), with EVENT_IDX and indirect tables. */
#include "cpu.h"
#include "virtio.h"

/* A locked add is a full barrier and plain integer code, which the CI host's
 * instruction emulator runs (mfence is not needed). */
static inline void full_barrier(void)
{
	asm volatile("lock addl $0, (%%rsp)" ::: "memory", "cc");
}

void virtq_setup(struct virtq *q, struct virtio_dev *d, uint16_t index, uint16_t max_size,
		 uint16_t msix_entry)
{
	uint64_t cc = d->common;
	uint16_t size;

	mmio_write16(cc + CC_Q_SELECT, index);
	size = mmio_read16(cc + CC_Q_SIZE);
	if (!size)
		tg_fail("virtio: queue %u does not exist", index);
	if (mmio_read16(cc + CC_Q_ENABLE))
		tg_fail("virtio: queue %u enabled before setup (after reset)", index);
	if (size > max_size)
		size = max_size;
	if (size > VIRTQ_MAX_SIZE)
		size = VIRTQ_MAX_SIZE;
	/* Split queue sizes are powers of two (2.7). */
	while (size & (size - 1))
		size &= size - 1;

	*q = (struct virtq){.dev = d, .index = index, .size = size};
	q->event_idx = d->features & (1ULL << VIRTIO_F_EVENT_IDX);
	q->indirect = d->features & (1ULL << VIRTIO_F_INDIRECT_DESC);
	q->desc = dma_alloc(16 * size, 16);
	q->avail = dma_alloc(6 + 2 * size, 2);
	/*
	 * The used ring on pages of its own: only the device writes them, so a
	 * migration that misses the device's writes cannot be covered up by
	 * the vCPU's writes to a shared page (scenario=dirty net=1).
	 */
	q->used = dma_alloc((6 + 8 * size + 4095) & ~4095ULL, 4096);
	memset((void *)q->desc, 0, 16 * size);
	memset((void *)q->avail, 0, 6 + 2 * size);
	memset((void *)q->used, 0, 6 + 8 * size);
	if (q->indirect)
		q->indir = dma_alloc(sizeof(struct vring_desc) * VIRTQ_MAX_SG * size, 16);
	for (uint16_t i = 0; i < size; i++)
		q->desc[i].next = i + 1;
	q->num_free = size;

	mmio_write16(cc + CC_Q_SIZE, size);
	mmio_write32(cc + CC_Q_DESC, (uint64_t)q->desc);
	mmio_write32(cc + CC_Q_DESC + 4, 0);
	mmio_write32(cc + CC_Q_DRIVER, (uint64_t)q->avail);
	mmio_write32(cc + CC_Q_DRIVER + 4, 0);
	mmio_write32(cc + CC_Q_DEVICE, (uint64_t)q->used);
	mmio_write32(cc + CC_Q_DEVICE + 4, 0);
	mmio_write16(cc + CC_Q_MSIX, msix_entry);
	if (mmio_read16(cc + CC_Q_MSIX) != msix_entry)
		tg_fail("virtio: queue %u refused MSI-X entry %u", index, msix_entry);
	q->notify_addr = d->notify + (uint64_t)mmio_read16(cc + CC_Q_NOTIFY_OFF) * d->notify_mult;
	mmio_write16(cc + CC_Q_ENABLE, 1);
}

bool virtq_add(struct virtq *q, const struct virtq_buf *bufs, unsigned int n, uint64_t token)
{
	unsigned int need = q->indirect && n > 1 ? 1 : n;
	uint16_t head = q->free_head, i = head;

	if (!n || n > VIRTQ_MAX_SG || q->num_free < need)
		return false;
	if (need == 1 && n > 1) {
		struct vring_desc *t = &q->indir[head * VIRTQ_MAX_SG];

		/* An indirect table is a chain of its own, numbered from 0 (2.7.5.3). */
		for (unsigned int k = 0; k < n; k++)
			t[k] = (struct vring_desc){
				.addr = bufs[k].addr,
				.len = bufs[k].len,
				.flags = (bufs[k].write ? VRING_DESC_F_WRITE : 0) |
					 (k + 1 < n ? VRING_DESC_F_NEXT : 0),
				.next = k + 1,
			};
		q->desc[head].addr = (uint64_t)t;
		q->desc[head].len = n * sizeof(*t);
		q->desc[head].flags = VRING_DESC_F_INDIRECT;
		q->free_head = q->desc[head].next;
	} else {
		uint16_t last = head;

		for (unsigned int k = 0; k < n; k++) {
			last = i;
			q->desc[i].addr = bufs[k].addr;
			q->desc[i].len = bufs[k].len;
			q->desc[i].flags = (bufs[k].write ? VRING_DESC_F_WRITE : 0) |
					   (k + 1 < n ? VRING_DESC_F_NEXT : 0);
			i = q->desc[i].next;
		}
		q->free_head = q->desc[last].next;
	}
	q->num_free -= need;
	q->token[head] = token;
	q->ndesc[head] = need;
	q->avail[2 + (q->avail_idx % q->size)] = head;
	q->avail_idx++;
	return true;
}

void virtq_kick(struct virtq *q)
{
	uint16_t old = q->avail[1], now = q->avail_idx;
	bool notify;

	/* Ring entries before the index (2.7.13), index before the event check. */
	barrier();
	q->avail[1] = now;
	full_barrier();
	if (q->event_idx) {
		uint16_t event = q->used[1 + 2 * q->size] & 0xffff; /* avail_event */

		/* vring_need_event (2.7.10.1): did the index pass event since old? */
		notify = (uint16_t)(now - event - 1) < (uint16_t)(now - old);
	} else {
		notify = !(q->used[0] & 1); /* VIRTQ_USED_F_NO_NOTIFY */
	}
	if (notify) {
		mmio_write16(q->notify_addr, q->index);
		q->kicks++;
	} else {
		q->kicks_skipped++;
	}
}

bool virtq_get(struct virtq *q, uint64_t *token, uint32_t *len)
{
	uint16_t used_idx = q->used[0] >> 16, head, i;
	uint32_t slot;

	if (used_idx == q->last_used)
		return false;
	barrier();
	slot = 1 + 2 * (q->last_used % q->size);
	head = q->used[slot];
	if (head >= q->size || !q->ndesc[head])
		tg_fail("virtio: queue %u used id %u is not in flight", q->index, head);
	*len = q->used[slot + 1];
	*token = q->token[head];
	q->last_used++;
	/* Give the chain back: walk to its tail and link it to the free list. */
	i = head;
	for (uint16_t k = 1; k < q->ndesc[head]; k++)
		i = q->desc[i].next;
	q->desc[i].next = q->free_head;
	q->free_head = head;
	q->num_free += q->ndesc[head];
	q->ndesc[head] = 0;
	return true;
}

void virtq_want_irq(struct virtq *q)
{
	if (q->event_idx)
		q->avail[2 + q->size] = q->last_used; /* used_event */
	else
		q->avail[0] = 0; /* no VIRTQ_AVAIL_F_NO_INTERRUPT */
	full_barrier();
}

bool virtq_pending(struct virtq *q)
{
	return (uint16_t)(q->used[0] >> 16) != q->last_used;
}
