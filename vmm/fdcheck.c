// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdcheck.h"
#include "log.h"

#define BITS (8 * sizeof(unsigned long))

/* Calls fn for each fd in /proc/self/fd but the directory's own. Returns -1 if unreadable. */
static int for_each_fd(void (*fn)(void *arg, int fd), void *arg)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char *end;
	long fd;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		fd = strtol(e->d_name, &end, 10);
		if (*end || end == e->d_name || fd == dirfd(d))
			continue;
		fn(arg, (int)fd);
	}
	closedir(d);
	return 0;
}

static void record(void *arg, int fd)
{
	struct fdcheck *c = arg;

	if (fd < FDCHECK_MAX_FD)
		c->open[fd / BITS] |= 1UL << (fd % BITS);
}

void fdcheck_begin(struct fdcheck *c)
{
	const char *v = getenv("KVMINI_CHECK_FDS");

	memset(c, 0, sizeof(*c));
	c->on = v && !strcmp(v, "1");
	if (c->on && for_each_fd(record, c)) {
		pr_warn("KVMINI_CHECK_FDS: cannot read /proc/self/fd; no check");
		c->on = false;
	}
}

struct leak_scan {
	const struct fdcheck *c;
	int leaks;
};

static void report(void *arg, int fd)
{
	struct leak_scan *s = arg;
	char path[32], target[256];
	ssize_t n;

	if (fd < FDCHECK_MAX_FD && s->c->open[fd / BITS] & (1UL << (fd % BITS)))
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	target[n < 0 ? 0 : n] = '\0';
	pr_err("KVMINI_CHECK_FDS: fd %d left open after teardown: %s", fd,
	       n < 0 ? "(unreadable)" : target);
	s->leaks++;
}

int fdcheck_end(const struct fdcheck *c)
{
	struct leak_scan s = {.c = c};

	if (!c->on)
		return 0;
	if (for_each_fd(report, &s)) {
		pr_err("KVMINI_CHECK_FDS: cannot read /proc/self/fd");
		return 1;
	}
	if (!s.leaks)
		pr_info("KVMINI_CHECK_FDS: no fd left open after teardown");
	return s.leaks;
}
