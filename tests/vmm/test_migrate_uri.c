// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vmm/migrate_uri.h"

Test(migrate_uri, good)
{
	struct migrate_uri u;
	char err[256];

	cr_assert_eq(migrate_parse_uri("tcp:dst.example:4444", &u, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(u.kind, MIGRATE_URI_TCP);
	cr_assert_str_eq(u.host, "dst.example");
	cr_assert_eq(u.port, 4444);
	cr_assert_str_eq(u.service, "4444");
	cr_assert_eq(migrate_parse_uri("tcp:192.0.2.1:1", &u, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(u.host, "192.0.2.1");
	cr_assert_eq(u.port, 1);
	cr_assert_eq(migrate_parse_uri("tcp::65535", &u, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(u.host, "");
	cr_assert_eq(u.port, 65535);
	cr_assert_eq(migrate_parse_uri("tcp:[::1]:4444", &u, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(u.host, "::1");
	cr_assert_eq(migrate_parse_uri("tcp:[fe80::1%eth0]:80", &u, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_str_eq(u.host, "fe80::1%eth0");
	cr_assert_eq(migrate_parse_uri("tcp:my_host-1:80", &u, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(migrate_parse_uri("unix:/run/kvmini/mig.sock", &u, err, sizeof(err)), 0);
	cr_assert_eq(u.kind, MIGRATE_URI_UNIX);
	cr_assert_str_eq(u.path, "/run/kvmini/mig.sock");
	cr_assert_eq(migrate_parse_uri("unix:rel.sock", &u, err, sizeof(err)), 0);
	cr_assert_str_eq(u.path, "rel.sock");
	cr_assert_eq(migrate_parse_uri("file:/tmp/a b:c", &u, err, sizeof(err)), 0);
	cr_assert_eq(u.kind, MIGRATE_URI_FILE);
	cr_assert_str_eq(u.path, "/tmp/a b:c");
	cr_assert_str_eq(migrate_uri_kind_name(MIGRATE_URI_UNIX), "unix");
}

Test(migrate_uri, bad)
{
	static const struct {
		const char *uri, *err;
	} bad[] = {
		{"", "empty URI (try tcp:HOST:PORT or unix:PATH)"},
		{"dst:4444", "'dst:4444' is not tcp:HOST:PORT, unix:PATH or file:PATH"},
		{"TCP:h:1", "'TCP:h:1' is not tcp:HOST:PORT, unix:PATH or file:PATH"},
		{"tcp:", "'tcp:': expected tcp:HOST:PORT or tcp::PORT"},
		{"tcp:host", "'tcp:host': expected tcp:HOST:PORT or tcp::PORT"},
		{"tcp:host:", "'tcp:host:': no port"},
		{"tcp:host:0", "'tcp:host:0': port '0' is not a number from 1 to 65535"},
		{"tcp:host:65536",
		 "'tcp:host:65536': port '65536' is not a number from 1 to 65535"},
		{"tcp:host:-1", "'tcp:host:-1': port '-1' is not a number from 1 to 65535"},
		{"tcp:host:80x", "'tcp:host:80x': port '80x' is not a number from 1 to 65535"},
		{"tcp:host:99999999999999999999999",
		 "'tcp:host:99999999999999999999999': port '99999999999999999999999' is not a number from 1 to 65535"},
		{"tcp:::1:4444",
		 "'tcp:::1:4444': put an IPv6 address in brackets: tcp:[ADDRESS]:PORT"},
		{"tcp:[::1:4444", "'tcp:[::1:4444': missing ']' after the IPv6 address"},
		{"tcp:[]:4444", "'tcp:[]:4444': empty IPv6 address"},
		{"tcp:[::1]4444", "'tcp:[::1]4444': expected tcp:[ADDRESS]:PORT"},
		{"tcp:[host]:1", "'tcp:[host]:1': 'host' is not an IPv6 address"},
		{"tcp:a b:1", "'tcp:a b:1': 'a b' is not a host name or address"},
		{"tcp:a/b:1", "'tcp:a/b:1': 'a/b' is not a host name or address"},
		{"unix:", "'unix:': no socket path"},
		{"file:", "'file:': no file name"},
		{"unix:/x\n", "'unix:/x?': control characters in the URI"},
		{"tcp:h\x1b[31m:1", "'tcp:h?[31m:1': control characters in the URI"},
	};
	struct migrate_uri u;
	char err[256];
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(migrate_parse_uri(bad[i].uri, &u, err, sizeof(err)), -EINVAL, "%s",
			     bad[i].uri);
		cr_assert_str_eq(err, bad[i].err);
	}
	cr_assert_eq(migrate_parse_uri(NULL, &u, err, sizeof(err)), -EINVAL);
}

Test(migrate_uri, lengths)
{
	struct migrate_uri u;
	char uri[300 + MIGRATE_URI_MAX_PATH], err[256];

	strcpy(uri, "unix:/");
	memset(uri + 6, 's', MIGRATE_URI_MAX_UNIX_PATH - 1);
	uri[5 + MIGRATE_URI_MAX_UNIX_PATH] = '\0';
	cr_assert_eq(migrate_parse_uri(uri, &u, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(strlen(u.path), MIGRATE_URI_MAX_UNIX_PATH);
	strcat(uri, "s");
	cr_assert_eq(migrate_parse_uri(uri, &u, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "socket path longer than 107 bytes"), "%s", err);

	strcpy(uri, "tcp:");
	memset(uri + 4, 'h', 256);
	strcpy(uri + 260, ":1");
	cr_assert_eq(migrate_parse_uri(uri, &u, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "host name too long"), "%s", err);
	memset(uri + 4, 'h', 255);
	strcpy(uri + 259, ":1");
	cr_assert_eq(migrate_parse_uri(uri, &u, err, sizeof(err)), 0, "%s", err);

	strcpy(uri, "file:/");
	memset(uri + 6, 'f', MIGRATE_URI_MAX_PATH);
	uri[6 + MIGRATE_URI_MAX_PATH] = '\0';
	cr_assert_eq(migrate_parse_uri(uri, &u, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "file name too long"), "%s", err);
}
