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
	char host_name[IFNAMSIZ + 4];
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

unsigned int net_tap_offload_flags(uint32_t offloads)
{
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
	return flags;
}

static int tap_set_offloads(struct net_backend *be, uint32_t offloads)
{
	if (ioctl(to_tap(be)->fd, TUNSETOFFLOAD, net_tap_offload_flags(offloads)) < 0)
		return -errno;
	return 0;
}

static int tap_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	ssize_t n = writev(to_tap(be)->fd, iov, iovcnt);

	return n < 0 ? -errno : 0;
}

/*
 * The post-migration announce, from any thread: each write() to a tap is
 * one whole frame and tun serializes writers, so this is safe beside the
 * NIC thread's send/recv. The fd always carries the 12-byte header.
 */
static int tap_announce(struct net_backend *be, const void *frame, size_t len)
{
	uint8_t hdr[NET_VNET_HDR_LEN] = {0};
	struct iovec iov[2] = {
		{.iov_base = hdr, .iov_len = sizeof(hdr)},
		{.iov_base = (void *)frame, .iov_len = len},
	};

	return tap_send(be, iov, 2);
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

int net_tap_check(int fd)
{
	struct ifreq ifr;

	return ioctl(fd, TUNGETIFF, &ifr) < 0 ? -errno : 0;
}

static int tap_link_check(struct net_backend *be)
{
	return net_tap_check(to_tap(be)->fd);
}

static const char *tap_host_name(struct net_backend *be)
{
	return to_tap(be)->host_name;
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
	.announce = tap_announce,
	.link_check = tap_link_check,
	.host_name = tap_host_name,
};

/*
 * A number from /sys/class/net/IFNAME/ATTR (tun's owner, group, tun_flags;
 * "-1" when unset), or -1 when unreadable: only to word an error better.
 */
static long tap_sysfs_long(const char *ifname, const char *attr)
{
	char path[96], buf[32];
	long val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", ifname, attr);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%li", &val) != 1)
		val = -1;
	fclose(f);
	return val;
}

/*
 * tun_set_iff() on an existing tap fails with EPERM when tun_not_capable():
 * the caller is neither its owner, in its group, nor CAP_NET_ADMIN; creating
 * one always needs CAP_NET_ADMIN. EINVAL: the device exists with other
 * IFF_TUN/IFF_TAP or IFF_MULTI_QUEUE flags than asked for.
 */
static int open_error(int ret, const char *ifname, unsigned int nq, bool existed, char *err,
		      size_t errlen)
{
	char mktap[32] = "", who[96];
	long owner, group;

	if (nq > 1)
		snprintf(mktap, sizeof(mktap), " --queues %u", nq);
	switch (ret) {
	case -EPERM:
		if (!existed) {
			snprintf(
				err, errlen,
				"tap %s does not exist and creating one needs CAP_NET_ADMIN: create it for your user once, as root: tools/mktap %s --user $USER%s",
				ifname, ifname, mktap);
			break;
		}
		/* sysfs shows its mounter's namespace: is this our device? */
		if (tap_sysfs_long(ifname, "ifindex") != (long)if_nametoindex(ifname)) {
			owner = group = -2;
		} else {
			owner = tap_sysfs_long(ifname, "owner");
			group = tap_sysfs_long(ifname, "group");
		}
		if (owner == -2)
			snprintf(who, sizeof(who), "it is not yours (uid %u) nor your group's",
				 (unsigned int)geteuid());
		else if (owner < 0 && group < 0)
			snprintf(who, sizeof(who),
				 "it has no owner, so only CAP_NET_ADMIN may use it");
		else if (group < 0)
			snprintf(who, sizeof(who), "it belongs to uid %ld, not to uid %u", owner,
				 (unsigned int)geteuid());
		else if (owner < 0)
			snprintf(who, sizeof(who),
				 "it belongs to group %ld, not to uid %u's groups", group,
				 (unsigned int)geteuid());
		else
			snprintf(who, sizeof(who),
				 "it belongs to uid %ld and group %ld, not to uid %u", owner, group,
				 (unsigned int)geteuid());
		snprintf(
			err, errlen,
			"tap %s: permission denied: %s (make one for your user once, as root: tools/mktap %s --user $USER%s)",
			ifname, who, ifname, mktap);
		break;
	case -EBUSY:
		snprintf(err, errlen, "tap %s: busy (another process has it open)", ifname);
		break;
	case -EINVAL:
		if (nq > 1)
			snprintf(
				err, errlen,
				"tap %s: a device of that name exists and is not a multi-queue tap (queues=%u needs one made with multi_queue: tools/mktap %s --user $USER%s)",
				ifname, nq, ifname, mktap);
		else
			snprintf(
				err, errlen,
				"tap %s: a device of that name exists and is not a single-queue tap (a multi-queue tap needs queues= as many as it was made for, at least 2)",
				ifname);
		break;
	case -ENOENT:
		snprintf(err, errlen, "tap %s: /dev/net/tun does not exist (no TUN/TAP support)",
			 ifname);
		break;
	case -EACCES:
		snprintf(err, errlen,
			 "tap %s: /dev/net/tun: permission denied (it is normally mode 0666)",
			 ifname);
		break;
	default:
		snprintf(err, errlen, "tap %s: %s", ifname, strerror(-ret));
	}
	return ret;
}

uint32_t net_tap_probe_caps(int fd)
{
	uint32_t caps = NET_CAP_VNET_HDR;

	/* Which offloads this tap takes: try them all, then leave none on until the guest says. */
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

/* Attach one more fd to tap ifname (the first one creates it when it does not exist). */
static int open_queue(const char *ifname, unsigned int nq, bool existed, char *name_out, char *err,
		      size_t errlen)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	unsigned int features = 0;
	int fd, ret;

	/*
	 * IFF_MULTI_QUEUE only when asked: tun refuses to attach a second fd to
	 * a single-queue tap (EBUSY) and a multi-queue fd to a single-queue tap
	 * (EINVAL), so queues=1 keeps working with every existing tap.
	 */
	if (nq > 1)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return open_error(-errno, ifname, nq, existed, err, errlen);
	if (ioctl(fd, TUNGETFEATURES, &features) == 0 && !(features & IFF_VNET_HDR)) {
		snprintf(err, errlen, "tap %s: the kernel's TUN/TAP lacks IFF_VNET_HDR", ifname);
		ret = -EOPNOTSUPP;
		goto err_close;
	}
	if (nq > 1 && !(features & IFF_MULTI_QUEUE)) {
		snprintf(err, errlen, "tap %s: the kernel's TUN/TAP lacks IFF_MULTI_QUEUE", ifname);
		ret = -EOPNOTSUPP;
		goto err_close;
	}
	strcpy(ifr.ifr_name, ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = open_error(-errno, ifname, nq, existed, err, errlen);
		goto err_close;
	}
	memcpy(name_out, ifr.ifr_name, IFNAMSIZ - 1);
	name_out[IFNAMSIZ - 1] = '\0';
	return fd;
err_close:
	close(fd);
	return ret;
}

int net_tap_open_queues(const char *ifname, unsigned int nq, int *fds, char name[IFNAMSIZ],
			bool *created, char *err, size_t errlen)
{
	int hdr_len = NET_VNET_HDR_LEN;
	unsigned int i, opened = 0;
	bool existed;
	int ret;

	if (!ifname[0] || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/')) {
		snprintf(err, errlen, "tap '%s': bad interface name", ifname);
		return -EINVAL;
	}
	if (!nq || nq > NET_TAP_MAX_QUEUES) {
		snprintf(err, errlen, "tap %s: %u queues (1 to %d)", ifname, nq,
			 NET_TAP_MAX_QUEUES);
		return -EINVAL;
	}
	/* Racy only against someone creating the same name at the same instant. */
	existed = if_nametoindex(ifname) != 0;
	for (i = 0; i < nq; i++) {
		/* Later queues attach by the name the kernel gave the first ("tap%d"). */
		ret = open_queue(i ? name : ifname, nq, existed || i, name, err, errlen);
		if (ret < 0)
			goto err_close;
		fds[opened++] = ret;
	}
	/* A tap we create goes away with us; an existing one keeps its persistence. */
	if (!existed && ioctl(fds[0], TUNSETPERSIST, 0) < 0) {
		ret = -errno;
		snprintf(err, errlen, "tap %s: TUNSETPERSIST: %s", name, strerror(-ret));
		goto err_close;
	}
	/* vnet_hdr_sz belongs to the tap, not to one queue (tun.c: tun->vnet_hdr_sz). */
	if (ioctl(fds[0], TUNSETVNETHDRSZ, &hdr_len) < 0) {
		ret = -errno;
		snprintf(err, errlen, "tap %s: TUNSETVNETHDRSZ: %s", name, strerror(-ret));
		goto err_close;
	}
	if (created)
		*created = !existed;
	return 0;
err_close:
	while (opened)
		close(fds[--opened]);
	return ret;
}

int net_tap_wrap(int fd, const char *ifname, struct net_backend **out)
{
	struct net_tap *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->be.ops = &tap_ops;
	t->fd = fd;
	t->caps = net_tap_probe_caps(fd);
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifname);
	snprintf(t->host_name, sizeof(t->host_name), "tap %s", t->ifname);
	*out = &t->be;
	return 0;
}

int net_tap_open(const char *ifname, struct net_backend **out, bool *created, char *err,
		 size_t errlen)
{
	char name[IFNAMSIZ];
	int fd, ret;

	ret = net_tap_open_queues(ifname, 1, &fd, name, created, err, errlen);
	if (ret)
		return ret;
	ret = net_tap_wrap(fd, name, out);
	if (ret) {
		snprintf(err, errlen, "tap %s: out of memory", ifname);
		close(fd);
	}
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
