// SPDX-License-Identifier: GPL-2.0
/* The e820 map: sorted, disjoint, RAM where RAM is, the fixed ranges typed. */
#include <criterion/criterion.h>
#include <errno.h>

#include "firmware/firmware.h"
#include "vmm/layout.h"
#include "vmm/memory.h"

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)

static struct fw_e820 e[32];

/* The one-region machine of 512 MiB and the split one (3 GiB below the hole, 1 above). */
static struct fw_machine one(bool pci)
{
	struct fw_machine m = { .nr_cpus = 1, .nr_ram = 1, .pci = pci };

	m.ram[0] = (struct fw_ram){ 0, 512 * MiB };
	return m;
}

static struct fw_machine split(bool pci)
{
	struct fw_machine m = { .nr_cpus = 1, .nr_ram = 2, .pci = pci };

	m.ram[0] = (struct fw_ram){ 0, GUEST_MEM_HOLE_START };
	m.ram[1] = (struct fw_ram){ GUEST_MEM_HOLE_END, 1 * GiB };
	return m;
}

static void assert_sorted_disjoint(int n)
{
	int i;

	cr_assert_gt(n, 0);
	for (i = 0; i < n; i++) {
		cr_assert_gt(e[i].size, 0, "entry %d is empty", i);
		if (i)
			cr_assert_leq(e[i - 1].addr + e[i - 1].size, e[i].addr,
				      "entries %d and %d overlap or are unsorted", i - 1, i);
	}
}

/* Type of the entry covering [addr, addr + len) entirely, 0 when none does. */
static uint32_t type_of(int n, uint64_t addr, uint64_t len)
{
	int i;

	for (i = 0; i < n; i++)
		if (e[i].addr <= addr && addr + len <= e[i].addr + e[i].size)
			return e[i].type;
	return 0;
}

static uint64_t ram_total(int n)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < n; i++)
		if (e[i].type == E820_RAM)
			sum += e[i].size;
	return sum;
}

Test(e820, one_region_exact_map)
{
	struct fw_machine m = one(true);
	int n = fw_e820_build(&m, e, 32);

	cr_assert_eq(n, 5);
	assert_sorted_disjoint(n);
	cr_assert_eq(e[0].addr, 0);
	cr_assert_eq(e[0].size, EBDA_START);
	cr_assert_eq(e[0].type, E820_RAM);
	cr_assert_eq(e[1].addr, EBDA_START);
	cr_assert_eq(e[1].type, E820_RESERVED);
	cr_assert_eq(e[2].addr, ACPI_TABLES_GPA);
	cr_assert_eq(e[2].size, ACPI_TABLES_SIZE);
	cr_assert_eq(e[2].type, E820_ACPI);
	cr_assert_eq(e[3].addr, LEGACY_END);
	cr_assert_eq(e[3].size, 512 * MiB - LEGACY_END);
	cr_assert_eq(e[3].type, E820_RAM);
	cr_assert_eq(e[4].addr, PCI_ECAM_BASE);
	cr_assert_eq(e[4].size, PCI_ECAM_SIZE);
	cr_assert_eq(e[4].type, E820_RESERVED);
}

Test(e820, legacy_hole_is_never_ram)
{
	struct fw_machine m = one(false);
	int n = fw_e820_build(&m, e, 32);

	assert_sorted_disjoint(n);
	cr_assert_eq(type_of(n, EBDA_START, LEGACY_END - EBDA_START - ACPI_TABLES_SIZE),
		     E820_RESERVED);
	cr_assert_eq(type_of(n, ACPI_TABLES_GPA, ACPI_TABLES_SIZE), E820_ACPI);
	cr_assert_eq(type_of(n, 0, EBDA_START), E820_RAM);
	cr_assert_eq(type_of(n, KERNEL_LOAD_GPA, 64 * MiB), E820_RAM);
	cr_assert_eq(ram_total(n), 512 * MiB - (LEGACY_END - EBDA_START));
}

Test(e820, ecam_reserved_only_with_pci)
{
	struct fw_machine m = split(false);
	int n = fw_e820_build(&m, e, 32);

	assert_sorted_disjoint(n);
	cr_assert_eq(type_of(n, PCI_ECAM_BASE, 1), 0, "no ECAM entry without PCI");
	m.pci = true;
	n = fw_e820_build(&m, e, 32);
	assert_sorted_disjoint(n);
	cr_assert_eq(type_of(n, PCI_ECAM_BASE, PCI_ECAM_SIZE), E820_RESERVED);
}

Test(e820, two_regions_split_around_the_hole)
{
	struct fw_machine m = split(true);
	int n = fw_e820_build(&m, e, 32), i;

	cr_assert_eq(n, 6);
	assert_sorted_disjoint(n);
	cr_assert_eq(type_of(n, LEGACY_END, GUEST_MEM_HOLE_START - LEGACY_END), E820_RAM);
	cr_assert_eq(type_of(n, GUEST_MEM_HOLE_END, 1 * GiB), E820_RAM);
	cr_assert_eq(e[n - 1].addr, GUEST_MEM_HOLE_END, "RAM above 4 GiB comes last");
	cr_assert_eq(ram_total(n), GUEST_MEM_HOLE_START + 1 * GiB - (LEGACY_END - EBDA_START));
	for (i = 0; i < n; i++) {
		if (e[i].type != E820_RAM)
			continue;
		cr_assert(e[i].addr + e[i].size <= GUEST_MEM_HOLE_START ||
			  e[i].addr >= GUEST_MEM_HOLE_END, "RAM in the MMIO hole");
	}
}

Test(e820, too_small_output)
{
	struct fw_machine m = split(true);

	cr_assert_eq(fw_e820_build(&m, e, 5), -ENOSPC);
	cr_assert_eq(fw_e820_build(&m, e, 0), -ENOSPC);
	cr_assert_eq(fw_e820_build(&m, e, 6), 6);
}

Test(e820, bad_ram_is_rejected)
{
	struct fw_machine m = split(true);

	m.ram[1].gpa = GUEST_MEM_HOLE_START - 4096;
	cr_assert_eq(fw_e820_build(&m, e, 32), -EINVAL, "overlapping regions");
	m = one(true);
	m.ram[0].size = GUEST_MEM_HOLE_START + 4096;
	cr_assert_eq(fw_e820_build(&m, e, 32), -EINVAL, "RAM in the hole");
	m = split(true);
	m.ram[0] = m.ram[1];
	m.ram[1] = (struct fw_ram){ 0, 64 * MiB };
	cr_assert_eq(fw_e820_build(&m, e, 32), -EINVAL, "unsorted");
	m = one(true);
	m.nr_ram = 0;
	cr_assert_eq(fw_e820_build(&m, e, 32), -EINVAL);
	m = one(true);
	m.ram[0].size = 0;
	cr_assert_eq(fw_e820_build(&m, e, 32), -EINVAL);
}
