// SPDX-License-Identifier: GPL-2.0
/*
 * kvmini state show FILE: a snapshot (or a saved migration stream) as text:
 * its records, the guest configuration and the machine state node by node.
 * kvmini state dtb FILE [config|state]: one blob as is, for dtc.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libfdt.h>

#include "exitcode.h"
#include "log.h"
#include "migrate_stream.h"
#include "state.h"
#include "state_show.h"

#define SHOW_BYTES 64	/* blob bytes printed before "..." */

static bool is_string(const char *p, int len)
{
	int i;

	if (len < 2 || p[len - 1])
		return false;
	for (i = 0; i < len - 1; i++)
		if (!isprint((unsigned char)p[i]))
			return false;
	return true;
}

static void show_prop(const char *name, const void *val, int len, int depth)
{
	const uint8_t *b = val;
	int i;

	printf("%*s%s = ", depth * 2, "", name);
	if (is_string(val, len)) {
		printf("\"%s\"\n", (const char *)val);
	} else if (len == 4) {
		uint32_t v = fdt32_to_cpu(*(const fdt32_t *)val);

		printf("%u (%#x)\n", v, v);
	} else if (len == 8) {
		/* Properties are 4-byte aligned only (devicetree spec 5.4): copy, do not load. */
		fdt64_t be;
		uint64_t v;

		memcpy(&be, val, sizeof(be));
		v = fdt64_to_cpu(be);

		printf("%llu (%#llx)\n", (unsigned long long)v, (unsigned long long)v);
	} else {
		printf("[%d bytes]", len);
		for (i = 0; i < len && i < SHOW_BYTES; i++)
			printf("%s%02x", i % 16 ? " " : "\n" "    ", b[i]);
		printf("%s\n", len > SHOW_BYTES ? " ..." : "");
	}
}

static void show_node(const void *fdt, int node, int depth)
{
	int prop, child;

	printf("%*s%s {\n", depth * 2, "", depth ? fdt_get_name(fdt, node, NULL) : "/");
	fdt_for_each_property_offset(prop, fdt, node) {
		const char *name;
		int len;
		const void *val = fdt_getprop_by_offset(fdt, prop, &name, &len);

		if (val)
			show_prop(name, val, len, depth + 1);
	}
	fdt_for_each_subnode(child, fdt, node)
		show_node(fdt, child, depth + 1);
	printf("%*s}\n", depth * 2, "");
}

static int usage(FILE *f, int status)
{
	fputs("Usage: kvmini state show FILE\n"
	      "       kvmini state dtb FILE [config|state] > OUT.dtb\n"
	      "Print a snapshot written by 'kvmini ctl PATH snapshot FILE': its records, the\n"
	      "guest configuration and the machine state. 'dtb' writes one state blob as a\n"
	      "flattened device tree, for 'dtc -I dtb -O dts'.\n",
	      f);
	return status;
}

static int walk(const char *path, const char *want, bool show)
{
	struct mig_stream s = { .fd = -1 };
	unsigned long long pages = 0, zeros = 0, records = 0;
	struct mig_rec_hdr h;
	void *buf = NULL;
	size_t cap = 0;
	int ret;

	s.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s.fd < 0) {
		pr_err("%s: %s", path, strerror(errno));
		return EXIT_VMM_ERROR;
	}
	ret = mig_read_header(&s);
	while (!ret) {
		ret = mig_read_record(&s, &h, &buf, &cap);
		if (ret)
			break;
		records++;
		if ((h.type == MIG_PAGES || h.type == MIG_ZEROS) && h.len >= 8) {
			uint64_t n;

			memcpy(&n, buf, 8);
			*(h.type == MIG_PAGES ? &pages : &zeros) += n;
			continue;
		}
		if (h.type != MIG_CONFIG && h.type != MIG_STATE) {
			if (show)
				printf("record %s (%llu bytes)\n", mig_record_name(h.type),
				       (unsigned long long)h.len);
			continue;
		}
		if (state_check(buf, h.len)) {
			pr_err("%s: %s record: %s", path, mig_record_name(h.type), state_error());
			ret = -EPROTO;
			break;
		}
		if (!show) {
			if (!strcmp(want, h.type == MIG_CONFIG ? "config" : "state")) {
				ret = fwrite(buf, 1, h.len, stdout) == h.len ? 0 : -EIO;
				goto out;
			}
			continue;
		}
		printf("%s (%llu bytes)\n", h.type == MIG_CONFIG ? "configuration" : "machine state",
		       (unsigned long long)h.len);
		show_node(buf, 0, 0);
	}
	if (ret == -EPIPE) {
		ret = 0;
		if (show)
			printf("%llu records, %llu pages with data, %llu zero pages, %llu bytes\n",
			       records, pages, zeros, (unsigned long long)s.bytes);
		else
			pr_err("%s: no %s record", path, want);
		if (!show)
			ret = -ENOENT;
	} else if (ret) {
		pr_err("%s: %s", path, s.err[0] ? s.err : strerror(-ret));
	}
out:
	free(buf);
	close(s.fd);
	return ret ? EXIT_VMM_ERROR : 0;
}

int cmd_state(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return usage(stdout, 0);
	if (argc == 3 && !strcmp(argv[1], "show"))
		return walk(argv[2], NULL, true);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "dtb")) {
		const char *which = argc == 4 ? argv[3] : "state";

		if (strcmp(which, "config") && strcmp(which, "state")) {
			pr_err("state dtb: '%s' is not config or state", which);
			return EXIT_USAGE;
		}
		return walk(argv[2], which, false);
	}
	pr_err("state: expected 'show FILE' or 'dtb FILE [config|state]'");
	return usage(stderr, EXIT_USAGE);
}
