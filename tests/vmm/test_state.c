// SPDX-License-Identifier: GPL-2.0
/*
 * state_check(): the gate every received blob passes before anything reads
 * it. A blob kvmini wrote passes; a header that libfdt would misread does not.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <libfdt.h>

#include "vmm/state.h"

static uint64_t blob[256]; /* libfdt wants 8-byte alignment */

static size_t make_blob(void)
{
	cr_assert_eq(state_begin(blob, sizeof(blob)), 0);
	cr_assert_eq(state_node_begin(blob, "uart"), 0);
	cr_assert_eq(state_put_u32(blob, "lcr", 3), 0);
	cr_assert_eq(state_node_end(blob), 0);
	cr_assert_eq(state_finish(blob), 0);
	return fdt_totalsize(blob);
}

Test(state, a_blob_kvmini_wrote_passes)
{
	size_t len = make_blob();

	cr_assert_eq(state_check(blob, len), 0, "%s", state_error());
}

/*
 * Version 15 with a root name lacking '/': libfdt 1.6.1's fdt_check_full()
 * crashes on it (NULL from fdt_get_name()), so the version is refused first.
 */
Test(state, an_old_device_tree_version_is_refused_before_libfdt_reads_it)
{
	size_t len = make_blob();

	fdt_set_version(blob, 15);
	fdt_set_last_comp_version(blob, 15);
	cr_assert_eq(state_check(blob, len), -EINVAL);
	cr_assert_not_null(strstr(state_error(), "version 15"), "%s", state_error());
}

Test(state, a_newer_device_tree_version_is_refused)
{
	size_t len = make_blob();

	fdt_set_version(blob, 18);
	cr_assert_eq(state_check(blob, len), -EINVAL);
	cr_assert_not_null(strstr(state_error(), "version 18"), "%s", state_error());
}

Test(state, a_size_that_disagrees_with_the_header_is_refused)
{
	size_t len = make_blob();

	cr_assert_eq(state_check(blob, len - 4), -EINVAL);
	cr_assert_not_null(strstr(state_error(), "arrived"), "%s", state_error());
}

/* Node names are the peer's bytes: an error naming one stays one line. */
Test(state, an_error_naming_a_node_is_one_printable_line)
{
	char name[] = "cpu@1\nx\x1b[2J";
	int node;

	cr_assert_eq(state_begin(blob, sizeof(blob)), 0);
	cr_assert_eq(state_node_begin(blob, name), 0);
	cr_assert_eq(state_node_end(blob), 0);
	cr_assert_eq(state_finish(blob), 0);
	cr_assert_eq(state_check(blob, fdt_totalsize(blob)), 0, "%s", state_error());
	node = fdt_subnode_offset(blob, 0, name);
	cr_assert_geq(node, 0);
	cr_assert_eq(state_get_u32(blob, node, "regs", &(uint32_t){0}), -EINVAL);
	cr_assert_str_eq(state_error(), "state: cpu@1?x?[2J has no property 'regs'");
}
