// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/log.h"

/* stderr goes to a temporary file for the test; read_log() returns what it holds. */
static FILE *capture;
static int saved_stderr;
static char logbuf[16384];

static void start_capture(void)
{
	capture = tmpfile();
	cr_assert_not_null(capture);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fileno(capture), STDERR_FILENO);
	log_threshold = LOG_INFO;
}

static const char *read_log(void)
{
	size_t n;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	rewind(capture);
	n = fread(logbuf, 1, sizeof(logbuf) - 1, capture);
	logbuf[n] = 0;
	fclose(capture);
	return logbuf;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(log, ratelimit_prints_a_burst_then_counts)
{
	struct log_ratelimit rl = {0};
	const char *out;

	start_capture();
	for (int i = 0; i < 1000; i++)
		log_ratelimited(&rl, LOG_ERR, "ring error %d", i);
	log_ratelimit_flush(&rl);
	out = read_log();
	cr_assert_eq(count_lines(out), LOG_RATELIMIT_BURST + 1, "%s", out);
	cr_assert(strstr(out, "kvmini: error: ring error 0\n"), "%s", out);
	cr_assert(strstr(out, "kvmini: error: ring error 4\n"), "%s", out);
	cr_assert_null(strstr(out, "ring error 5\n"), "%s", out);
	cr_assert(strstr(out, "kvmini: error: 995 more suppressed, the last: ring error 999\n"),
		  "%s", out);
}

Test(log, ratelimit_says_a_repeated_message_once)
{
	struct log_ratelimit rl = {0};
	const char *out;

	start_capture();
	for (int i = 0; i < 100; i++)
		log_ratelimited(&rl, LOG_ERR, "queue rings outside guest RAM");
	log_ratelimited(&rl, LOG_ERR, "descriptor chain loops");
	out = read_log();
	/* The count of the 99 repeats comes out before the next different message. */
	cr_assert_str_eq(
		out, "kvmini: error: queue rings outside guest RAM\n"
		     "kvmini: error: 99 more suppressed, the last: queue rings outside guest RAM\n"
		     "kvmini: error: descriptor chain loops\n");
}

Test(log, ratelimit_flush_with_nothing_suppressed_is_silent)
{
	struct log_ratelimit rl = {0};
	const char *out;

	start_capture();
	log_ratelimited(&rl, LOG_WARN, "one");
	log_ratelimit_flush(&rl);
	log_ratelimit_flush(&rl);
	out = read_log();
	cr_assert_str_eq(out, "kvmini: warning: one\n");
}

Test(log, ratelimit_states_are_independent)
{
	struct log_ratelimit a = {0}, b = {0};
	const char *out;

	start_capture();
	for (int i = 0; i < 10; i++)
		log_ratelimited(&a, LOG_ERR, "net0 %d", i);
	log_ratelimited(&b, LOG_ERR, "net1 first");
	out = read_log();
	cr_assert(strstr(out, "kvmini: error: net1 first\n"), "%s", out);
}

Test(log, ratelimit_below_threshold_prints_nothing)
{
	struct log_ratelimit rl = {0};
	const char *out;

	start_capture();
	log_threshold = LOG_ERR;
	log_ratelimited(&rl, LOG_WARN, "hidden");
	log_ratelimit_flush(&rl);
	out = read_log();
	cr_assert_str_eq(out, "");
}
