/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest-physical memory map and port assignments of a kvmini machine.
 * One place, so that the loader, the firmware tables and the devices agree.
 */
#ifndef KVMINI_LAYOUT_H
#define KVMINI_LAYOUT_H

/* Low memory used by the direct-boot setup (all below 640 KiB, all RAM). */
#define BOOT_GDT_GPA 0x500ULL		/* GDT of the boot vCPU */
#define BOOT_TSS_GPA 0x580ULL		/* 64-bit TSS (RSP0 for the probe's ring-3 test) */
#define BOOT_ZEROPAGE_GPA 0x7000ULL	/* struct boot_params (bzImage) */
#define BOOT_PVH_INFO_GPA 0x6000ULL	/* struct hvm_start_info + modlist + memmap (PVH) */
#define BOOT_PML4_GPA 0x9000ULL		/* identity page tables for long-mode entry: */
#define BOOT_PDPT_GPA 0xa000ULL		/*   PML4, PDPT, then 4 PDs of 2 MiB pages */
#define BOOT_PD_GPA 0xb000ULL		/*   covering the first 4 GiB */
#define BOOT_STACK_GPA 0x8ff0ULL	/* initial stack (grows down, below 0x9000) */
#define BOOT_CMDLINE_GPA 0x20000ULL
#define BOOT_CMDLINE_MAX 0x10000ULL	/* bytes, including the NUL */
#define BOOT_PROBE_GPA 0x40000ULL	/* scratch for the host-quirk probe VM */

/* 640 KiB to 1 MiB: reserved as on a PC. ACPI tables live in the BIOS area so
 * that a kernel without a boot-protocol RSDP pointer still finds them by scanning. */
#define EBDA_START 0x9fc00ULL
#define LEGACY_END 0x100000ULL
#define ACPI_TABLES_GPA 0xe0000ULL	/* RSDP first, 16-byte aligned */
#define ACPI_TABLES_SIZE 0x20000ULL

#define KERNEL_LOAD_GPA 0x100000ULL	/* 1 MiB: bzImage protected-mode code */

/* The 32-bit MMIO hole (see GUEST_MEM_HOLE_START in memory.h). */
#define PCI_MMIO32_BASE 0xc0000000ULL
#define PCI_MMIO32_SIZE 0x20000000ULL	/* 512 MiB for BARs */
#define PCI_ECAM_BASE 0xe0000000ULL
#define PCI_ECAM_BUSES 1		/* bus 0 only: 1 MiB of ECAM */
#define PCI_ECAM_SIZE (PCI_ECAM_BUSES * 0x100000ULL)
#define IOAPIC_BASE 0xfec00000ULL
#define LAPIC_BASE 0xfee00000ULL

/* I/O ports */
#define PCI_IO_BASE 0xc000
#define PCI_IO_SIZE 0x4000
#define PORT_I8042_DATA 0x60
#define PORT_I8042_CMD 0x64
#define PORT_POST 0x80
#define PORT_COM1 0x3f8
#define IRQ_COM1 4
#define PORT_DEBUG_EXIT 0xf4		/* isa-debug-exit, tests only */
#define PORT_RTC 0x70			/* MC146818 index (0x70) and data (0x71) */
/* The IBM PC's CMOS century byte; the FADT's CENTURY field points Linux here. */
#define RTC_CENTURY_INDEX 0x32
#define PORT_PM1A_EVT 0x600		/* PM1a event block: status (2), enable (2) */
#define PORT_PM1A_CNT 0x604		/* PM1a control block (2) */
#define ACPI_SCI_IRQ 9
#define PORT_RESET 0xcf9		/* reset control, also the FADT RESET_REG */
#define RESET_VALUE 0x06
#define PORT_PCI_CONFIG_ADDR 0xcf8
#define PORT_PCI_CONFIG_DATA 0xcfc

/* ACPI S5 sleep type the DSDT's \_S5 announces; PM1a_CNT.SLP_TYP with SLP_EN set powers off. */
#define ACPI_S5_SLP_TYP 5

#endif
