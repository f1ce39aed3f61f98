// SPDX-License-Identifier: GPL-2.0
/* The sockets a migration stream travels on (migrate_uri.h says which). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "migrate_stream.h"
#include "migrate_uri.h"

static int unix_addr(const struct migrate_uri *u, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(u->path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, u->path);
	return 0;
}

/* Big socket buffers: a round is megabytes, and the peer reads as fast as it can. */
static void tune(int fd, bool tcp)
{
	int one = 1, sz = 4 << 20;

	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	/* READY, COMMIT and RUNNING are tiny and on the downtime's critical path. */
	if (tcp)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int tcp_socket(const struct migrate_uri *u, bool listening, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	int fd = -1, ret, one = 1, saved = 0;

	if (listening)
		hints.ai_flags |= AI_PASSIVE;
	ret = getaddrinfo(u->host[0] ? u->host : NULL, u->service, &hints, &res);
	if (ret) {
		snprintf(err, errlen, "tcp:%s:%s: %s", u->host, u->service, gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (listening) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1) == 0)
				break;
		} else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			break;
		}
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "tcp:%s:%s: %s: %s", u->host, u->service,
			 listening ? "listen" : "connect", strerror(saved));
		return -(saved ? saved : EHOSTUNREACH);
	}
	tune(fd, true);
	return fd;
}

static int unix_socket(const struct migrate_uri *u, bool listening, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd, ret;

	if (unix_addr(u, &sa)) {
		snprintf(err, errlen, "unix:%s: path too long", u->path);
		return -ENAMETOOLONG;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	if (!listening) {
		ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	} else {
		ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		if (ret < 0 && errno == EADDRINUSE) {
			/* A socket file nobody listens on is left over: take its place. */
			int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

			if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
			    errno == ECONNREFUSED && unlink(sa.sun_path) == 0)
				ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
			else
				errno = EADDRINUSE;
			if (probe >= 0)
				close(probe);
		}
		if (ret == 0)
			ret = listen(fd, 1);
	}
	if (ret < 0) {
		ret = -errno;
		snprintf(err, errlen, "unix:%s: %s: %s", u->path, listening ? "listen" : "connect",
			 strerror(errno));
		close(fd);
		return ret;
	}
	tune(fd, false);
	return fd;
}

static int open_uri(const char *uri, bool listening, char *err, size_t errlen)
{
	struct migrate_uri u;

	if (migrate_parse_uri(uri, &u, err, errlen))
		return -EINVAL;
	switch (u.kind) {
	case MIGRATE_URI_TCP:
		return tcp_socket(&u, listening, err, errlen);
	case MIGRATE_URI_UNIX:
		return unix_socket(&u, listening, err, errlen);
	default:
		snprintf(err, errlen, "%s: a file is for snapshots (kvmini ctl PATH snapshot FILE)",
			 uri);
		return -EINVAL;
	}
}

int mig_connect(const char *uri, char *err, size_t errlen)
{
	return open_uri(uri, false, err, errlen);
}

int mig_listen(const char *uri, char *err, size_t errlen)
{
	return open_uri(uri, true, err, errlen);
}
