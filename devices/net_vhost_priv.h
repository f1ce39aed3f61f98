/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the vhost-net backend: shared by net_vhost.c (the rings: start,
 * stop, queue pairs) and net_vhost_open.c (opening, the error watcher, the
 * vhost=on|off|auto policy). Locking: start_rings/stop_rings and
 * log_start/log_stop come from virtio-net under its lock, set_queue_pairs
 * from its control queue thread, which virtio-net joins before stop_rings
 * but not before log_start (migration): v->lock serializes every op that
 * programs a pair. The error watcher only reads fds fixed at open and
 * err_logged (atomic); announce only writes pair 0's tap fd, fixed at open.
 * Pair k's vhost fd has vq 0 = virtio queue 2k (receive) and vq 1 = queue
 * 2k + 1 (transmit), as drivers/vhost/net.c numbers them (VHOST_NET_VQ_RX/TX).
 */
#ifndef KVMINI_NET_VHOST_PRIV_H
#define KVMINI_NET_VHOST_PRIV_H

#include <linux/vhost.h>
#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "net_backend.h"
#include "net_tap.h"
#include "net_vhost.h"
#include "virtio_net.h"
#include "virtq.h"

#define VHOST_BIT(n) (1ULL << (n))

/*
 * The bits of VHOST_NET_FEATURES kvmini ever acks. Never VHOST_F_LOG_ALL
 * (26: dirty logging, for migration only), never bit 27 (VIRTIO_F_ANY_LAYOUT,
 * which vhost-net reads as VHOST_NET_F_VIRTIO_NET_HDR: vhost would add and
 * strip the header itself; kvmini's taps always carry the 12-byte header,
 * so the socket provides it, net.c vhost_net_set_features()), never
 * VIRTIO_F_ACCESS_PLATFORM (33: would switch vhost to an IOTLB kvmini does
 * not feed).
 */
#define VHOST_RING_BITS                                                                            \
	(VHOST_BIT(VIRTIO_F_VERSION_1) | VHOST_BIT(VIRTIO_F_INDIRECT_DESC) |                       \
	 VHOST_BIT(VIRTIO_F_EVENT_IDX) | VHOST_BIT(VIRTIO_NET_F_MRG_RXBUF))

struct vhost_pair {
	int vfd;	    /* /dev/vhost-net */
	int tap_fd;	    /* this pair's tap queue */
	int err_fd;	    /* eventfd given to VHOST_SET_VRING_ERR of both vqs */
	bool attached[2];   /* VHOST_NET_SET_BACKEND done on the vq */
	bool tap_detached;  /* TUNSETQUEUE IFF_DETACH_QUEUE in effect */
	bool err_logged;    /* atomic: the error eventfd fired since the last start */
	uint16_t last_avail[2];
};

struct vhost_be {
	struct net_backend be;
	const struct net_vhost_sys *sys;
	unsigned int npairs;
	uint32_t caps;
	uint64_t vhost_features; /* VHOST_GET_FEATURES, the same for every fd */
	char ifname[IFNAMSIZ];
	char host_name[IFNAMSIZ + 4]; /* "tap NAME", for messages */
	struct vhost_pair pair[NET_TAP_MAX_QUEUES];

	/* What start_rings() was given, for pairs enabled later by set_queue_pairs(). */
	bool started;
	unsigned int active;
	unsigned int nq;
	const struct guest_memory *mem;
	uint64_t features;
	struct virtio_queue_info q[2 * NET_TAP_MAX_QUEUES];
	struct vhost_memory *mt;

	/*
	 * Dirty logging (migration): while on, every pair programmed gets
	 * VHOST_SET_LOG_BASE, VHOST_F_LOG_ALL and VHOST_VRING_F_LOG.
	 */
	bool logging;
	uint64_t *log;
	size_t log_bytes;

	pthread_mutex_t lock;

	/* Where ring errors go (atomic: the error thread reads them). */
	void (*ring_error)(void *opaque, const char *why);
	void *ring_error_opaque;

	int wake_fd; /* stops the error thread */
	pthread_t err_thread;
	bool err_thread_started;
};


static inline struct vhost_be *to_vhost(struct net_backend *be)
{
	return (struct vhost_be *)be;
}

/* net_vhost.c */
extern const struct net_backend_ops net_vhost_ops;
int net_vhost_link_check(struct net_backend *be);
const char *net_vhost_host_name(struct net_backend *be);
void net_vhost_stop_rings(struct net_backend *be, uint16_t *last_avail, unsigned int nq);

/* net_vhost_open.c */
void net_vhost_destroy(struct net_backend *be);
int net_vhost_announce(struct net_backend *be, const void *frame, size_t len);

#endif
