// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

enum {
	OPT_KERNEL = 0x100,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_NO_DEFAULT_CMDLINE,
	OPT_MEMORY,
	OPT_MEMORY_SHARED,
	OPT_CPUS,
	OPT_CONSOLE,
	OPT_DEBUG_EXIT,
	OPT_QUIRKS,
	OPT_NET,
	OPT_API_SOCKET,
	OPT_INCOMING,
	OPT_RESTORE,
	OPT_SECCOMP,
	OPT_HELP,
};

static const struct option run_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "no-default-cmdline", no_argument, NULL, OPT_NO_DEFAULT_CMDLINE },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "memory-shared", no_argument, NULL, OPT_MEMORY_SHARED },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "debug-exit", no_argument, NULL, OPT_DEBUG_EXIT },
	{ "quirks", required_argument, NULL, OPT_QUIRKS },
	{ "net", required_argument, NULL, OPT_NET },
	{ "api-socket", required_argument, NULL, OPT_API_SOCKET },
	{ "incoming", required_argument, NULL, OPT_INCOMING },
	{ "restore", required_argument, NULL, OPT_RESTORE },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

void config_usage_run(void)
{
	fputs("Usage: kvmini run --kernel PATH [options]\n"
	      "       kvmini run --incoming URI | --restore FILE [host options]\n"
	      "Boot a Linux kernel (bzImage, or an ELF vmlinux with a PVH note) in a KVM guest,\n"
	      "or receive a running guest from a migration or a snapshot.\n"
	      "\n"
	      "  --kernel PATH          kernel to boot (bzImage, or ELF with PVH note)\n"
	      "  --initrd PATH          initramfs to load\n"
	      "  --cmdline STR          appended to kvmini's default kernel command line\n"
	      "  --no-default-cmdline   pass only --cmdline (no console=, no host workarounds)\n"
	      "  --memory SIZE          guest RAM, e.g. 512M, 2G (plain number: MiB; default 512M)\n"
	      "  --memory-shared        back guest RAM with a memfd (shared) instead of private memory\n"
	      "  --cpus N               number of vCPUs (default 1)\n"
	      "  --console KIND         stdio (default), file:PATH, or none\n"
	      "  --net SPEC             a virtio-net NIC (repeatable, up to 8):\n"
	      "                           user[,hostfwd=tcp:[HOSTADDR]:PORT-:GUESTPORT...][,mac=MAC]\n"
	      "                           tap,ifname=NAME[,mac=MAC][,vhost=off]\n"
	      "  --quirks MODE          host KVM workarounds: auto (probe, default), on, off\n"
	      "  --api-socket PATH      a control socket for kvmini ctl (status, pause, resume,\n"
	      "                         stop, migrate, snapshot)\n"
	      "  --incoming URI         receive a migrating guest: tcp:HOST:PORT, tcp::PORT (every\n"
	      "                         address) or unix:PATH; memory, vCPUs and devices come from\n"
	      "                         the stream, --net pairs by position with the source's NICs\n"
	      "  --restore FILE         start the guest saved in a snapshot file (as --incoming)\n"
	      "  --debug-exit           offer isa-debug-exit on port 0xf4 (for test guests)\n"
	      "  --seccomp=on|off       per-thread system call filters (default on; off to debug a\n"
	      "                         SIGSYS, or under LD_PRELOAD tools and sanitizers)\n"
	      "  -v, --verbose          more messages (repeat for debug)\n"
	      "  -q, --quiet            errors only\n"
	      "  --help                 this text\n"
	      "\n"
	      "On the console, Ctrl-A x quits and Ctrl-A h lists the other keys.\n"
	      "Exit status: 0 poweroff, 1 kvmini error, 2 bad command line, 3 guest reboot,\n"
	      "4 triple fault, 5 guest stopped by an emulation failure, 6 quit by the user.\n",
	      stdout);
}

static __attribute__((format(printf, 3, 4))) int fail(char *err, size_t errlen,
							const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	/* Arguments are echoed back: keep terminal escapes out of the error line. */
	for (char *c = err; errlen && *c; c++)
		if (!isprint((unsigned char)*c))
			*c = '?';
	return -EINVAL;
}

int config_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	uint64_t shift = 20;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		shift = 10;
		end++;
		break;
	case 'm': case 'M':
		end++;
		break;
	case 'g': case 'G':
		shift = 30;
		end++;
		break;
	case 't': case 'T':
		shift = 40;
		end++;
		break;
	default:
		return -EINVAL;
	}
	/* Accept the "512MiB" and "2GB" spellings too. */
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end)
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_cpus(const char *s, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 4096)
		return -EINVAL;
	*out = v;
	return 0;
}

int config_parse_run(struct vm_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	enum { GUEST_OPTS = 7 };
	static const char *const guest_opt_names[GUEST_OPTS] = {
		"--kernel", "--initrd", "--cmdline", "--no-default-cmdline",
		"--memory", "--cpus",	"--debug-exit",
	};
	bool guest_opt[GUEST_OPTS] = { false };
	unsigned int i;
	int c;

	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_size = CONFIG_DEFAULT_MEM;
	cfg->nr_cpus = 1;
	cfg->default_cmdline = true;
	cfg->console = CONSOLE_STDIO;
	cfg->quirks = QUIRKS_AUTO;
	cfg->seccomp = CONFIG_SECCOMP_DEFAULT;

	/* glibc: optind = 0 reinitialises getopt, so the parser can be called again. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+vq", run_options, NULL)) != -1) {
		switch (c) {
		case OPT_KERNEL:
			guest_opt[0] = true;
			cfg->kernel = optarg;
			break;
		case OPT_INITRD:
			guest_opt[1] = true;
			cfg->initrd = optarg;
			break;
		case OPT_CMDLINE:
			guest_opt[2] = true;
			cfg->cmdline = optarg;
			break;
		case OPT_NO_DEFAULT_CMDLINE:
			guest_opt[3] = true;
			cfg->default_cmdline = false;
			break;
		case OPT_MEMORY:
			guest_opt[4] = true;
			if (config_parse_size(optarg, &cfg->mem_size))
				return fail(err, errlen, "--memory: cannot parse '%s' (try 512M or 2G)",
					    optarg);
			if (cfg->mem_size < CONFIG_MIN_MEM || cfg->mem_size > CONFIG_MAX_MEM)
				return fail(err, errlen, "--memory: %s is outside 16M..1T", optarg);
			if (cfg->mem_size & ((1ULL << 20) - 1))
				return fail(err, errlen, "--memory: %s is not a whole number of MiB",
					    optarg);
			break;
		case OPT_MEMORY_SHARED:
			cfg->mem_shared = true;
			break;
		case OPT_CPUS:
			guest_opt[5] = true;
			if (parse_cpus(optarg, &cfg->nr_cpus))
				return fail(err, errlen, "--cpus: '%s' is not a number from 1 to 4096",
					    optarg);
			break;
		case OPT_CONSOLE:
			if (!strcmp(optarg, "stdio")) {
				cfg->console = CONSOLE_STDIO;
			} else if (!strcmp(optarg, "none")) {
				cfg->console = CONSOLE_NONE;
			} else if (!strncmp(optarg, "file:", 5) && optarg[5]) {
				cfg->console = CONSOLE_FILE;
				cfg->console_path = optarg + 5;
			} else {
				return fail(err, errlen,
					    "--console: '%s' is not stdio, file:PATH or none", optarg);
			}
			break;
		case OPT_DEBUG_EXIT:
			guest_opt[6] = true;
			cfg->debug_exit = true;
			break;
		case OPT_QUIRKS:
			if (!strcmp(optarg, "auto"))
				cfg->quirks = QUIRKS_AUTO;
			else if (!strcmp(optarg, "on"))
				cfg->quirks = QUIRKS_ON;
			else if (!strcmp(optarg, "off"))
				cfg->quirks = QUIRKS_OFF;
			else
				return fail(err, errlen, "--quirks: '%s' is not auto, on or off",
					    optarg);
			break;
		case OPT_SECCOMP:
			if (!strcmp(optarg, "on"))
				cfg->seccomp = true;
			else if (!strcmp(optarg, "off"))
				cfg->seccomp = false;
			else
				return fail(err, errlen, "--seccomp: '%s' is not on or off", optarg);
			break;
		case OPT_NET: {
			char nerr[200];

			if (cfg->nr_nics == CONFIG_MAX_NICS)
				return fail(err, errlen, "--net: at most %d NICs", CONFIG_MAX_NICS);
			if (net_config_parse(&cfg->nics[cfg->nr_nics], optarg, nerr, sizeof(nerr)))
				return fail(err, errlen, "--net %s: %s", optarg, nerr);
			cfg->nr_nics++;
			break;
		}
		case OPT_API_SOCKET:
			if (!*optarg)
				return fail(err, errlen, "--api-socket needs a value");
			if (strlen(optarg) > MIGRATE_URI_MAX_UNIX_PATH)
				return fail(err, errlen, "--api-socket: path longer than %d bytes",
					    MIGRATE_URI_MAX_UNIX_PATH);
			cfg->api_socket = optarg;
			break;
		case OPT_INCOMING: {
			char uerr[200];

			if (migrate_parse_uri(optarg, &cfg->incoming_uri, uerr, sizeof(uerr)))
				return fail(err, errlen, "--incoming: %s", uerr);
			if (cfg->incoming_uri.kind == MIGRATE_URI_FILE)
				return fail(err, errlen,
					    "--incoming: for a snapshot file use --restore FILE");
			cfg->incoming = optarg;
			break;
		}
		case OPT_RESTORE:
			if (!*optarg)
				return fail(err, errlen, "--restore needs a value");
			cfg->restore = optarg;
			break;
		case 'v':
			cfg->verbosity++;
			break;
		case 'q':
			cfg->verbosity--;
			break;
		case OPT_HELP:
			config_usage_run();
			return 1;
		case ':':
			return fail(err, errlen, "%s needs a value", argv[optind - 1]);
		default:
			if (optopt && optopt < 0x100)
				return fail(err, errlen, "unknown option '-%c'", optopt);
			/* getopt_long leaves the offending word just before optind. */
			if (optind > 0 && optind <= argc && argv[optind - 1][0] == '-' &&
			    argv[optind - 1][1] == '-') {
				const struct option *o;
				const char *w = argv[optind - 1] + 2;

				for (o = run_options; o->name; o++)
					if (!strncmp(o->name, w, strcspn(w, "=")) &&
					    strlen(o->name) == strcspn(w, "=") &&
					    o->has_arg == required_argument)
						return fail(err, errlen, "%s needs a value",
							    argv[optind - 1]);
			}
			return fail(err, errlen, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail(err, errlen, "unexpected argument '%s'", argv[optind]);
	if (cfg->incoming && cfg->restore)
		return fail(err, errlen, "--incoming and --restore exclude each other");
	if (cfg->incoming || cfg->restore) {
		const char *from = cfg->incoming ? "the migration stream" : "the snapshot";
		const char *opt = cfg->incoming ? "--incoming" : "--restore";

		for (i = 0; i < GUEST_OPTS; i++) {
			if (!guest_opt[i])
				continue;
			if (i < 4)	/* what boots a new guest */
				return fail(err, errlen, "%s: not with %s, the guest comes from %s",
					    guest_opt_names[i], opt, from);
			return fail(err, errlen, "%s comes from %s", guest_opt_names[i], from);
		}
		return 0;
	}
	if (!cfg->kernel)
		return fail(err, errlen, "--kernel PATH is required");
	return 0;
}
