// SPDX-License-Identifier: GPL-2.0
/*
 * PVH start info: struct hvm_start_info, then the module list (the initrd,
 * if any), then the memory map, all in one buffer placed at gpa.
 */
#include <errno.h>
#include <string.h>

#include "firmware/firmware.h"
#include "firmware/pvh.h"
#include "vmm/layout.h"

#define PVH_MAX_MEMMAP 32

long fw_pvh_build(const struct fw_machine *m, uint8_t *buf, size_t size, uint64_t gpa,
		  uint64_t cmdline_gpa, uint64_t initrd_gpa, uint64_t initrd_size)
{
	struct hvm_start_info si = {
		.magic = XEN_HVM_START_MAGIC_VALUE,
		.version = HVM_START_INFO_VERSION,
		.cmdline_paddr = cmdline_gpa,
		.rsdp_paddr = ACPI_TABLES_GPA,
	};
	struct hvm_modlist_entry mod = { .paddr = initrd_gpa, .size = initrd_size };
	struct hvm_memmap_table_entry mm;
	struct fw_e820 e820[PVH_MAX_MEMMAP];
	size_t off = sizeof(si), len;
	int n, i;

	n = fw_e820_build(m, e820, PVH_MAX_MEMMAP);
	if (n < 0)
		return n;
	len = sizeof(si) + (initrd_size ? sizeof(mod) : 0) + n * sizeof(mm);
	if (size < len)
		return -ENOSPC;
	if (gpa + len < gpa)
		return -EINVAL;
	memset(buf, 0, len);

	/* Entries are 8-byte multiples, so every array stays naturally aligned. */
	if (initrd_size) {
		si.nr_modules = 1;
		si.modlist_paddr = gpa + off;
		memcpy(buf + off, &mod, sizeof(mod));
		off += sizeof(mod);
	}
	si.memmap_paddr = gpa + off;
	si.memmap_entries = n;
	for (i = 0; i < n; i++) {
		mm = (struct hvm_memmap_table_entry){
			.addr = e820[i].addr,
			.size = e820[i].size,
			.type = e820[i].type,
		};
		memcpy(buf + off, &mm, sizeof(mm));
		off += sizeof(mm);
	}
	memcpy(buf, &si, sizeof(si));
	return off;
}
