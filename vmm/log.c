// SPDX-License-Identifier: GPL-2.0
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exitcode.h"
#include "log.h"

enum log_level log_threshold = LOG_INFO;
static const char *const level_prefix[] = { "error: ", "warning: ", "", "debug: " };
bool log_crlf;

static __attribute__((format(printf, 2, 0))) void vlog(const char *prefix, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	/* One write per line so that lines from several threads never interleave. */
	n = snprintf(line, sizeof(line), "kvmini: %s", prefix);
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	/* A terminal in raw mode (console on stdio) needs the carriage return. */
	if (log_crlf)
		line[n++] = '\r';
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	vlog(level_prefix[level], fmt, ap);
	va_end(ap);
}

/* Guards every struct log_ratelimit: they are touched only when a guest misbehaves. */
static pthread_mutex_t ratelimit_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ratelimit_lock held. */
static void report_suppressed(struct log_ratelimit *rl)
{
	if (!rl->suppressed)
		return;
	log_msg(rl->last_level, "%lu more suppressed, the last: %s", rl->suppressed, rl->last);
	rl->suppressed = 0;
}

void log_ratelimited(struct log_ratelimit *rl, enum log_level level, const char *fmt, ...)
{
	uint64_t now = now_ms();
	char msg[sizeof(rl->last)];
	va_list ap;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&ratelimit_lock);
	/* The first call finds window_start_ms 0 and opens a window. */
	if (!rl->window_start_ms || now - rl->window_start_ms >= LOG_RATELIMIT_INTERVAL_MS) {
		rl->window_start_ms = now;
		rl->printed = 0;
		rl->printed_last[0] = 0;
	}
	if (rl->printed < LOG_RATELIMIT_BURST && strcmp(msg, rl->printed_last)) {
		rl->printed++;
		report_suppressed(rl);
		log_msg(level, "%s", msg);
		memcpy(rl->printed_last, msg, sizeof(msg));
	} else {
		rl->suppressed++;
		rl->last_level = level;
		memcpy(rl->last, msg, sizeof(msg));
	}
	pthread_mutex_unlock(&ratelimit_lock);
}

void log_ratelimit_flush(struct log_ratelimit *rl)
{
	pthread_mutex_lock(&ratelimit_lock);
	report_suppressed(rl);
	pthread_mutex_unlock(&ratelimit_lock);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("error: ", fmt, ap);
	va_end(ap);
	exit(EXIT_VMM_ERROR_CODE);
}
