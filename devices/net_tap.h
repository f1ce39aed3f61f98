/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace tap backend (--net tap,ifname=NAME): frames move through
 * /dev/net/tun opened with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, each carrying
 * the 12-byte virtio-net header (TUNSETVNETHDRSZ), so checksum and
 * segmentation offloads pass straight between guest and host.
 *
 * kvmini attaches to an existing tap or creates one. A tap it creates is not
 * persistent: it disappears when kvmini closes it. kvmini never configures
 * the interface (no link up, no address, no bridge): the user or
 * tools/ does that, before or after kvmini starts, with CAP_NET_ADMIN.
 * While the link is down the kernel refuses transmitted frames (EIO) and
 * they are dropped.
 */
#ifndef KVMINI_NET_TAP_H
#define KVMINI_NET_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_backend;

/* Queues of one multi-queue tap (tun.c allows MAX_TAP_QUEUES, 256). */
#define NET_TAP_MAX_QUEUES 16

/*
 * Open (or create) tap ifname. On success *created says whether kvmini
 * created it. On failure returns a negative errno and one line in err:
 * -EPERM (no CAP_NET_ADMIN and the tap is not the user's), -EBUSY (another
 * process holds it), -EINVAL (bad name, or a device of that name that is not
 * a single-queue tap), -ENOENT (no /dev/net/tun).
 */
int net_tap_open(const char *ifname, struct net_backend **out, bool *created, char *err,
		 size_t errlen);

/*
 * Open nq fds of tap ifname (IFF_MULTI_QUEUE when nq > 1: one fd per queue,
 * flows spread over the attached queues by the kernel), with the 12-byte
 * vnet header; name gets the name the kernel gave. Errors as net_tap_open()
 * (-EINVAL: the device exists and is not a tap of that kind). The caller
 * owns the fds.
 */
int net_tap_open_queues(const char *ifname, unsigned int nq, int *fds, char name[IFNAMSIZ],
			bool *created, char *err, size_t errlen);

/* A userspace (frames-mode) backend on an fd from net_tap_open_queues(); takes the fd. */
int net_tap_wrap(int fd, const char *ifname, struct net_backend **out);

/* NET_CAP_* of a tap fd: probes TUNSETOFFLOAD, leaves the offloads off. */
uint32_t net_tap_probe_caps(int fd);

/* NET_OFFLOAD_* (what the guest accepts) -> TUNSETOFFLOAD flags. */
unsigned int net_tap_offload_flags(uint32_t offloads);

/* The tap's fd (tests, and the vhost backend which hands it to the kernel). */
int net_tap_fd(struct net_backend *be);
/*
 * 0 while fd is still attached to its tap, -EBADFD once the tap was deleted
 * (TUNGETIFF: drivers/net/tun.c answers EBADFD when tun_get() finds no
 * device), another negative errno if the ioctl itself fails.
 */
int net_tap_check(int fd);
/* The interface name the kernel gave (differs from the request for "tap%d"). */
const char *net_tap_ifname(struct net_backend *be);

#endif
