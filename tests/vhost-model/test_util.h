/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-model tests: a tiny harness. Each test prints one line,
 * PASS/FAIL/SKIP vhost-model/<name>[: reason]; main() prints the summary.
 */
#ifndef VHOST_MODEL_TEST_UTIL_H
#define VHOST_MODEL_TEST_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

enum { T_PASS, T_FAIL, T_SKIP };

extern char t_msg[512];

/* Fail the current test with a message naming the line. */
#define T_ASSERT(cond) do { \
	if (!(cond)) { \
		snprintf(t_msg, sizeof(t_msg), "line %d: %s", __LINE__, #cond); \
		return T_FAIL; \
	} \
} while (0)

/* An ioctl that must fail with errno e (0: must succeed). */
#define T_IOCTL(fd, req, arg, e) do { \
	int _r = ioctl(fd, req, arg); \
	int _e = _r < 0 ? errno : 0, _w = (e); \
	if (_e != _w) { \
		snprintf(t_msg, sizeof(t_msg), "line %d: %s: got %s, want %s", __LINE__, \
			 #req, _e ? strerror(_e) : "success", _w ? strerror(_w) : "success"); \
		return T_FAIL; \
	} \
} while (0)

#define T_SKIP_IF(cond, why) do { \
	if (cond) { \
		snprintf(t_msg, sizeof(t_msg), "%s", why); \
		return T_SKIP; \
	} \
} while (0)

typedef int (*test_fn)(void);

struct test {
	const char *name;
	test_fn fn;
};

extern const struct test datapath_tests[];
extern const size_t n_datapath_tests;

#endif
