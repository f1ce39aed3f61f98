/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where a migration stream goes to or comes from:
 *
 *   tcp:HOST:PORT     HOST a name, an IPv4 address, or [IPv6] in brackets
 *   tcp::PORT         no host: listening, every address; connecting, loopback
 *                     (getaddrinfo(NULL, port) without AI_PASSIVE)
 *   unix:PATH         a unix stream socket (at most 107 bytes, as sun_path)
 *   file:PATH         a snapshot file
 *
 * Parsing is pure (no name lookups, no file system) so that every error
 * can be unit-tested.
 */
#ifndef KVMINI_MIGRATE_URI_H
#define KVMINI_MIGRATE_URI_H

#include <stddef.h>
#include <stdint.h>

enum migrate_uri_kind { MIGRATE_URI_TCP, MIGRATE_URI_UNIX, MIGRATE_URI_FILE };

#define MIGRATE_URI_MAX_PATH 4096
#define MIGRATE_URI_MAX_UNIX_PATH 107 /* sizeof(sun_path) - 1 */

struct migrate_uri {
	enum migrate_uri_kind kind;
	char host[256];			 /* TCP: without brackets; "" for tcp::PORT */
	uint16_t port;			 /* TCP: 1..65535 */
	char service[6];		 /* TCP: the port in decimal, for getaddrinfo() */
	char path[MIGRATE_URI_MAX_PATH]; /* UNIX, FILE */
};

/* 0, or -EINVAL with one line in err (the uri is echoed with unprintable bytes as '?'). */
int migrate_parse_uri(const char *s, struct migrate_uri *u, char *err, size_t errlen);

/* "tcp", "unix" or "file". */
const char *migrate_uri_kind_name(enum migrate_uri_kind kind);

#endif
