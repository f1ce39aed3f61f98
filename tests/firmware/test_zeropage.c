// SPDX-License-Identifier: GPL-2.0
/* The zero page: the kernel's header copied as far as it reaches, the loader's fields set. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <asm/bootparam.h>

#include "firmware/firmware.h"
#include "vmm/layout.h"

#define HDR 0x1f1
#define MiB (1ULL << 20)

static uint8_t image[0x400];	/* the start of a bzImage */
static struct boot_params bp;
static struct fw_machine m = { .nr_cpus = 1, .nr_ram = 1, .ram = { { 0, 512 * MiB } } };

static struct setup_header *hdr(void)
{
	return (struct setup_header *)(image + HDR);
}

/*
 * A protocol 2.15 header ending at 0x268 (before kernel_info_offset), with
 * every byte after it set: none of them may reach the zero page.
 */
static void make_image(void)
{
	memset(image, 0, sizeof(image));
	memset(image + 0x268, 0xaa, sizeof(image) - 0x268);
	hdr()->boot_flag = 0xaa55;
	hdr()->header = 0x53726448;
	hdr()->version = 0x020f;
	hdr()->jump = 0xeb | ((0x268 - 0x202) << 8);	/* jmp over the header */
	hdr()->setup_sects = 27;
	hdr()->loadflags = LOADED_HIGH;
	hdr()->cmdline_size = 2047;
	hdr()->initrd_addr_max = 0x7fffffff;
	hdr()->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	hdr()->init_size = 0x1234567;
	memset(&bp, 0x55, sizeof(bp));
}

static int build(uint64_t cmdline, uint32_t cmdline_len, uint64_t initrd, uint64_t initrd_size)
{
	return fw_zeropage_build(&bp, &m, image + HDR, sizeof(image) - HDR, cmdline, cmdline_len,
				 initrd, initrd_size);
}

TestSuite(zeropage, .init = make_image);

Test(zeropage, loader_fields)
{
	cr_assert_eq(build(BOOT_CMDLINE_GPA, 100, 0x10000000, 0x345678), 0);
	cr_assert_eq(bp.hdr.type_of_loader, 0xff);
	cr_assert_eq(bp.hdr.loadflags & (LOADED_HIGH | CAN_USE_HEAP), LOADED_HIGH | CAN_USE_HEAP);
	cr_assert_neq(bp.hdr.heap_end_ptr, 0);
	cr_assert_eq(bp.hdr.cmd_line_ptr, BOOT_CMDLINE_GPA);
	cr_assert_eq(bp.ext_cmd_line_ptr, 0);
	cr_assert_eq(bp.hdr.ramdisk_image, 0x10000000);
	cr_assert_eq(bp.hdr.ramdisk_size, 0x345678);
	cr_assert_eq(bp.ext_ramdisk_image, 0);
	cr_assert_eq(bp.ext_ramdisk_size, 0);
	cr_assert_eq(bp.acpi_rsdp_addr, ACPI_TABLES_GPA);
	cr_assert_eq(bp.sentinel, 0, "the rest of the page is zeroed");
}

Test(zeropage, header_copied_only_as_far_as_it_says)
{
	const uint8_t *page = (const uint8_t *)&bp;
	size_t i;

	cr_assert_eq(build(BOOT_CMDLINE_GPA, 10, 0, 0), 0);
	cr_assert_eq(bp.hdr.version, 0x020f);
	cr_assert_eq(bp.hdr.setup_sects, 27);
	cr_assert_eq(bp.hdr.init_size, 0x1234567, "last field inside the header");
	cr_assert_eq(bp.hdr.kernel_info_offset, 0, "first field past the header");
	for (i = 0x268; i < 0x290; i++)
		cr_assert_eq(page[i], 0, "byte 0x%zx past the header copied", i);

	/* A header that says it is longer brings its extra field along. */
	make_image();
	hdr()->jump = 0xeb | ((0x26c - 0x202) << 8);
	cr_assert_eq(build(BOOT_CMDLINE_GPA, 10, 0, 0), 0);
	cr_assert_eq(bp.hdr.kernel_info_offset, 0xaaaaaaaa);
	cr_assert_eq(page[0x26c], 0);
}

Test(zeropage, e820_copied)
{
	struct fw_e820 e[E820_MAX_ENTRIES_ZEROPAGE];
	int n = fw_e820_build(&m, e, E820_MAX_ENTRIES_ZEROPAGE), i;

	cr_assert_gt(n, 0);
	cr_assert_eq(build(BOOT_CMDLINE_GPA, 10, 0, 0), 0);
	cr_assert_eq(bp.e820_entries, n);
	for (i = 0; i < n; i++) {
		cr_assert_eq(bp.e820_table[i].addr, e[i].addr);
		cr_assert_eq(bp.e820_table[i].size, e[i].size);
		cr_assert_eq(bp.e820_table[i].type, e[i].type);
	}
	cr_assert_eq(bp.e820_table[n].size, 0);
}

Test(zeropage, addresses_above_4g_use_the_ext_fields)
{
	cr_assert_eq(build(0x123456789ULL, 10, 0x200000000ULL, 0x100000001ULL), 0);
	cr_assert_eq(bp.hdr.cmd_line_ptr, 0x23456789);
	cr_assert_eq(bp.ext_cmd_line_ptr, 1);
	cr_assert_eq(bp.hdr.ramdisk_image, 0);
	cr_assert_eq(bp.ext_ramdisk_image, 2);
	cr_assert_eq(bp.hdr.ramdisk_size, 1);
	cr_assert_eq(bp.ext_ramdisk_size, 1);

	/* Without XLF_CAN_BE_LOADED_ABOVE_4G the kernel cannot take them. */
	make_image();
	hdr()->xloadflags = XLF_KERNEL_64;
	cr_assert_eq(build(0x123456789ULL, 10, 0, 0), -EINVAL);
	cr_assert_eq(build(BOOT_CMDLINE_GPA, 10, 0x7ff00000, 0x200000), -EINVAL,
		     "initrd past initrd_addr_max");
	cr_assert_eq(build(BOOT_CMDLINE_GPA, 10, 0x7fe00000, 0x200000), 0, "initrd just fits");
}

Test(zeropage, bad_headers)
{
	hdr()->header = 0x12345678;
	cr_assert_eq(build(BOOT_CMDLINE_GPA, 10, 0, 0), -EINVAL, "no HdrS");
	make_image();
	hdr()->version = 0x0205;
	cr_assert_eq(build(BOOT_CMDLINE_GPA, 10, 0, 0), -EINVAL, "protocol too old");
	make_image();
	cr_assert_eq(fw_zeropage_build(&bp, &m, image + HDR, 0x268 - HDR - 1, 0, 0, 0, 0),
		     -EINVAL, "truncated header");
	cr_assert_eq(fw_zeropage_build(&bp, &m, image + HDR, 0x268 - HDR, 0, 0, 0, 0), 0,
		     "exactly the header");
	cr_assert_eq(build(BOOT_CMDLINE_GPA, 2048, 0, 0), -E2BIG, "cmdline_size is 2047");
	cr_assert_eq(build(BOOT_CMDLINE_GPA, 2047, 0, 0), 0);
}

Test(zeropage, no_header)
{
	cr_assert_eq(fw_zeropage_build(&bp, &m, NULL, 0, BOOT_CMDLINE_GPA, 10, 0, 0), 0);
	cr_assert_eq(bp.hdr.boot_flag, 0xaa55);
	cr_assert_eq(bp.hdr.header, 0x53726448);
	cr_assert_geq(bp.hdr.version, 0x020c);
	cr_assert_eq(bp.hdr.cmd_line_ptr, BOOT_CMDLINE_GPA);
	cr_assert_eq(bp.acpi_rsdp_addr, ACPI_TABLES_GPA);
	cr_assert_gt(bp.e820_entries, 0);
}
