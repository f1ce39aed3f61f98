/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Direct kernel boot: load a bzImage (64-bit Linux boot protocol) or an ELF
 * (PVH entry when it has the Xen PVH note, else the 64-bit entry at e_entry),
 * the initrd and the command line into guest memory, write the firmware
 * tables, and put the boot vCPU at the kernel's entry point.
 */
#ifndef KVMINI_BOOT_H
#define KVMINI_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest_memory;
struct fw_machine;

enum boot_kind { BOOT_BZIMAGE, BOOT_ELF_PVH, BOOT_ELF_64 };

struct boot_image {
	enum boot_kind kind;
	uint64_t entry;			/* guest-physical entry point */
	uint64_t kernel_end;		/* first byte past the loaded kernel */
	uint8_t setup_hdr[0x280 - 0x1f1]; /* bzImage setup header, as in the file */
	size_t setup_hdr_len;
	uint32_t cmdline_max;		/* bytes the kernel accepts, without the NUL */
	uint64_t initrd_max;		/* highest address the initrd may end at */
};

/* Load the kernel file into guest memory. -errno with one line in err. */
int boot_load_kernel(const struct guest_memory *mem, const char *path, struct boot_image *img,
		     char *err, size_t errlen);

/*
 * Place the initrd (may be NULL), the command line and the firmware tables,
 * and set the boot vCPU's registers. err gets one line on failure.
 */
int boot_setup(const struct guest_memory *mem, const struct boot_image *img,
	       const struct fw_machine *m, const char *initrd_path, const char *cmdline,
	       int bsp_fd, char *err, size_t errlen);

/* What kind of file is this (for messages and tests): "bzImage", "ELF (PVH)", ... */
const char *boot_kind_name(enum boot_kind kind);

#endif
