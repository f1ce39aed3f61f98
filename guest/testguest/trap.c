// SPDX-License-Identifier: GPL-2.0
/*
 * IDT and TSS setup, trap dispatch, and the two ways a ring-3 SYSCALL can arrive:
 * through LSTAR (hardware KVM, TCG) or, on the CI host's KVM, as a user-mode page
 * fault whose ip is LSTAR with RCX/R11 already loaded by SYSCALL (CI-MACHINE.md).
 * Both are handled the same way, as the project's guest kernel patch does.
 */
#include "boot.h"
#include "cpu.h"
#include "testguest.h"
#include "trap.h"

struct idt_entry {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type; /* 0x8e: present, DPL 0, 64-bit interrupt gate */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t reserved;
} __attribute__((packed));

/* 64-bit TSS (SDM Vol. 3A, 8.7). */
struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

static struct idt_entry idt[256] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static trap_handler_t handlers[256];

volatile uint64_t irq_count[256];
void (*trap_eoi)(void);
struct syscall_info last_syscall;
struct user_fault last_user_fault;

extern char trap_stubs[], syscall_entry[], user_syscall_ret[], trap_stack_top[];
extern uint64_t gdt[], pd[];

/* 4 KiB mappings of the first 2 MiB, so that one page can be kept from ring 3. */
static uint64_t pt_low[512] __attribute__((aligned(PAGE_SIZE)));

#define RFLAGS_RF (1ull << 16)
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_NE (1ull << 5)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define SYS_EXIT 0

void trap_dispatch(struct trap_frame *f);
void syscall_from_entry(struct trap_frame *f);

static void set_gate(unsigned int vec, uint64_t addr)
{
	idt[vec] = (struct idt_entry){
		.off_lo = addr & 0xffff,
		.sel = SEL_KCODE,
		.type = 0x8e,
		.off_mid = (addr >> 16) & 0xffff,
		.off_hi = addr >> 32,
	};
}

/*
 * The SYSCALL entry page is the only supervisor-only page. On the CI host's KVM,
 * SYSCALL from ring 3 jumps to LSTAR without leaving ring 3 (CI-MACHINE.md): with the
 * page user-accessible, ring 3 would silently run the entry code; kept from ring 3,
 * the fetch faults at ip == LSTAR, which is what trap_dispatch() recognises.
 */
static void protect_syscall_page(void)
{
	uint64_t cr3;

	for (unsigned int i = 0; i < 512; i++)
		pt_low[i] = (uint64_t)i * PAGE_SIZE | 0x7;
	pt_low[(uint64_t)syscall_entry / PAGE_SIZE] &= ~0x4ull;
	pd[0] = (uint64_t)pt_low | 0x7;
	asm volatile("mov %%cr3, %0\n mov %0, %%cr3" : "=r"(cr3) : : "memory");
}

void trap_load_idt(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {sizeof(idt) - 1, (uint64_t)idt};

	asm volatile("lidt %0" : : "m"(idtr) : "memory");
}

void trap_init(void)
{
	uint64_t base = (uint64_t)&tss, cr;

	for (unsigned int v = 0; v < 256; v++)
		set_gate(v, (uint64_t)trap_stubs + v * 16);
	trap_load_idt();

	/* Available 64-bit TSS descriptor, 16 bytes (SDM Vol. 3A, 8.2.3). */
	tss.rsp[0] = (uint64_t)trap_stack_top;
	tss.iomap_base = sizeof(tss);
	gdt[SEL_TSS / 8] = (sizeof(tss) - 1) | (base & 0xffffff) << 16 | 0x89ull << 40 |
			   ((base >> 24) & 0xff) << 56;
	gdt[SEL_TSS / 8 + 1] = base >> 32;
	asm volatile("ltr %w0" : : "r"(SEL_TSS) : "memory");

	/* x87 present and not lazily switched, so that fwait runs rather than traps. */
	asm volatile("mov %%cr0, %0" : "=r"(cr));
	cr = (cr | CR0_MP | CR0_NE) & ~(CR0_EM | CR0_TS);
	asm volatile("mov %0, %%cr0" : : "r"(cr));
	/* Ring 0 reads and runs ring-3 pages here (user_call's results, shared data). */
	asm volatile("mov %%cr4, %0" : "=r"(cr));
	if (cr & (CR4_SMEP | CR4_SMAP)) {
		cr &= ~(CR4_SMEP | CR4_SMAP);
		asm volatile("mov %0, %%cr4" : : "r"(cr));
	}

	protect_syscall_page();
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, (uint64_t)SEL_KCODE32 << 48 | (uint64_t)SEL_KCODE << 32);
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	/* IF, TF, DF, AC, NT cleared on entry. */
	wrmsr(MSR_FMASK, 0x47700);
}

void trap_set_handler(unsigned int vector, trap_handler_t h)
{
	handlers[vector & 0xff] = h;
}

static void handle_syscall(struct trap_frame *f, enum syscall_via via)
{
	last_syscall.via = via;
	last_syscall.rcx = f->rcx;
	last_syscall.r11 = f->r11;
	last_syscall.rcx_ok = f->rcx == (uint64_t)user_syscall_ret;
	last_syscall.r11_ok = (f->r11 & ~RFLAGS_RF) == f->r10;
	last_syscall.count++;
	if (f->rax == SYS_EXIT)
		user_exit(f->rdi);
	f->rax = (uint64_t)-1;
}

void syscall_from_entry(struct trap_frame *f)
{
	handle_syscall(f, SYSCALL_HANDLER);
}

static uint64_t read_cr2(void)
{
	uint64_t v;

	asm volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

void trap_dispatch(struct trap_frame *f)
{
	unsigned int vec = f->vector;
	bool user = (f->cs & 3) == 3;

	irq_count[vec]++;
	if (vec == 14 && user && f->rip == rdmsr(MSR_LSTAR)) {
		/* SYSCALL as the CI host delivers it: continue where SYSCALL would return. */
		f->rip = f->rcx;
		f->rflags = (f->r11 & ~RFLAGS_RF) | 0x2;
		handle_syscall(f, SYSCALL_PF_AT_LSTAR);
		return;
	}
	if (handlers[vec]) {
		handlers[vec](f);
	} else if (vec < 32 && user) {
		last_user_fault = (struct user_fault){vec, f->error, f->rip, read_cr2()};
		user_exit(USER_FAULTED);
	} else if (vec < 32) {
		printf("TRAP vector=%u error=0x%lx rip=0x%lx cs=0x%lx rflags=0x%lx rsp=0x%lx "
		       "cr2=0x%lx\n",
		       vec, f->error, f->rip, f->cs, f->rflags, f->rsp, read_cr2());
		tg_fail("unexpected exception %u at rip 0x%lx", vec, f->rip);
	}
	if (vec >= 32 && vec != 0xff && trap_eoi)
		trap_eoi();
}
