// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-model: the per-virtqueue ioctls, as vhost_vring_ioctl() (Linux 6.1)
 * handles them once vhost_dev_ioctl() has checked the owner.
 */
#include <errno.h>

#include "tests/vhost-model/vhost_model.h"

static void close_fd(int *fd)
{
	if (*fd >= 0)
		vm_real_close(*fd);
	*fd = -1;
}

/* vhost_vring_set_num() */
static long set_num(struct vm_vq *vq, uint64_t argp)
{
	struct vhost_vring_state s;

	/* resizing a ring with an active backend */
	if (vq->backend_fd >= 0)
		return -EBUSY;
	if (vm_copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (!s.num || s.num > 0xffff || (s.num & (s.num - 1)))
		return -EINVAL;
	vq->num = s.num;
	return 0;
}

/* vhost_vring_set_addr(): legal with a backend, then checked at once */
static long set_addr(struct vm_vq *vq, uint64_t argp)
{
	struct vhost_vring_addr a;
	bool log = false;

	if (vm_copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (a.flags & ~(0x1 << VHOST_VRING_F_LOG))
		return -EOPNOTSUPP;
	/* VRING_AVAIL_ALIGN_SIZE 2, VRING_USED_ALIGN_SIZE 4 (also the log address) */
	if ((a.avail_user_addr & 1) || (a.used_user_addr & 3) || (a.log_guest_addr & 3))
		return -EINVAL;
	log = a.flags & (0x1 << VHOST_VRING_F_LOG);
	/* without a backend the size may not be set yet: checked at SET_BACKEND */
	if (vq->backend_fd >= 0) {
		if (!vm_ring_access_ok(vq, vq->num, a.desc_user_addr, a.avail_user_addr,
				       a.used_user_addr))
			return -EINVAL;
		if (!vm_log_used_access_ok(vq, vq->log_base, log, a.log_guest_addr))
			return -EINVAL;
	}
	vq->log_used = log;
	vq->desc = a.desc_user_addr;
	vq->avail = a.avail_user_addr;
	vq->log_addr = a.log_guest_addr;
	vq->used = a.used_user_addr;
	return 0;
}

/* eventfd_ctx_fdget() / eventfd_fget(), -1 (VHOST_FILE_UNBIND) unbinds */
static int get_eventfd(uint64_t argp, int *fd)
{
	struct vhost_vring_file f;

	if (vm_copy_from_user(&f, argp, sizeof(f)))
		return -EFAULT;
	if (f.fd == -1) {
		*fd = -1;
		return 0;
	}
	*fd = vm_eventfd_check(f.fd);
	return *fd < 0 ? *fd : 0;
}

static long set_kick(struct vm_vq *vq, uint64_t argp, bool *pollstop)
{
	int fd;
	long r = get_eventfd(argp, &fd);

	if (r)
		return r;
	if (fd >= 0 && vq->kick_fd >= 0 && vm_same_file(fd, vq->kick_fd)) {
		close_fd(&fd);
		return 0;
	}
	/* vhost_poll_stop() on the old one, vhost_poll_start() on the new */
	*pollstop = vq->kick_fd >= 0;
	vm_poll_kick(vq, false);
	close_fd(&vq->kick_fd);
	vq->kick_fd = fd;
	vm_poll_kick(vq, true);
	return 0;
}

long vm_vring_ioctl(struct vm_dev *d, unsigned long req, uint64_t argp)
{
	struct vhost_vring_state s;
	bool pollstop = false;
	struct vm_vq *vq;
	uint32_t idx;
	long r = 0;
	int fd;

	if (vm_copy_from_user(&idx, argp, sizeof(idx)))
		return -EFAULT;
	if (idx >= VM_NVQS)
		return -ENOBUFS;
	vq = &d->vqs[idx];
	pthread_mutex_lock(&vq->mutex);
	switch (req) {
	case VHOST_SET_VRING_NUM:
		r = set_num(vq, argp);
		break;
	case VHOST_SET_VRING_ADDR:
		r = set_addr(vq, argp);
		break;
	case VHOST_SET_VRING_BASE:
		/* moving the base with an active backend */
		if (vq->backend_fd >= 0) {
			r = -EBUSY;
			break;
		}
		if (vm_copy_from_user(&s, argp, sizeof(s))) {
			r = -EFAULT;
			break;
		}
		/* VIRTIO_F_RING_PACKED is not in VHOST_NET_FEATURES */
		if (s.num > 0xffff) {
			r = -EINVAL;
			break;
		}
		vq->last_avail_idx = s.num;
		/* forget the cached index value */
		vq->avail_idx = vq->last_avail_idx;
		break;
	case VHOST_GET_VRING_BASE:
		/* 6.1 only reads it: the ring keeps running */
		s.index = idx;
		s.num = vq->last_avail_idx;
		r = vm_copy_to_user(argp, &s, sizeof(s));
		break;
	case VHOST_SET_VRING_KICK:
		r = set_kick(vq, argp, &pollstop);
		break;
	case VHOST_SET_VRING_CALL:
		r = get_eventfd(argp, &fd);
		if (!r) {
			close_fd(&vq->call_fd);
			vq->call_fd = fd;
		}
		break;
	case VHOST_SET_VRING_ERR:
		r = get_eventfd(argp, &fd);
		if (!r) {
			close_fd(&vq->err_fd);
			vq->err_fd = fd;
		}
		break;
	case VHOST_SET_VRING_BUSYLOOP_TIMEOUT:
		/* stored and reported; the model never busy-polls */
		if (vm_copy_from_user(&s, argp, sizeof(s)))
			r = -EFAULT;
		else
			vq->busyloop_timeout = s.num;
		break;
	case VHOST_GET_VRING_BUSYLOOP_TIMEOUT:
		s.index = idx;
		s.num = vq->busyloop_timeout;
		r = vm_copy_to_user(argp, &s, sizeof(s));
		break;
	default:
		/* VHOST_SET/GET_VRING_ENDIAN too: no CONFIG_VHOST_CROSS_ENDIAN_LEGACY */
		r = -VM_ENOIOCTLCMD;
	}
	pthread_mutex_unlock(&vq->mutex);
	if (pollstop)
		vm_dev_flush(d);
	return r;
}
