/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-net's part in live migration, beside its state (virtio_net.c):
 *
 * - Dirty logging. Frames written by virtio-net itself go through
 *   guest_write()/guest_mark_dirty() into vmm_dirty; a rings backend
 *   (vhost-net) writes guest memory from the host kernel, which neither
 *   KVM's dirty log nor vmm_dirty sees, so it is handed the backends'
 *   bitmap (struct dirty_log.backend) to set bits in itself.
 * - The announce. After the guest resumes on the destination, the
 *   switches still send its frames to the source's port; like QEMU's
 *   qemu_announce_self(), kvmini sends RARP requests from the guest's MAC
 *   (RFC 903) so they learn the new port.
 */
#ifndef KVMINI_VIRTIO_NET_LOG_H
#define KVMINI_VIRTIO_NET_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest_memory;
struct virtio_net;

/* A minimum Ethernet frame without FCS: 14 + 28 bytes of RARP, zero padded. */
#define NET_RARP_LEN 60
#define NET_ETH_P_RARP 0x8035
#define NET_ANNOUNCE_ROUNDS 3

/* The RARP request QEMU's announce_self_create() builds, for mac; returns NET_RARP_LEN. */
size_t net_rarp_build(uint8_t buf[NET_RARP_LEN], const uint8_t mac[6]);

/*
 * Whether a log of bytes bytes (1 bit per 4 KiB guest-physical page from
 * GPA 0, bit n in byte n / 8) covers every page of mem.
 */
bool net_log_covers(const struct guest_memory *mem, size_t bytes);

/*
 * Have the backend log every guest page it writes into bitmap until
 * virtio_net_log_stop(), across device resets and restarts. Call it before
 * migration reads the first page (it does not log what was written
 * before). 0 (also for a backend that writes no guest memory itself),
 * -EINVAL when bitmap does not cover guest RAM, or the backend's error
 * (-EOPNOTSUPP: a vhost without VHOST_F_LOG_ALL).
 */
int virtio_net_log_start(struct virtio_net *n, uint64_t *bitmap, size_t bytes);
/* After it returns the backend no longer writes the bitmap: it may be freed. */
void virtio_net_log_stop(struct virtio_net *n);

/*
 * After migration: NET_ANNOUNCE_ROUNDS RARP requests from the NIC's MAC,
 * spaced 50 then 150 ms (QEMU's announce timer), so it blocks ~200 ms;
 * not from a vCPU thread. Through be->ops->announce when the backend has
 * it, else through be->ops->send (header zeroed when the backend takes
 * one) while the NIC thread is not running. 0, or the first frame's
 * negative errno (-EBUSY: a frames backend without announce whose thread
 * runs; -EOPNOTSUPP: a rings backend without announce). Before them, a
 * driver that negotiated GUEST_ANNOUNCE (and STATUS) is asked to announce
 * itself: S_ANNOUNCE and a configuration change notification.
 */
int virtio_net_announce(struct virtio_net *n);

#endif
