/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A developer check for file descriptor leaks (KVMINI_CHECK_FDS=1, README
 * "Tests"): the fds open before the VM is set up are recorded, and after
 * teardown every fd open that was not open before is reported with what
 * it points to.
 */
#ifndef KVMINI_FDCHECK_H
#define KVMINI_FDCHECK_H

#include <stdbool.h>

#define FDCHECK_MAX_FD 4096

struct fdcheck {
	bool on;
	unsigned long open[FDCHECK_MAX_FD / (8 * sizeof(unsigned long))];
};

/* Record the open fds when KVMINI_CHECK_FDS=1 is in the environment. */
void fdcheck_begin(struct fdcheck *c);
/*
 * Compare with what fdcheck_begin() saw: 0 when nothing new is open (or
 * the check is off), else the number of leaked fds, each named in one
 * error line.
 */
int fdcheck_end(const struct fdcheck *c);

#endif
