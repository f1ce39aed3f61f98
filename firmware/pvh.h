/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The PVH boot ABI: struct hvm_start_info, version 1, as Xen's public header
 * xen/include/public/arch-x86/hvm/start_info.h defines it. The kernel's PVH
 * entry point receives its guest-physical address in %ebx.
 */
#ifndef KVMINI_FIRMWARE_PVH_H
#define KVMINI_FIRMWARE_PVH_H

#include <stdint.h>

#include "firmware/firmware.h"

#define XEN_HVM_START_MAGIC_VALUE 0x336ec578
#define HVM_START_INFO_VERSION 1	/* version 1 added the memory map */

/* Memory map entry types: the e820 numbers. */
#define XEN_HVM_MEMMAP_TYPE_RAM 1
#define XEN_HVM_MEMMAP_TYPE_RESERVED 2
#define XEN_HVM_MEMMAP_TYPE_ACPI 3
#define XEN_HVM_MEMMAP_TYPE_NVS 4
#define XEN_HVM_MEMMAP_TYPE_UNUSABLE 5
#define XEN_HVM_MEMMAP_TYPE_DISABLED 6
#define XEN_HVM_MEMMAP_TYPE_PMEM 7

_Static_assert(XEN_HVM_MEMMAP_TYPE_RAM == E820_RAM && XEN_HVM_MEMMAP_TYPE_RESERVED ==
	       E820_RESERVED && XEN_HVM_MEMMAP_TYPE_ACPI == E820_ACPI,
	       "PVH memmap types are the e820 types");

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	/* Version 1 from here on. */
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info v1 is 56 bytes");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry is 32 bytes");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "memmap entry is 24 bytes");

#endif
