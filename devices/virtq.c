// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueue walker (virtio 1.2, 2.7). The host is little-endian
 * x86_64, so ring fields are read natively. Ring fields the driver may
 * change concurrently are read with __atomic loads so that the compiler
 * reads each exactly once; descriptors are copied out before they are
 * checked so that a guest rewriting them cannot change a value between its
 * check and its use.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vmm/memory.h"
#include "virtq.h"

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

_Static_assert(sizeof(struct vring_desc) == 16, "2.7.5: descriptors are 16 bytes");

#define AVAIL_FLAGS 0
#define AVAIL_IDX 2
#define AVAIL_RING 4
#define USED_FLAGS 0
#define USED_IDX 2
#define USED_RING 4

static uint16_t *avail_field(const struct virtq *vq, uint64_t off)
{
	return (uint16_t *)(vq->avail + off);
}

static uint16_t *used_field(const struct virtq *vq, uint64_t off)
{
	return (uint16_t *)(vq->used + off);
}

/* used_event sits after the avail ring, avail_event after the used ring (2.7.6, 2.7.8). */
static uint16_t *used_event(const struct virtq *vq)
{
	return avail_field(vq, AVAIL_RING + 2ULL * vq->size);
}

static uint16_t *avail_event(const struct virtq *vq)
{
	return used_field(vq, USED_RING + 8ULL * vq->size);
}

int virtq_fail(struct virtq *vq, const char *why)
{
	/* The first reason is the one reported. */
	if (!vq->broken) {
		vq->broken = true;
		vq->error = why;
	}
	return -EIO;
}

static int fail(struct virtq *vq, const char *why)
{
	return virtq_fail(vq, why);
}

int virtq_init(struct virtq *vq, const struct guest_memory *mem, const struct virtio_queue_info *q,
	       uint64_t features)
{
	uint16_t n = q->size;

	memset(vq, 0, sizeof(*vq));
	vq->mem = mem;
	vq->call_fd = q->call_fd;
	vq->notify_enabled = true;
	vq->event_idx = features & (1ULL << VIRTIO_F_EVENT_IDX);
	vq->indirect = features & (1ULL << VIRTIO_F_INDIRECT_DESC);

	if (!n || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		goto bad_size;
	vq->size = n;
	/* 2.7: alignment 16 for the descriptor table, 2 for avail, 4 for used. */
	if ((q->desc & 15) || (q->avail & 1) || (q->used & 3))
		goto misaligned;
	vq->desc = guest_ptr(mem, q->desc, virtq_desc_bytes(n));
	vq->avail = guest_ptr(mem, q->avail, virtq_avail_bytes(n));
	vq->used = guest_ptr(mem, q->used, virtq_used_bytes(n));
	if (!vq->desc || !vq->avail || !vq->used) {
		fail(vq, "ring outside guest RAM");
		return -EINVAL;
	}
	vq->used_gpa = q->used;
	return 0;
bad_size:
	fail(vq, "queue size is not a power of 2 within limits");
	return -EINVAL;
misaligned:
	fail(vq, "ring address misaligned");
	return -EINVAL;
}

void virtq_get_pos(const struct virtq *vq, struct virtq_pos *pos)
{
	*pos = (struct virtq_pos){
		.last_avail = vq->last_avail,
		.signalled = vq->signalled,
		.signalled_valid = vq->signalled_valid,
		.notify_enabled = vq->notify_enabled,
	};
}

int virtq_set_pos(struct virtq *vq, const struct virtq_pos *pos)
{
	uint16_t used;

	if (vq->broken)
		return -EINVAL;
	used = __atomic_load_n(used_field(vq, USED_IDX), __ATOMIC_ACQUIRE);
	if ((uint16_t)(pos->last_avail - used) > vq->size) {
		fail(vq, "used index inconsistent with the saved avail position");
		return -EINVAL;
	}
	vq->last_avail = pos->last_avail;
	vq->used_idx = vq->published = used;
	vq->signalled = pos->signalled;
	vq->signalled_valid = pos->signalled_valid;
	vq->notify_enabled = pos->notify_enabled;
	return 0;
}

/* Number of new entries in the avail ring, or -1 when the index jumped too far. */
static int avail_pending(struct virtq *vq)
{
	/* Acquire: ring entries and descriptors are read after the index (2.7.13). */
	uint16_t idx = __atomic_load_n(avail_field(vq, AVAIL_IDX), __ATOMIC_ACQUIRE);
	uint16_t n = idx - vq->last_avail;

	return n > vq->size ? -1 : n;
}

static int add_buf(struct virtq *vq, struct virtq_chain *c, const struct vring_desc *d)
{
	unsigned int i = c->nr_out + c->nr_in;
	void *p;

	/* Zero-length buffers carry nothing; skipping them keeps every entry usable. */
	if (!d->len)
		return 0;
	if (i >= VIRTQ_MAX_CHAIN)
		return fail(vq, "descriptor chain has too many buffers");
	p = guest_ptr(vq->mem, d->addr, d->len);
	if (!p)
		return fail(vq, "descriptor buffer outside guest RAM");
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		c->nr_in++;
		c->in_bytes += d->len;
	} else {
		/* 2.7.4.2: device-writable descriptors come after all readable ones. */
		if (c->nr_in)
			return fail(vq, "readable descriptor after a writable one");
		c->nr_out++;
		c->out_bytes += d->len;
	}
	c->buf[i] = (struct virtq_buf){.addr = p, .gpa = d->addr, .len = d->len};
	return 0;
}

/* Switch the walk to an indirect table (2.7.5.3). */
static int enter_indirect(struct virtq *vq, const struct vring_desc *d, const uint8_t **table,
			  uint32_t *table_n, bool *in_indirect)
{
	if (!vq->indirect)
		return fail(vq, "indirect descriptor without VIRTIO_F_INDIRECT_DESC");
	/*
	 * A flag, not a comparison of table addresses: a table placed over
	 * the descriptor ring itself would otherwise restart the walk forever.
	 */
	if (*in_indirect)
		return fail(vq, "nested indirect descriptor");
	/* 2.7.5.3.1: the driver must not set INDIRECT and NEXT together. */
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return fail(vq, "indirect descriptor with NEXT set");
	if (!d->len || d->len % sizeof(struct vring_desc))
		return fail(vq, "indirect table size is not a multiple of 16");
	if (d->len / sizeof(struct vring_desc) > VIRTQ_MAX_CHAIN)
		return fail(vq, "indirect table too large");
	*table = guest_ptr(vq->mem, d->addr, d->len);
	if (!*table)
		return fail(vq, "indirect table outside guest RAM");
	*table_n = d->len / sizeof(struct vring_desc);
	*in_indirect = true;
	return 0;
}

static int walk_chain(struct virtq *vq, struct virtq_chain *c, uint16_t head)
{
	const uint8_t *table = vq->desc;
	uint32_t table_n = vq->size;
	uint32_t idx = head, steps = 0;
	bool in_indirect = false;
	struct vring_desc d;
	int ret;

	c->head = head;
	c->nr_out = c->nr_in = 0;
	c->out_bytes = c->in_bytes = 0;

	for (;;) {
		/*
		 * Every index is below table_n, so a walk longer than the table
		 * has visited some descriptor twice: a loop (or a chain longer
		 * than the queue, which 2.7.5.2 forbids anyway).
		 */
		if (++steps > table_n)
			return fail(vq, "descriptor chain loops or is longer than the queue");
		memcpy(&d, table + (uint64_t)idx * sizeof(d), sizeof(d));
		__atomic_signal_fence(__ATOMIC_SEQ_CST);

		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			ret = enter_indirect(vq, &d, &table, &table_n, &in_indirect);
			if (ret)
				return ret;
			/* 2.7.5.3.2: the table's chain starts at its first entry. */
			idx = 0;
			steps = 0;
			continue;
		}
		ret = add_buf(vq, c, &d);
		if (ret)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= table_n)
			return fail(vq, "descriptor next index out of range");
		idx = d.next;
	}
}

int virtq_pop(struct virtq *vq, struct virtq_chain *c)
{
	uint16_t head;
	int n;

	if (vq->broken)
		return -EIO;
	n = avail_pending(vq);
	if (n < 0)
		return fail(vq, "avail index moved by more than the queue size");
	if (!n)
		return 0;
	head = __atomic_load_n(avail_field(vq, AVAIL_RING + 2ULL * (vq->last_avail % vq->size)),
			       __ATOMIC_RELAXED);
	if (head >= vq->size)
		return fail(vq, "avail ring entry out of range");
	if (walk_chain(vq, c, head))
		return -EIO;
	vq->last_avail++;
	return 1;
}

void virtq_unpop(struct virtq *vq, uint16_t n)
{
	vq->last_avail -= n;
}

uint16_t virtq_avail_count(struct virtq *vq)
{
	int n;

	if (vq->broken)
		return 0;
	n = avail_pending(vq);
	if (n < 0) {
		fail(vq, "avail index moved by more than the queue size");
		return 0;
	}
	return n;
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t written)
{
	uint64_t off;

	if (vq->broken)
		return;
	off = USED_RING + 8ULL * (vq->used_idx % vq->size);
	__atomic_store_n((uint32_t *)(vq->used + off), head, __ATOMIC_RELAXED);
	__atomic_store_n((uint32_t *)(vq->used + off + 4), written, __ATOMIC_RELAXED);
	guest_mark_dirty(vq->mem, vq->used_gpa + off, 8);
	vq->used_idx++;
}

bool virtq_need_interrupt(struct virtq *vq)
{
	uint16_t old = vq->signalled, event;
	bool valid = vq->signalled_valid;

	/*
	 * The used->idx store must be visible before the driver's suppression
	 * fields are read, or an interrupt the driver just asked for could be
	 * missed (2.7.10): a full barrier, as on the driver side.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(__atomic_load_n(avail_field(vq, AVAIL_FLAGS), __ATOMIC_RELAXED) &
			 VIRTQ_AVAIL_F_NO_INTERRUPT);
	vq->signalled = vq->published;
	vq->signalled_valid = true;
	if (!valid)
		return true;
	event = __atomic_load_n(used_event(vq), __ATOMIC_RELAXED);
	return virtq_need_event(event, vq->published, old);
}

bool virtq_flush(struct virtq *vq)
{
	uint64_t one = 1;

	if (vq->broken || vq->used_idx == vq->published)
		return false;
	/* Release: the used elements are visible before the index that covers them (2.7.8). */
	__atomic_store_n(used_field(vq, USED_IDX), vq->used_idx, __ATOMIC_RELEASE);
	guest_mark_dirty(vq->mem, vq->used_gpa + USED_IDX, 2);
	vq->published = vq->used_idx;
	if (!virtq_need_interrupt(vq))
		return false;
	if (vq->call_fd >= 0 && write(vq->call_fd, &one, sizeof(one)) < 0)
		return false;
	vq->interrupts++;
	return true;
}

static void set_used_flags(struct virtq *vq, uint16_t flags)
{
	__atomic_store_n(used_field(vq, USED_FLAGS), flags, __ATOMIC_RELAXED);
	guest_mark_dirty(vq->mem, vq->used_gpa + USED_FLAGS, 2);
}

void virtq_disable_notify(struct virtq *vq)
{
	if (vq->broken || !vq->notify_enabled)
		return;
	vq->notify_enabled = false;
	/*
	 * With EVENT_IDX, leaving avail_event where it is suppresses kicks
	 * once the driver has passed it: nothing to write.
	 */
	if (!vq->event_idx)
		set_used_flags(vq, VIRTQ_USED_F_NO_NOTIFY);
}

bool virtq_enable_notify(struct virtq *vq)
{
	if (vq->broken)
		return false;
	if (vq->event_idx) {
		/* Kick me when you make slot last_avail available (2.7.10). */
		__atomic_store_n(avail_event(vq), vq->last_avail, __ATOMIC_RELAXED);
		guest_mark_dirty(vq->mem, vq->used_gpa + USED_RING + 8ULL * vq->size, 2);
	} else if (!vq->notify_enabled) {
		set_used_flags(vq, 0);
	}
	vq->notify_enabled = true;
	/*
	 * The driver may have added buffers before it could see the write
	 * above, and then not kicked: re-read avail->idx after a full barrier.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return avail_pending(vq) != 0;
}

size_t virtq_chain_write(const struct virtq *vq, const struct virtq_chain *c, size_t off,
			 const void *src, size_t len)
{
	const uint8_t *s = src;
	size_t done = 0;
	unsigned int i;

	for (i = c->nr_out; i < c->nr_out + c->nr_in && done < len; i++) {
		const struct virtq_buf *b = &c->buf[i];
		size_t n;

		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		n = b->len - off;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)b->addr + off, s + done, n);
		guest_mark_dirty(vq->mem, b->gpa + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t virtq_chain_read(const struct virtq_chain *c, size_t off, void *dst, size_t len)
{
	uint8_t *d = dst;
	size_t done = 0;
	unsigned int i;

	for (i = 0; i < c->nr_out && done < len; i++) {
		const struct virtq_buf *b = &c->buf[i];
		size_t n;

		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		n = b->len - off;
		if (n > len - done)
			n = len - done;
		memcpy(d + done, (const uint8_t *)b->addr + off, n);
		done += n;
		off = 0;
	}
	return done;
}

int virtq_chain_out_iov(const struct virtq_chain *c, size_t skip, struct iovec *iov, int max)
{
	unsigned int i;
	int n = 0;

	for (i = 0; i < c->nr_out && n < max; i++) {
		const struct virtq_buf *b = &c->buf[i];

		if (skip >= b->len) {
			skip -= b->len;
			continue;
		}
		iov[n].iov_base = (uint8_t *)b->addr + skip;
		iov[n].iov_len = b->len - skip;
		skip = 0;
		n++;
	}
	return n;
}
