/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Least privilege: one seccomp filter per kind of thread (README, "Least
 * privilege"). seccomp_prepare() compiles every filter once, during setup;
 * each thread then calls seccomp_enter() with its kind where its
 * steady-state loop begins. A forbidden call traps (SECCOMP_RET_TRAP) to a
 * SIGSYS handler that prints one line and ends kvmini with EXIT_SECCOMP.
 *
 * Filters stack: a thread inherits its creator's filter and adds its own,
 * and the kernel runs both (kernel/seccomp.c, seccomp_run_filters: the most
 * restrictive action wins). So a creator's filter allows what the threads
 * it creates need; the allow-lists in seccomp_rules.c are built that way.
 *
 * Without seccomp_prepare() (--seccomp=off, unit tests, fuzzers)
 * seccomp_enter() does nothing.
 */
#ifndef KVMINI_SECCOMP_H
#define KVMINI_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

enum seccomp_kind {
	SECCOMP_MAIN,	     /* event loop, control socket, console input, teardown */
	SECCOMP_VCPU,	     /* KVM_RUN and the device emulation of its exits */
	SECCOMP_MIGRATION,   /* outgoing migration or snapshot */
	SECCOMP_NET_IO,	     /* a userspace NIC backend (tap or libslirp) */
	SECCOMP_NET_CTRL,    /* the virtio-net control queue (multi-queue vhost) */
	SECCOMP_VHOST_ERR,   /* vhost-net's ring-error watcher */
	SECCOMP_IRQ_WATCHER, /* virtio-pci: call eventfds without irqfd, INTx, device errors */
	SECCOMP_NR_KINDS,
};

/* Which backends this machine has: their calls are allowed only then. */
struct seccomp_needs {
	bool tap;   /* --net tap: vhost-net or the userspace tap backend */
	bool slirp; /* --net user */
	bool fdcheck; /* KVMINI_CHECK_FDS: the main thread lists /proc/self/fd at the end */
	/*
	 * The console put the terminal on fd 0 in raw mode: every thread may
	 * set it back (ioctl TCGETS and TCSETSF on fd 0, nothing else), which the SIGSYS
	 * handler does through the hook below before kvmini ends.
	 */
	bool tty;
};

/* Compile every kind's filter and install the SIGSYS handler. Setup only. */
int seccomp_prepare(const struct seccomp_needs *needs, char *err, size_t errlen);

/*
 * What the SIGSYS handler runs after its line and before kvmini exits: the
 * terminal restore (console.c), which atexit() handlers cannot do there.
 * Async-signal-safe, and allowed by every filter (seccomp_needs.tty).
 */
void seccomp_on_trap(void (*fn)(void));

/*
 * Install kind's filter on the calling thread (a no-op when nothing was
 * prepared). A thread that cannot narrow itself would run with more than
 * it may, so a failure ends kvmini with one error line.
 */
void seccomp_enter(enum seccomp_kind kind);

const char *seccomp_kind_name(enum seccomp_kind kind);

/* How many distinct system calls and ioctl requests kind's list allows. */
void seccomp_count(enum seccomp_kind kind, const struct seccomp_needs *needs,
		   unsigned int *syscalls, unsigned int *ioctls);

#endif
