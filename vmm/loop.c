// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"

int loop_init(struct event_loop *l)
{
	memset(l, 0, sizeof(*l));
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

void loop_destroy(struct event_loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

static struct loop_handler *find(struct event_loop *l, int fd)
{
	unsigned int i;

	for (i = 0; i < LOOP_MAX_HANDLERS; i++)
		if (l->h[i].used && !l->h[i].dead && l->h[i].fd == fd)
			return &l->h[i];
	return NULL;
}

int loop_add(struct event_loop *l, int fd, uint32_t events, loop_fn fn, void *opaque)
{
	struct epoll_event ev = { .events = events };
	unsigned int i;

	if (find(l, fd))
		return -EEXIST;
	for (i = 0; i < LOOP_MAX_HANDLERS; i++)
		if (!l->h[i].used)
			break;
	if (i == LOOP_MAX_HANDLERS)
		return -ENOSPC;
	ev.data.ptr = &l->h[i];
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	l->h[i] = (struct loop_handler){ .fd = fd, .fn = fn, .opaque = opaque, .used = true };
	return 0;
}

int loop_mod(struct event_loop *l, int fd, uint32_t events)
{
	struct loop_handler *h = find(l, fd);
	struct epoll_event ev = { .events = events };

	if (!h)
		return -ENOENT;
	ev.data.ptr = h;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int loop_del(struct event_loop *l, int fd)
{
	struct loop_handler *h = find(l, fd);

	if (!h)
		return -ENOENT;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	/* An event for it may already sit in the current batch: keep the slot until then. */
	h->dead = true;
	return 0;
}

int loop_run_once(struct event_loop *l, int timeout_ms)
{
	struct epoll_event ev[16];
	unsigned int i;
	int n;

	for (i = 0; i < LOOP_MAX_HANDLERS; i++)
		if (l->h[i].dead)
			l->h[i] = (struct loop_handler){ 0 };

	n = epoll_wait(l->epfd, ev, 16, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < (unsigned int)n; i++) {
		struct loop_handler *h = ev[i].data.ptr;

		if (h->used && !h->dead)
			h->fn(h->opaque, ev[i].events);
	}
	return n;
}
