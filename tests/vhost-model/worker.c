// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-model: the per-device worker (vhost_worker()) and vhost_poll. The
 * kernel wakes the worker from the wait queues of the kick eventfds and of
 * the backend socket; here one thread per device sleeps in epoll_wait() on
 * the same fds plus a control eventfd used for flush and stop.
 *
 * Kick eventfds are watched edge-triggered: vhost_poll_wakeup() runs on every
 * eventfd_signal() and never reads the counter, and EPOLLET reports every
 * write the same way without consuming it. The backend is watched
 * level-triggered and only while vhost_net_enable_vq() has it enabled.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tests/vhost-model/vhost_model.h"

#define TAG_CTL 0xffffffffu
#define TAG(vq, sock) (((vq)->index << 1) | (sock))

static void *vhost_worker(void *arg)
{
	struct vm_dev *d = arg;
	struct epoll_event ev[16];
	bool stop = false;

	while (!stop) {
		uint64_t flush = 0, cnt;
		bool got_ctl = false;
		unsigned int bits;
		int n, i, timeout;

		pthread_mutex_lock(&d->work_lock);
		timeout = d->pending ? 0 : -1;
		pthread_mutex_unlock(&d->work_lock);
		n = epoll_wait(d->epfd, ev, 16, timeout);
		if (n < 0 && errno != EINTR)
			break;
		pthread_mutex_lock(&d->work_lock);
		for (i = 0; i < n; i++) {
			if (ev[i].data.u32 == TAG_CTL) {
				if (read(d->ctl_fd, &cnt, sizeof(cnt)) < 0)
					cnt = 0;
				got_ctl = true;
			} else {
				/* vhost_poll_queue() of that vq's handler */
				d->pending |= 1u << (ev[i].data.u32 >> 1);
			}
		}
		if (got_ctl) {
			flush = d->flush_req;
			stop = d->stop;
		}
		bits = stop ? 0 : d->pending;
		d->pending = 0;
		pthread_mutex_unlock(&d->work_lock);

		if (bits & (1u << VM_VQ_RX))
			vm_handle_rx(d);
		if (bits & (1u << VM_VQ_TX))
			vm_handle_tx(d);

		if (got_ctl) {
			/* the flush work completes after the work queued before it */
			pthread_mutex_lock(&d->work_lock);
			if (d->flush_done < flush)
				d->flush_done = flush;
			pthread_cond_broadcast(&d->work_cond);
			pthread_mutex_unlock(&d->work_lock);
		}
	}
	pthread_mutex_lock(&d->work_lock);
	d->flush_done = UINT64_MAX;
	pthread_cond_broadcast(&d->work_cond);
	pthread_mutex_unlock(&d->work_lock);
	return NULL;
}

static void ctl_kick(struct vm_dev *d)
{
	uint64_t one = 1;

	if (write(d->ctl_fd, &one, sizeof(one)) < 0)
		return;
}

/* kthread_create(vhost_worker) in vhost_dev_set_owner() */
int vm_worker_start(struct vm_dev *d)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TAG_CTL };
	int r;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return -errno;
	d->ctl_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->ctl_fd < 0 || epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->ctl_fd, &ev) < 0) {
		r = -errno;
		goto err;
	}
	d->stop = false;
	d->pending = 0;
	d->flush_req = d->flush_done = 0;
	r = -pthread_create(&d->worker, NULL, vhost_worker, d);
	if (r)
		goto err;
	d->has_worker = true;
	d->worker_pid = getpid();
	return 0;
err:
	if (d->ctl_fd >= 0)
		vm_real_close(d->ctl_fd);
	vm_real_close(d->epfd);
	d->epfd = d->ctl_fd = -1;
	return r;
}

/* kthread_stop(dev->worker) in vhost_dev_cleanup() */
void vm_worker_stop(struct vm_dev *d)
{
	if (!d->has_worker || d->worker_pid != getpid())
		return;
	pthread_mutex_lock(&d->work_lock);
	d->stop = true;
	pthread_mutex_unlock(&d->work_lock);
	ctl_kick(d);
	pthread_join(d->worker, NULL);
	d->has_worker = false;
	vm_real_close(d->ctl_fd);
	vm_real_close(d->epfd);
	d->epfd = d->ctl_fd = -1;
	for (int i = 0; i < VM_NVQS; i++)
		d->vqs[i].kick_polled = d->vqs[i].sock_polled = false;
}

/* vhost_dev_flush(): wait until the work queued so far has run */
void vm_dev_flush(struct vm_dev *d)
{
	uint64_t mine;

	if (!d->has_worker || d->worker_pid != getpid())
		return;
	pthread_mutex_lock(&d->work_lock);
	mine = ++d->flush_req;
	ctl_kick(d);
	while (d->flush_done < mine)
		pthread_cond_wait(&d->work_cond, &d->work_lock);
	pthread_mutex_unlock(&d->work_lock);
}

/* vhost_poll_queue(&vq->poll), from the worker itself */
void vm_queue_work(struct vm_vq *vq)
{
	pthread_mutex_lock(&vq->dev->work_lock);
	vq->dev->pending |= 1u << vq->index;
	pthread_mutex_unlock(&vq->dev->work_lock);
}

/* vhost_poll_start()/vhost_poll_stop() on the kick eventfd */
void vm_poll_kick(struct vm_vq *vq, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u32 = TAG(vq, 0) };
	struct vm_dev *d = vq->dev;

	if (!d->has_worker)
		return;
	if (on && !vq->kick_polled && vq->kick_fd >= 0) {
		if (!epoll_ctl(d->epfd, EPOLL_CTL_ADD, vq->kick_fd, &ev))
			vq->kick_polled = true;
	} else if (!on && vq->kick_polled) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, vq->kick_fd, NULL);
		vq->kick_polled = false;
	}
}

/*
 * vhost_net_enable_vq()/vhost_net_disable_vq(): RX waits for EPOLLIN, TX for
 * EPOLLOUT (vhost_poll_init() in vhost_net_open()). Starting fails with
 * EINVAL when the file reports EPOLLERR (a tun fd with no device attached),
 * as vhost_poll_start() does.
 */
int vm_poll_sock(struct vm_vq *vq, bool on)
{
	struct epoll_event ev = { .data.u32 = TAG(vq, 1) };
	struct vm_dev *d = vq->dev;
	struct pollfd pfd;

	if (!d->has_worker || vq->backend_fd < 0)
		return 0;
	if (!on) {
		if (vq->sock_polled)
			epoll_ctl(d->epfd, EPOLL_CTL_DEL, vq->backend_fd, NULL);
		vq->sock_polled = false;
		return 0;
	}
	if (vq->sock_polled)
		return 0;
	ev.events = vq->index == VM_VQ_RX ? EPOLLIN : EPOLLOUT;
	pfd.fd = vq->backend_fd;
	pfd.events = ev.events;
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR))
		return -EINVAL;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, vq->backend_fd, &ev))
		return -errno;
	vq->sock_polled = true;
	return 0;
}
