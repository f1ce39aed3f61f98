// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <string.h>

#include "vmm/config.h"

static int parse(struct vm_config *cfg, char *err, const char *const *args)
{
	char *argv[32];
	int argc = 0;

	argv[argc++] = (char *)"run";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	err[0] = '\0';
	return config_parse_run(cfg, argc, argv, err, 256);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

Test(config, defaults)
{
	struct vm_config cfg;
	char err[256];

	cr_assert_eq(parse(&cfg, err, ARGS("--kernel", "k")), 0, "%s", err);
	cr_assert_str_eq(cfg.kernel, "k");
	cr_assert_null(cfg.initrd);
	cr_assert_eq(cfg.mem_size, 512ULL << 20);
	cr_assert_eq(cfg.nr_cpus, 1);
	cr_assert_eq(cfg.console, CONSOLE_STDIO);
	cr_assert_eq(cfg.quirks, QUIRKS_AUTO);
	cr_assert(cfg.default_cmdline);
	cr_assert(!cfg.debug_exit);
	cr_assert_eq(cfg.seccomp, CONFIG_SECCOMP_DEFAULT);
}

Test(config, every_option)
{
	struct vm_config cfg;
	char err[256];

	cr_assert_eq(parse(&cfg, err,
			   ARGS("--kernel", "vmlinux", "--initrd=ird", "--cmdline", "quiet x=1",
				"--memory", "2G", "--cpus", "4", "--console", "file:/tmp/c",
				"--memory-shared", "--debug-exit", "--quirks", "off",
				"--no-default-cmdline", "--seccomp=off", "-v", "-v")),
		     0, "%s", err);
	cr_assert_str_eq(cfg.initrd, "ird");
	cr_assert_str_eq(cfg.cmdline, "quiet x=1");
	cr_assert_eq(cfg.mem_size, 2ULL << 30);
	cr_assert_eq(cfg.nr_cpus, 4);
	cr_assert_eq(cfg.console, CONSOLE_FILE);
	cr_assert_str_eq(cfg.console_path, "/tmp/c");
	cr_assert(cfg.mem_shared);
	cr_assert(cfg.debug_exit);
	cr_assert_eq(cfg.quirks, QUIRKS_OFF);
	cr_assert(!cfg.default_cmdline);
	cr_assert_eq(cfg.verbosity, 2);
	cr_assert(!cfg.seccomp);
}

Test(config, sizes)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "512", 512ULL << 20 }, { "512M", 512ULL << 20 }, { "512MiB", 512ULL << 20 },
		{ "1G", 1ULL << 30 },	 { "2g", 2ULL << 30 },	   { "64K", 64ULL << 10 },
		{ "1T", 1ULL << 40 },	 { "3GB", 3ULL << 30 },
	};
	static const char *const bad[] = { "", "M", "-1", "1X", "1.5G", "12 M", "1GiBx",
					   "99999999999999999999", "17179869184T" };
	uint64_t v;
	unsigned int i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(config_parse_size(ok[i].s, &v), 0, "%s", ok[i].s);
		cr_assert_eq(v, ok[i].v, "%s", ok[i].s);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(config_parse_size(bad[i], &v), -EINVAL, "'%s' accepted", bad[i]);
}

static void expect_error(const char *const *args, const char *needle)
{
	struct vm_config cfg;
	char err[256];

	cr_assert_eq(parse(&cfg, err, args), -EINVAL, "accepted; wanted error with '%s'", needle);
	cr_assert(strstr(err, needle), "error '%s' does not mention '%s'", err, needle);
	cr_assert(!strchr(err, '\n'), "error is not one line: '%s'", err);
}

Test(config, errors_are_one_clear_line)
{
	expect_error(ARGS("--initrd", "x"), "--kernel PATH is required");
	expect_error(ARGS("--kernel", "k", "--memory", "lots"), "--memory: cannot parse 'lots'");
	expect_error(ARGS("--kernel", "k", "--memory", "8M"), "outside 16M..1T");
	expect_error(ARGS("--kernel", "k", "--memory", "2T"), "outside 16M..1T");
	expect_error(ARGS("--kernel", "k", "--memory", "16388K"), "whole number of MiB");
	expect_error(ARGS("--kernel", "k", "--cpus", "0"), "--cpus: '0'");
	expect_error(ARGS("--kernel", "k", "--cpus", "two"), "--cpus: 'two'");
	expect_error(ARGS("--kernel", "k", "--cpus", "5000"), "--cpus: '5000'");
	expect_error(ARGS("--kernel", "k", "--console", "tty"), "--console: 'tty'");
	expect_error(ARGS("--kernel", "k", "--console", "file:"), "--console: 'file:'");
	expect_error(ARGS("--kernel", "k", "--quirks", "maybe"), "--quirks: 'maybe'");
	expect_error(ARGS("--kernel", "k", "--seccomp=yes"), "--seccomp: 'yes' is not on or off");
	expect_error(ARGS("--kernel", "k", "--frobnicate"), "unknown option '--frobnicate'");
	expect_error(ARGS("--kernel", "k", "-z"), "unknown option '-z'");
	expect_error(ARGS("--kernel", "k", "extra"), "unexpected argument 'extra'");
	expect_error(ARGS("--kernel"), "--kernel needs a value");
	expect_error(ARGS("--kernel", "k", "--memory"), "--memory needs a value");
}

Test(config, help_returns_one)
{
	struct vm_config cfg;
	char err[256];

	cr_redirect_stdout();
	cr_assert_eq(parse(&cfg, err, ARGS("--help")), 1);
}

Test(config, parser_can_run_twice)
{
	struct vm_config cfg;
	char err[256];

	cr_assert_eq(parse(&cfg, err, ARGS("--kernel", "a", "--cpus", "3")), 0);
	cr_assert_eq(parse(&cfg, err, ARGS("--kernel", "b")), 0, "%s", err);
	cr_assert_str_eq(cfg.kernel, "b");
	cr_assert_eq(cfg.nr_cpus, 1, "state leaked from the previous parse");
}

Test(config, api_socket)
{
	struct vm_config cfg;
	char err[256], longpath[120];

	cr_assert_eq(parse(&cfg, err, ARGS("--kernel", "k", "--api-socket", "/run/k.sock")), 0,
		     "%s", err);
	cr_assert_str_eq(cfg.api_socket, "/run/k.sock");
	cr_assert_eq(parse(&cfg, err, ARGS("--kernel", "k")), 0, "%s", err);
	cr_assert_null(cfg.api_socket);
	expect_error(ARGS("--kernel", "k", "--api-socket", ""), "--api-socket needs a value");
	expect_error(ARGS("--kernel", "k", "--api-socket"), "--api-socket needs a value");
	memset(longpath, 'p', 108);
	longpath[0] = '/';
	longpath[108] = '\0';
	expect_error(ARGS("--kernel", "k", "--api-socket", longpath),
		     "--api-socket: path longer than 107 bytes");
}

Test(config, incoming)
{
	struct vm_config cfg;
	char err[256];

	/* No --kernel needed; host-side options allowed. */
	cr_assert_eq(parse(&cfg, err,
			   ARGS("--incoming", "tcp::4444", "--net", "tap,ifname=t0,vhost=off",
				"--console", "none", "--api-socket", "/tmp/a", "--quirks", "on",
				"--memory-shared", "--seccomp", "off", "-v", "-q")),
		     0, "%s", err);
	cr_assert_str_eq(cfg.incoming, "tcp::4444");
	cr_assert(!cfg.seccomp);
	cr_assert_eq(cfg.incoming_uri.kind, MIGRATE_URI_TCP);
	cr_assert_str_eq(cfg.incoming_uri.host, "");
	cr_assert_eq(cfg.incoming_uri.port, 4444);
	cr_assert_null(cfg.kernel);
	cr_assert_null(cfg.restore);
	cr_assert_eq(cfg.nr_nics, 1);
	cr_assert_eq(cfg.console, CONSOLE_NONE);
	cr_assert_eq(parse(&cfg, err, ARGS("--incoming=unix:/tmp/m.sock")), 0, "%s", err);
	cr_assert_eq(cfg.incoming_uri.kind, MIGRATE_URI_UNIX);
	cr_assert_str_eq(cfg.incoming_uri.path, "/tmp/m.sock");

	expect_error(ARGS("--incoming", "tcp:h"), "--incoming: 'tcp:h': expected tcp:HOST:PORT");
	expect_error(ARGS("--incoming", "sock"),
		     "--incoming: 'sock' is not tcp:HOST:PORT, unix:PATH or file:PATH");
	expect_error(ARGS("--incoming", "file:/tmp/s"),
		     "--incoming: for a snapshot file use --restore FILE");
	expect_error(ARGS("--incoming"), "--incoming needs a value");
	/* The guest's configuration comes from the stream, whatever the order. */
	expect_error(ARGS("--incoming", "tcp::1", "--memory", "1G"),
		     "--memory comes from the migration stream");
	expect_error(ARGS("--memory", "1G", "--incoming", "tcp::1"),
		     "--memory comes from the migration stream");
	expect_error(ARGS("--incoming", "tcp::1", "--cpus", "2"),
		     "--cpus comes from the migration stream");
	expect_error(ARGS("--incoming", "tcp::1", "--debug-exit"),
		     "--debug-exit comes from the migration stream");
	expect_error(ARGS("--kernel", "k", "--incoming", "tcp::1"),
		     "--kernel: not with --incoming, the guest comes from the migration stream");
	expect_error(ARGS("--incoming", "tcp::1", "--initrd", "i"),
		     "--initrd: not with --incoming, the guest comes from the migration stream");
	expect_error(ARGS("--incoming", "tcp::1", "--cmdline", "quiet"),
		     "--cmdline: not with --incoming, the guest comes from the migration stream");
	expect_error(ARGS("--incoming", "tcp::1", "--no-default-cmdline"),
		     "--no-default-cmdline: not with --incoming");
	/* Still checked as ever. */
	expect_error(ARGS("--incoming", "tcp::1", "--net", "bogus"), "--net bogus:");
}

Test(config, restore)
{
	struct vm_config cfg;
	char err[256];

	cr_assert_eq(parse(&cfg, err, ARGS("--restore", "/tmp/snap", "--console", "file:/tmp/c")), 0,
		     "%s", err);
	cr_assert_str_eq(cfg.restore, "/tmp/snap");
	cr_assert_null(cfg.incoming);
	cr_assert_null(cfg.kernel);
	expect_error(ARGS("--restore", ""), "--restore needs a value");
	expect_error(ARGS("--restore", "s", "--memory", "1G"), "--memory comes from the snapshot");
	expect_error(ARGS("--restore", "s", "--kernel", "k"),
		     "--kernel: not with --restore, the guest comes from the snapshot");
	expect_error(ARGS("--restore", "s", "--incoming", "tcp::1"),
		     "--incoming and --restore exclude each other");
	expect_error(ARGS("--incoming", "unix:/x", "--restore", "s"),
		     "--incoming and --restore exclude each other");
	/* A later parse starts afresh. */
	cr_assert_eq(parse(&cfg, err, ARGS("--kernel", "k")), 0, "%s", err);
	cr_assert_null(cfg.restore);
}
