// SPDX-License-Identifier: GPL-2.0
/*
 * Opening the vhost-net backend, its ring-error watcher, and the
 * vhost=on|off|auto policy of --net tap.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/seccomp.h"
#include "net_vhost_priv.h"

static int real_open(const char *path, int flags)
{
	return open(path, flags);
}

static int real_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

static const struct net_vhost_sys real_sys = {
	.open = real_open,
	.ioctl = real_ioctl,
	.close = close,
};

static const struct net_vhost_sys *cur_sys = &real_sys;

void net_vhost_set_sys(const struct net_vhost_sys *s)
{
	cur_sys = s ? s : &real_sys;
}

static void *err_thread(void *arg)
{
	struct vhost_be *v = arg;
	struct pollfd pfd[NET_TAP_MAX_QUEUES + 1];
	unsigned int k;
	uint64_t val;

	seccomp_enter(SECCOMP_VHOST_ERR);
	pfd[0] = (struct pollfd){.fd = v->wake_fd, .events = POLLIN};
	for (k = 0; k < v->npairs; k++)
		pfd[k + 1] = (struct pollfd){.fd = v->pair[k].err_fd, .events = POLLIN};
	for (;;) {
		if (poll(pfd, v->npairs + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("net %s: vhost-net error watcher: poll: %m", v->ifname);
			return NULL;
		}
		if (pfd[0].revents)
			return NULL;
		for (k = 0; k < v->npairs; k++) {
			if (!pfd[k + 1].revents)
				continue;
			if (read(pfd[k + 1].fd, &val, sizeof(val)) < 0)
				continue;
			if (!__atomic_exchange_n(&v->pair[k].err_logged, true, __ATOMIC_RELAXED)) {
				void (*cb)(void *, const char *);
				char why[160];

				snprintf(why, sizeof(why),
					 "net %s: vhost-net pair %u: the kernel reported a ring error (bad descriptor or ring address)",
					 v->ifname, k);
				/*
				 * vhost stops the queue (vq_err): fail the device so the
				 * driver resets it. The transport logs why, rate limited:
				 * a guest can do this after every reset.
				 */
				cb = __atomic_load_n(&v->ring_error, __ATOMIC_ACQUIRE);
				if (cb)
					cb(__atomic_load_n(&v->ring_error_opaque, __ATOMIC_RELAXED),
					   why);
				else
					pr_err_ratelimited("%s", why);
			}
		}
	}
}

void net_vhost_destroy(struct net_backend *be)
{
	struct vhost_be *v = to_vhost(be);
	uint64_t one = 1;
	unsigned int k;

	if (v->started)
		net_vhost_stop_rings(be, NULL, 0);
	if (v->err_thread_started) {
		if (write(v->wake_fd, &one, sizeof(one)) < 0)
			pr_err("net %s: cannot wake the vhost-net error watcher: %m", v->ifname);
		pthread_join(v->err_thread, NULL);
	}
	for (k = 0; k < v->npairs; k++) {
		struct vhost_pair *p = &v->pair[k];

		/* Closing the vhost fd is what frees the kernel's worker and rings. */
		if (p->vfd >= 0)
			v->sys->close(p->vfd);
		if (p->err_fd >= 0)
			close(p->err_fd);
		if (p->tap_fd >= 0)
			close(p->tap_fd);
	}
	if (v->wake_fd >= 0)
		close(v->wake_fd);
	free(v->mt);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

/*
 * The tap takes frames with the 12-byte vnet header in front (IFF_VNET_HDR,
 * TUNSETVNETHDRSZ); a zeroed one means no offload. tun serializes writers,
 * so this runs beside the vhost worker. Pair 0's queue is always attached.
 */
int net_vhost_announce(struct net_backend *be, const void *frame, size_t len)
{
	struct vhost_be *v = to_vhost(be);
	uint8_t hdr[NET_VNET_HDR_LEN] = {0};
	struct iovec iov[2] = {
		{.iov_base = hdr, .iov_len = sizeof(hdr)},
		{.iov_base = (void *)frame, .iov_len = len},
	};
	ssize_t n;

	if (!frame || len < 14 || len > NET_MAX_FRAME - NET_VNET_HDR_LEN)
		return -EINVAL;
	n = writev(v->pair[0].tap_fd, iov, 2);
	if (n < 0)
		return -errno;
	return (size_t)n == sizeof(hdr) + len ? 0 : -EIO;
}

/*
 * Nobody tells kvmini when the tap under vhost-net goes: the kernel's
 * worker drops what it cannot send (handle_tx() discards on error) and
 * reads nothing. Pair 0's queue is attached for as long as the device
 * lives, so asking it is enough.
 */
int net_vhost_link_check(struct net_backend *be)
{
	return net_tap_check(to_vhost(be)->pair[0].tap_fd);
}

const char *net_vhost_host_name(struct net_backend *be)
{
	return to_vhost(be)->host_name;
}

bool net_vhost_is(const struct net_backend *be)
{
	return be && be->ops == &net_vhost_ops;
}

static int open_error(int ret, char *err, size_t errlen)
{
	switch (ret) {
	case -ENOENT:
		snprintf(err, errlen,
			 "/dev/vhost-net does not exist (the host kernel lacks vhost-net: modprobe vhost_net)");
		break;
	case -EACCES:
	case -EPERM:
		snprintf(err, errlen,
			 "/dev/vhost-net: permission denied (kvmini needs read-write access to it)");
		break;
	default:
		snprintf(err, errlen, "/dev/vhost-net: %s", strerror(-ret));
	}
	return ret;
}

/* Open and own one vhost-net instance for pair k; on failure a line in err. */
static int open_pair(struct vhost_be *v, unsigned int k, char *err, size_t errlen)
{
	struct vhost_pair *p = &v->pair[k];
	uint64_t f = 0;
	int ret;

	p->vfd = v->sys->open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
	if (p->vfd < 0)
		return open_error(-errno, err, errlen);
	/* Must come first: every other ioctl needs an owner (vhost_dev_check_owner()). */
	if (v->sys->ioctl(p->vfd, VHOST_SET_OWNER, NULL) < 0) {
		ret = -errno;
		snprintf(err, errlen, "vhost-net: VHOST_SET_OWNER: %s", strerror(-ret));
		return ret;
	}
	if (v->sys->ioctl(p->vfd, VHOST_GET_FEATURES, &f) < 0) {
		ret = -errno;
		snprintf(err, errlen, "vhost-net: VHOST_GET_FEATURES: %s", strerror(-ret));
		return ret;
	}
	v->vhost_features = k ? v->vhost_features & f : f;
	p->err_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->err_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "vhost-net: eventfd: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

int net_vhost_open(const int *tap_fds, unsigned int npairs, uint32_t tap_caps, const char *ifname,
		   struct net_backend **out, char *err, size_t errlen)
{
	struct vhost_be *v;
	unsigned int k;
	int ret;

	if (!npairs || npairs > NET_TAP_MAX_QUEUES) {
		snprintf(err, errlen, "vhost-net: %u queue pairs (1 to %d)", npairs,
			 NET_TAP_MAX_QUEUES);
		return -EINVAL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "vhost-net: out of memory");
		return -ENOMEM;
	}
	v->be.ops = &net_vhost_ops;
	pthread_mutex_init(&v->lock, NULL);
	v->sys = cur_sys;
	v->npairs = npairs;
	v->caps = tap_caps;
	v->wake_fd = -1;
	snprintf(v->ifname, sizeof(v->ifname), "%s", ifname);
	snprintf(v->host_name, sizeof(v->host_name), "tap %s", v->ifname);
	for (k = 0; k < NET_TAP_MAX_QUEUES; k++)
		v->pair[k].vfd = v->pair[k].err_fd = v->pair[k].tap_fd = -1;
	for (k = 0; k < npairs; k++) {
		ret = open_pair(v, k, err, errlen);
		if (ret)
			goto err;
	}
	/* Modern virtio only (virtio_net.c): a vhost without VERSION_1 (< 4.0) cannot serve. */
	if (!(v->vhost_features & VHOST_BIT(VIRTIO_F_VERSION_1))) {
		snprintf(err, errlen, "vhost-net: the kernel lacks VIRTIO_F_VERSION_1 (features %#llx)",
			 (unsigned long long)v->vhost_features);
		ret = -EOPNOTSUPP;
		goto err;
	}
	v->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->wake_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "vhost-net: eventfd: %s", strerror(-ret));
		goto err;
	}
	ret = -pthread_create(&v->err_thread, NULL, err_thread, v);
	if (ret) {
		snprintf(err, errlen, "vhost-net: cannot start its error watcher: %s",
			 strerror(-ret));
		goto err;
	}
	v->err_thread_started = true;
	for (k = 0; k < npairs; k++)
		v->pair[k].tap_fd = tap_fds[k];
	*out = &v->be;
	return 0;
err:
	net_vhost_destroy(&v->be);
	return ret;
}

int net_vhost_select(enum net_vhost mode, const int *tap_fds, unsigned int npairs,
		     uint32_t tap_caps, const char *ifname, struct net_backend **out, char *msg,
		     size_t msglen)
{
	char why[200];
	int ret;

	*out = NULL;
	if (mode == NET_VHOST_OFF) {
		if (npairs > 1) {
			snprintf(msg, msglen,
				 "--net tap,ifname=%s,queues=%u: several queue pairs need vhost-net (vhost=on or auto); the userspace backend carries one",
				 ifname, npairs);
			return -EINVAL;
		}
		snprintf(msg, msglen, "userspace backend (vhost=off)");
		return 0;
	}
	ret = net_vhost_open(tap_fds, npairs, tap_caps, ifname, out, why, sizeof(why));
	if (!ret) {
		snprintf(msg, msglen, "vhost-net data path, %u queue pair%s", npairs,
			 npairs > 1 ? "s" : "");
		return 0;
	}
	if (mode == NET_VHOST_ON) {
		snprintf(msg, msglen, "--net tap,ifname=%s,vhost=on: %s", ifname, why);
		return ret;
	}
	if (npairs > 1) {
		snprintf(msg, msglen,
			 "--net tap,ifname=%s,queues=%u: several queue pairs need vhost-net, which is unavailable: %s",
			 ifname, npairs, why);
		return ret;
	}
	snprintf(msg, msglen, "userspace backend (vhost=auto, vhost-net unavailable: %s)", why);
	return 0;
}

int net_tap_backend_open(const struct net_config *nc, struct net_backend **out, char *msg,
			 size_t msglen)
{
	unsigned int nq = nc->queues ? nc->queues : 1, i;
	int fds[NET_TAP_MAX_QUEUES];
	char name[IFNAMSIZ], how[300];
	bool created = false;
	int ret;

	/* Refused before the tap is touched: no tap is created for nothing. */
	if (nc->vhost == NET_VHOST_OFF && nq > 1)
		return net_vhost_select(nc->vhost, NULL, nq, 0, nc->ifname, out, msg, msglen);
	ret = net_tap_open_queues(nc->ifname, nq, fds, name, &created, msg, msglen);
	if (ret)
		return ret;
	ret = net_vhost_select(nc->vhost, fds, nq, net_tap_probe_caps(fds[0]), name, out, how,
			       sizeof(how));
	if (ret) {
		snprintf(msg, msglen, "%s", how);
		goto err_close;
	}
	if (!*out) {
		ret = net_tap_wrap(fds[0], name, out);
		if (ret) {
			snprintf(msg, msglen, "tap %s: out of memory", name);
			goto err_close;
		}
	}
	snprintf(msg, msglen, "tap %s (%s), %s", name,
		 created ? "created by kvmini, removed on exit" : "existing", how);
	return 0;
err_close:
	for (i = 0; i < nq; i++)
		close(fds[i]);
	return ret;
}
