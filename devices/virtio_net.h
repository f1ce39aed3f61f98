/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-net (virtio 1.2, 5.1): one receive and one transmit queue per
 * queue pair; with a backend that carries several pairs (vhost-net,
 * queues=N) also VIRTIO_NET_F_MQ and a control queue, which kvmini
 * serves itself (VQ_PAIRS_SET, and ANNOUNCE_ACK for GUEST_ANNOUNCE). It drives a struct
 * net_backend without knowing which: a frames-mode backend (tap, slirp)
 * gets an I/O thread per NIC that moves frames between the rings and the
 * backend; a rings-mode backend (vhost) gets the rings themselves at
 * DRIVER_OK.
 *
 * Threads: the virtio_dev_ops callbacks run on whatever thread the
 * transport uses (a vCPU thread) and are serialized by a mutex inside the
 * device; the rings and the backend belong to the NIC thread between
 * start() and stop(). The transport's device_error() is called from the NIC
 * thread: it must not call stop() synchronously.
 */
#ifndef KVMINI_VIRTIO_NET_H
#define KVMINI_VIRTIO_NET_H

#include <stdint.h>

#include "virtio.h"

struct guest_memory;
struct net_backend;
struct virtio_net;

/* Feature bits (virtio 1.2, 5.1.3). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_GUEST_ANNOUNCE 21
#define VIRTIO_NET_F_MQ 22

#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_S_ANNOUNCE 2
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2

#define VIRTIO_ID_NET 1
#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_MTU 1500
/* mac[6], status, max_virtqueue_pairs, mtu (5.1.4) */
#define VIRTIO_NET_CONFIG_SIZE 12
#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1

/* Control queue (5.1.6.5). */
#define VIRTIO_NET_OK 0
#define VIRTIO_NET_ERR 1
#define VIRTIO_NET_CTRL_ANNOUNCE 3
#define VIRTIO_NET_CTRL_ANNOUNCE_ACK 0
#define VIRTIO_NET_CTRL_MQ 4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0

struct virtio_net_stats {
	uint64_t rx_frames;
	uint64_t rx_bytes;
	uint64_t rx_dropped;
	uint64_t tx_frames;
	uint64_t tx_bytes;
	uint64_t tx_dropped;
	uint64_t kicks;
	uint64_t interrupts;
	uint64_t ring_errors;
	/*
	 * Not a counter: the data path runs in the host kernel (vhost-net).
	 * kicks and interrupts then only count what kvmini handled itself
	 * (the control queue), and the frame counters stay 0.
	 */
	bool vhost;
	/* Not a counter: the backend's host side went away (the tap was deleted). */
	bool link_lost;
};

extern const struct virtio_dev_ops virtio_net_ops;

/*
 * A NIC on mem driving be (which it owns from now on, and destroys).
 * Returns NULL when out of memory.
 */
struct virtio_net *virtio_net_create(const struct guest_memory *mem, struct net_backend *be,
				     const uint8_t mac[6]);
/* The transport's callbacks (set before the guest can reach DRIVER_OK). */
void virtio_net_set_transport(struct virtio_net *n, const struct virtio_transport *t);
/* Stops the data path, destroys the backend. */
void virtio_net_destroy(struct virtio_net *n);

/* A consistent-enough snapshot of the counters, from any thread. */
void virtio_net_get_stats(struct virtio_net *n, struct virtio_net_stats *out);

/* "net0": how messages name the NIC. */
void virtio_net_set_name(struct virtio_net *n, const char *name);
/*
 * The NIC's backend has a host side that can vanish (a tap), which
 * virtio_net_check_link() asks about; call it now and then (the main loop,
 * once a second): the rings backend's kernel data path never reports it.
 */
bool virtio_net_has_link_check(struct virtio_net *n);
void virtio_net_check_link(struct virtio_net *n);
bool virtio_net_link_is_lost(struct virtio_net *n);

/* Guest-accepted features -> NET_OFFLOAD_* for the backend. */
uint32_t virtio_net_offloads(uint64_t features);

#endif
