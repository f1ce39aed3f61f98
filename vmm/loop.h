/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The I/O event loop: epoll over file descriptors, each with a callback.
 * It runs on one thread (the main thread); handlers may add and remove
 * handlers, including themselves, while the loop dispatches.
 */
#ifndef KVMINI_LOOP_H
#define KVMINI_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#define LOOP_MAX_HANDLERS 64

typedef void (*loop_fn)(void *opaque, uint32_t events);

struct loop_handler {
	int fd;
	loop_fn fn;
	void *opaque;
	bool dead;	/* removed during a dispatch; reclaimed before the next */
	bool used;
};

struct event_loop {
	int epfd;
	bool stop;
	struct loop_handler h[LOOP_MAX_HANDLERS];
};

int loop_init(struct event_loop *l);
void loop_destroy(struct event_loop *l);
int loop_add(struct event_loop *l, int fd, uint32_t events, loop_fn fn, void *opaque);
int loop_mod(struct event_loop *l, int fd, uint32_t events);
int loop_del(struct event_loop *l, int fd);
/* Wait up to timeout_ms (-1: forever) and dispatch; returns events handled or -errno. */
int loop_run_once(struct event_loop *l, int timeout_ms);

#endif
