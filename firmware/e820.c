// SPDX-License-Identifier: GPL-2.0
/*
 * The e820 memory map: guest RAM with the PC's fixed ranges cut out and
 * typed. The same map feeds the zero page and the PVH memmap.
 */
#include <errno.h>

#include "firmware/firmware.h"
#include "vmm/layout.h"
#include "vmm/memory.h"

/* Ranges that are never RAM to the guest, whatever backs them. */
struct fixed_range {
	uint64_t start;
	uint64_t end;	/* exclusive */
	uint32_t type;
};

#define MAX_FIXED 4

/*
 * Ascending and disjoint. The EBDA and BIOS area are reserved as on a PC;
 * the ACPI tables inside it are typed ACPI so the kernel knows what they
 * are. ECAM must be reserved for Linux to trust the MCFG
 * (arch/x86/pci/mmconfig-shared.c, is_mmconf_reserved()).
 */
static int fixed_ranges(const struct fw_machine *m, struct fixed_range *f)
{
	int n = 0;

	f[n++] = (struct fixed_range){ EBDA_START, ACPI_TABLES_GPA, E820_RESERVED };
	f[n++] = (struct fixed_range){ ACPI_TABLES_GPA, ACPI_TABLES_GPA + ACPI_TABLES_SIZE,
				       E820_ACPI };
	if (ACPI_TABLES_GPA + ACPI_TABLES_SIZE < LEGACY_END)
		f[n++] = (struct fixed_range){ ACPI_TABLES_GPA + ACPI_TABLES_SIZE, LEGACY_END,
					       E820_RESERVED };
	if (m->pci)
		f[n++] = (struct fixed_range){ PCI_ECAM_BASE, PCI_ECAM_BASE + PCI_ECAM_SIZE,
					       E820_RESERVED };
	return n;
}

static int add(struct fw_e820 *out, int *n, int max, uint64_t start, uint64_t end, uint32_t type)
{
	if (*n >= max)
		return -ENOSPC;
	out[*n] = (struct fw_e820){ .addr = start, .size = end - start, .type = type };
	(*n)++;
	return 0;
}

/* Emit [start, end) as RAM minus the fixed ranges. */
static int add_ram(struct fw_e820 *out, int *n, int max, uint64_t start, uint64_t end,
		   const struct fixed_range *f, int nf)
{
	uint64_t cur = start;
	int i, ret;

	for (i = 0; i < nf && cur < end; i++) {
		if (f[i].end <= cur || f[i].start >= end)
			continue;
		if (f[i].start > cur) {
			ret = add(out, n, max, cur, f[i].start, E820_RAM);
			if (ret)
				return ret;
		}
		cur = f[i].end;
	}
	if (cur < end)
		return add(out, n, max, cur, end, E820_RAM);
	return 0;
}

static void sort(struct fw_e820 *e, int n)
{
	struct fw_e820 t;
	int i, j;

	for (i = 1; i < n; i++) {
		t = e[i];
		for (j = i; j > 0 && e[j - 1].addr > t.addr; j--)
			e[j] = e[j - 1];
		e[j] = t;
	}
}

/* Regions ascending, disjoint, non-empty, outside the MMIO hole. */
static int check_ram(const struct fw_machine *m)
{
	unsigned int i;

	if (m->nr_ram == 0 || m->nr_ram > FW_MAX_RAM)
		return -EINVAL;
	for (i = 0; i < m->nr_ram; i++) {
		if (m->ram[i].size == 0 || m->ram[i].gpa + m->ram[i].size < m->ram[i].gpa)
			return -EINVAL;
		if (i && m->ram[i].gpa < m->ram[i - 1].gpa + m->ram[i - 1].size)
			return -EINVAL;
		/* RAM in the MMIO hole would shadow ECAM, the IOAPIC and the LAPIC. */
		if (m->ram[i].gpa < GUEST_MEM_HOLE_END &&
		    m->ram[i].gpa + m->ram[i].size > GUEST_MEM_HOLE_START)
			return -EINVAL;
	}
	return 0;
}

int fw_e820_build(const struct fw_machine *m, struct fw_e820 *out, int max)
{
	struct fixed_range f[MAX_FIXED];
	int nf, n = 0, i, ret;
	unsigned int r;

	ret = check_ram(m);
	if (ret)
		return ret;
	nf = fixed_ranges(m, f);
	for (r = 0; r < m->nr_ram; r++) {
		ret = add_ram(out, &n, max, m->ram[r].gpa, m->ram[r].gpa + m->ram[r].size, f, nf);
		if (ret)
			return ret;
	}
	for (i = 0; i < nf; i++) {
		ret = add(out, &n, max, f[i].start, f[i].end, f[i].type);
		if (ret)
			return ret;
	}
	sort(out, n);
	return n;
}
