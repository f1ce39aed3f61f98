// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "ctl.h"
#include "exitcode.h"
#include "log.h"

#define CTL_DEFAULT_TIMEOUT_MS 10000
#define CTL_MAX_REPLY (1 << 20)

static void ctl_usage(FILE *f)
{
	fputs("Usage: kvmini ctl [--timeout SECONDS] PATH COMMAND [ARGS...]\n"
	      "Send one request to the control socket of `kvmini run --api-socket PATH`\n"
	      "and print its reply, one line of JSON.\n"
	      "\n"
	      "Commands:\n"
	      "  status         state, vCPUs, memory, uptime, NICs, migration progress\n"
	      "  pause          park the vCPUs\n"
	      "  resume         run them again\n"
	      "  stop           end kvmini (its exit status: 6)\n"
	      "  migrate URI [downtime=MS] [max-rounds=N]\n"
	      "                 send the guest to `kvmini run --incoming URI` (tcp:HOST:PORT or\n"
	      "                 unix:PATH); the reply comes when it is over, then kvmini exits\n"
	      "  snapshot FILE  write the guest to FILE (kvmini run --restore FILE); it runs on\n"
	      "  help           the commands the socket knows\n"
	      "\n"
	      "  --timeout SECONDS  wait at most this long for the reply (0: forever; default:\n"
	      "                     forever for migrate and snapshot, 10 for the others)\n"
	      "  --help             this text\n"
	      "\n"
	      "Exit status: 0 the reply says \"ok\":true, 1 it says false (the error is also\n"
	      "printed on stderr) or no reply came, 2 bad command line.\n",
	      f);
}

static __attribute__((format(printf, 1, 2))) int usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *c = msg; *c; c++)
		if (!isprint((unsigned char)*c))
			*c = '?';
	pr_err("ctl: %s", msg);
	fputs("Try 'kvmini ctl --help'.\n", stderr);
	return EXIT_USAGE;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

int ctl_build_request(int argc, char **argv, const char *cwd, char *out, size_t len, char *err,
		      size_t errlen)
{
	size_t pos = 0;
	int i, n;

	if (argc < 1) {
		snprintf(err, errlen, "no command");
		return -EINVAL;
	}
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *pre = "", *sep = "";

		if (has_control(a)) {
			snprintf(err, errlen, "argument %d holds control characters (a newline?)",
				 i + 1);
			return -EINVAL;
		}
		if (!a[0]) {
			snprintf(err, errlen, "argument %d is empty", i + 1);
			return -EINVAL;
		}
		/* Paths are kvmini's to open, and kvmini may run elsewhere. */
		if (i == 1 && cwd && !strcmp(argv[0], "snapshot") && a[0] != '/') {
			pre = cwd;
			sep = "/";
		} else if (i == 1 && cwd && !strcmp(argv[0], "migrate") &&
			   !strncmp(a, "unix:", 5) && a[5] && a[5] != '/') {
			n = snprintf(out + pos, len - pos, " unix:%s/", cwd);
			if (n < 0 || (size_t)n >= len - pos)
				goto too_long;
			pos += n;
			a += 5;
			n = snprintf(out + pos, len - pos, "%s", a);
			if (n < 0 || (size_t)n >= len - pos)
				goto too_long;
			pos += n;
			continue;
		}
		n = snprintf(out + pos, len - pos, "%s%s%s%s", i ? " " : "", pre, sep, a);
		if (n < 0 || (size_t)n >= len - pos)
			goto too_long;
		pos += n;
	}
	if (pos > API_MAX_LINE)
		goto too_long;
	return 0;
too_long:
	snprintf(err, errlen, "the request is longer than %d bytes", API_MAX_LINE);
	return -EINVAL;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline (< 0: none); 0, or -ETIMEDOUT. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int ret, t;

	for (;;) {
		t = -1;
		if (deadline >= 0) {
			long long left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			t = left > INT_MAX ? INT_MAX : (int)left;
		}
		ret = poll(&pfd, 1, t);
		if (ret > 0)
			return 0;
		if (ret == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int ctl_request(const char *path, const char *line, int timeout_ms, char **reply, char *err,
		size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	size_t len = strlen(line), off = 0, got = 0, cap = 0;
	char *buf = NULL, *req, *nl;
	ssize_t n;
	int fd, ret;

	*reply = NULL;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: socket path longer than %zu bytes", path,
			 sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		if (errno == ENOENT)
			snprintf(err, errlen,
				 "%s: no such socket (is kvmini running with --api-socket %s?)",
				 path, path);
		else if (errno == ECONNREFUSED)
			snprintf(err, errlen, "%s: nobody listens on it (kvmini is gone?)", path);
		else if (errno == EAGAIN)
			snprintf(err, errlen, "%s: kvmini does not accept connections (too busy)",
				 path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	req = malloc(len + 1);
	if (!req) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(req, line, len);
	req[len++] = '\n';
	while (off < len) {
		n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN) {
			ret = wait_fd(fd, POLLOUT, deadline);
			if (ret)
				goto timeout;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			snprintf(err, errlen, "%s: cannot send the request: %s", path,
				 strerror(errno));
			goto out;
		}
		off += n;
	}
	for (;;) {
		if (got + 4096 + 1 > cap) {
			char *b;

			if (cap >= CTL_MAX_REPLY) {
				ret = -EMSGSIZE;
				snprintf(err, errlen, "%s: reply longer than %d bytes", path,
					 CTL_MAX_REPLY);
				goto out;
			}
			cap = cap ? cap * 2 : 8192;
			b = realloc(buf, cap);
			if (!b) {
				ret = -ENOMEM;
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			buf = b;
		}
		n = recv(fd, buf + got, cap - got - 1, 0);
		if (n < 0 && errno == EAGAIN) {
			ret = wait_fd(fd, POLLIN, deadline);
			if (ret)
				goto timeout;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0) {
			ret = -EPIPE;
			snprintf(err, errlen, "%s: kvmini closed the connection without a reply",
				 path);
			goto out;
		}
		nl = memchr(buf + got, '\n', n);
		got += n;
		if (nl) {
			*nl = '\0';
			*reply = buf;
			buf = NULL;
			ret = 0;
			goto out;
		}
	}
timeout:
	if (ret == -ETIMEDOUT)
		snprintf(err, errlen, "%s: no reply within %d.%03d s", path, timeout_ms / 1000,
			 timeout_ms % 1000);
	else
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
out:
	free(req);
	free(buf);
	close(fd);
	return ret;
}

bool ctl_reply_ok(const char *reply)
{
	return !strncmp(reply, "{\"ok\":true", 10) && (reply[10] == ',' || reply[10] == '}');
}

static void put_utf8(char *out, size_t len, size_t *pos, unsigned int cp)
{
	char b[4];
	size_t n, i;

	if (cp < 0x20 || cp == 0x7f) {
		b[0] = '?';
		n = 1;
	} else if (cp < 0x80) {
		b[0] = cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = 0xc0 | cp >> 6;
		b[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = 0xe0 | cp >> 12;
		b[1] = 0x80 | ((cp >> 6) & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		b[0] = 0xf0 | cp >> 18;
		b[1] = 0x80 | ((cp >> 12) & 0x3f);
		b[2] = 0x80 | ((cp >> 6) & 0x3f);
		b[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	if (*pos + n + 1 > len)
		return;
	for (i = 0; i < n; i++)
		out[(*pos)++] = b[i];
	out[*pos] = '\0';
}

static int hex4(const char *s, unsigned int *v)
{
	unsigned int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return -1;
		*v = *v << 4 |
		     (isdigit((unsigned char)s[i]) ? s[i] - '0'
						   : (tolower((unsigned char)s[i]) - 'a' + 10));
	}
	return 0;
}

void ctl_reply_error(const char *reply, char *out, size_t len)
{
	const char *p = strstr(reply, "\"error\":\"");
	size_t pos = 0;
	unsigned int cp, lo;

	if (!len)
		return;
	out[0] = '\0';
	if (!p)
		return;
	for (p += 9; *p && *p != '"'; p++) {
		if (*p != '\\') {
			if ((unsigned char)*p < 0x20) {
				put_utf8(out, len, &pos, '?');
			} else if (pos + 2 <= len) {
				out[pos++] = *p;
				out[pos] = '\0';
			}
			continue;
		}
		switch (*++p) {
		case '\0':
			return;
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			put_utf8(out, len, &pos, '?');
			break;
		case 'u':
			if (hex4(p + 1, &cp))
				return;
			p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && p[1] == '\\' && p[2] == 'u' &&
			    !hex4(p + 3, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			} else if (cp >= 0xd800 && cp <= 0xdfff) {
				cp = 0xfffd;
			}
			put_utf8(out, len, &pos, cp);
			break;
		default: /* \" \\ \/ */
			put_utf8(out, len, &pos, (unsigned char)*p);
			break;
		}
	}
}

static int parse_timeout(const char *s, int *ms)
{
	char *end;
	double v;

	if (!s || !*s || (!isdigit((unsigned char)*s) && *s != '.'))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v < 0 || v > 86400 * 365)
		return -EINVAL;
	*ms = v == 0 ? -1 : (int)(v * 1000 + 0.5);
	if (v > 0 && *ms == 0)
		*ms = 1;
	return 0;
}

int cmd_ctl(int argc, char **argv)
{
	char line[API_MAX_LINE + 64], err[512], cwd[PATH_MAX], msg[1024];
	bool timeout_given = false;
	const char *path;
	int timeout_ms = -1;
	char *reply;
	int i = 1;

	while (i < argc && argv[i][0] == '-' && argv[i][1]) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			ctl_usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "--timeout") || !strncmp(a, "--timeout=", 10)) {
			const char *v = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);

			if (!v)
				return usage_error("%s needs a value", "--timeout");
			if (parse_timeout(v, &timeout_ms))
				return usage_error("--timeout: '%s' is not a number of seconds", v);
			timeout_given = true;
			i++;
			continue;
		}
		return usage_error("unknown option '%s'", a);
	}
	if (i >= argc)
		return usage_error("%s", "missing the socket PATH and the COMMAND");
	path = argv[i++];
	if (i >= argc)
		return usage_error("%s", "missing the COMMAND (try status)");
	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';
	if (ctl_build_request(argc - i, argv + i, cwd[0] ? cwd : NULL, line, sizeof(line), err,
			      sizeof(err)))
		return usage_error("%s", err);
	if (!timeout_given && strcmp(argv[i], "migrate") && strcmp(argv[i], "snapshot"))
		timeout_ms = CTL_DEFAULT_TIMEOUT_MS;
	if (ctl_request(path, line, timeout_ms, &reply, err, sizeof(err))) {
		pr_err("%s", err);
		return EXIT_VMM_ERROR;
	}
	printf("%s\n", reply);
	fflush(stdout);
	if (ctl_reply_ok(reply)) {
		free(reply);
		return 0;
	}
	ctl_reply_error(reply, msg, sizeof(msg));
	pr_err("%s", msg[0] ? msg : "the reply is not ok");
	free(reply);
	return 1;
}
