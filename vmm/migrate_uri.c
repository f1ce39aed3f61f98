// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate_uri.h"

static __attribute__((format(printf, 3, 4))) int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (char *c = err; errlen && *c; c++)
		if (!isprint((unsigned char)*c))
			*c = '?';
	return -EINVAL;
}

const char *migrate_uri_kind_name(enum migrate_uri_kind kind)
{
	switch (kind) {
	case MIGRATE_URI_TCP:
		return "tcp";
	case MIGRATE_URI_UNIX:
		return "unix";
	case MIGRATE_URI_FILE:
		return "file";
	}
	return "?";
}

static bool has_unprintable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static int parse_tcp(const char *uri, const char *s, struct migrate_uri *u, char *err,
		     size_t errlen)
{
	const char *port;
	unsigned long v;
	size_t hlen;
	char *end;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close)
			return fail(err, errlen, "'%s': missing ']' after the IPv6 address", uri);
		hlen = close - s - 1;
		if (!hlen)
			return fail(err, errlen, "'%s': empty IPv6 address", uri);
		if (close[1] != ':')
			return fail(err, errlen, "'%s': expected tcp:[ADDRESS]:PORT", uri);
		if (hlen >= sizeof(u->host))
			return fail(err, errlen, "'%s': host name too long", uri);
		memcpy(u->host, s + 1, hlen);
		u->host[hlen] = '\0';
		for (size_t i = 0; i < hlen; i++) {
			if (u->host[i] == '%' && i && u->host[i + 1])
				break; /* a zone: fe80::1%eth0 */
			if (!isxdigit((unsigned char)u->host[i]) && u->host[i] != ':' &&
			    u->host[i] != '.')
				return fail(err, errlen, "'%s': '%s' is not an IPv6 address", uri,
					    u->host);
		}
		port = close + 2;
	} else {
		const char *colon = strrchr(s, ':');

		if (!colon)
			return fail(err, errlen, "'%s': expected tcp:HOST:PORT or tcp::PORT", uri);
		hlen = colon - s;
		if (memchr(s, ':', hlen))
			return fail(err, errlen,
				    "'%s': put an IPv6 address in brackets: tcp:[ADDRESS]:PORT",
				    uri);
		if (hlen >= sizeof(u->host))
			return fail(err, errlen, "'%s': host name too long", uri);
		memcpy(u->host, s, hlen);
		u->host[hlen] = '\0';
		for (size_t i = 0; i < hlen; i++)
			if (!isalnum((unsigned char)u->host[i]) && !strchr(".-_", u->host[i]))
				return fail(err, errlen, "'%s': '%s' is not a host name or address",
					    uri, u->host);
		port = colon + 1;
	}
	if (!*port)
		return fail(err, errlen, "'%s': no port", uri);
	if (*port < '0' || *port > '9')
		return fail(err, errlen, "'%s': port '%.32s' is not a number from 1 to 65535", uri,
			    port);
	errno = 0;
	v = strtoul(port, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return fail(err, errlen, "'%s': port '%.32s' is not a number from 1 to 65535", uri,
			    port);
	u->port = v;
	snprintf(u->service, sizeof(u->service), "%lu", v);
	return 0;
}

int migrate_parse_uri(const char *s, struct migrate_uri *u, char *err, size_t errlen)
{
	const char *rest, *uri;
	char shown[84];

	memset(u, 0, sizeof(*u));
	if (!s || !*s)
		return fail(err, errlen, "empty URI (try tcp:HOST:PORT or unix:PATH)");
	/* Error messages quote the uri: a long one is cut so that why stays visible. */
	uri = s;
	if (strlen(s) > 80) {
		snprintf(shown, sizeof(shown), "%.77s...", s);
		uri = shown;
	}
	if (has_unprintable(s))
		return fail(err, errlen, "'%s': control characters in the URI", uri);
	if (!strncmp(s, "tcp:", 4)) {
		u->kind = MIGRATE_URI_TCP;
		return parse_tcp(uri, s + 4, u, err, errlen);
	}
	if (!strncmp(s, "unix:", 5)) {
		u->kind = MIGRATE_URI_UNIX;
		rest = s + 5;
		if (!*rest)
			return fail(err, errlen, "'%s': no socket path", uri);
		if (strlen(rest) > MIGRATE_URI_MAX_UNIX_PATH)
			return fail(err, errlen, "'%s': socket path longer than %d bytes", uri,
				    MIGRATE_URI_MAX_UNIX_PATH);
	} else if (!strncmp(s, "file:", 5)) {
		u->kind = MIGRATE_URI_FILE;
		rest = s + 5;
		if (!*rest)
			return fail(err, errlen, "'%s': no file name", uri);
		if (strlen(rest) >= sizeof(u->path))
			return fail(err, errlen, "'%s': file name too long", uri);
	} else {
		return fail(err, errlen, "'%s' is not tcp:HOST:PORT, unix:PATH or file:PATH", uri);
	}
	strcpy(u->path, rest);
	return 0;
}
