/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command line of `kvmini run`, parsed into a plain struct. Parsing is a
 * pure function (no I/O beyond reading argv) so that every error message can
 * be unit-tested.
 */
#ifndef KVMINI_CONFIG_H
#define KVMINI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/net_config.h"
#include "migrate_uri.h"

enum console_kind { CONSOLE_STDIO, CONSOLE_FILE, CONSOLE_NONE };
enum quirks_mode { QUIRKS_AUTO, QUIRKS_ON, QUIRKS_OFF };

#define CONFIG_DEFAULT_MEM (512ULL << 20)
#define CONFIG_MIN_MEM (16ULL << 20)
#define CONFIG_MAX_MEM (1ULL << 40)
#define CONFIG_MAX_NICS 8

/*
 * Sanitizer builds (tests/asan.mk) default to --seccomp=off: the ASan and
 * UBSan runtimes make calls of their own that no allow-list expects.
 */
#ifdef KVMINI_SECCOMP_DEFAULT_OFF
#define CONFIG_SECCOMP_DEFAULT false
#else
#define CONFIG_SECCOMP_DEFAULT true
#endif

struct vm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;		/* appended to the default command line */
	bool default_cmdline;		/* false with --no-default-cmdline */
	uint64_t mem_size;
	unsigned int nr_cpus;
	enum console_kind console;
	const char *console_path;	/* CONSOLE_FILE */
	bool mem_shared;		/* memfd-backed guest RAM */
	bool debug_exit;		/* isa-debug-exit on port 0xf4 (tests) */
	enum quirks_mode quirks;
	bool seccomp;			/* per-thread seccomp filters (--seccomp=on, default) */
	int verbosity;			/* -v raises, -q lowers */
	struct net_config nics[CONFIG_MAX_NICS];	/* --net, in order */
	unsigned int nr_nics;
	const char *api_socket;		/* --api-socket PATH, or NULL */
	/*
	 * A destination: the guest (memory, vCPUs, devices, NIC kinds and
	 * MACs) comes from a migration stream (--incoming URI, tcp: or unix:)
	 * or a snapshot (--restore FILE); kernel, initrd, cmdline, memory,
	 * cpus and debug-exit are refused then. At most one of the two.
	 */
	const char *incoming;		/* as given */
	struct migrate_uri incoming_uri;	/* parsed, when incoming */
	const char *restore;
};

/*
 * Parse argv of `kvmini run` (argv[0] is "run"). On error returns -EINVAL and
 * puts one line into err. Returns 1 when --help was asked (usage already
 * printed to stdout), 0 otherwise.
 */
int config_parse_run(struct vm_config *cfg, int argc, char **argv, char *err, size_t errlen);
void config_usage_run(void);

/*
 * "512M", "2G", "1536" (MiB when there is no suffix, as QEMU's -m), "64K".
 * Returns 0, or -EINVAL for anything else (empty, junk, overflow).
 */
int config_parse_size(const char *s, uint64_t *out);

#endif
