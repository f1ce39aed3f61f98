/* SPDX-License-Identifier: GPL-2.0 */
/* State shared by virtio_net.c (control) and virtio_net_io.c (data path). */
#ifndef KVMINI_VIRTIO_NET_PRIV_H
#define KVMINI_VIRTIO_NET_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include "net_backend.h"
#include "virtio_net.h"
#include "virtq.h"

struct virtio_net {
	const struct guest_memory *mem;
	struct net_backend *be;
	struct virtio_transport transport;
	uint8_t mac[6];
	uint32_t caps;
	unsigned int max_pairs; /* > 1 only for a rings backend with several pairs */

	/* Serializes the control callbacks (start/stop/set_features). */
	pthread_mutex_t lock;
	uint64_t features;
	bool running; /* a thread or a rings backend runs */
	bool thread_started; /* the NIC thread (frames) or the control queue thread (rings) */
	pthread_t thread;
	int stop_fd;
	uint16_t last_avail[VIRTIO_MAX_QUEUES]; /* where the rings backend stopped */
	/*
	 * Device state that migrates (virtio_net_state.c): the status field of
	 * the configuration space, the pairs the driver switched to with
	 * VQ_PAIRS_SET (rings mode; written by the control queue thread), and
	 * where each queue kvmini walks stopped at the last pause, or where it
	 * is to resume after a restore (last_avail comes from the transport).
	 */
	uint16_t link_status; /* atomic: the NIC thread clears LINK_UP */
	unsigned int cur_pairs;
	unsigned int ctrl_index; /* the control queue's index while running in rings mode */
	struct virtq_pos pos[VIRTIO_MAX_QUEUES];

	/* Rings mode with a control queue: owned by the control queue thread. */
	struct virtio_queue_info ctrl_qi;
	struct virtq ctrlq;
	struct virtq_chain *ctrl_chain;

	/* Owned by the NIC thread while running. */
	struct virtio_queue_info qi[2];
	struct virtq rxq, txq;
	struct virtq_chain *rx_first, *rx_chain, *tx_chain;
	struct iovec *iov;
	uint16_t *rx_heads;
	uint32_t *rx_lens;
	uint8_t *rxbuf;
	size_t rx_len;	 /* a frame held in rxbuf, header included; 0: none */
	bool rx_waiting; /* no receive buffers: waiting for a kick */
	bool tx_more;	 /* the last TX round stopped on its budget */

	char name[16];	/* "net0", for messages */
	bool link_lost; /* atomic: the backend's host side is gone (virtio_net_link.c) */

	struct virtio_net_stats stats; /* updated with relaxed atomics */
};

#define NET_STAT_ADD(n, field, v) __atomic_fetch_add(&(n)->stats.field, (v), __ATOMIC_RELAXED)

/* virtio_net.c: the migration ops of virtio_net_state.c, called with n->lock free. */
int virtio_net_save(void *dev, void *fdt);
int virtio_net_restore(void *dev, const void *fdt, int node);

/*
 * The backend's host side is gone (op failed with err): say so once, take
 * the link down for the guest. From any thread (virtio_net_link.c).
 */
void virtio_net_link_lost(struct virtio_net *n, const char *op, int err);
/* The backend failed op with err: true when that is its host side gone (the link is then down). */
bool virtio_net_backend_gone(struct virtio_net *n, const char *op, int err);

/* The NIC thread (virtio_net_io.c). */
void *virtio_net_thread(void *arg);
/* The control queue thread of a rings-mode NIC (virtio_net_ctrl.c). */
void *virtio_net_ctrl_thread(void *arg);

#endif
