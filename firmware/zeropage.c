// SPDX-License-Identifier: GPL-2.0
/*
 * The zero page (struct boot_params) for the Linux x86 boot protocol,
 * Documentation/x86/boot.rst in the kernel tree: the kernel's own setup
 * header, then what a boot loader writes into it, then the e820 map and the
 * RSDP address.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <asm/bootparam.h>

#include "firmware/firmware.h"
#include "vmm/layout.h"

#define HDR_OFFSET 0x1f1		/* where the setup header starts in the image */
#define HDR_LEN_BYTE 0x201		/* its length: 0x202 + this byte - 0x1f1 */
#define HDR_MAGIC 0x53726448		/* "HdrS" */
#define BOOT_FLAG 0xaa55
#define LOADER_UNDEFINED 0xff		/* type_of_loader: not an assigned ID */
/* Room the zero page has for the header: it runs up to the EDD buffer at 0x290. */
#define HDR_ROOM (offsetof(struct boot_params, edd_mbr_sig_buffer) - HDR_OFFSET)
/*
 * heap_end_ptr counts from the start of the real-mode code minus 0x200;
 * with nothing of ours in that 64 KiB segment the heap may use all of it.
 */
#define HEAP_END 0xfe00

_Static_assert(offsetof(struct boot_params, hdr) == HDR_OFFSET, "setup header at 0x1f1");
_Static_assert(sizeof(struct boot_params) == 4096, "the zero page is a page");

/*
 * Copy exactly the header the kernel declares, no more: bytes past its end
 * belong to fields the kernel does not know and must stay zero.
 */
static int copy_header(struct boot_params *bp, const uint8_t *hdr, size_t len)
{
	size_t hdr_len;

	if (len <= HDR_LEN_BYTE - HDR_OFFSET)
		return -EINVAL;
	hdr_len = 0x202 + hdr[HDR_LEN_BYTE - HDR_OFFSET] - HDR_OFFSET;
	if (len < hdr_len)
		return -EINVAL;
	if (hdr_len > HDR_ROOM)
		hdr_len = HDR_ROOM;
	memcpy(&bp->hdr, hdr, hdr_len);
	if (bp->hdr.header != HDR_MAGIC || bp->hdr.boot_flag != BOOT_FLAG)
		return -EINVAL;
	/* 2.06 added cmdline_size, the last field this code relies on. */
	if (bp->hdr.version < 0x0206)
		return -EINVAL;
	return 0;
}

/*
 * A kernel without a setup header (an ELF vmlinux entered at its 64-bit
 * entry point) still reads boot_params: announce protocol 2.12, as the
 * kernel's own PVH entry does for itself (arch/x86/platform/pvh/enlighten.c).
 */
static void synth_header(struct boot_params *bp)
{
	bp->hdr.boot_flag = BOOT_FLAG;
	bp->hdr.header = HDR_MAGIC;
	bp->hdr.version = 0x020c;
	bp->hdr.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	bp->hdr.initrd_addr_max = UINT32_MAX;
	bp->hdr.cmdline_size = BOOT_CMDLINE_MAX - 1;
}

/* The header's limits on what the loader places (boot.rst: cmdline_size, initrd_addr_max). */
static int check_placement(const struct setup_header *h, uint32_t cmdline_len,
			   uint64_t cmdline_gpa, uint64_t initrd_gpa, uint64_t initrd_size)
{
	bool above_4g = h->xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G;

	if (cmdline_gpa && cmdline_len > h->cmdline_size)
		return -E2BIG;
	if (cmdline_gpa + cmdline_len > UINT32_MAX && !above_4g)
		return -EINVAL;
	if (initrd_size) {
		if (initrd_gpa + initrd_size < initrd_gpa)
			return -EINVAL;
		if (initrd_gpa + initrd_size - 1 > h->initrd_addr_max && !above_4g)
			return -EINVAL;
	}
	return 0;
}

int fw_zeropage_build(struct boot_params *bp, const struct fw_machine *m, const void *setup_hdr,
		      size_t setup_hdr_len, uint64_t cmdline_gpa, uint32_t cmdline_len,
		      uint64_t initrd_gpa, uint64_t initrd_size)
{
	struct fw_e820 e820[E820_MAX_ENTRIES_ZEROPAGE];
	int n, i, ret;

	memset(bp, 0, sizeof(*bp));
	if (setup_hdr) {
		ret = copy_header(bp, setup_hdr, setup_hdr_len);
		if (ret)
			goto fail;
	} else {
		synth_header(bp);
	}
	ret = check_placement(&bp->hdr, cmdline_len, cmdline_gpa, initrd_gpa, initrd_size);
	if (ret)
		goto fail;

	bp->hdr.type_of_loader = LOADER_UNDEFINED;
	bp->hdr.loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = HEAP_END;
	bp->hdr.cmd_line_ptr = (uint32_t)cmdline_gpa;
	bp->ext_cmd_line_ptr = cmdline_gpa >> 32;
	bp->hdr.ramdisk_image = (uint32_t)initrd_gpa;
	bp->ext_ramdisk_image = initrd_gpa >> 32;
	bp->hdr.ramdisk_size = (uint32_t)initrd_size;
	bp->ext_ramdisk_size = initrd_size >> 32;
	/* Read by protocol 2.14+ kernels; older ones scan 0xe0000-0xfffff and find it there. */
	bp->acpi_rsdp_addr = ACPI_TABLES_GPA;

	n = fw_e820_build(m, e820, E820_MAX_ENTRIES_ZEROPAGE);
	if (n < 0) {
		ret = n;
		goto fail;
	}
	for (i = 0; i < n; i++) {
		bp->e820_table[i].addr = e820[i].addr;
		bp->e820_table[i].size = e820[i].size;
		bp->e820_table[i].type = e820[i].type;
	}
	bp->e820_entries = n;
	return 0;

fail:
	memset(bp, 0, sizeof(*bp));
	return ret;
}
