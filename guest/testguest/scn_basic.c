// SPDX-License-Identifier: GPL-2.0
/* Scenarios about the CPU itself: hello, int3, fwait, usermode. */
#include "testguest.h"
#include "trap.h"

static void hello(struct scn_ctx *c)
{
	printf("HELLO from the kvmini test guest\n");
}
SCENARIO("hello", hello, "prints a line and passes");

static void list(struct scn_ctx *c)
{
	for (const struct scenario *s = __scenarios_start; s < __scenarios_end; s++)
		printf("SCENARIO %s: %s\n", s->name, s->summary);
}
SCENARIO("list", list, "prints every scenario with its summary");

static uint64_t bp_rip;

static void bp_handler(struct trap_frame *f)
{
	bp_rip = f->rip;
}

/* #BP is a trap: the saved ip is the instruction after int3 (SDM Vol. 3A, 6.5). */
static void int3(struct scn_ctx *c)
{
	uint64_t before = irq_count[3], next;

	trap_set_handler(3, bp_handler);
	asm volatile("int3\n1: lea 1b(%%rip), %0" : "=r"(next));
	trap_set_handler(3, NULL);
	printf("INT3 count=%lu rip=0x%lx next=0x%lx\n", irq_count[3] - before, bp_rip, next);
	if (irq_count[3] - before != 1)
		tg_fail("int3: handler ran %lu times", irq_count[3] - before);
	if (bp_rip != next)
		tg_fail("int3: handler saw rip 0x%lx, expected 0x%lx", bp_rip, next);
}
SCENARIO("int3", int3, "int3 in ring 0 reaches the #BP handler once and resumes after it");

static void fwait(struct scn_ctx *c)
{
	uint64_t nm = irq_count[7], mf = irq_count[16], next;

	asm volatile("fwait\n1: lea 1b(%%rip), %0" : "=r"(next));
	printf("FWAIT continued next=0x%lx\n", next);
	if (irq_count[7] != nm || irq_count[16] != mf)
		tg_fail("fwait: raised #NM or #MF");
}
SCENARIO("fwait", fwait, "fwait in ring 0 continues with the next instruction");

static uint64_t user_probe(uint64_t a, uint64_t b, uint64_t c)
{
	return a ^ b ^ c;
}

/* The answer decides which guest kernels can run user space on this host. */
static void usermode(struct scn_ctx *c)
{
	uint64_t r;

	last_syscall = (struct syscall_info){0};
	r = user_call(user_probe, 0x1234, 0x5678, 0x9abc);
	if (r == USER_FAULTED) {
		printf("USERMODE syscall=other vector=%lu error=0x%lx rip=0x%lx cr2=0x%lx\n",
		       last_user_fault.vector, last_user_fault.error, last_user_fault.rip,
		       last_user_fault.cr2);
		tg_fail("usermode: syscall could not be classified");
	}
	if (r != (0x1234 ^ 0x5678 ^ 0x9abc) || last_syscall.via == SYSCALL_NONE) {
		printf("USERMODE syscall=other result=0x%lx via=%d\n", r, last_syscall.via);
		tg_fail("usermode: syscall could not be classified");
	}
	if (last_syscall.via == SYSCALL_HANDLER)
		printf("USERMODE syscall=handler\n");
	else
		printf("USERMODE syscall=pf-at-lstar rcx_ok=%d r11_ok=%d\n", last_syscall.rcx_ok,
		       last_syscall.r11_ok);
}
SCENARIO("usermode", usermode, "ring 3 issues syscall; reports how ring 0 got it");
