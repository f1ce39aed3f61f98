/* SPDX-License-Identifier: GPL-2.0 */
/* The allow-lists behind seccomp.h: parts, and which kind gets which. */
#ifndef KVMINI_SECCOMP_RULES_H
#define KVMINI_SECCOMP_RULES_H

#include "seccomp.h"

/* Calls allowed only with checked arguments (seccomp.c adds their rules). */
enum {
	SC_MEM_NOEXEC = 1 << 0,	 /* mmap, mprotect without PROT_EXEC */
	SC_THREADS = 1 << 1,	 /* clone of a thread only; clone3 says ENOSYS; prctl, seccomp */
	SC_OPEN_RDONLY = 1 << 2, /* openat without write access, O_CREAT or O_TRUNC */
	SC_OPEN_ANY = 1 << 3,	 /* openat */
	SC_SOCK_INET = 1 << 4,	 /* socket(AF_INET or AF_INET6) */
	SC_SOCK_LOCAL = 1 << 5,	 /* socket(AF_UNIX or AF_NETLINK) */
};

struct seccomp_part {
	const char *name;
	const int *syscalls; /* allowed whatever their arguments */
	unsigned int nr_syscalls;
	const unsigned long *ioctls; /* ioctl requests allowed, on any fd */
	unsigned int nr_ioctls;
	unsigned int checked; /* SC_* */
};

#define SECCOMP_MAX_PARTS 16

/* The parts kind's filter is made of; returns how many. */
unsigned int seccomp_kind_parts(enum seccomp_kind kind, const struct seccomp_needs *needs,
				const struct seccomp_part **out);

#endif
