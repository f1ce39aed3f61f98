/* SPDX-License-Identifier: GPL-2.0 */
/* Constants shared by the entry code (assembly) and C. */
#ifndef TG_BOOT_H
#define TG_BOOT_H

/* How the guest was entered; tg_main() gets one of these and the pointer. */
#define BOOT_PVH 1  /* 32-bit, EBX = struct hvm_start_info */
#define BOOT_BZ32 2 /* 32-bit code32_start, ESI = struct boot_params */
#define BOOT_BZ64 3 /* 64-bit entry at load address + 0x200, RSI = struct boot_params */

/* GDT selectors. 0x18 doubles as the flat 32-bit code segment used while booting
 * and as the STAR[63:48] base for SYSRET, which puts user SS at +8 and CS at +16
 * (SDM Vol. 2B, SYSRET). */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_KCODE32 0x18
#define SEL_UDATA 0x23
#define SEL_UCODE 0x2b
#define SEL_TSS 0x30

#define PAGE_SIZE 4096
#define KSTACK_SIZE 16384
#define TRAP_STACK_SIZE 16384
#define USTACK_SIZE 16384

/* Vector the syscall path reports in a trap frame (beyond the 256 IDT vectors). */
#define VEC_SYSCALL 0x100

#endif
