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
#include <stdint.h>

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

/*
 * Runtime errors a guest can cause at will (a broken ring, a bad register
 * write) go through a rate limit: a message the same as the last one printed
 * for this state within LOG_RATELIMIT_INTERVAL_MS is not printed again, and
 * at most LOG_RATELIMIT_BURST lines get through per interval; the rest are
 * counted. The count comes out before the next line that gets through, or
 * from log_ratelimit_flush() (call it when the state's owner goes away), as
 * one line ending in the last message suppressed. A state is zeroed memory:
 * static per call site (pr_err_ratelimited) or one per device.
 */
#define LOG_RATELIMIT_BURST 5
#define LOG_RATELIMIT_INTERVAL_MS 10000

struct log_ratelimit {
	uint64_t window_start_ms;
	unsigned int printed;	   /* in the current window */
	unsigned long suppressed;  /* since the last line that got through */
	enum log_level last_level; /* of the last message suppressed */
	char last[160];		   /* its text, for log_ratelimit_flush() */
	char printed_last[160];	   /* the last line that got through */
};

void log_ratelimited(struct log_ratelimit *rl, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_ratelimit_flush(struct log_ratelimit *rl);

#define pr_err_ratelimited(...)                                                                    \
	do {                                                                                       \
		static struct log_ratelimit __rl;                                                  \
		log_ratelimited(&__rl, LOG_ERR, __VA_ARGS__);                                      \
	} while (0)

#endif
