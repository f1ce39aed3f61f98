/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What firmware would hand the guest, as pure functions from a machine
 * description to bytes: the e820 map, the zero page (Linux boot protocol),
 * the PVH start info, and the ACPI tables. Nothing here touches KVM or
 * global state, so each function can be unit-tested on a buffer.
 */
#ifndef KVMINI_FIRMWARE_H
#define KVMINI_FIRMWARE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define FW_MAX_CPUS 1024
#define FW_MAX_RAM 8

struct fw_ram {
	uint64_t gpa;
	uint64_t size;
};

struct fw_machine {
	unsigned int nr_cpus;		/* APIC IDs are 0 .. nr_cpus-1 */
	struct fw_ram ram[FW_MAX_RAM];	/* guest RAM regions, ascending */
	unsigned int nr_ram;
	bool pci;			/* describe the PCI host bridge (DSDT PCI0, MCFG) */
};

/* e820 types, as in the Linux boot protocol. */
#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3

struct fw_e820 {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/*
 * The guest's memory map, sorted: RAM below the EBDA, the legacy area
 * reserved except the ACPI tables window (E820_ACPI), RAM from 1 MiB, the
 * ECAM window reserved when m->pci (Linux ignores MCFG otherwise), RAM above
 * 4 GiB. Returns the number of entries written, -ENOSPC when max is too
 * small, or -EINVAL when the RAM regions are empty, unsorted, overlapping or
 * reach into the MMIO hole.
 */
int fw_e820_build(const struct fw_machine *m, struct fw_e820 *out, int max);

/*
 * ACPI tables for the machine, laid out to be copied to ACPI_TABLES_GPA:
 * RSDP (at offset 0), XSDT, FACS, DSDT, FADT, MADT (one LAPIC or x2APIC
 * entry per vCPU plus the IOAPIC and interrupt source overrides), MCFG when
 * m->pci. The whole buffer is zeroed first. Returns the number of bytes
 * used, or a negative errno (-ENOSPC when size is too small, -EINVAL for
 * nr_cpus outside 1..FW_MAX_CPUS).
 */
long fw_acpi_build(const struct fw_machine *m, uint8_t *buf, size_t size);

/*
 * Fill a zero page (struct boot_params, 4096 bytes) for the 64-bit Linux boot
 * protocol. setup_hdr points at offset 0x1f1 of the bzImage, with
 * setup_hdr_len bytes readable from there (NULL for a kernel without a
 * header, e.g. an ELF vmlinux: a protocol 2.12 header is made up). Only the
 * bytes the kernel declares (up to 0x202 + the byte at 0x201) are copied.
 * cmdline_len excludes the NUL and is checked against the header's
 * cmdline_size; cmdline and initrd are guest-physical, and above 4 GiB (or
 * an initrd past initrd_addr_max) need XLF_CAN_BE_LOADED_ABOVE_4G. The e820
 * map is fw_e820_build()'s and acpi_rsdp_addr is ACPI_TABLES_GPA. Returns 0,
 * -EINVAL (no "HdrS", protocol before 2.06, truncated header, placement the
 * kernel cannot take) or -E2BIG (command line too long); bp is zeroed on error.
 */
struct boot_params;
int fw_zeropage_build(struct boot_params *bp, const struct fw_machine *m, const void *setup_hdr,
		      size_t setup_hdr_len, uint64_t cmdline_gpa, uint32_t cmdline_len,
		      uint64_t initrd_gpa, uint64_t initrd_size);

/*
 * PVH: struct hvm_start_info (version 1, firmware/pvh.h) followed by its
 * module list (one entry, the initrd, when initrd_size is not 0) and the
 * e820 map as its memory map, built for placement at guest-physical gpa.
 * cmdline_gpa 0 means no command line. Returns bytes used or a negative errno.
 */
long fw_pvh_build(const struct fw_machine *m, uint8_t *buf, size_t size, uint64_t gpa,
		  uint64_t cmdline_gpa, uint64_t initrd_gpa, uint64_t initrd_size);

#endif
