/* SPDX-License-Identifier: GPL-2.0 */
/* IDT, TSS, SYSCALL and ring-3 calls. */
#ifndef TG_TRAP_H
#define TG_TRAP_H

#include <stdint.h>

/* Layout pushed by traps.S: general registers, vector, error code, CPU frame. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*trap_handler_t)(struct trap_frame *f);

void trap_init(void);
/* Loads the IDT trap_init() built; an application processor shares it. */
void trap_load_idt(void);
/* A handler runs with interrupts off; vectors >= 32 get an EOI after it. */
void trap_set_handler(unsigned int vector, trap_handler_t h);
/* Called after handlers of vectors >= 32 (the LAPIC sets it). */
extern void (*trap_eoi)(void);
/* Deliveries per vector since boot; anything may read, only trap code writes. */
extern volatile uint64_t irq_count[256];

/* How the last SYSCALL from ring 3 reached ring 0. */
enum syscall_via {
	SYSCALL_NONE,
	SYSCALL_HANDLER,     /* through LSTAR, as on hardware */
	SYSCALL_PF_AT_LSTAR, /* a user-mode #PF with ip == LSTAR (the CI host's KVM) */
};

struct syscall_info {
	enum syscall_via via;
	int rcx_ok; /* RCX held the address after the syscall instruction */
	int r11_ok; /* R11 held RFLAGS as they were at the syscall */
	uint64_t rcx, r11, count;
};

extern struct syscall_info last_syscall;

/* An exception from ring 3 that nothing handled: recorded, then user_call() returns
 * USER_FAULTED. */
struct user_fault {
	uint64_t vector, error, rip, cr2;
};

#define USER_FAULTED 0xdead00000000fa17ULL

extern struct user_fault last_user_fault;

/*
 * Runs fn(a0, a1, a2) in ring 3 on the user stack and returns its result, which comes
 * back through SYSCALL (or the CI host's #PF at LSTAR). fn must not touch anything
 * privileged; all memory is mapped for user access.
 */
uint64_t user_call(uint64_t (*fn)(uint64_t, uint64_t, uint64_t), uint64_t a0, uint64_t a1,
		   uint64_t a2);
void __attribute__((noreturn)) user_exit(uint64_t value);

#endif
