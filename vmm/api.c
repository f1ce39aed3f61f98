// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket (api.h). Every client is a small state machine on
 * the event loop: it reads while it has no reply queued and no request
 * pending, handles one complete line at a time, and writes without ever
 * blocking. A client with a reply it does not read, or with a migration
 * pending, is simply not read from until that is over (back-pressure).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api.h"
#include "log.h"
#include "migrate_uri.h"

/* ---- JSON ---- */

void jbuf_init(struct jbuf *j, char *buf, size_t size)
{
	j->buf = buf;
	j->size = size;
	j->len = 0;
	j->truncated = false;
	if (size)
		buf[0] = '\0';
}

/* Append n bytes as a unit: all of them or, when they do not fit, none. */
static void jbuf_put(struct jbuf *j, const char *s, size_t n)
{
	if (j->truncated || j->len + n + 1 > j->size) {
		j->truncated = true;
		return;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

void jbuf_printf(struct jbuf *j, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (j->truncated || j->len + 1 > j->size) {
		j->truncated = true;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(j->buf + j->len, j->size - j->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= j->size - j->len) {
		j->buf[j->len] = '\0';
		j->truncated = true;
		return;
	}
	j->len += n;
}

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned int c, len, i;
	uint32_t cp;

	if (!n)
		return 0;
	c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0; /* continuation byte, overlong 0xc0/0xc1, or beyond U+10FFFF */
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void jbuf_strn(struct jbuf *j, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, len;
	char esc[8];

	jbuf_put(j, "\"", 1);
	while (i < n) {
		unsigned char c = s[i];

		switch (c) {
		case '"':
			jbuf_put(j, "\\\"", 2);
			break;
		case '\\':
			jbuf_put(j, "\\\\", 2);
			break;
		case '\b':
			jbuf_put(j, "\\b", 2);
			break;
		case '\f':
			jbuf_put(j, "\\f", 2);
			break;
		case '\n':
			jbuf_put(j, "\\n", 2);
			break;
		case '\r':
			jbuf_put(j, "\\r", 2);
			break;
		case '\t':
			jbuf_put(j, "\\t", 2);
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				jbuf_put(j, esc, 6);
				break;
			}
			len = utf8_seq_len(s + i, n - i);
			if (!len) {
				jbuf_put(j, "\\ufffd", 6);
				len = 1;
			} else {
				jbuf_put(j, str + i, len);
			}
			i += len;
			continue;
		}
		i++;
	}
	jbuf_put(j, "\"", 1);
}

void jbuf_str(struct jbuf *j, const char *s)
{
	jbuf_strn(j, s ? s : "", s ? strlen(s) : 0);
}

/* ---- the server ---- */

#define API_MAX_REPLY (API_STATUS_MAX + 64)

struct api_client {
	struct api_server *s;
	int fd;
	char in[API_MAX_LINE + 1]; /* a line and its newline */
	size_t inlen;
	bool discarding; /* inside an overlong line: drop up to its newline */
	bool eof;	 /* the client shut its side: no more requests */
	bool dead;	 /* to be freed once out of client_pump() */
	bool in_pump;
	bool repump;
	bool registered;
	uint32_t events;
	char *out;
	size_t outlen, outoff;
	struct api_pending *pending;
	struct api_client *next;
};

struct api_pending {
	struct api_server *s;
	struct api_client *c; /* NULL once the client went away */
	struct api_pending *next;
};

struct api_server {
	struct event_loop *loop;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	const struct api_ops *ops;
	void *opaque;
	struct api_client *clients;
	unsigned int nr_clients;
	struct api_pending *pending;
	char status[API_STATUS_MAX];
};

static void client_pump(struct api_client *c);

static void client_free(struct api_client *c)
{
	struct api_server *s = c->s;
	struct api_client **pp;

	for (pp = &s->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	s->nr_clients--;
	/* A migration may still be running for it: its reply goes nowhere. */
	if (c->pending)
		c->pending->c = NULL;
	if (c->registered)
		loop_del(s->loop, c->fd);
	close(c->fd);
	free(c->out);
	free(c);
}

/* Queue one reply line (the JSON text without its newline). */
static void client_queue(struct api_client *c, const char *json, size_t len)
{
	char *out;

	if (c->dead)
		return;
	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	out = realloc(c->out, c->outlen + len + 1);
	if (!out) {
		c->dead = true;
		return;
	}
	c->out = out;
	memcpy(c->out + c->outlen, json, len);
	c->out[c->outlen + len] = '\n';
	c->outlen += len + 1;
}

static void reply_error(struct api_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reply_error(struct api_client *c, const char *fmt, ...)
{
	char msg[512], line[1200];
	struct jbuf j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	jbuf_init(&j, line, sizeof(line));
	jbuf_printf(&j, "{\"ok\":false,\"error\":");
	jbuf_str(&j, msg);
	jbuf_printf(&j, "}");
	client_queue(c, line, j.len);
}

/* {"ok":true} with members (may be NULL or ""). */
static void reply_ok(struct api_client *c, const char *members)
{
	char *line;
	size_t n = members ? strlen(members) : 0;

	line = malloc(n + 16);
	if (!line) {
		c->dead = true;
		return;
	}
	n = snprintf(line, n + 16, "{\"ok\":true%s%s}", n ? "," : "", n ? members : "");
	client_queue(c, line, n);
	free(line);
}

static const char *op_error(int ret, char *err)
{
	if (!err[0])
		snprintf(err, 256, "%s", strerror(ret < 0 ? -ret : EIO));
	return err;
}

/* What the client sent, cut to about 32 bytes, for an error message. */
static const char *quote_word(const char *w, char *buf, size_t len)
{
	size_t n = 29;

	if (strlen(w) <= 32)
		return w;
	/* Cut before w[n], not inside a UTF-8 sequence. */
	while (n > 0 && ((unsigned char)w[n] & 0xc0) == 0x80)
		n--;
	snprintf(buf, len, "%.*s...", (int)n, w);
	return buf;
}

static int parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static void start_migration(struct api_client *c, struct migrate_params *p)
{
	struct api_server *s = c->s;
	struct api_pending *t;
	char err[256] = "";
	int ret;

	if (!s->ops->migrate) {
		reply_error(c, "%s is not supported here", p->snapshot ? "snapshot" : "migrate");
		return;
	}
	if (s->pending) {
		reply_error(c, "a migration or snapshot is already running");
		return;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		reply_error(c, "out of memory");
		return;
	}
	t->s = s;
	t->c = c;
	t->next = s->pending;
	s->pending = t;
	c->pending = t;
	ret = s->ops->migrate(s->opaque, p, t, err, sizeof(err));
	if (ret) {
		/* Not started: the token never reaches api_reply_done(). */
		s->pending = t->next;
		c->pending = NULL;
		free(t);
		reply_error(c, "%s", op_error(ret, err));
	}
}

static void cmd_migrate(struct api_client *c, char **argv, int argc)
{
	struct migrate_params p = {0};
	struct migrate_uri u;
	char err[256], q[48];
	int i;

	if (argc < 2) {
		reply_error(c, "migrate needs a URI (tcp:HOST:PORT or unix:PATH)");
		return;
	}
	if (migrate_parse_uri(argv[1], &u, err, sizeof(err))) {
		reply_error(c, "migrate: %s", err);
		return;
	}
	if (u.kind == MIGRATE_URI_FILE) {
		reply_error(c, "migrate: for a file use snapshot FILE");
		return;
	}
	p.uri = argv[1];
	for (i = 2; i < argc; i++) {
		if (!strncmp(argv[i], "downtime=", 9)) {
			if (parse_uint(argv[i] + 9, 3600000, &p.downtime_ms)) {
				reply_error(
					c,
					"migrate: downtime '%s' is not a number of milliseconds from 1 to 3600000",
					quote_word(argv[i] + 9, q, sizeof(q)));
				return;
			}
		} else if (!strncmp(argv[i], "max-rounds=", 11)) {
			if (parse_uint(argv[i] + 11, 100000, &p.max_rounds)) {
				reply_error(
					c,
					"migrate: max-rounds '%s' is not a number from 1 to 100000",
					quote_word(argv[i] + 11, q, sizeof(q)));
				return;
			}
		} else {
			reply_error(c, "migrate: unknown option '%s' (downtime=MS, max-rounds=N)",
				    quote_word(argv[i], q, sizeof(q)));
			return;
		}
	}
	start_migration(c, &p);
}

static void simple_op(struct api_client *c, const char *name,
		      int (*fn)(void *opaque, char *err, size_t errlen), const char *state)
{
	char err[256] = "", members[64];
	int ret;

	if (!fn) {
		reply_error(c, "%s is not supported here", name);
		return;
	}
	ret = fn(c->s->opaque, err, sizeof(err));
	if (ret) {
		reply_error(c, "%s", op_error(ret, err));
		return;
	}
	snprintf(members, sizeof(members), "\"state\":\"%s\"", state);
	reply_ok(c, members);
}

static void cmd_status(struct api_client *c)
{
	struct api_server *s = c->s;
	int ret;

	if (!s->ops->status) {
		reply_error(c, "status is not supported here");
		return;
	}
	s->status[0] = '\0';
	ret = s->ops->status(s->opaque, s->status, sizeof(s->status));
	if (ret) {
		/* The buffer holds why, or nothing. */
		s->status[sizeof(s->status) - 1] = '\0';
		reply_error(c, "status: %s",
			    s->status[0] ? s->status : strerror(ret < 0 ? -ret : EIO));
		return;
	}
	s->status[sizeof(s->status) - 1] = '\0';
	reply_ok(c, s->status);
}

static const char *const commands[] = {
	"status", "pause", "resume", "stop", "migrate", "snapshot", "help",
};

static void handle_line(struct api_client *c, char *line, size_t len)
{
	const struct api_ops *ops = c->s->ops;
	char *argv[8], *p, q[48];
	int argc = 0;
	size_t i, n;

	if (len && line[len - 1] == '\r')
		line[--len] = '\0';
	for (i = 0; i < len; i += n) {
		n = utf8_seq_len((unsigned char *)line + i, len - i);
		if (!n) {
			reply_error(c, "the request is not valid UTF-8");
			return;
		}
		if (n == 1 && ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) &&
		    line[i] != '\t') {
			reply_error(c, "the request holds control characters");
			return;
		}
	}
	/* Words separated by blanks; snapshot takes the rest of the line. */
	p = line;
	while (argc < (int)(sizeof(argv) / sizeof(argv[0]))) {
		p += strspn(p, " \t");
		if (!*p)
			break;
		argv[argc++] = p;
		if (argc == 1 && !strncmp(p, "snapshot", 8) && (p[8] == ' ' || p[8] == '\t')) {
			char *end;

			p[8] = '\0';
			p += 9;
			p += strspn(p, " \t");
			end = p + strlen(p);
			while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
				*--end = '\0';
			if (*p)
				argv[argc++] = p;
			break;
		}
		p += strcspn(p, " \t");
		if (*p)
			*p++ = '\0';
	}
	if (!argc) {
		reply_error(c, "empty request (try help)");
		return;
	}
	if (argc == (int)(sizeof(argv) / sizeof(argv[0])) && p[strspn(p, " \t")]) {
		reply_error(c, "too many arguments");
		return;
	}
	if (!strcmp(argv[0], "migrate")) {
		cmd_migrate(c, argv, argc);
		return;
	}
	if (!strcmp(argv[0], "snapshot")) {
		struct migrate_params mp = {.snapshot = true};

		if (argc < 2) {
			reply_error(c, "snapshot needs a file name");
			return;
		}
		mp.uri = argv[1];
		start_migration(c, &mp);
		return;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[0], commands[i]))
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		reply_error(c, "unknown command '%s' (try help)",
			    quote_word(argv[0], q, sizeof(q)));
		return;
	}
	if (argc > 1) {
		reply_error(c, "%s takes no arguments", argv[0]);
		return;
	}
	if (!strcmp(argv[0], "status")) {
		cmd_status(c);
	} else if (!strcmp(argv[0], "pause")) {
		simple_op(c, "pause", ops->pause, "paused");
	} else if (!strcmp(argv[0], "resume")) {
		simple_op(c, "resume", ops->resume, "running");
	} else if (!strcmp(argv[0], "stop")) {
		simple_op(c, "stop", ops->stop, "stopping");
	} else {
		char list[256];
		struct jbuf j;

		jbuf_init(&j, list, sizeof(list));
		jbuf_printf(&j, "\"commands\":[");
		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
			jbuf_printf(&j, "%s", i ? "," : "");
			jbuf_str(&j, commands[i]);
		}
		jbuf_printf(&j, "]");
		reply_ok(c, list);
	}
}

/* Send what is queued; -1 when the client is gone. */
static int client_flush(struct api_client *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		}
		c->outoff += n;
	}
	c->outoff = c->outlen = 0;
	return 0;
}

/*
 * The next complete request in the input buffer, NUL-terminated in place;
 * false when there is none. At end of input an unterminated last line
 * counts too.
 */
static bool take_line(struct api_client *c, char *line, size_t *len)
{
	char *nl = memchr(c->in, '\n', c->inlen);
	size_t n;

	if (!nl) {
		if (!c->eof || !c->inlen || c->discarding)
			return false;
		nl = c->in + c->inlen; /* the last, unterminated line */
		n = c->inlen;
		memcpy(line, c->in, n);
		c->inlen = 0;
	} else {
		n = nl - c->in;
		memcpy(line, c->in, n);
		memmove(c->in, nl + 1, c->inlen - n - 1);
		c->inlen -= n + 1;
	}
	line[n] = '\0';
	*len = n;
	return true;
}

/* Read what is there; false when the client went away. */
static bool client_read(struct api_client *c)
{
	unsigned int reads;
	ssize_t n;
	char *nl;

	/* Bounded: a client streaming junk must not keep the loop here. */
	for (reads = 0; reads < 64; reads++) {
		if (c->inlen == sizeof(c->in)) {
			/* A full buffer without a newline: the line is too long. */
			nl = memchr(c->in, '\n', c->inlen);
			if (nl)
				return true; /* handle the lines first */
			c->inlen = 0;
			c->discarding = true;
			reply_error(c, "request longer than %d bytes", API_MAX_LINE);
			return true;
		}
		n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK;
		}
		if (n == 0) {
			c->eof = true;
			return true;
		}
		if (c->discarding) {
			nl = memchr(c->in + c->inlen, '\n', n);
			if (!nl)
				continue; /* dropped */
			c->discarding = false;
			n = (c->in + c->inlen + n) - (nl + 1);
			memmove(c->in, nl + 1, n);
			c->inlen = n;
			if (memchr(c->in, '\n', c->inlen))
				return true;
			continue;
		}
		c->inlen += n;
		if (memchr(c->in + c->inlen - n, '\n', n))
			return true;
	}
	return true;
}

static bool client_idle(const struct api_client *c)
{
	return !c->pending && c->outoff == c->outlen;
}

static void on_client(void *opaque, uint32_t events);

/*
 * Handle what can be handled now, then either free the client or wait for
 * what it needs next (input, room to write, the end of its migration).
 */
static void client_pump(struct api_client *c)
{
	char line[API_MAX_LINE + 2];
	uint32_t want;
	size_t len;

	if (c->in_pump) {
		c->repump = true;
		return;
	}
	c->in_pump = true;
	do {
		c->repump = false;
		if (client_flush(c))
			c->dead = true;
		while (!c->dead && client_idle(c) && take_line(c, line, &len)) {
			handle_line(c, line, len);
			if (client_flush(c))
				c->dead = true;
		}
	} while (c->repump && !c->dead);
	c->in_pump = false;

	/* At end of input with nothing pending, every line has been handled. */
	if (c->dead || (c->eof && client_idle(c))) {
		client_free(c);
		return;
	}
	want = 0;
	if (c->outoff < c->outlen)
		want = EPOLLOUT;
	else if (!c->pending && !c->eof)
		want = EPOLLIN;
	if (!c->registered) {
		if (loop_add(c->s->loop, c->fd, want, on_client, c)) {
			client_free(c);
			return;
		}
		c->registered = true;
	} else if (want != c->events && loop_mod(c->s->loop, c->fd, want)) {
		client_free(c);
		return;
	}
	c->events = want;
}

static void on_client(void *opaque, uint32_t events)
{
	struct api_client *c = opaque;

	/* The client closed (or reset) its socket: drop it and whatever it asked. */
	if (events & (EPOLLERR | EPOLLHUP)) {
		client_free(c);
		return;
	}
	if ((events & EPOLLIN) && !client_read(c))
		c->dead = true;
	client_pump(c);
}

static void on_accept(void *opaque, uint32_t events)
{
	static const char busy[] = "{\"ok\":false,\"error\":\"too many clients\"}\n";
	struct api_server *s = opaque;
	struct api_client *c;
	int fd;

	fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			pr_warn_once("api socket: accept: %s", strerror(errno));
		return;
	}
	if (s->nr_clients >= API_MAX_CLIENTS || !(c = calloc(1, sizeof(*c)))) {
		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			pr_debug("api socket: %s", strerror(errno));
		close(fd);
		return;
	}
	c->s = s;
	c->fd = fd;
	c->next = s->clients;
	s->clients = c;
	s->nr_clients++;
	client_pump(c);
}

void api_reply_done(void *token, int err, const char *why, const char *summary)
{
	struct api_pending *t = token, **pp;
	struct api_server *s = t->s;
	struct api_client *c = t->c;

	for (pp = &s->pending; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	free(t);
	if (!c)
		return; /* the client left meanwhile */
	c->pending = NULL;
	if (err)
		reply_error(c, "%s", why && why[0] ? why : strerror(err < 0 ? -err : err));
	else
		reply_ok(c, summary);
	client_pump(c);
}

bool api_busy(const struct api_server *s)
{
	return s && s->pending;
}

/* Is something listening at path? Removes a stale socket; 0 when path is free. */
static int claim_path(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, ret;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "--api-socket %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "--api-socket %s: exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "--api-socket: socket: %s", strerror(errno));
		return -errno;
	}
	strcpy(sa.sun_path, path);
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (!ret) {
		snprintf(err, errlen, "--api-socket %s: another process listens on it", path);
		return -EADDRINUSE;
	}
	if (errno != ECONNREFUSED) {
		snprintf(err, errlen, "--api-socket %s: %s", path, strerror(errno));
		return -errno;
	}
	/* Stale: left by a process that is gone. */
	if (unlink(path) && errno != ENOENT) {
		snprintf(err, errlen, "--api-socket %s: cannot remove the stale socket: %s", path,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

int api_open(struct api_server **out, const char *path, struct event_loop *loop,
	     const struct api_ops *ops, void *opaque, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct api_server *s;
	struct stat st;
	int ret;

	*out = NULL;
	if (!path[0] || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "--api-socket: path empty or longer than %zu bytes",
			 sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	ret = claim_path(path, err, errlen);
	if (ret)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "--api-socket: out of memory");
		return -ENOMEM;
	}
	s->loop = loop;
	s->ops = ops;
	s->opaque = opaque;
	strcpy(s->path, path);
	strcpy(sa.sun_path, path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "--api-socket: socket: %s", strerror(errno));
		goto err_free;
	}
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		snprintf(err, errlen, "--api-socket %s: %s", path, strerror(errno));
		goto err_close;
	}
	/* Whoever can connect can stop the guest: only the owner. */
	if (chmod(path, 0600) || stat(path, &st) || listen(s->fd, API_MAX_CLIENTS)) {
		ret = -errno;
		snprintf(err, errlen, "--api-socket %s: %s", path, strerror(errno));
		goto err_unlink;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	ret = loop_add(loop, s->fd, EPOLLIN, on_accept, s);
	if (ret) {
		snprintf(err, errlen, "--api-socket: cannot watch the socket: %s", strerror(-ret));
		goto err_unlink;
	}
	*out = s;
	return 0;
err_unlink:
	unlink(path);
err_close:
	close(s->fd);
err_free:
	free(s);
	return ret;
}

void api_close(struct api_server *s)
{
	struct api_pending *t;
	struct stat st;

	if (!s)
		return;
	while (s->clients) {
		/* One last try: a reply just queued (stop's) goes out if it can. */
		if (client_flush(s->clients))
			pr_debug("api socket: a reply was not delivered");
		client_free(s->clients);
	}
	while ((t = s->pending)) {
		s->pending = t->next;
		free(t);
	}
	loop_del(s->loop, s->fd);
	close(s->fd);
	/* Remove the socket file if it is still ours. */
	if (!stat(s->path, &st) && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	free(s);
}
