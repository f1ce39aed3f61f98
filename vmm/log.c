// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "exitcode.h"
#include "log.h"

enum log_level log_threshold = LOG_INFO;
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
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };
	va_list ap;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	vlog(prefix[level], fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("error: ", fmt, ap);
	va_end(ap);
	exit(EXIT_VMM_ERROR_CODE);
}
