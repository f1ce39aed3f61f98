/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one interface between virtio-net and whatever carries its frames.
 * virtio-net never knows which backend it drives; it only asks the backend
 * how it wants to work:
 *
 * - NET_BACKEND_FRAMES (tap, slirp, the tests' fake): virtio-net's I/O
 *   thread walks the rings and hands the backend one frame at a time
 *   (send), and pulls received frames from it (recv). The backend takes part
 *   in that thread's poll() through poll_prepare/poll_dispatch and never
 *   runs a thread of its own, so single-threaded libraries (libslirp) stay
 *   on one thread. All frame-mode calls come from one thread at a time: the
 *   NIC thread while the device runs, the main thread otherwise (thread
 *   creation and join order the handovers).
 *
 * - NET_BACKEND_RINGS (vhost-net): the backend runs the data path itself.
 *   At DRIVER_OK virtio-net calls start_rings() with the negotiated
 *   features and every data queue's ring addresses, kick_fd and call_fd
 *   (queue 2k receives and 2k+1 transmits for pair k; the control queue,
 *   if any, stays with virtio-net, which polls its kick_fd itself);
 *   stop_rings() at reset must return only once the backend has stopped
 *   touching guest memory, and reports where each queue stopped
 *   (last_avail) so that state can be migrated. Both may be called any
 *   number of times. Such a backend must also log the pages it writes
 *   (vhost's own dirty log), merged by migration with kvmini's bitmap.
 *   caps() says which device offloads it carries, ring_features() which
 *   ring/transport bits its data path implements; virtio-net offers the
 *   guest its own ring bits only where the backend has them too.
 *
 * Header convention (virtio 1.2, 5.1.6): with VIRTIO_F_VERSION_1 every
 * frame on the rings starts with a 12-byte struct virtio_net_hdr_mrg_rxbuf.
 * A backend with caps & NET_CAP_VNET_HDR takes and gives frames with that
 * header in front (num_buffers excepted: virtio-net fills it on receive);
 * one without sees bare Ethernet frames, and virtio-net strips the header
 * on transmit and prepends a zeroed one on receive.
 */
#ifndef KVMINI_NET_BACKEND_H
#define KVMINI_NET_BACKEND_H

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "virtio.h"

struct guest_memory;

/* sizeof(struct virtio_net_hdr_mrg_rxbuf) */
#define NET_VNET_HDR_LEN 12
/* The largest frame either way: a 64 KiB GSO frame plus its header, rounded up. */
#define NET_MAX_FRAME (65536 + 256)

enum net_backend_mode { NET_BACKEND_FRAMES, NET_BACKEND_RINGS };

/* What a backend can do; virtio-net offers guest features from these. */
#define NET_CAP_VNET_HDR (1u << 0) /* frames carry the virtio-net header */
#define NET_CAP_CSUM (1u << 1)	   /* takes partial checksums (VIRTIO_NET_F_CSUM) */
#define NET_CAP_TSO4 (1u << 2)	   /* takes TSO frames (HOST_TSO4) */
#define NET_CAP_TSO6 (1u << 3)
#define NET_CAP_ECN (1u << 4)
#define NET_CAP_GUEST_CSUM (1u << 5) /* can give partial checksums (GUEST_CSUM) */
#define NET_CAP_GUEST_TSO4 (1u << 6) /* can give TSO frames (GUEST_TSO4) */
#define NET_CAP_GUEST_TSO6 (1u << 7)
#define NET_CAP_GUEST_ECN (1u << 8)

/* What the driver accepted, as the backend needs it (e.g. for TUNSETOFFLOAD). */
#define NET_OFFLOAD_CSUM (1u << 0) /* the guest takes partial checksums */
#define NET_OFFLOAD_TSO4 (1u << 1) /* the guest takes TSO frames */
#define NET_OFFLOAD_TSO6 (1u << 2)
#define NET_OFFLOAD_ECN (1u << 3)

/*
 * The fds one poll() of the NIC thread waits on. Backends add theirs with
 * net_pollset_add() (which grows the set) and may lower timeout_ms.
 */
struct net_pollset {
	struct pollfd *fds;
	unsigned int n;
	unsigned int cap;
	int timeout_ms; /* -1: no timeout */
};

/* Returns the index of the new entry, or -ENOMEM. */
int net_pollset_add(struct net_pollset *ps, int fd, short events);
void net_pollset_free(struct net_pollset *ps);

struct net_backend;

/* What a rings-mode backend is handed at DRIVER_OK. */
struct net_backend_rings {
	const struct guest_memory *mem;
	uint64_t features;	/* negotiated, device bits included */
	uint32_t offloads;	/* NET_OFFLOAD_* the guest accepted */
	const struct virtio_queue_info *q;
	unsigned int nq;	/* data queues: 2 per pair */
	unsigned int pairs;	/* pairs in use from the start (1 until VQ_PAIRS_SET) */
	/* Where each queue resumes (migration); NULL: fresh rings, index 0. */
	const uint16_t *last_avail;
	/*
	 * The backend reports a broken ring here, from any thread, so that the
	 * device fails (DEVICE_NEEDS_RESET) instead of stalling in silence.
	 */
	void (*ring_error)(void *opaque, const char *why);
	void *ring_error_opaque;
};

struct net_backend_ops {
	const char *name; /* "tap", "user", ... for messages */
	enum net_backend_mode mode;
	void (*destroy)(struct net_backend *be);

	/* Both modes: what the backend can do (NET_CAP_*). */
	uint32_t (*caps)(struct net_backend *be);
	/* Queue pairs the backend can carry; NULL: 1. */
	unsigned int (*max_queue_pairs)(struct net_backend *be);

	/* Frames mode. */
	/* NET_OFFLOAD_* the guest accepted; called before the data path starts. */
	int (*set_offloads)(struct net_backend *be, uint32_t offloads);
	/*
	 * Send one frame (header in front when NET_CAP_VNET_HDR). Returns 0,
	 * -EAGAIN when the backend cannot take it now (virtio-net drops it:
	 * Ethernet semantics), or another negative errno (dropped, counted).
	 */
	int (*send)(struct net_backend *be, const struct iovec *iov, int iovcnt);
	/*
	 * Receive one frame into buf (at most len bytes; header in front when
	 * NET_CAP_VNET_HDR). Returns its length, -EAGAIN when none is waiting,
	 * or another negative errno.
	 */
	ssize_t (*recv)(struct net_backend *be, void *buf, size_t len);
	/*
	 * Add the backend's fds to ps. want_rx is false while the guest has no
	 * receive buffers: the backend should then not wake the thread for
	 * input (a tap leaves frames queued in the kernel).
	 */
	int (*poll_prepare)(struct net_backend *be, struct net_pollset *ps, bool want_rx);
	/* After poll(): service the fds the backend added (timers too). */
	void (*poll_dispatch)(struct net_backend *be, const struct net_pollset *ps);

	/* Rings mode. */
	int (*start_rings)(struct net_backend *be, const struct net_backend_rings *r);
	/* last_avail[i]: where queue i stopped; nq entries. */
	void (*stop_rings)(struct net_backend *be, uint16_t *last_avail, unsigned int nq);
	/*
	 * Ring and transport feature bits (VIRTIO_F_*, VIRTIO_NET_F_MRG_RXBUF)
	 * the backend's data path implements.
	 */
	uint64_t (*ring_features)(struct net_backend *be);
	/*
	 * Between start_rings() and stop_rings(), from virtio-net's control
	 * queue thread: the driver now uses pairs 0..pairs-1 (1 <= pairs <=
	 * max_queue_pairs). NULL when max_queue_pairs is 1.
	 */
	int (*set_queue_pairs)(struct net_backend *be, unsigned int pairs);

	/*
	 * Migration (virtio_net_log.h), both optional. log_start: from now
	 * on set bit n of bitmap (byte n / 8, bit n % 8: vhost's
	 * set_bit_to_user(), the same as bit n % 64 of u64 word n / 64 on
	 * x86_64) for every guest page n the backend writes, atomically, also
	 * across later start_rings()/set_queue_pairs() until log_stop().
	 * bytes must cover all of guest RAM (-EINVAL otherwise). After
	 * log_stop() returns the backend no longer touches bitmap. Called with
	 * virtio-net's lock held; NULL: the backend writes no guest memory
	 * itself (frames mode: virtio-net's own writes go to vmm_dirty).
	 */
	int (*log_start)(struct net_backend *be, uint64_t *bitmap, size_t bytes);
	void (*log_stop)(struct net_backend *be);
	/*
	 * Put one bare Ethernet frame (no virtio-net header) on the wire, from
	 * any thread, even while the data path runs (the post-migration RARP
	 * announce). Required in rings mode, where virtio-net has no send();
	 * a frames backend may have it too when that is safe beside its
	 * thread. Returns 0 or a negative errno.
	 */
	int (*announce)(struct net_backend *be, const void *frame, size_t len);

	/*
	 * Both modes, optional: is the host side still there? Returns 0, or
	 * the negative errno that says it is gone for good (a deleted tap:
	 * -EBADFD). From any thread, beside the data path; cheap enough for a
	 * periodic check.
	 */
	int (*link_check)(struct net_backend *be);
	/* Optional: what the host side is, for messages ("tap kvm0"). */
	const char *(*host_name)(struct net_backend *be);
};

/*
 * Errors of send/recv/link_check that mean the host side is gone rather
 * than busy: a tap deleted under us fails reads and writes with EBADFD
 * (drivers/net/tun.c: tun_get() finds no device), a vanished device gives
 * ENODEV/ENXIO, and EIO covers the rest of "will not come back".
 */
static inline bool net_backend_gone(int err)
{
	return err == -EBADFD || err == -ENODEV || err == -ENXIO || err == -EIO;
}

/* Every backend's state starts with this. */
struct net_backend {
	const struct net_backend_ops *ops;
};

static inline void net_backend_destroy(struct net_backend *be)
{
	if (be)
		be->ops->destroy(be);
}

#endif
