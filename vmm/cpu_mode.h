/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Put a vCPU into the state a boot protocol promises its entry point:
 * 64-bit long mode with identity-mapped page tables (Linux 64-bit boot
 * protocol), or flat 32-bit protected mode with paging off (PVH).
 */
#ifndef KVMINI_CPU_MODE_H
#define KVMINI_CPU_MODE_H

#include <stdbool.h>
#include <stdint.h>

struct guest_memory;

/* GDT selectors kvmini's boot GDT provides (Linux boot protocol wants 0x10/0x18). */
#define SEL_CODE64 0x10
#define SEL_DATA 0x18
#define SEL_CODE32 0x20
#define SEL_USER_DATA 0x28	/* SYSRET: STAR[63:48] = 0x20 -> SS 0x28, CS 0x30 */
#define SEL_USER_CODE64 0x30
#define SEL_TSS 0x38

/*
 * Write the GDT, TSS and identity page tables (first 4 GiB, 2 MiB pages)
 * into low guest memory. user_pages sets the U/S bit so ring-3 code can run
 * (the quirk probe); a Linux guest gets supervisor-only tables.
 */
int cpu_write_boot_tables(const struct guest_memory *mem, bool user_pages);

/* Long mode at rip with RSI = rsi (zero page), interrupts off. */
int cpu_enter_long_mode(int vcpu_fd, uint64_t rip, uint64_t rsi, uint64_t rsp);

/* PVH: 32-bit protected mode, paging off, EBX = start info (PVH ABI, xen/arch-x86/hvm/start_info.h). */
int cpu_enter_protected_mode(int vcpu_fd, uint32_t eip, uint32_t ebx);

#endif
