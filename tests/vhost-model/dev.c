// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-model: the ioctls of /dev/vhost-net, in the order and with the
 * errors of vhost_net_ioctl(), vhost_dev_ioctl() and vhost_vring_ioctl()
 * (Linux 6.1). The owner is a pid where the kernel compares mm_structs:
 * threads of the owner pass, a forked child does not.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tests/vhost-model/vhost_model.h"

#define ENOIOCTLCMD VM_ENOIOCTLCMD

static void close_fd(int *fd)
{
	if (*fd >= 0)
		vm_real_close(*fd);
	*fd = -1;
}

bool vm_same_file(int a, int b)
{
	pid_t p = getpid();

	if (a < 0 || b < 0)
		return a == b;
	return syscall(SYS_kcmp, p, p, KCMP_FILE, a, b) == 0;
}

/* vhost_vq_reset() plus the per-vq part of vhost_net_vq_reset() */
static void vq_reset(struct vm_vq *vq)
{
	vq->num = 1;
	vq->desc = vq->avail = vq->used = 0;
	vq->last_avail_idx = vq->avail_idx = vq->last_used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_used_valid = false;
	vq->used_flags = 0;
	vq->log_used = false;
	vq->log_addr = -1ULL;
	vq->acked_features = vq->acked_backend_features = 0;
	vq->log_base = 0;
	vq->log_fd = -1;
	vq->busyloop_timeout = 0;
	vq->umem = NULL;
	vq->iotlb = false;
	vq->vhost_hlen = vq->sock_hlen = 0;
	vq->done_idx = 0;
	vq->rx_len = 0;
}

struct vm_dev *vm_dev_open(int fd)
{
	struct vm_dev *d = calloc(1, sizeof(*d));
	int i;

	if (!d)
		return NULL;
	d->fd = fd;
	d->log_fd = d->epfd = d->ctl_fd = -1;
	pthread_mutex_init(&d->mutex, NULL);
	pthread_mutex_init(&d->work_lock, NULL);
	pthread_cond_init(&d->work_cond, NULL);
	for (i = 0; i < VM_NVQS; i++) {
		struct vm_vq *vq = &d->vqs[i];

		vq->dev = d;
		vq->index = i;
		pthread_mutex_init(&vq->mutex, NULL);
		vq->kick_fd = vq->call_fd = vq->err_fd = vq->backend_fd = -1;
		vq_reset(vq);
		if (vm_net_rx_alloc(vq)) {
			free(d->vqs[0].rx_frame);
			free(d);
			return NULL;
		}
	}
	return d;
}

/* vhost_dev_check_owner() */
static long check_owner(struct vm_dev *d)
{
	return d->owner && d->owner == getpid() ? 0 : -EPERM;
}

/* vhost_net_stop_vq(): detach the backend, returning it to be closed */
static int stop_vq(struct vm_vq *vq)
{
	int sock;

	pthread_mutex_lock(&vq->mutex);
	sock = vq->backend_fd;
	vm_poll_sock(vq, false);
	vq->backend_fd = -1;
	vq->rx_len = 0;
	pthread_mutex_unlock(&vq->mutex);
	return sock;
}

/* vhost_dev_stop() */
static void dev_stop(struct vm_dev *d)
{
	for (int i = 0; i < VM_NVQS; i++)
		vm_poll_kick(&d->vqs[i], false);
	vm_dev_flush(d);
}

/* vhost_dev_cleanup() */
static void dev_cleanup(struct vm_dev *d)
{
	for (int i = 0; i < VM_NVQS; i++) {
		struct vm_vq *vq = &d->vqs[i];

		close_fd(&vq->err_fd);
		close_fd(&vq->kick_fd);
		close_fd(&vq->call_fd);
		vq_reset(vq);
	}
	close_fd(&d->log_fd);
	free(d->umem);
	d->umem = NULL;
	vm_worker_stop(d);
	d->owner = 0;
}

/* vhost_net_stop() + flush + vhost_dev_stop() + cleanup, shared by release and reset */
static void net_teardown(struct vm_dev *d)
{
	int tx = stop_vq(&d->vqs[VM_VQ_TX]);
	int rx = stop_vq(&d->vqs[VM_VQ_RX]);

	vm_dev_flush(d);
	dev_stop(d);
	dev_cleanup(d);
	close_fd(&tx);
	close_fd(&rx);
}

/* vhost_net_release() */
void vm_dev_release(struct vm_dev *d)
{
	/*
	 * In a forked child this is not the last reference: the parent's
	 * copy of the device lives on, so only forget ours.
	 */
	if (d->has_worker && d->worker_pid != getpid())
		return;
	pthread_mutex_lock(&d->mutex);
	net_teardown(d);
	pthread_mutex_unlock(&d->mutex);
	for (int i = 0; i < VM_NVQS; i++)
		free(d->vqs[i].rx_frame);
	free(d);
}

/* vhost_net_reset_owner(): back to no owner, with an empty memory table */
static long reset_owner(struct vm_dev *d)
{
	struct vm_umem *umem;
	long r;

	pthread_mutex_lock(&d->mutex);
	r = check_owner(d);
	if (r)
		goto done;
	umem = calloc(1, sizeof(*umem));
	if (!umem) {
		r = -ENOMEM;
		goto done;
	}
	net_teardown(d);
	d->umem = umem;
	for (int i = 0; i < VM_NVQS; i++)
		d->vqs[i].umem = umem;
done:
	pthread_mutex_unlock(&d->mutex);
	return r;
}

/* vhost_net_set_owner() / vhost_dev_set_owner() */
static long set_owner(struct vm_dev *d)
{
	long r = 0;

	pthread_mutex_lock(&d->mutex);
	if (d->owner) {
		r = -EBUSY;
		goto out;
	}
	d->owner = getpid();
	r = vm_worker_start(d);
	if (r)
		d->owner = 0;
	vm_dev_flush(d);
out:
	pthread_mutex_unlock(&d->mutex);
	return r;
}

/* vhost_net_set_features(): no owner check, as in the kernel */
static long set_features(struct vm_dev *d, uint64_t features)
{
	size_t hdr_len, vhost_hlen, sock_hlen;

	hdr_len = (features & ((1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_F_VERSION_1))) ?
		  sizeof(struct virtio_net_hdr_mrg_rxbuf) : sizeof(struct virtio_net_hdr);
	if (features & (1ULL << VHOST_NET_F_VIRTIO_NET_HDR)) {
		vhost_hlen = hdr_len;	/* vhost provides the vnet header */
		sock_hlen = 0;
	} else {
		vhost_hlen = 0;		/* the socket provides it */
		sock_hlen = hdr_len;
	}
	pthread_mutex_lock(&d->mutex);
	/* vhost_log_access_ok() */
	if ((features & (1ULL << VHOST_F_LOG_ALL)) && !vm_memory_access_ok(d, d->umem, true)) {
		pthread_mutex_unlock(&d->mutex);
		return -EFAULT;
	}
	for (int i = 0; i < VM_NVQS; i++) {
		struct vm_vq *vq = &d->vqs[i];

		pthread_mutex_lock(&vq->mutex);
		/* vhost_init_device_iotlb(): stays until reset */
		if (features & (1ULL << VIRTIO_F_ACCESS_PLATFORM))
			vq->iotlb = true;
		vq->acked_features = features;
		vq->vhost_hlen = vhost_hlen;
		vq->sock_hlen = sock_hlen;
		pthread_mutex_unlock(&vq->mutex);
	}
	pthread_mutex_unlock(&d->mutex);
	return 0;
}

/*
 * get_socket(): a raw AF_PACKET socket or a tun/macvtap file, else
 * ENOTSOCK (also for a bad fd). Returns our own reference (a dup).
 */
static int get_socket(int fd)
{
	char path[64], target[64];
	int type = 0, dom = 0;
	socklen_t sl = sizeof(int);
	ssize_t n;

	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -ENOTSOCK;
	if (!getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) &&
	    !getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &sl)) {
		if (type != SOCK_RAW || dom != AF_PACKET)
			return -ENOTSOCK;
	} else {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			return -ENOTSOCK;
		target[n] = 0;
		if (strcmp(target, "/dev/net/tun") && strncmp(target, "/dev/tap", 8))
			return -ENOTSOCK;
	}
	fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return fd < 0 ? -errno : fd;
}

/* vhost_net_set_backend() */
static long set_backend(struct vm_dev *d, unsigned int index, int fd)
{
	struct vm_vq *vq;
	int sock, oldsock;
	long r;

	pthread_mutex_lock(&d->mutex);
	r = check_owner(d);
	if (r)
		goto err;
	if (index >= VM_NVQS) {
		r = -ENOBUFS;
		goto err;
	}
	vq = &d->vqs[index];
	pthread_mutex_lock(&vq->mutex);
	/* verify that the ring has been set up correctly */
	if (!vm_vq_access_ok(vq)) {
		r = -EFAULT;
		goto err_vq;
	}
	sock = fd == -1 ? -1 : get_socket(fd);
	if (fd != -1 && sock < 0) {
		r = sock;
		goto err_vq;
	}
	oldsock = vq->backend_fd;
	if (vm_same_file(sock, oldsock)) {
		close_fd(&sock);
		pthread_mutex_unlock(&vq->mutex);
		pthread_mutex_unlock(&d->mutex);
		return 0;
	}
	vm_poll_sock(vq, false);
	vq->backend_fd = sock;
	vq->rx_len = 0;		/* vhost_net_buf_unproduce() */
	r = vm_vq_init_access(vq);
	if (!r)
		r = vm_poll_sock(vq, true);
	if (r) {
		/* err_used: back to the old backend */
		vm_poll_sock(vq, false);
		vq->backend_fd = oldsock;
		vm_poll_sock(vq, true);
		close_fd(&sock);
		goto err_vq;
	}
	pthread_mutex_unlock(&vq->mutex);
	if (oldsock >= 0) {
		/* vhost_dev_flush() before dropping the old socket */
		vm_dev_flush(d);
		close_fd(&oldsock);
	}
	pthread_mutex_unlock(&d->mutex);
	return 0;
err_vq:
	pthread_mutex_unlock(&vq->mutex);
err:
	pthread_mutex_unlock(&d->mutex);
	return r;
}

/* vhost_set_memory(): each region becomes a map, as vhost_iotlb_add_range() */
static long set_memory(struct vm_dev *d, uint64_t argp)
{
	struct vhost_memory mem;
	struct vhost_memory_region reg;
	struct vm_umem *newumem, *old;
	uint32_t i;

	if (vm_copy_from_user(&mem, argp, sizeof(mem)))
		return -EFAULT;
	if (mem.padding)
		return -EOPNOTSUPP;
	if (mem.nregions > VM_MAX_MEM_REGIONS)
		return -E2BIG;
	newumem = calloc(1, sizeof(*newumem) + 2 * mem.nregions * sizeof(struct vm_map));
	if (!newumem)
		return -ENOMEM;
	for (i = 0; i < mem.nregions; i++) {
		uint64_t start, last, addr;

		if (vm_copy_from_user(&reg, argp + sizeof(mem) + i * sizeof(reg), sizeof(reg)))
			goto err;
		start = reg.guest_phys_addr;
		last = reg.guest_phys_addr + reg.memory_size - 1;
		addr = reg.userspace_addr;
		if (last < start)
			goto err;
		/* [0, ULONG_MAX] is split in two so that its size fits in a u64 */
		if (start == 0 && last == UINT64_MAX) {
			uint64_t mid = last / 2;

			newumem->maps[newumem->nmaps++] = (struct vm_map){
				.start = 0, .last = mid, .size = mid + 1, .addr = addr };
			addr += mid + 1;
			start = mid + 1;
		}
		newumem->maps[newumem->nmaps++] = (struct vm_map){
			.start = start, .last = last, .size = last - start + 1, .addr = addr };
	}
	if (!vm_memory_access_ok(d, newumem, false))
		goto err;
	old = d->umem;
	d->umem = newumem;
	/* all memory accesses are done under some vq mutex */
	for (i = 0; i < VM_NVQS; i++) {
		pthread_mutex_lock(&d->vqs[i].mutex);
		d->vqs[i].umem = newumem;
		pthread_mutex_unlock(&d->vqs[i].mutex);
	}
	free(old);
	return 0;
err:
	free(newumem);
	return -EFAULT;
}

/* vhost_dev_ioctl(): owner-only device ioctls; ENOIOCTLCMD for vring ones */
static long dev_ioctl(struct vm_dev *d, unsigned long req, uint64_t argp)
{
	long r;
	uint64_t p;
	int fd, i;

	r = check_owner(d);
	if (r)
		return r;
	switch (req) {
	case VHOST_SET_MEM_TABLE:
		return set_memory(d, argp);
	case VHOST_SET_LOG_BASE:
		if (vm_copy_from_user(&p, argp, sizeof(p)))
			return -EFAULT;
		for (i = 0; i < VM_NVQS; i++) {
			struct vm_vq *vq = &d->vqs[i];

			pthread_mutex_lock(&vq->mutex);
			/* an inactive ring is checked when it is enabled */
			if (vq->backend_fd >= 0 && !vm_vq_log_access_ok(vq, p))
				r = -EFAULT;
			else
				vq->log_base = p;
			pthread_mutex_unlock(&vq->mutex);
		}
		return r;
	case VHOST_SET_LOG_FD:
		if (vm_copy_from_user(&fd, argp, sizeof(fd)))
			return -EFAULT;
		if (fd != -1) {
			fd = vm_eventfd_check(fd);
			if (fd < 0)
				return fd;
		}
		close_fd(&d->log_fd);
		d->log_fd = fd;
		for (i = 0; i < VM_NVQS; i++) {
			pthread_mutex_lock(&d->vqs[i].mutex);
			d->vqs[i].log_fd = d->log_fd;
			pthread_mutex_unlock(&d->vqs[i].mutex);
		}
		return 0;
	default:
		return -ENOIOCTLCMD;
	}
}

long vm_dev_ioctl(struct vm_dev *d, unsigned long req, void *arg)
{
	uint64_t argp = (uintptr_t)arg, features;
	struct vhost_vring_file backend;
	long r;

	switch (req) {
	case VHOST_NET_SET_BACKEND:
		if (vm_copy_from_user(&backend, argp, sizeof(backend)))
			return -EFAULT;
		return set_backend(d, backend.index, backend.fd);
	case VHOST_GET_FEATURES:
		features = VM_NET_FEATURES;
		return vm_copy_to_user(argp, &features, sizeof(features));
	case VHOST_SET_FEATURES:
		if (vm_copy_from_user(&features, argp, sizeof(features)))
			return -EFAULT;
		if (features & ~VM_NET_FEATURES)
			return -EOPNOTSUPP;
		return set_features(d, features);
	case VHOST_GET_BACKEND_FEATURES:
		features = VM_NET_BACKEND_FEATURES;
		return vm_copy_to_user(argp, &features, sizeof(features));
	case VHOST_SET_BACKEND_FEATURES:
		if (vm_copy_from_user(&features, argp, sizeof(features)))
			return -EFAULT;
		if (features & ~VM_NET_BACKEND_FEATURES)
			return -EOPNOTSUPP;
		/* vhost_set_backend_features() */
		pthread_mutex_lock(&d->mutex);
		for (int i = 0; i < VM_NVQS; i++) {
			pthread_mutex_lock(&d->vqs[i].mutex);
			d->vqs[i].acked_backend_features = features;
			pthread_mutex_unlock(&d->vqs[i].mutex);
		}
		pthread_mutex_unlock(&d->mutex);
		return 0;
	case VHOST_RESET_OWNER:
		return reset_owner(d);
	case VHOST_SET_OWNER:
		return set_owner(d);
	default:
		pthread_mutex_lock(&d->mutex);
		r = dev_ioctl(d, req, argp);
		if (r == -ENOIOCTLCMD)
			r = vm_vring_ioctl(d, req, argp);
		else
			vm_dev_flush(d);	/* vhost_net_flush() */
		pthread_mutex_unlock(&d->mutex);
		return r == -ENOIOCTLCMD ? -ENOTTY : r;
	}
}
