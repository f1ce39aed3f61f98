// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the command line of `kvmini run` (config_parse_run()).
 * The input, split at NUL bytes, is argv after "run". Checked:
 *   - the result is 0, 1 (--help) or -EINVAL;
 *   - on -EINVAL, err holds one non-empty line (a newline is allowed only
 *     when an argument brought one: messages quote the offending word);
 *   - on 0, the configuration is within the documented limits and the
 *     strings it holds point into argv;
 *   - parsing the same argv again (getopt's state is global) gives the same
 *     result, and a tiny err buffer is never overrun.
 * A violation is __builtin_trap().
 *
 *   make fuzz-build && build/fuzz/fuzz_cmdline -max_total_time=60 \
 *	tests/fuzz/corpus/fuzz_cmdline
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/config.h"

#define CHECK(cond)                        \
	do {                               \
		if (!(cond))               \
			__builtin_trap();  \
	} while (0)

#define MAX_ARGS 64
#define ERR_LEN 256

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* --help prints the usage to stdout: keep the fuzzer's output readable. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd = open("/dev/null", O_WRONLY);

	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	return 0;
}

static bool points_into(const char *p, char *const *argv, int argc)
{
	int i;

	for (i = 1; i < argc; i++)
		if (p >= argv[i] && p <= argv[i] + strlen(argv[i]))
			return true;
	return false;
}

static bool says_off(char *const *argv, int argc)
{
	size_t n;
	int i;

	for (i = 0; i < argc; i++) {
		n = strlen(argv[i]);
		if (n >= 3 && !strcmp(argv[i] + n - 3, "off"))
			return true;
	}
	return false;
}

static void check_config(const struct vm_config *cfg, char *const *argv, int argc)
{
	unsigned int i;

	/* A guest that arrives by migration or from a snapshot has no kernel. */
	if (cfg->incoming || cfg->restore) {
		CHECK(!cfg->kernel && !(cfg->incoming && cfg->restore));
		CHECK(!cfg->incoming || points_into(cfg->incoming, argv, argc));
		CHECK(!cfg->restore || (*cfg->restore && points_into(cfg->restore, argv, argc)));
	} else {
		CHECK(cfg->kernel && points_into(cfg->kernel, argv, argc));
	}
	CHECK(!cfg->api_socket || points_into(cfg->api_socket, argv, argc));
	CHECK(!cfg->initrd || points_into(cfg->initrd, argv, argc));
	CHECK(!cfg->cmdline || points_into(cfg->cmdline, argv, argc));
	CHECK(cfg->mem_size >= CONFIG_MIN_MEM && cfg->mem_size <= CONFIG_MAX_MEM);
	CHECK(!(cfg->mem_size & ((1ULL << 20) - 1)));
	CHECK(cfg->nr_cpus >= 1 && cfg->nr_cpus <= 4096);
	CHECK(cfg->console <= CONSOLE_NONE && cfg->quirks <= QUIRKS_OFF);
	if (cfg->console == CONSOLE_FILE)
		CHECK(cfg->console_path && *cfg->console_path &&
		      points_into(cfg->console_path, argv, argc));
	CHECK(cfg->nr_nics <= CONFIG_MAX_NICS);
	/* The filters come off only when asked: some argument says off. */
	if (cfg->seccomp != CONFIG_SECCOMP_DEFAULT)
		CHECK(says_off(argv, argc));
	for (i = 0; i < cfg->nr_nics; i++) {
		const struct net_config *nc = &cfg->nics[i];

		CHECK(nc->kind == NET_KIND_TAP || nc->kind == NET_KIND_USER);
		CHECK(nc->queues >= 1 && nc->queues <= NET_MAX_QUEUES);
		CHECK(nc->nr_hostfwd <= NET_MAX_HOSTFWD);
		if (nc->kind == NET_KIND_TAP)
			CHECK(nc->ifname[0] && strnlen(nc->ifname, IFNAMSIZ) < IFNAMSIZ);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config *cfg = malloc(sizeof(*cfg)), *again = malloc(sizeof(*again));
	char *buf = malloc(size + 1), *argv[MAX_ARGS + 2], *err = malloc(ERR_LEN);
	char *err2 = malloc(ERR_LEN), *tiny = malloc(8);
	bool nl_in_args = false;
	int argc = 1, ret, ret2;
	size_t i, len;

	CHECK(cfg && again && buf && err && err2 && tiny);
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = "run";
	for (i = 0; i < size + 1 && argc <= MAX_ARGS; i += strlen(buf + i) + 1) {
		/* A trailing NUL ends the input, not an empty last word. */
		if (i == size)
			break;
		argv[argc++] = buf + i;
	}
	argv[argc] = NULL;
	for (i = 1; i < (size_t)argc; i++)
		if (strchr(argv[i], '\n'))
			nl_in_args = true;

	memset(err, 0, ERR_LEN);
	ret = config_parse_run(cfg, argc, argv, err, ERR_LEN);
	CHECK(ret == 0 || ret == 1 || ret == -EINVAL);
	if (ret == -EINVAL) {
		len = strnlen(err, ERR_LEN);
		CHECK(len > 0 && len < ERR_LEN);
		CHECK(nl_in_args || !memchr(err, '\n', len));
	} else if (ret == 0) {
		check_config(cfg, argv, argc);
	}

	/* Again: the same answer, the same message. */
	memset(err2, 0, ERR_LEN);
	ret2 = config_parse_run(again, argc, argv, err2, ERR_LEN);
	CHECK(ret2 == ret);
	if (ret == -EINVAL)
		CHECK(!strcmp(err, err2));
	else if (ret == 0)
		CHECK(!memcmp(cfg, again, sizeof(*cfg)));

	/* A short err buffer is truncated, never overrun (ASan watches). */
	if (ret == -EINVAL) {
		CHECK(config_parse_run(again, argc, argv, tiny, 8) == -EINVAL);
		CHECK(strnlen(tiny, 8) < 8);
	}
	free(cfg);
	free(again);
	free(buf);
	free(err);
	free(err2);
	free(tiny);
	return 0;
}
