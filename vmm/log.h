/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Logging. Every line goes to stderr prefixed with "kvmini: " so that it
 * never mixes invisibly with the guest's serial output on stdout.
 *
 * die() is for setup only (argument parsing, opening /dev/kvm, loading the
 * kernel). Once the guest runs, errors are returned and contained.
 */
#ifndef KVMINI_LOG_H
#define KVMINI_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_threshold;
/* Set while stdin is a terminal in raw mode: lines then end in CR LF. */
extern bool log_crlf;

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define pr_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * Log a runtime error at most once per call site: a hostile guest can
 * trigger the same fault millions of times a second.
 */
#define pr_err_once(...)                                                                           \
	do {                                                                                       \
		static bool __said;                                                                \
		if (!__atomic_exchange_n(&__said, true, __ATOMIC_RELAXED))                         \
			pr_err(__VA_ARGS__);                                                       \
	} while (0)

#define pr_warn_once(...)                                                                          \
	do {                                                                                       \
		static bool __said;                                                                \
		if (!__atomic_exchange_n(&__said, true, __ATOMIC_RELAXED))                         \
			pr_warn(__VA_ARGS__);                                                      \
	} while (0)

#endif
