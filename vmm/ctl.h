/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `kvmini ctl [--timeout SECONDS] PATH COMMAND [ARGS...]`: one request to
 * the control socket (api.h), the JSON reply on stdout. Exit status 0 when
 * the reply says "ok":true, 1 when it says false (the error also on stderr)
 * or there is no reply (no socket, nobody listening, timeout), 2 for a bad
 * command line.
 */
#ifndef KVMINI_CTL_H
#define KVMINI_CTL_H

#include <stdbool.h>
#include <stddef.h>

/* argv[0] is "ctl". */
int cmd_ctl(int argc, char **argv);

/*
 * The request line (without newline) for COMMAND ARGS...: words joined by
 * spaces; a relative snapshot FILE or migrate unix:PATH made absolute
 * against cwd (kvmini's own directory may differ). 0, or -EINVAL with one
 * line in err.
 */
int ctl_build_request(int argc, char **argv, const char *cwd, char *out, size_t len, char *err,
		      size_t errlen);

/*
 * Send line to the socket at path and read one reply line into a malloc'ed
 * *reply (without the newline). timeout_ms < 0: wait forever. 0, or
 * -errno with one line in err.
 */
int ctl_request(const char *path, const char *line, int timeout_ms, char **reply, char *err,
		size_t errlen);

/* Whether a reply says "ok":true. */
bool ctl_reply_ok(const char *reply);

/* The reply's "error" string, unescaped (control characters as '?'), or "" when none. */
void ctl_reply_error(const char *reply, char *out, size_t len);

#endif
