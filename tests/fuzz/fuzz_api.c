// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the control socket (api.c). For every input a fresh
 * event loop and server (api_open() on a socket in a private directory)
 * with fake machine operations; the input is what one client sends, then it
 * shuts its side and reads the replies. Migrations and snapshots the fake
 * starts end after the loop turn that started them, every other one with an
 * error; every other pause fails with a message holding a quote, a newline
 * and a byte that is not UTF-8. Checked, against a reference reading of the
 * input's lines:
 *   - every reply is one line of valid JSON, {"ok":true...} or
 *     {"ok":false,"error":"..."}, and there is exactly one per request (a
 *     line over API_MAX_LINE bytes is one request: it gets an error);
 *   - a request gets "ok":true exactly when the reference says it is a
 *     well-formed command whose operation succeeded, and the operations run
 *     are exactly those of the well-formed requests, in order: nothing acts
 *     on a malformed or overlong line, nor on a piece of one;
 *   - the server frees every client and its buffers (LeakSanitizer).
 * A violation is __builtin_trap().
 *
 *   make fuzz-build && build/fuzz/fuzz_api -max_total_time=60 tests/fuzz/corpus/fuzz_api
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/api.h"
#include "vmm/loop.h"
#include "vmm/migrate_uri.h"

#define CHECK(cond)                       \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

#define MAX_OPS 4096
#define INPUT_MAX (64 << 10)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char sock_path[108];

/* What the fakes did, one letter per operation, and the reference's forecast. */
static char ops_done[MAX_OPS], ops_want[MAX_OPS];
static size_t nr_done, nr_want;
static unsigned int pauses, migrations;
static struct api_pending *pending;

static void log_op(char op)
{
	CHECK(nr_done < MAX_OPS);
	ops_done[nr_done++] = op;
}

static int fake_status(void *opaque, char *buf, size_t len)
{
	log_op('s');
	snprintf(buf, len, "\"state\":\"running\",\"vcpus\":1,\"nics\":[]");
	return 0;
}

static int fake_pause(void *opaque, char *err, size_t errlen)
{
	log_op('p');
	if (pauses++ % 2) {
		snprintf(err, errlen, "cannot \"pause\"\n\xff here");
		return -EIO;
	}
	return 0;
}

static int fake_resume(void *opaque, char *err, size_t errlen)
{
	log_op('r');
	return 0;
}

static int fake_stop(void *opaque, char *err, size_t errlen)
{
	log_op('x');
	return 0;
}

static int fake_migrate(void *opaque, const struct migrate_params *p, struct api_pending *token,
			char *err, size_t errlen)
{
	CHECK(!pending && p->uri && p->uri[0]);
	log_op(p->snapshot ? 'n' : 'm');
	pending = token;
	return 0;
}

static const struct api_ops ops = {
	.status = fake_status,
	.pause = fake_pause,
	.resume = fake_resume,
	.stop = fake_stop,
	.migrate = fake_migrate,
};

/* ---- the reference: what each request line should do ---- */

static bool utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	uint32_t cp;

	while (i < n) {
		unsigned char c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07;
		else
			return false;
		if (n - i < len)
			return false;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static bool number_ok(const char *s, unsigned long max)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 10)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	return v >= 1 && v <= max;
}

static bool migrate_ok(char **w, int n)
{
	struct migrate_uri u;
	char err[256];
	int i;

	if (n < 2 || migrate_parse_uri(w[1], &u, err, sizeof(err)) || u.kind == MIGRATE_URI_FILE)
		return false;
	for (i = 2; i < n; i++) {
		if (!strncmp(w[i], "downtime=", 9) && number_ok(w[i] + 9, 3600000))
			continue;
		if (!strncmp(w[i], "max-rounds=", 11) && number_ok(w[i] + 11, 100000))
			continue;
		return false;
	}
	return true;
}

/* The operation a request line asks for ('s', 'p', ...; 'h' help), or 0 when it is malformed. */
static char ref_op(const char *line, size_t len)
{
	static const char *const simple[] = {"status", "pause", "resume", "stop", "help"};
	static const char letter[] = "sprxh";
	char buf[API_MAX_LINE + 1], *w[9], *p;
	int n = 0;
	size_t i;

	if (len && line[len - 1] == '\r')
		len--;
	if (!utf8_ok((const unsigned char *)line, len))
		return 0;
	for (i = 0; i < len; i++)
		if (((unsigned char)line[i] < 0x20 || line[i] == 0x7f) && line[i] != '\t')
			return 0;
	memcpy(buf, line, len);
	buf[len] = '\0';
	p = buf + strspn(buf, " \t");
	if (!strncmp(p, "snapshot", 8) && (p[8] == ' ' || p[8] == '\t')) {
		/* The file name is the rest of the line, blanks inside it included. */
		p += 9;
		p += strspn(p, " \t");
		return *p ? 'n' : 0;
	}
	for (p = strtok(buf, " \t"); p && n < 9; p = strtok(NULL, " \t"))
		w[n++] = p;
	if (!n || n > 8)
		return 0;
	if (!strcmp(w[0], "migrate"))
		return migrate_ok(w, n) ? 'm' : 0;
	for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
		if (!strcmp(w[0], simple[i]))
			return n == 1 ? letter[i] : 0;
	return 0;
}

/* ---- a tiny JSON validator (RFC 8259) ---- */

static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
	return p + strspn(p, " \t\r");
}

static const char *json_string(const char *p)
{
	size_t n;

	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		unsigned char c = *p;

		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			p++;
			if (*p == 'u') {
				if (strspn(p + 1, "0123456789abcdefABCDEF") < 4)
					return NULL;
				p += 5;
			} else if (*p && strchr("\"\\/bfnrt", *p)) {
				p++;
			} else {
				return NULL;
			}
			continue;
		}
		n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		if (strnlen(p, n) < n || !utf8_ok((const unsigned char *)p, n))
			return NULL;
		p += n;
	}
	return p + 1;
}

static const char *json_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		p += strspn(p, "0123456789");
	else
		return NULL;
	if (*p == '.') {
		if (!strspn(++p, "0123456789"))
			return NULL;
		p += strspn(p, "0123456789");
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!strspn(p, "0123456789"))
			return NULL;
		p += strspn(p, "0123456789");
	}
	return p;
}

static const char *json_container(const char *p, int depth, char close, bool members)
{
	p = json_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (members) {
			p = json_string(p);
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p++ != ':')
				return NULL;
		}
		p = json_value(p, depth + 1);
		if (!p)
			return NULL;
		p = json_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *json_value(const char *p, int depth)
{
	p = json_ws(p);
	if (depth > 32)
		return NULL;
	switch (*p) {
	case '{':
		return json_container(p, depth, '}', true);
	case '[':
		return json_container(p, depth, ']', false);
	case '"':
		return json_string(p);
	case 't':
		return strncmp(p, "true", 4) ? NULL : p + 4;
	case 'f':
		return strncmp(p, "false", 5) ? NULL : p + 5;
	case 'n':
		return strncmp(p, "null", 4) ? NULL : p + 4;
	default:
		return json_number(p);
	}
}

/* One reply line (NUL-terminated, no newline): valid JSON; "ok" first; its value. */
static bool reply_ok(const char *line)
{
	const char *end = json_value(line, 0);

	CHECK(end && !*json_ws(end));
	if (!strncmp(line, "{\"ok\":true", 10))
		return true;
	CHECK(!strncmp(line, "{\"ok\":false,\"error\":\"", 21));
	return false;
}

/* ---- the run ---- */

struct expect {
	char op; /* 0: malformed */
	bool ok;
};

static size_t forecast(const uint8_t *d, size_t size, struct expect *e, size_t max)
{
	unsigned int npause = 0, nmig = 0;
	size_t off = 0, n = 0;

	while (off < size && n < max) {
		const uint8_t *nl = memchr(d + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (d + off)) : size - off;
		char op = len > API_MAX_LINE ? 0 : ref_op((const char *)d + off, len);

		e[n].op = op;
		e[n].ok = op != 0;
		if (op == 'p')
			e[n].ok = !(npause++ % 2);
		if (op == 'm' || op == 'n')
			e[n].ok = !(nmig++ % 2);
		if (op && op != 'h') {
			CHECK(nr_want < MAX_OPS);
			ops_want[nr_want++] = op;
		}
		n++;
		off += len + (nl ? 1 : 0);
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct expect want[INPUT_MAX + 1];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct event_loop loop;
	struct api_server *srv;
	char err[256], *replies = NULL;
	size_t nwant, sent = 0, rlen = 0, rcap = 0, i, nrep = 0;
	unsigned int turns;
	bool eof = false;
	int fd, ret;
	char *line, *nl;

	if (size > INPUT_MAX)
		return 0;
	nr_done = nr_want = 0;
	pauses = migrations = 0;
	pending = NULL;
	nwant = forecast(data, size, want, sizeof(want) / sizeof(want[0]));

	CHECK(!loop_init(&loop));
	CHECK(!api_open(&srv, sock_path, &loop, &ops, NULL, err, sizeof(err)));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	strcpy(sa.sun_path, sock_path);
	CHECK(!connect(fd, (struct sockaddr *)&sa, sizeof(sa)));

	for (turns = 0; !eof; turns++) {
		CHECK(turns < 100000); /* the server stopped answering */
		if (sent < size) {
			ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);

			CHECK(n > 0 || errno == EAGAIN);
			sent += n > 0 ? (size_t)n : 0;
		}
		if (sent == size)
			shutdown(fd, SHUT_WR);
		ret = loop_run_once(&loop, 0);
		CHECK(ret >= 0 || ret == -EINTR);
		if (pending) {
			struct api_pending *t = pending;

			pending = NULL;
			if (migrations++ % 2)
				api_reply_done(t, -EPIPE, "the destination went away", NULL);
			else
				api_reply_done(t, 0, NULL, "\"rounds\":1,\"pages\":2");
		}
		for (;;) {
			ssize_t n;

			if (rcap - rlen < 4096) {
				rcap = rcap * 2 + 8192;
				replies = realloc(replies, rcap);
				CHECK(replies);
			}
			n = recv(fd, replies + rlen, rcap - rlen - 1, 0);
			if (n == 0)
				eof = true;
			if (n <= 0)
				break;
			rlen += n;
		}
	}
	api_close(srv);
	loop_destroy(&loop);
	close(fd);

	CHECK(!rlen || replies[rlen - 1] == '\n');
	replies = replies ? replies : calloc(1, 1);
	CHECK(replies);
	replies[rlen] = '\0';
	for (line = replies; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		CHECK(nrep < nwant);
		CHECK(reply_ok(line) == want[nrep].ok);
		nrep++;
	}
	CHECK(nrep == nwant);
	CHECK(nr_done == nr_want && !memcmp(ops_done, ops_want, nr_done));
	for (i = 0; i < nwant; i++)
		CHECK(want[i].op || !want[i].ok);
	free(replies);
	return 0;
}

static void remove_dir(void)
{
	unlink(sock_path);
	*strrchr(sock_path, '/') = '\0';
	rmdir(sock_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char dir[64];

	snprintf(dir, sizeof(dir), "%s/fuzz_api.XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	CHECK(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/sock", dir);
	atexit(remove_dir);
	return 0;
}
