// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "net_backend.h"
#include "net_tap.h"

#define TUN_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)

struct net_tap {
	struct net_backend be;
	int fd;
	int poll_idx;
	uint32_t caps;
	char ifname[IFNAMSIZ];
};

static struct net_tap *to_tap(struct net_backend *be)
{
	return (struct net_tap *)be;
}

static void tap_destroy(struct net_backend *be)
{
	struct net_tap *t = to_tap(be);

	close(t->fd);
	free(t);
}

static uint32_t tap_caps(struct net_backend *be)
{
	return to_tap(be)->caps;
}

static int tap_set_offloads(struct net_backend *be, uint32_t offloads)
{
	struct net_tap *t = to_tap(be);
	unsigned int flags = 0;

	/* TUNSETOFFLOAD says what the tap may hand us: what the guest accepts. */
	if (offloads & NET_OFFLOAD_CSUM) {
		flags |= TUN_F_CSUM;
		if (offloads & NET_OFFLOAD_TSO4)
			flags |= TUN_F_TSO4;
		if (offloads & NET_OFFLOAD_TSO6)
			flags |= TUN_F_TSO6;
		if (offloads & NET_OFFLOAD_ECN && flags & (TUN_F_TSO4 | TUN_F_TSO6))
			flags |= TUN_F_TSO_ECN;
	}
	if (ioctl(t->fd, TUNSETOFFLOAD, flags) < 0)
		return -errno;
	return 0;
}

static int tap_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	ssize_t n = writev(to_tap(be)->fd, iov, iovcnt);

	return n < 0 ? -errno : 0;
}

static ssize_t tap_recv(struct net_backend *be, void *buf, size_t len)
{
	ssize_t n = read(to_tap(be)->fd, buf, len);

	return n < 0 ? -errno : n;
}

static int tap_poll_prepare(struct net_backend *be, struct net_pollset *ps, bool want_rx)
{
	struct net_tap *t = to_tap(be);

	t->poll_idx = -1;
	/* No guest buffers: leave frames queued in the kernel (it drops past txqueuelen). */
	if (!want_rx)
		return 0;
	t->poll_idx = net_pollset_add(ps, t->fd, POLLIN);
	return t->poll_idx < 0 ? t->poll_idx : 0;
}

static void tap_poll_dispatch(struct net_backend *be, const struct net_pollset *ps)
{
	/* Nothing to do: virtio-net calls recv() until -EAGAIN. */
}

static const struct net_backend_ops tap_ops = {
	.name = "tap",
	.mode = NET_BACKEND_FRAMES,
	.destroy = tap_destroy,
	.caps = tap_caps,
	.set_offloads = tap_set_offloads,
	.send = tap_send,
	.recv = tap_recv,
	.poll_prepare = tap_poll_prepare,
	.poll_dispatch = tap_poll_dispatch,
};

static int open_error(int ret, const char *ifname, char *err, size_t errlen)
{
	switch (ret) {
	case -EPERM:
		snprintf(
			err, errlen,
			"tap %s: permission denied (needs CAP_NET_ADMIN, or a tap made for you: ip tuntap add %s mode tap user $USER)",
			ifname, ifname);
		break;
	case -EBUSY:
		snprintf(err, errlen, "tap %s: busy (another process has it open)", ifname);
		break;
	case -EINVAL:
		snprintf(err, errlen,
			 "tap %s: a device of that name exists and is not a single-queue tap",
			 ifname);
		break;
	case -ENOENT:
		snprintf(err, errlen, "tap %s: /dev/net/tun does not exist (no TUN/TAP support)",
			 ifname);
		break;
	default:
		snprintf(err, errlen, "tap %s: %s", ifname, strerror(-ret));
	}
	return ret;
}

/* Which offloads this tap takes: try them all, then leave none on until the guest says. */
static uint32_t probe_caps(int fd)
{
	uint32_t caps = NET_CAP_VNET_HDR;

	if (ioctl(fd, TUNSETOFFLOAD, TUN_OFFLOADS) == 0)
		caps |= NET_CAP_GUEST_CSUM | NET_CAP_GUEST_TSO4 | NET_CAP_GUEST_TSO6 |
			NET_CAP_GUEST_ECN;
	else if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM) == 0)
		caps |= NET_CAP_GUEST_CSUM;
	if (ioctl(fd, TUNSETOFFLOAD, 0) < 0)
		caps &= NET_CAP_VNET_HDR;
	/*
	 * Frames the guest sends with a vnet header are accepted as they are:
	 * the kernel completes checksums and segments as needed.
	 */
	caps |= NET_CAP_CSUM | NET_CAP_TSO4 | NET_CAP_TSO6 | NET_CAP_ECN;
	return caps;
}

int net_tap_open(const char *ifname, struct net_backend **out, bool *created, char *err,
		 size_t errlen)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	int hdr_len = NET_VNET_HDR_LEN;
	unsigned int features = 0;
	struct net_tap *t;
	bool existed;
	int fd, ret;

	if (!ifname[0] || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/')) {
		snprintf(err, errlen, "tap '%s': bad interface name", ifname);
		return -EINVAL;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return open_error(-errno, ifname, err, errlen);
	if (ioctl(fd, TUNGETFEATURES, &features) == 0 && !(features & IFF_VNET_HDR)) {
		ret = -EOPNOTSUPP;
		snprintf(err, errlen, "tap %s: the kernel's TUN/TAP lacks IFF_VNET_HDR", ifname);
		goto err_close;
	}
	/* Racy only against someone creating the same name at the same instant. */
	existed = if_nametoindex(ifname) != 0;
	strcpy(ifr.ifr_name, ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = open_error(-errno, ifname, err, errlen);
		goto err_close;
	}
	/* A tap we create goes away with us; an existing one keeps its persistence. */
	if (!existed && ioctl(fd, TUNSETPERSIST, 0) < 0) {
		ret = -errno;
		snprintf(err, errlen, "tap %s: TUNSETPERSIST: %s", ifname, strerror(-ret));
		goto err_close;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0) {
		ret = -errno;
		snprintf(err, errlen, "tap %s: TUNSETVNETHDRSZ: %s", ifname, strerror(-ret));
		goto err_close;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		ret = -ENOMEM;
		snprintf(err, errlen, "tap %s: out of memory", ifname);
		goto err_close;
	}
	t->be.ops = &tap_ops;
	t->fd = fd;
	t->caps = probe_caps(fd);
	memcpy(t->ifname, ifr.ifr_name, IFNAMSIZ - 1);
	*out = &t->be;
	if (created)
		*created = !existed;
	return 0;
err_close:
	close(fd);
	return ret;
}

int net_tap_fd(struct net_backend *be)
{
	return to_tap(be)->fd;
}

const char *net_tap_ifname(struct net_backend *be)
{
	return to_tap(be)->ifname;
}
