// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket driven over a real unix socket, with a fake machine
 * behind it (the ops table), and the pieces of `kvmini ctl`.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/api.h"
#include "vmm/ctl.h"
#include "vmm/loop.h"

/* ---- the fake machine ---- */

struct fake {
	int status_calls, pause_calls, resume_calls, stop_calls, migrate_calls;
	bool paused;
	int migrate_ret; /* returned by migrate when non-zero */
	struct api_pending *token;
	struct migrate_params last;
	char last_uri[1100];
	const char *status_members;
};

static int fake_status(void *opaque, char *buf, size_t len)
{
	struct fake *f = opaque;

	f->status_calls++;
	if (f->status_members) {
		snprintf(buf, len, "%s", f->status_members);
		return 0;
	}
	snprintf(buf, len, "\"state\":\"%s\",\"vcpus\":2,\"memory\":536870912",
		 f->token    ? "migrating"
		 : f->paused ? "paused"
			     : "running");
	return 0;
}

static int fake_pause(void *opaque, char *err, size_t errlen)
{
	struct fake *f = opaque;

	f->pause_calls++;
	if (f->paused) {
		snprintf(err, errlen, "already paused");
		return -EALREADY;
	}
	f->paused = true;
	return 0;
}

static int fake_resume(void *opaque, char *err, size_t errlen)
{
	struct fake *f = opaque;

	f->resume_calls++;
	if (!f->paused)
		return -EALREADY; /* no message: strerror */
	f->paused = false;
	return 0;
}

static int fake_stop(void *opaque, char *err, size_t errlen)
{
	struct fake *f = opaque;

	f->stop_calls++;
	return 0;
}

static int fake_migrate(void *opaque, const struct migrate_params *p, struct api_pending *token,
			char *err, size_t errlen)
{
	struct fake *f = opaque;

	f->migrate_calls++;
	if (f->migrate_ret) {
		snprintf(err, errlen, "cannot connect to %s: Connection refused", p->uri);
		return f->migrate_ret;
	}
	f->last = *p;
	snprintf(f->last_uri, sizeof(f->last_uri), "%s", p->uri);
	f->last.uri = f->last_uri;
	f->token = token;
	return 0;
}

static const struct api_ops fake_ops = {
	.status = fake_status,
	.pause = fake_pause,
	.resume = fake_resume,
	.stop = fake_stop,
	.migrate = fake_migrate,
};

/* ---- the test environment: a loop, a server, clients ---- */

static struct event_loop loop;
static struct api_server *srv;
static struct fake fake;
static char dir[64], sock_path[128];

static void setup(void)
{
	char err[256];

	memset(&fake, 0, sizeof(fake));
	strcpy(dir, "/tmp/kvmini-api.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/api.sock", dir);
	cr_assert_eq(loop_init(&loop), 0);
	cr_assert_eq(api_open(&srv, sock_path, &loop, &fake_ops, &fake, err, sizeof(err)), 0, "%s",
		     err);
}

static void teardown(void)
{
	api_close(srv);
	srv = NULL;
	loop_destroy(&loop);
	unlink(sock_path);
	rmdir(dir);
}

static void pump(int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		loop_run_once(&loop, 2);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

static int cl_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	strcpy(sa.sun_path, sock_path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s",
		     strerror(errno));
	pump(5); /* accepted */
	return fd;
}

static void cl_sendn(int fd, const char *s, size_t n)
{
	cr_assert_eq(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void cl_send(int fd, const char *s)
{
	cl_sendn(fd, s, strlen(s));
}

/* Per-client leftovers past the last newline. */
static char pending_in[8][65536];
static size_t pending_len[8];

/* The next reply line (static buffer), running the loop meanwhile; NULL after timeout_ms. */
static const char *cl_reply_within(int fd, int timeout_ms)
{
	static char line[65536];
	int slot = fd % 8;
	char *nl;
	int waited;

	for (waited = 0; waited <= timeout_ms; waited += 2) {
		nl = memchr(pending_in[slot], '\n', pending_len[slot]);
		if (nl) {
			size_t n = nl - pending_in[slot];

			memcpy(line, pending_in[slot], n);
			line[n] = '\0';
			memmove(pending_in[slot], nl + 1, pending_len[slot] - n - 1);
			pending_len[slot] -= n + 1;
			return line;
		}
		loop_run_once(&loop, 2);
		ssize_t r = recv(fd, pending_in[slot] + pending_len[slot],
				 sizeof(pending_in[slot]) - pending_len[slot], MSG_DONTWAIT);
		if (r > 0)
			pending_len[slot] += r;
	}
	return NULL;
}

static const char *cl_reply(int fd)
{
	const char *r = cl_reply_within(fd, 2000);

	cr_assert_not_null(r, "no reply");
	return r;
}

static const char *ask(int fd, const char *req)
{
	cl_send(fd, req);
	return cl_reply(fd);
}

static void cl_close(int fd)
{
	pending_len[fd % 8] = 0;
	close(fd);
}

/* Whether the server closed the connection (within 1 s). */
static bool cl_closed(int fd)
{
	char b[256];
	int i;

	for (i = 0; i < 500; i++) {
		ssize_t r = recv(fd, b, sizeof(b), MSG_DONTWAIT);

		if (r == 0)
			return true;
		loop_run_once(&loop, 2);
	}
	return false;
}

TestSuite(api, .init = setup, .fini = teardown);

Test(api, status)
{
	int fd = cl_connect();

	cr_assert_str_eq(ask(fd, "status\n"),
			 "{\"ok\":true,\"state\":\"running\",\"vcpus\":2,\"memory\":536870912}");
	cr_assert_eq(fake.status_calls, 1);
	/* Blanks around, CR LF. */
	cr_assert_str_eq(ask(fd, "  status\t\r\n"),
			 "{\"ok\":true,\"state\":\"running\",\"vcpus\":2,\"memory\":536870912}");
	cr_assert_str_eq(ask(fd, "status now\n"),
			 "{\"ok\":false,\"error\":\"status takes no arguments\"}");
	cl_close(fd);
}

Test(api, pause_resume)
{
	int fd = cl_connect();

	cr_assert_str_eq(ask(fd, "pause\n"), "{\"ok\":true,\"state\":\"paused\"}");
	cr_assert(fake.paused);
	cr_assert_str_eq(ask(fd, "status\n"),
			 "{\"ok\":true,\"state\":\"paused\",\"vcpus\":2,\"memory\":536870912}");
	cr_assert_str_eq(ask(fd, "pause\n"), "{\"ok\":false,\"error\":\"already paused\"}");
	cr_assert_str_eq(ask(fd, "resume\n"), "{\"ok\":true,\"state\":\"running\"}");
	cr_assert(!fake.paused);
	/* An op's error without a message: strerror. */
	cr_assert_str_eq(ask(fd, "resume\n"),
			 "{\"ok\":false,\"error\":\"Operation already in progress\"}");
	cl_close(fd);
}

Test(api, stop_reply_is_sent_first)
{
	int fd = cl_connect();

	cl_send(fd, "stop\n");
	/* One dispatch: the handler calls stop and writes the reply before returning. */
	for (int i = 0; i < 10 && !fake.stop_calls; i++)
		loop_run_once(&loop, 10);
	cr_assert_eq(fake.stop_calls, 1);
	/* The machine goes down now: the reply is already in the socket. */
	api_close(srv);
	srv = NULL;
	char b[128] = "";
	ssize_t n = recv(fd, b, sizeof(b) - 1, MSG_DONTWAIT);

	cr_assert_gt(n, 0);
	cr_assert_str_eq(b, "{\"ok\":true,\"state\":\"stopping\"}\n");
	cr_assert(access(sock_path, F_OK) != 0, "api_close removes the socket");
	close(fd);
}

Test(api, unknown_and_malformed)
{
	int fd = cl_connect();
	char big[3000];

	cr_assert_str_eq(ask(fd, "foo\n"),
			 "{\"ok\":false,\"error\":\"unknown command 'foo' (try help)\"}");
	/* What the client sent comes back escaped. */
	cr_assert_str_eq(ask(fd, "f\"o\\o\n"),
			 "{\"ok\":false,\"error\":\"unknown command 'f\\\"o\\\\o' (try help)\"}");
	cr_assert_str_eq(ask(fd, "\n"), "{\"ok\":false,\"error\":\"empty request (try help)\"}");
	cr_assert_str_eq(ask(fd, "   \n"), "{\"ok\":false,\"error\":\"empty request (try help)\"}");
	cr_assert_str_eq(ask(fd, "sta\001tus\n"),
			 "{\"ok\":false,\"error\":\"the request holds control characters\"}");
	cr_assert_str_eq(ask(fd, "status \xff\xfe\n"),
			 "{\"ok\":false,\"error\":\"the request is not valid UTF-8\"}");
	cr_assert_str_eq(ask(fd, "\xc0\xaf\n"),
			 "{\"ok\":false,\"error\":\"the request is not valid UTF-8\"}");
	/* Valid UTF-8 is echoed as it is. */
	cr_assert_str_eq(ask(fd, "h\xc3\xa9llo\n"),
			 "{\"ok\":false,\"error\":\"unknown command 'h\xc3\xa9llo' (try help)\"}");
	/* A long word is cut in the message, not inside a UTF-8 sequence. */
	memset(big, 'x', 28);
	strcpy(big + 28, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\n");
	cr_assert_str_eq(
		ask(fd, big),
		"{\"ok\":false,\"error\":\"unknown command 'xxxxxxxxxxxxxxxxxxxxxxxxxxxx...' (try help)\"}");
	cr_assert_str_eq(ask(fd, "a b c d e f g h i j\n"),
			 "{\"ok\":false,\"error\":\"too many arguments\"}");
	cr_assert_str_eq(ask(fd, "help\n"),
			 "{\"ok\":true,\"commands\":[\"status\",\"pause\",\"resume\",\"stop\","
			 "\"migrate\",\"snapshot\",\"help\"]}");
	/* The connection is still fine. */
	cr_assert_str_eq(ask(fd, "pause\n"), "{\"ok\":true,\"state\":\"paused\"}");
	cl_close(fd);
}

Test(api, overlong_lines)
{
	int fd = cl_connect();
	static char big[5000];

	/* Exactly API_MAX_LINE bytes: a request (an unknown one). */
	memset(big, 'a', API_MAX_LINE);
	big[API_MAX_LINE] = '\n';
	big[API_MAX_LINE + 1] = '\0';
	cr_assert(strstr(ask(fd, big), "unknown command 'aaaa"));
	/* One more: too long, then the rest of it is skipped, the next line served. */
	memset(big, 'a', 4000);
	strcpy(big + 4000, "\nstatus\n");
	cl_send(fd, big);
	cr_assert_str_eq(cl_reply(fd),
			 "{\"ok\":false,\"error\":\"request longer than 1024 bytes\"}");
	cr_assert_str_eq(cl_reply(fd),
			 "{\"ok\":true,\"state\":\"running\",\"vcpus\":2,\"memory\":536870912}");
	/* In pieces, the newline far behind. */
	memset(big, 'b', 1000);
	big[1000] = '\0';
	cl_send(fd, big);
	pump(10);
	cl_send(fd, big);
	pump(10);
	cl_send(fd, big);
	cl_send(fd, "b\npause\n");
	cr_assert_str_eq(cl_reply(fd),
			 "{\"ok\":false,\"error\":\"request longer than 1024 bytes\"}");
	cr_assert_str_eq(cl_reply(fd), "{\"ok\":true,\"state\":\"paused\"}");
	cr_assert_null(cl_reply_within(fd, 50), "one reply per request");
	cl_close(fd);
}

Test(api, pipelined_requests_in_order)
{
	int fd = cl_connect();

	cl_send(fd, "pause\nstatus\nbogus\nresume\n");
	cr_assert_str_eq(cl_reply(fd), "{\"ok\":true,\"state\":\"paused\"}");
	cr_assert(strstr(cl_reply(fd), "\"state\":\"paused\""));
	cr_assert(strstr(cl_reply(fd), "unknown command 'bogus'"));
	cr_assert_str_eq(cl_reply(fd), "{\"ok\":true,\"state\":\"running\"}");
	cl_close(fd);
}

Test(api, half_close_after_an_unterminated_request)
{
	int fd = cl_connect();

	cl_send(fd, "pause");
	shutdown(fd, SHUT_WR);
	cr_assert_str_eq(cl_reply(fd), "{\"ok\":true,\"state\":\"paused\"}");
	cr_assert(cl_closed(fd), "closed after the last reply");
	cl_close(fd);
}

Test(api, disconnect_mid_request)
{
	int fd = cl_connect();

	cl_send(fd, "pau");
	pump(10);
	cl_close(fd);
	pump(20);
	cr_assert_eq(fake.pause_calls, 0);
	fd = cl_connect();
	cr_assert(strstr(ask(fd, "status\n"), "\"ok\":true"));
	cl_close(fd);
}

Test(api, migrate_arguments)
{
	int fd = cl_connect();

	cr_assert_str_eq(
		ask(fd, "migrate\n"),
		"{\"ok\":false,\"error\":\"migrate needs a URI (tcp:HOST:PORT or unix:PATH)\"}");
	cr_assert(strstr(
		ask(fd, "migrate http://x\n"),
		"\"error\":\"migrate: 'http://x' is not tcp:HOST:PORT, unix:PATH or file:PATH\""));
	cr_assert(strstr(ask(fd, "migrate tcp:host:0\n"), "port '0' is not a number"));
	cr_assert_str_eq(ask(fd, "migrate file:/tmp/x\n"),
			 "{\"ok\":false,\"error\":\"migrate: for a file use snapshot FILE\"}");
	cr_assert(strstr(ask(fd, "migrate tcp:h:1 downtime=fast\n"),
			 "downtime 'fast' is not a number of milliseconds"));
	cr_assert(strstr(ask(fd, "migrate tcp:h:1 downtime=0\n"), "downtime '0'"));
	cr_assert(strstr(ask(fd, "migrate tcp:h:1 max-rounds=-1\n"), "max-rounds '-1'"));
	cr_assert(strstr(ask(fd, "migrate tcp:h:1 speed=9\n"),
			 "migrate: unknown option 'speed=9' (downtime=MS, max-rounds=N)"));
	cr_assert_str_eq(ask(fd, "snapshot\n"),
			 "{\"ok\":false,\"error\":\"snapshot needs a file name\"}");
	cr_assert_str_eq(ask(fd, "snapshot   \n"),
			 "{\"ok\":false,\"error\":\"snapshot needs a file name\"}");
	cr_assert_eq(fake.migrate_calls, 0);
	/* The machine refuses: the error comes back, nothing stays pending. */
	fake.migrate_ret = -ECONNREFUSED;
	cr_assert_str_eq(
		ask(fd, "migrate unix:/nonexistent\n"),
		"{\"ok\":false,\"error\":\"cannot connect to unix:/nonexistent: Connection refused\"}");
	cr_assert(!api_busy(srv));
	fake.migrate_ret = 0;
	cl_send(fd, "migrate tcp:[::1]:4444 downtime=50 max-rounds=7\n");
	cr_assert_null(cl_reply_within(fd, 30), "the reply waits for the end");
	cr_assert_eq(fake.migrate_calls, 2);
	cr_assert_str_eq(fake.last.uri, "tcp:[::1]:4444");
	cr_assert_eq(fake.last.downtime_ms, 50);
	cr_assert_eq(fake.last.max_rounds, 7);
	cr_assert(!fake.last.snapshot);
	api_reply_done(fake.token, 0, NULL, "\"rounds\":3,\"downtime_ms\":12");
	cr_assert_str_eq(cl_reply(fd), "{\"ok\":true,\"rounds\":3,\"downtime_ms\":12}");
	cl_close(fd);
}

Test(api, snapshot_takes_the_rest_of_the_line)
{
	int fd = cl_connect();

	cl_send(fd, "snapshot  /tmp/my snap \"1\".bin  \n");
	cr_assert_null(cl_reply_within(fd, 20));
	cr_assert(fake.last.snapshot);
	cr_assert_str_eq(fake.last.uri, "/tmp/my snap \"1\".bin");
	cr_assert_eq(fake.last.downtime_ms, 0);
	api_reply_done(fake.token, -ENOSPC, "write /tmp/my snap \"1\".bin: No space left", NULL);
	cr_assert_str_eq(
		cl_reply(fd),
		"{\"ok\":false,\"error\":\"write /tmp/my snap \\\"1\\\".bin: No space left\"}");
	/* Another one may start now. */
	cr_assert(!api_busy(srv));
	cl_send(fd, "snapshot x\n");
	pump(10);
	cr_assert_eq(fake.migrate_calls, 2);
	api_reply_done(fake.token, 0, NULL, "");
	cr_assert_str_eq(cl_reply(fd), "{\"ok\":true}");
	cl_close(fd);
}

Test(api, two_clients_one_migration)
{
	int a = cl_connect(), b = cl_connect();

	cl_send(a, "migrate unix:/tmp/dst.sock\n");
	pump(10);
	cr_assert(api_busy(srv));
	/* b is served meanwhile, and cannot start a second one. */
	cr_assert_str_eq(ask(b, "status\n"),
			 "{\"ok\":true,\"state\":\"migrating\",\"vcpus\":2,\"memory\":536870912}");
	cr_assert_str_eq(ask(b, "snapshot /tmp/s\n"),
			 "{\"ok\":false,\"error\":\"a migration or snapshot is already running\"}");
	cr_assert_str_eq(ask(b, "migrate tcp:h:1\n"),
			 "{\"ok\":false,\"error\":\"a migration or snapshot is already running\"}");
	cr_assert_eq(fake.migrate_calls, 1);
	/* a's next request waits behind its migration. */
	cl_send(a, "status\n");
	cr_assert_null(cl_reply_within(a, 30));
	cr_assert_eq(fake.status_calls, 1);
	api_reply_done(fake.token, -EPIPE, "the destination closed the connection", NULL);
	fake.token = NULL;
	cr_assert_str_eq(cl_reply(a),
			 "{\"ok\":false,\"error\":\"the destination closed the connection\"}");
	cr_assert(strstr(cl_reply(a), "\"state\":\"running\""));
	cr_assert_null(cl_reply_within(b, 10));
	cl_close(a);
	cl_close(b);
}

Test(api, client_gone_with_a_migration_pending)
{
	int a = cl_connect(), b;

	cl_send(a, "migrate tcp:dst:4444\n");
	pump(10);
	cr_assert_not_null(fake.token);
	cl_close(a);
	pump(20); /* the server notices and drops the client */
	cr_assert(api_busy(srv), "the migration goes on");
	b = cl_connect();
	cr_assert(strstr(ask(b, "migrate tcp:dst:4444\n"), "already running"));
	/* The end: the reply goes nowhere. */
	api_reply_done(fake.token, 0, NULL, "\"rounds\":1");
	cr_assert(!api_busy(srv));
	cr_assert(strstr(ask(b, "status\n"), "\"ok\":true"));
	cl_close(b);
}

Test(api, close_with_a_migration_pending)
{
	int a = cl_connect();

	cl_send(a, "migrate tcp:dst:4444\n");
	pump(10);
	cr_assert(api_busy(srv));
	/* The machine stops meanwhile: the token is freed by api_close (ASan: no leak). */
	api_close(srv);
	srv = NULL;
	close(a);
}

Test(api, a_client_that_never_reads)
{
	int hog = cl_connect(), b;
	size_t sent = 0;
	int i;

	/* Requests until its socket is full, reading nothing. */
	fcntl(hog, F_SETFL, O_NONBLOCK);
	for (i = 0; i < 200000; i++) {
		if (send(hog, "status\n", 7, MSG_NOSIGNAL) != 7)
			break;
		sent++;
		if (i % 64 == 0)
			loop_run_once(&loop, 0);
	}
	cr_assert_lt(i, 200000, "the server stops reading from a client that does not read");
	/* Others are served. */
	b = cl_connect();
	for (i = 0; i < 10; i++)
		cr_assert(strstr(ask(b, "status\n"), "\"ok\":true"));
	cl_close(hog);
	pump(20);
	cr_assert(strstr(ask(b, "pause\n"), "\"ok\":true"));
	cl_close(b);
	(void)sent;
}

Test(api, too_many_clients)
{
	int fds[API_MAX_CLIENTS], extra, i;

	for (i = 0; i < API_MAX_CLIENTS; i++)
		fds[i] = cl_connect();
	extra = cl_connect();
	cr_assert_str_eq(cl_reply(extra), "{\"ok\":false,\"error\":\"too many clients\"}");
	cr_assert(cl_closed(extra));
	cl_close(extra);
	for (i = 0; i < API_MAX_CLIENTS; i++)
		cr_assert(strstr(ask(fds[i], "status\n"), "\"ok\":true"));
	cl_close(fds[0]);
	pump(10);
	extra = cl_connect();
	cr_assert(strstr(ask(extra, "status\n"), "\"ok\":true"));
	cl_close(extra);
	for (i = 1; i < API_MAX_CLIENTS; i++)
		cl_close(fds[i]);
}

Test(api, missing_ops)
{
	static const struct api_ops none = {0};
	struct api_server *s2;
	char err[256], path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/none.sock", dir);
	cr_assert_eq(api_open(&s2, path, &loop, &none, NULL, err, sizeof(err)), 0, "%s", err);
	strcpy(sock_path, path);
	fd = cl_connect();
	cr_assert_str_eq(ask(fd, "status\n"),
			 "{\"ok\":false,\"error\":\"status is not supported here\"}");
	cr_assert_str_eq(ask(fd, "stop\n"),
			 "{\"ok\":false,\"error\":\"stop is not supported here\"}");
	cr_assert_str_eq(ask(fd, "migrate tcp:a:1\n"),
			 "{\"ok\":false,\"error\":\"migrate is not supported here\"}");
	cl_close(fd);
	api_close(s2);
	snprintf(sock_path, sizeof(sock_path), "%s/api.sock", dir);
}

Test(api, socket_path_checks)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct api_server *s2;
	char err[256], path[200], longpath[200];
	struct stat st;
	int fd;

	/* Somebody listens: refused. */
	cr_assert_eq(api_open(&s2, sock_path, &loop, &fake_ops, &fake, err, sizeof(err)),
		     -EADDRINUSE);
	cr_assert(strstr(err, "another process listens on it"), "%s", err);
	cr_assert_eq(stat(sock_path, &st), 0, "the live socket stays");
	/* A stale socket: replaced. */
	snprintf(path, sizeof(path), "%s/stale.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	cr_assert_eq(api_open(&s2, path, &loop, &fake_ops, &fake, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	api_close(s2);
	cr_assert_neq(stat(path, &st), 0, "removed at close");
	/* Not a socket: refused and left alone. */
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	close(fd);
	cr_assert_eq(api_open(&s2, path, &loop, &fake_ops, &fake, err, sizeof(err)), -EEXIST);
	cr_assert(strstr(err, "exists and is not a socket"), "%s", err);
	cr_assert_eq(stat(path, &st), 0);
	unlink(path);
	/* Too long for sun_path. */
	memset(longpath, 'x', 150);
	longpath[0] = '/';
	longpath[150] = '\0';
	cr_assert_eq(api_open(&s2, longpath, &loop, &fake_ops, &fake, err, sizeof(err)),
		     -ENAMETOOLONG);
	/* A directory that does not exist. */
	cr_assert_lt(api_open(&s2, "/nonexistent/dir/api.sock", &loop, &fake_ops, &fake, err,
			      sizeof(err)),
		     0);
	cr_assert(strstr(err, "/nonexistent/dir/api.sock: No such file or directory"), "%s", err);
}

Test(api, status_error_and_escaping)
{
	int fd = cl_connect();

	fake.status_members = "\"nics\":[{\"name\":\"net0\",\"backend\":\"tap\"}]";
	cr_assert_str_eq(ask(fd, "status\n"),
			 "{\"ok\":true,\"nics\":[{\"name\":\"net0\",\"backend\":\"tap\"}]}");
	cl_close(fd);
}

/* ---- JSON ---- */

static const char *esc(const char *s, size_t n, size_t size)
{
	static char buf[512];
	struct jbuf j;

	jbuf_init(&j, buf, size);
	jbuf_strn(&j, s, n);
	return buf;
}

Test(json, escaping)
{
	cr_assert_str_eq(esc("plain", 5, 512), "\"plain\"");
	cr_assert_str_eq(esc("", 0, 512), "\"\"");
	cr_assert_str_eq(esc("a\"b\\c/d", 7, 512), "\"a\\\"b\\\\c/d\"");
	cr_assert_str_eq(esc("\b\f\n\r\t", 5, 512), "\"\\b\\f\\n\\r\\t\"");
	cr_assert_str_eq(esc("\x01\x1f\x7f", 3, 512), "\"\\u0001\\u001f\\u007f\"");
	cr_assert_str_eq(esc("nul\0x", 5, 512), "\"nul\\u0000x\"");
	/* UTF-8 passes; what is not UTF-8 becomes U+FFFD. */
	cr_assert_str_eq(esc("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, 512),
			 "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	cr_assert_str_eq(esc("\xff", 1, 512), "\"\\ufffd\"");
	cr_assert_str_eq(esc("a\xe2\x82", 3, 512), "\"a\\ufffd\\ufffd\"");	    /* cut short */
	cr_assert_str_eq(esc("\xc0\xaf", 2, 512), "\"\\ufffd\\ufffd\"");	    /* overlong */
	cr_assert_str_eq(esc("\xed\xa0\x80", 3, 512), "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
	cr_assert_str_eq(esc("\xf4\x90\x80\x80", 4, 512),
			 "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
	cr_assert_str_eq(esc("\xe0\x80\x80", 3, 512), "\"\\ufffd\\ufffd\\ufffd\"");
}

Test(json, truncation_keeps_escapes_whole)
{
	struct jbuf j;
	char buf[8];

	/* "\"ab\\n" needs 6 bytes + NUL: fits in 8; the closing quote still fits. */
	jbuf_init(&j, buf, sizeof(buf));
	jbuf_strn(&j, "ab\n", 3);
	cr_assert_str_eq(buf, "\"ab\\n\"");
	cr_assert(!j.truncated);
	jbuf_init(&j, buf, sizeof(buf));
	jbuf_strn(&j, "abcd\n", 5);
	cr_assert_str_eq(buf, "\"abcd\\n"); /* no room for the closing quote */
	cr_assert(j.truncated);
	jbuf_init(&j, buf, sizeof(buf));
	jbuf_strn(&j, "abcde\n", 6);
	cr_assert_str_eq(buf, "\"abcde"); /* not half an escape */
	cr_assert(j.truncated);
	jbuf_init(&j, buf, sizeof(buf));
	jbuf_strn(&j, "abcde\xc3\xa9", 7);
	cr_assert_str_eq(buf, "\"abcde"); /* not half a character */
	cr_assert(j.truncated);
	jbuf_init(&j, buf, sizeof(buf));
	jbuf_strn(&j, "a\x01", 2);
	cr_assert_str_eq(buf, "\"a");
	cr_assert(j.truncated);
	jbuf_init(&j, buf, sizeof(buf));
	jbuf_printf(&j, "%s", "12345678");
	cr_assert(j.truncated);
	cr_assert_eq(strlen(buf), 0);
	jbuf_init(&j, buf, sizeof(buf));
	jbuf_printf(&j, "%d,", 12);
	jbuf_printf(&j, "%d", 345);
	cr_assert_str_eq(buf, "12,345");
	cr_assert(!j.truncated);
}

Test(json, utf8_seq_len)
{
	cr_assert_eq(utf8_seq_len((const unsigned char *)"a", 1), 1);
	cr_assert_eq(utf8_seq_len((const unsigned char *)"\xc3\xa9", 2), 2);
	cr_assert_eq(utf8_seq_len((const unsigned char *)"\xc3\xa9", 1), 0);
	cr_assert_eq(utf8_seq_len((const unsigned char *)"\xef\xbf\xbd", 3), 3);
	cr_assert_eq(utf8_seq_len((const unsigned char *)"\xf4\x8f\xbf\xbf", 4), 4);
	cr_assert_eq(utf8_seq_len((const unsigned char *)"\x80", 1), 0);
	cr_assert_eq(utf8_seq_len((const unsigned char *)"\xc1\xbf", 2), 0);
	cr_assert_eq(utf8_seq_len((const unsigned char *)"\xc3\x28", 2), 0);
	cr_assert_eq(utf8_seq_len((const unsigned char *)"", 0), 0);
}

/* ---- kvmini ctl ---- */

static int build(const char *cwd, char *out, const char *const *args)
{
	char err[256];
	int argc = 0;

	while (args[argc])
		argc++;
	return ctl_build_request(argc, (char **)args, cwd, out, 2048, err, sizeof(err));
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

Test(ctl, build_request)
{
	char out[2048], big[1100];

	cr_assert_eq(build("/w", out, ARGS("status")), 0);
	cr_assert_str_eq(out, "status");
	cr_assert_eq(build("/w", out, ARGS("migrate", "tcp:h:1", "downtime=5")), 0);
	cr_assert_str_eq(out, "migrate tcp:h:1 downtime=5");
	cr_assert_eq(build("/w", out, ARGS("migrate", "unix:d.sock")), 0);
	cr_assert_str_eq(out, "migrate unix:/w/d.sock");
	cr_assert_eq(build("/w", out, ARGS("migrate", "unix:/abs.sock")), 0);
	cr_assert_str_eq(out, "migrate unix:/abs.sock");
	cr_assert_eq(build("/w", out, ARGS("snapshot", "my file")), 0);
	cr_assert_str_eq(out, "snapshot /w/my file");
	cr_assert_eq(build("/w", out, ARGS("snapshot", "/abs")), 0);
	cr_assert_str_eq(out, "snapshot /abs");
	cr_assert_eq(build(NULL, out, ARGS("snapshot", "rel")), 0);
	cr_assert_str_eq(out, "snapshot rel");
	cr_assert_eq(build("/w", out, ARGS("status\nstop")), -EINVAL);
	cr_assert_eq(build("/w", out, ARGS("status", "")), -EINVAL);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(build("/w", out, ARGS("snapshot", big)), -EINVAL);
}

Test(ctl, replies)
{
	char e[256];

	cr_assert(ctl_reply_ok("{\"ok\":true}"));
	cr_assert(ctl_reply_ok("{\"ok\":true,\"state\":\"running\"}"));
	cr_assert(!ctl_reply_ok("{\"ok\":trueish}"));
	cr_assert(!ctl_reply_ok("{\"ok\":false,\"error\":\"x\"}"));
	cr_assert(!ctl_reply_ok("garbage"));
	ctl_reply_error(
		"{\"ok\":false,\"error\":\"unknown command 'f\\\"o\\\\o' \\u00e9\\ud83d\\ude00\\n\"}",
		e, sizeof(e));
	cr_assert_str_eq(e, "unknown command 'f\"o\\o' \xc3\xa9\xf0\x9f\x98\x80?");
	ctl_reply_error("{\"ok\":false}", e, sizeof(e));
	cr_assert_str_eq(e, "");
	ctl_reply_error("{\"ok\":false,\"error\":\"cut\\", e, sizeof(e));
	cr_assert_str_eq(e, "cut");
	ctl_reply_error("{\"ok\":false,\"error\":\"abcdef\"}", e, 4);
	cr_assert_str_eq(e, "abc");
}

static volatile bool serving;

static void *serve(void *arg)
{
	while (serving)
		loop_run_once(&loop, 5);
	return NULL;
}

Test(ctl, request_over_the_socket, .init = setup, .fini = teardown)
{
	char err[256], path[160];
	char *reply;
	pthread_t t;
	int fd;

	serving = true;
	pthread_create(&t, NULL, serve, NULL);
	cr_assert_eq(ctl_request(sock_path, "status", 2000, &reply, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_str_eq(reply,
			 "{\"ok\":true,\"state\":\"running\",\"vcpus\":2,\"memory\":536870912}");
	free(reply);
	cr_assert_eq(ctl_request(sock_path, "nope", 2000, &reply, err, sizeof(err)), 0, "%s", err);
	cr_assert(!ctl_reply_ok(reply));
	free(reply);
	/* A migration that does not end: the timeout. */
	cr_assert_eq(ctl_request(sock_path, "migrate tcp:h:1", 100, &reply, err, sizeof(err)),
		     -ETIMEDOUT);
	cr_assert(strstr(err, "no reply within 0.100 s"), "%s", err);
	serving = false;
	pthread_join(t, NULL);

	/* No socket; a stale one. */
	snprintf(path, sizeof(path), "%s/none.sock", dir);
	cr_assert_eq(ctl_request(path, "status", 100, &reply, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "no such socket"), "%s", err);
	{
		struct sockaddr_un sa = {.sun_family = AF_UNIX};

		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		strcpy(sa.sun_path, path);
		cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
	}
	cr_assert_eq(ctl_request(path, "status", 100, &reply, err, sizeof(err)), -ECONNREFUSED);
	cr_assert(strstr(err, "nobody listens on it"), "%s", err);
	unlink(path);
}
