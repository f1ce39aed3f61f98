/* SPDX-License-Identifier: GPL-2.0 */
/* Exception/interrupt stubs, the SYSCALL entry and the ring-3 call trampoline. */
#include "boot.h"

	.text
/* One 16-byte stub per vector; vectors with a CPU error code skip the dummy push
 * (SDM Vol. 3A, 6.13: 8, 10-14, 17, 21, 29, 30 push one). */
	.globl trap_stubs
	.balign 16
trap_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	.if !(vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30)
	pushq $0
	.endif
	pushq $vec
	jmp trap_common
	.set vec, vec + 1
	.endr

.macro SAVE_REGS
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
.endm

trap_common:
	SAVE_REGS
	cld
	movq %rsp, %rdi
	call trap_dispatch
trap_return:
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

/* LSTAR. FMASK has cleared IF; RSP is still the user's. Build the same frame an
 * exception from ring 3 would, so that one return path serves both. Alone in its
 * page, which ring 3 may not touch (trap.c, protect_syscall_page). */
	.section .text.syscall, "ax"
	.balign 4096
	.globl syscall_entry
syscall_entry:
	movq %rsp, syscall_user_rsp(%rip)
	movq $trap_stack_top, %rsp
	pushq $SEL_UDATA
	pushq syscall_user_rsp(%rip)
	pushq %r11
	pushq $SEL_UCODE
	pushq %rcx
	pushq $0
	pushq $VEC_SYSCALL
	SAVE_REGS
	cld
	movq %rsp, %rdi
	call syscall_from_entry
	jmp trap_return
	.balign 4096

	.text
	.globl user_call
user_call:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, user_saved_rsp(%rip)
	pushq $SEL_UDATA
	pushq $user_stack_top
	pushq $0x2			/* RFLAGS: IF off in ring 3 */
	pushq $SEL_UCODE
	pushq $user_trampoline
	movq %rdi, %rax
	movq %rsi, %rdi
	movq %rdx, %rsi
	movq %rcx, %rdx
	iretq

/* Ring 3: call the function, then hand its result back with syscall 0. R10 carries
 * RFLAGS as they are at the syscall, so ring 0 can check what SYSCALL put in R11. */
user_trampoline:
	call *%rax
	movq %rax, %rdi
	pushfq
	popq %r10
	movl $0, %eax
	syscall
	.globl user_syscall_ret
user_syscall_ret:
	ud2

/* Back to user_call()'s caller from any ring-0 path, abandoning the trap frame. */
	.globl user_exit
user_exit:
	movq %rdi, %rax
	movq user_saved_rsp(%rip), %rsp
	movl $SEL_KDATA, %ecx
	movl %ecx, %ss
	movl %ecx, %ds
	movl %ecx, %es
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret

	.data
	.balign 8
syscall_user_rsp:
	.quad 0
user_saved_rsp:
	.quad 0

	.bss
	.balign 16
	.skip TRAP_STACK_SIZE
	.globl trap_stack_top
trap_stack_top:
	.skip USTACK_SIZE
	.globl user_stack_top
user_stack_top:
