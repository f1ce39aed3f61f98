/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel vhost-net data path for --net tap,...,vhost=on|auto[,queues=N]:
 * a rings-mode net backend (net_backend.h). kvmini keeps the control plane
 * (PCI, features, status, the control queue); the host kernel's vhost-net
 * worker moves frames between the guest's rings and the tap, woken by the
 * queue's kick eventfd (KVM_IOEVENTFD) and interrupting through its call
 * eventfd (KVM_IRQFD), so a packet costs kvmini no exit, no syscall and no
 * wake-up.
 *
 * One /dev/vhost-net fd per queue pair (vhost-net has exactly two vqs:
 * vq 0 receives, vq 1 transmits; drivers/vhost/net.c VHOST_NET_VQ_RX/TX),
 * bound to the tap queue fd of that pair. Queue pairs the driver does not
 * use (VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET) have their vhost rings stopped and
 * their tap queue detached (TUNSETQUEUE), so the tap steers no flow to a
 * queue nobody reads.
 *
 * Ring errors the kernel sees (a bad descriptor: vq_err() in vhost.c
 * signals the vring's error eventfd and stops processing that vq until the
 * next kick) are logged once per pair and start by a small thread the
 * backend owns; it does not touch guest memory.
 */
#ifndef KVMINI_NET_VHOST_H
#define KVMINI_NET_VHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net_config.h"

struct net_backend;

/*
 * The system calls the backend makes on /dev/vhost-net and on the tap fds
 * (ioctl only), replaceable by tests. Same contract as libc: -1 and errno
 * on failure.
 */
struct net_vhost_sys {
	int (*open)(const char *path, int flags);
	int (*ioctl)(int fd, unsigned long req, void *arg);
	int (*close)(int fd);
};

/* Use s for backends opened from now on; NULL: the real system calls. */
void net_vhost_set_sys(const struct net_vhost_sys *s);

/*
 * A vhost-net backend over npairs tap queue fds (from
 * net_tap_open_queues(): IFF_VNET_HDR, vnet header size 12) whose offloads
 * are tap_caps (net_tap_probe_caps()). Opens one /dev/vhost-net per pair,
 * VHOST_SET_OWNER, VHOST_GET_FEATURES. On success the backend owns the tap
 * fds. On failure returns a negative errno with one line in err naming what
 * failed (-ENOENT: no /dev/vhost-net; -EACCES: permission; an ioctl and its
 * errno) and the caller still owns the fds.
 */
int net_vhost_open(const int *tap_fds, unsigned int npairs, uint32_t tap_caps, const char *ifname,
		   struct net_backend **out, char *err, size_t errlen);

/* Whether be is a vhost-net backend. */
bool net_vhost_is(const struct net_backend *be);

/*
 * The vhost=on|off|auto decision over opened tap fds: 0 with *out a vhost
 * backend (which took the fds), 0 with *out NULL when the userspace tap
 * backend is to carry the traffic (msg says why), or a negative errno with
 * one line in msg (vhost=on and vhost-net cannot work; queues > 1 without
 * vhost-net). The fds stay the caller's unless a vhost backend took them.
 */
int net_vhost_select(enum net_vhost mode, const int *tap_fds, unsigned int npairs,
		     uint32_t tap_caps, const char *ifname, struct net_backend **out, char *msg,
		     size_t msglen);

/*
 * Everything --net tap needs in one call: opens tap nc->ifname with
 * nc->queues queues and the data path nc->vhost asks for. Returns 0 with
 * *out and one line in msg saying which data path and why (for the log),
 * or a negative errno with one line in msg (fatal at setup).
 */
int net_tap_backend_open(const struct net_config *nc, struct net_backend **out, char *msg,
			 size_t msglen);

#endif
