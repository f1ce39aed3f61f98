// SPDX-License-Identifier: GPL-2.0
/* PVH start info: magic, version, pointers into the same page, the memory map. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "firmware/firmware.h"
#include "firmware/pvh.h"
#include "vmm/layout.h"

#define MiB (1ULL << 20)

static uint8_t buf[4096];
static struct fw_machine m = { .nr_cpus = 1, .nr_ram = 1, .pci = true,
			       .ram = { { 0, 512 * MiB } } };

static struct hvm_start_info info(void)
{
	struct hvm_start_info si;

	memcpy(&si, buf, sizeof(si));
	return si;
}

/* The structure at guest-physical gpa, which must lie inside the built bytes. */
static const uint8_t *at(uint64_t gpa, size_t len, long used)
{
	cr_assert_geq(gpa, BOOT_PVH_INFO_GPA);
	cr_assert_leq(gpa - BOOT_PVH_INFO_GPA + len, (uint64_t)used, "0x%lx runs past the end",
		      (unsigned long)gpa);
	cr_assert_eq(gpa % 8, 0, "naturally aligned");
	return buf + (gpa - BOOT_PVH_INFO_GPA);
}

Test(pvh, start_info_with_initrd)
{
	struct fw_e820 e[32];
	struct hvm_memmap_table_entry mm;
	struct hvm_modlist_entry mod;
	struct hvm_start_info si;
	int n = fw_e820_build(&m, e, 32), i;
	long used;

	memset(buf, 0xa5, sizeof(buf));
	used = fw_pvh_build(&m, buf, sizeof(buf), BOOT_PVH_INFO_GPA, BOOT_CMDLINE_GPA, 0x8000000,
			    0x123456);
	cr_assert_eq(used, (long)(sizeof(si) + sizeof(mod) + n * sizeof(mm)));
	si = info();
	cr_assert_eq(si.magic, 0x336ec578);
	cr_assert_eq(si.version, 1);
	cr_assert_eq(si.flags, 0);
	cr_assert_eq(si.cmdline_paddr, BOOT_CMDLINE_GPA);
	cr_assert_eq(si.rsdp_paddr, ACPI_TABLES_GPA);
	cr_assert_eq(si.nr_modules, 1);
	cr_assert_eq(si.reserved, 0);
	memcpy(&mod, at(si.modlist_paddr, sizeof(mod), used), sizeof(mod));
	cr_assert_eq(mod.paddr, 0x8000000);
	cr_assert_eq(mod.size, 0x123456);
	cr_assert_eq(mod.cmdline_paddr, 0);
	cr_assert_eq(mod.reserved, 0);

	cr_assert_eq(si.memmap_entries, (uint32_t)n);
	for (i = 0; i < n; i++) {
		memcpy(&mm, at(si.memmap_paddr + i * sizeof(mm), sizeof(mm), used), sizeof(mm));
		cr_assert_eq(mm.addr, e[i].addr);
		cr_assert_eq(mm.size, e[i].size);
		cr_assert_eq(mm.type, e[i].type, "PVH types are the e820 types");
		cr_assert_eq(mm.reserved, 0);
	}
}

Test(pvh, no_initrd_no_module)
{
	struct hvm_start_info si;
	long used = fw_pvh_build(&m, buf, sizeof(buf), BOOT_PVH_INFO_GPA, BOOT_CMDLINE_GPA, 0, 0);

	cr_assert_gt(used, 0);
	si = info();
	cr_assert_eq(si.nr_modules, 0);
	cr_assert_eq(si.modlist_paddr, 0);
	cr_assert_eq(si.memmap_paddr, BOOT_PVH_INFO_GPA + sizeof(si));
}

Test(pvh, errors)
{
	long used = fw_pvh_build(&m, buf, sizeof(buf), BOOT_PVH_INFO_GPA, BOOT_CMDLINE_GPA, 0, 0);
	struct fw_machine bad = m;

	cr_assert_gt(used, 0);
	cr_assert_eq(fw_pvh_build(&m, buf, used - 1, BOOT_PVH_INFO_GPA, 0, 0, 0), -ENOSPC);
	cr_assert_eq(fw_pvh_build(&m, buf, used, BOOT_PVH_INFO_GPA, 0, 0, 0), used);
	bad.nr_ram = 0;
	cr_assert_eq(fw_pvh_build(&bad, buf, sizeof(buf), BOOT_PVH_INFO_GPA, 0, 0, 0), -EINVAL);
}
