/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Split virtqueues (virtio 1.2, 2.7) walked by kvmini's own device code.
 *
 * A struct virtq is used by exactly one thread at a time (the device's I/O
 * thread); the guest is the other party and every value read from the rings
 * is untrusted. The first malformed thing seen breaks the queue: the call
 * that saw it returns -EIO, virtq_error() says why, and every later call on
 * the queue does nothing, so the device reports it once and stops touching
 * the queue until the next virtq_init().
 *
 * A typical device loop, with notification suppression and one interrupt
 * per batch:
 *
 *	do {
 *		virtq_disable_notify(vq);
 *		while ((r = virtq_pop(vq, chain)) > 0)
 *			... virtq_push(vq, chain->head, written);
 *		virtq_flush(vq);	// publishes used->idx, interrupts if needed
 *	} while (r == 0 && virtq_enable_notify(vq));
 */
#ifndef KVMINI_VIRTQ_H
#define KVMINI_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio.h"

struct guest_memory;

/* Feature bits the ring code cares about (virtio 1.2, 6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_USED_F_NO_NOTIFY 1
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/* Largest queue this code accepts (2.7: at most 32768; devices offer less). */
#define VIRTQ_MAX_SIZE 1024
/* Most buffers one chain may hold, direct plus indirect. */
#define VIRTQ_MAX_CHAIN 1024

/* One guest buffer of a chain: host address, guest address, length. */
struct virtq_buf {
	void *addr;
	uint64_t gpa;
	uint32_t len;
};

/*
 * A popped chain: nr_out device-readable buffers first, then nr_in
 * device-writable ones (2.7.4.2 requires that order). Zero-length
 * descriptors are skipped.
 */
struct virtq_chain {
	uint16_t head;
	unsigned int nr_out;
	unsigned int nr_in;
	uint64_t out_bytes;
	uint64_t in_bytes;
	struct virtq_buf buf[VIRTQ_MAX_CHAIN];
};

struct virtq {
	const struct guest_memory *mem;
	uint16_t size;
	bool event_idx;
	bool indirect;
	bool broken;
	const char *error;
	int call_fd;

	/* Host views of the three rings, checked once at init. */
	uint8_t *desc;
	uint8_t *avail;
	uint8_t *used;
	uint64_t used_gpa;

	uint16_t last_avail; /* next avail ring slot to take */
	uint16_t used_idx;   /* our copy of used->idx, ahead of it until flushed */
	uint16_t published;  /* the last used->idx written to the ring */
	uint16_t signalled;  /* used->idx at the last interrupt decision */
	bool signalled_valid;
	bool notify_enabled;

	uint64_t interrupts; /* call_fd writes made by virtq_flush() */
};

/*
 * Check the ring addresses of q (all three rings wholly inside guest RAM,
 * aligned as 2.7 requires, size a power of 2 up to VIRTQ_MAX_SIZE) and start
 * at index 0. features is the negotiated set. Returns 0 or -EINVAL with
 * virtq_error() set.
 */
int virtq_init(struct virtq *vq, const struct guest_memory *mem, const struct virtio_queue_info *q,
	       uint64_t features);

/*
 * Where a queue is, for pausing and migrating a device: the next avail slot
 * and the interrupt suppression state (2.7.10). The used index is not part
 * of it: everything popped is pushed and flushed before a device stops, so
 * used->idx in guest memory, which migrates with the rest of RAM, is it.
 */
struct virtq_pos {
	uint16_t last_avail;
	uint16_t signalled;
	bool signalled_valid;
	bool notify_enabled;
};

void virtq_get_pos(const struct virtq *vq, struct virtq_pos *pos);
/*
 * Right after virtq_init(): continue at pos, reading used->idx back from
 * the ring. -EINVAL (queue broken) when the used index is more than a ring
 * behind last_avail or ahead of it: not a ring this device left.
 */
int virtq_set_pos(struct virtq *vq, const struct virtq_pos *pos);

/* Break the queue for a device-level reason (e.g. a buffer too small to be valid). -EIO. */
int virtq_fail(struct virtq *vq, const char *why);

/* Why the queue broke, or NULL. */
static inline const char *virtq_error(const struct virtq *vq)
{
	return vq->broken ? vq->error : NULL;
}

/*
 * Take the next available chain. Returns 1 with c filled, 0 when the ring
 * is empty, -EIO when the ring is malformed (the queue is then broken).
 */
int virtq_pop(struct virtq *vq, struct virtq_chain *c);

/* Give back the last n popped chains, not yet pushed, in reverse order. */
void virtq_unpop(struct virtq *vq, uint16_t n);

/* Number of chains available now (0 when broken). */
uint16_t virtq_avail_count(struct virtq *vq);

/*
 * Put one used element (head, bytes written into the chain) into the used
 * ring. It is invisible to the driver until virtq_flush().
 */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t written);

/*
 * Publish everything pushed since the last flush in one used->idx update
 * and interrupt the driver (write call_fd) if it asked for it (2.7.7.2,
 * 2.7.10). Returns true when it interrupted.
 */
bool virtq_flush(struct virtq *vq);

/*
 * Whether the driver wants an interrupt for what has been published since
 * the last decision; used by virtq_flush(), exposed for tests.
 */
bool virtq_need_interrupt(struct virtq *vq);

/*
 * Kick suppression (2.7.7.1, 2.7.10): a device that is about to drain the
 * ring asks for no kicks; when done it re-enables them. virtq_enable_notify()
 * returns true when chains arrived meanwhile: the device must drain again
 * (it would otherwise sleep on a kick that never comes).
 */
void virtq_disable_notify(struct virtq *vq);
bool virtq_enable_notify(struct virtq *vq);

/* vring_need_event() of the spec (2.7.10): has new passed event since old? */
static inline bool virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* Byte sizes of the rings of a queue of size n (2.7: with the event fields). */
static inline uint64_t virtq_desc_bytes(uint16_t n)
{
	return 16ULL * n;
}

static inline uint64_t virtq_avail_bytes(uint16_t n)
{
	return 6 + 2ULL * n;
}

static inline uint64_t virtq_used_bytes(uint16_t n)
{
	return 6 + 8ULL * n;
}

/*
 * Copy helpers over the writable (in) or readable (out) part of a chain,
 * starting off bytes in. Writes mark the touched guest pages dirty.
 * Return the bytes copied.
 */
size_t virtq_chain_write(const struct virtq *vq, const struct virtq_chain *c, size_t off,
			 const void *src, size_t len);
size_t virtq_chain_read(const struct virtq_chain *c, size_t off, void *dst, size_t len);

/*
 * Fill iov (at most max entries) with the readable part of c, skipping the
 * first skip bytes. Returns the entries used.
 */
int virtq_chain_out_iov(const struct virtq_chain *c, size_t skip, struct iovec *iov, int max);

#endif
