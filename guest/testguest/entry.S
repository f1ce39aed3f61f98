/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entry points. The PVH entry and the bzImage code32_start entry arrive in 32-bit
 * protected mode with paging off; the bzImage 64-bit entry arrives in long mode on
 * the loader's page tables. All three end on our own GDT and page tables (identity
 * map of the low 4 GiB with 2 MiB pages, user-accessible so that ring-3 workloads
 * can touch anything) and call tg_main(kind, boot_info_ptr).
 */
#include "boot.h"

#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define CR0_PE 0x1
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
/* PDE bits: present, writable, user, 2 MiB page; PWT|PCD for the MMIO GiB. */
#define PDE_FLAGS 0x87
#define PDE_UC 0x18
#define PTE_TABLE 0x7

/*
 * From 32-bit protected mode on our GDT (the boot CPU and each AP): our page
 * tables, PAE, EFER.LME, then paging on, and a far jump into 64-bit code at
 * target.
 */
	.macro ENTER_LONG_MODE target
	movl $pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	ljmp $SEL_KCODE, $\target
	.endm

	.section .note.pvh, "a"
	.balign 4
	/* Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY (18): the 32-bit PVH entry point. */
	.long 4, 8, 18
	.asciz "Xen"
	.quad pvh_entry

	.section .head, "ax"
	.code32
	/* Load address + 0: bzImage code32_start (boot protocol, 32-bit entry). */
	.globl bz_entry32
bz_entry32:
	cli
	movl %esi, %ebp
	movl $BOOT_BZ32, %edi
	jmp common32

	/* Load address + 0x200: the 64-bit boot protocol entry. */
	.org 0x200
	.code64
	.globl bz_entry64
bz_entry64:
	cli
	cld
	movq %rsi, %r8
	lgdt gdt_ptr(%rip)
	movq $__bss_start, %rdi
	movq $__bss_end, %rcx
	subq %rdi, %rcx
	shrq $3, %rcx
	xorl %eax, %eax
	rep stosq
	/* Same tables as build_tables32 below, with 64-bit registers. */
	movq $pdpt, %rax
	orq $PTE_TABLE, %rax
	movq %rax, pml4
	xorl %ecx, %ecx
1:	movq %rcx, %rax
	shlq $12, %rax
	addq $pd, %rax
	orq $PTE_TABLE, %rax
	movq %rax, pdpt(, %rcx, 8)
	incl %ecx
	cmpl $4, %ecx
	jb 1b
	xorl %ecx, %ecx
2:	movq %rcx, %rax
	shlq $21, %rax
	orq $PDE_FLAGS, %rax
	cmpl $1536, %ecx
	jb 3f
	orq $PDE_UC, %rax
3:	movq %rax, pd(, %rcx, 8)
	incl %ecx
	cmpl $2048, %ecx
	jb 2b
	movq $pml4, %rax
	movq %rax, %cr3
	movq $boot_stack_top, %rsp
	pushq $SEL_KCODE
	pushq $4f
	lretq
4:	movl $BOOT_BZ64, %edi
	movq %r8, %rsi
	jmp common64

	.text
	.code32
	/* PVH entry (xen/include/public/arch-x86/hvm/start_info.h): EBX = start info. */
	.globl pvh_entry
pvh_entry:
	cli
	movl %ebx, %ebp
	movl $BOOT_PVH, %edi

	/* EDI = boot kind, EBP = boot info pointer; DS is flat (both protocols). */
common32:
	cld
	lgdt gdt_ptr
	ljmp $SEL_KCODE32, $1f
1:	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl %edi, boot_kind
	movl %ebp, boot_ptr
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	shrl $2, %ecx
	xorl %eax, %eax
	rep stosl
	movl $boot_stack_top, %esp

	movl $pdpt + PTE_TABLE, pml4
	xorl %ecx, %ecx
2:	movl %ecx, %eax
	shll $12, %eax
	addl $pd + PTE_TABLE, %eax
	movl %eax, pdpt(, %ecx, 8)
	incl %ecx
	cmpl $4, %ecx
	jb 2b
	xorl %ecx, %ecx
3:	movl %ecx, %eax
	shll $21, %eax
	orl $PDE_FLAGS, %eax
	cmpl $1536, %ecx
	jb 4f
	orl $PDE_UC, %eax
4:	movl %eax, pd(, %ecx, 8)
	incl %ecx
	cmpl $2048, %ecx
	jb 3b

	ENTER_LONG_MODE 5f
	.code64
5:	movl boot_kind, %edi
	movl boot_ptr, %esi

	/* EDI = kind, RSI = pointer; long mode on our tables, stack set. */
common64:
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq $boot_stack_top, %rsp
	call tg_main
6:	cli
	hlt
	jmp 6b

	.data
	.balign 8
boot_kind:
	.quad 0
boot_ptr:
	.quad 0

	.globl gdt
	.balign 16
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08 kernel code, 64-bit */
	.quad 0x00cf92000000ffff	/* 0x10 kernel data */
	.quad 0x00cf9a000000ffff	/* 0x18 kernel code, 32-bit (boot only) */
	.quad 0x00cff2000000ffff	/* 0x20 user data, DPL 3 */
	.quad 0x00affa000000ffff	/* 0x28 user code, 64-bit, DPL 3 */
	.quad 0, 0			/* 0x30 TSS, filled in by C */
gdt_end:
	.globl gdt_ptr
gdt_ptr:
	.word gdt_end - gdt - 1
	.quad gdt

	.bss
	.balign 4096
	.globl pml4, pdpt, pd
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4 * 4096
	.balign 16
boot_stack:
	.skip KSTACK_SIZE
	.globl boot_stack_top
boot_stack_top:

/*
 * Application processor start (SDM Vol. 3A, 9.4.4 "MP Initialization Example"):
 * smp.c copies ap_tramp_start..ap_tramp_end to a page below 1 MiB and sends
 * INIT-SIPI-SIPI with that page as the vector. The AP starts in real mode at
 * CS = page >> 4, IP = 0, loads our GDT, and from 32-bit protected mode on
 * follows the BSP's path into long mode on the same page tables.
 */
	.section .rodata
	.code16
	.globl ap_tramp_start, ap_tramp_end
ap_tramp_start:
	cli
	movw %cs, %ax
	movw %ax, %ds
	lgdtl ap_gdt_ptr - ap_tramp_start
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $SEL_KCODE32, $ap_entry32
	.balign 4
ap_gdt_ptr:
	.word 0x37			/* the seven descriptors of gdt, TSS included */
	.long gdt
ap_tramp_end:

	.text
	.code32
ap_entry32:
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	ENTER_LONG_MODE ap_entry64
	.code64
ap_entry64:
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq ap_stack_top(%rip), %rsp
	call ap_main
7:	cli
	hlt
	jmp 7b
