// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "exitcode.h"
#include "kvm.h"
#include "log.h"
#include "quirks.h"
#include "state_show.h"
#include "vm.h"

static void usage(FILE *f)
{
	fputs("Usage: kvmini COMMAND [options]\n"
	      "\n"
	      "Commands:\n"
	      "  run      boot a guest, or receive one migrating (kvmini run --help)\n"
	      "  ctl      talk to a running kvmini: status, pause, resume, stop, migrate,\n"
	      "           snapshot (kvmini ctl --help)\n"
	      "  state show FILE\n"
	      "           what a snapshot file holds\n"
	      "  probe    report what this host's KVM cannot run, and the workarounds kvmini applies\n"
	      "\n"
	      "  kvmini --version | --help\n",
	      f);
}

static int cmd_probe(int argc, char **argv)
{
	struct host_quirks q;
	struct kvm kvm;
	char err[256], line[256], params[256];
	int ret;

	if (argc > 1) {
		if (!strcmp(argv[1], "--help")) {
			puts("Usage: kvmini probe\n"
			     "Run kvmini's host-quirk probe guest and print one line per finding.");
			return 0;
		}
		pr_err("probe: unexpected argument '%s'", argv[1]);
		return EXIT_USAGE;
	}
	if (kvm_open(&kvm, err, sizeof(err))) {
		pr_err("%s", err);
		return EXIT_VMM_ERROR;
	}
	ret = quirks_probe(&kvm, &q);
	kvm_close(&kvm);
	if (ret) {
		pr_err("probe failed: %s", strerror(-ret));
		return EXIT_VMM_ERROR;
	}
	quirks_describe(&q, line, sizeof(line));
	quirks_kernel_params(&q, params, sizeof(params));
	printf("failing: %s\n", line[0] ? line : "none");
	printf("int3=%d fwait=%d xsave=%d popcnt=%d cx16=%d smap=%d hypercall=%d "
	       "user_syscall=%d\n",
	       q.int3, q.fwait, q.xsave, q.popcnt, q.cx16, q.smap, q.hypercall, q.user_syscall);
	printf("kernel parameters added: %s\n", params[0] ? params : "none");
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	struct vm_config cfg;
	char err[512];
	int ret;

	/*
	 * A fixed mmap threshold: by default glibc raises it to the size of
	 * each mmapped chunk freed (mallopt(3), M_MMAP_THRESHOLD), so from the
	 * second snapshot or migration on, the 1 MiB state blob and page batch
	 * came from a malloc arena and stayed resident after free (+1.1 to
	 * 1.5 MiB that make soak caught). Fixing it also fixes the trim
	 * threshold, so such memory goes back to the kernel.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	ret = config_parse_run(&cfg, argc, argv, err, sizeof(err));
	if (ret == 1)
		return 0;
	if (ret < 0) {
		pr_err("%s", err);
		fputs("Try 'kvmini run --help'.\n", stderr);
		return EXIT_USAGE;
	}
	if (cfg.verbosity > 0)
		log_threshold = cfg.verbosity > 1 ? LOG_DEBUG : LOG_INFO;
	else if (cfg.verbosity < 0)
		log_threshold = LOG_ERR;
	else
		log_threshold = LOG_WARN;
	return vm_run(&cfg);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("kvmini %s\n", KVMINI_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "probe"))
		return cmd_probe(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ctl"))
		return cmd_ctl(argc - 1, argv + 1);
	if (!strcmp(argv[1], "state"))
		return cmd_state(argc - 1, argv + 1);
	pr_err("unknown command '%s'", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
