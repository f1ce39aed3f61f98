// SPDX-License-Identifier: GPL-2.0
/*
 * The host-quirk probe: a throw-away VM with 2 MiB of RAM and one vCPU in
 * long mode runs a few machine-code snippets, each ending in hlt. An
 * exception lands in a stub that writes its vector to port 0xe0 and halts;
 * the user-mode test's SYSCALL handler writes 1 to port 0xe1. What KVM
 * reports for each snippet (HLT, the port write, an emulation failure, or
 * nothing before the timeout) tells what this host can run.
 */
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include "cpu_mode.h"
#include "cpuid.h"
#include "kvm.h"
#include "layout.h"
#include "log.h"
#include "memory.h"
#include "quirks.h"

#define PROBE_MEM (4ULL << 20)
#define PROBE_IDT 0x30000ULL
#define PROBE_STUBS 0x31000ULL
#define PROBE_KSTACK 0x38000ULL
#define PROBE_USTACK 0x210000ULL
#define PROBE_CODE BOOT_PROBE_GPA
#define PROBE_USER_CODE 0x200000ULL	/* the second 2 MiB page: the only user one */
#define PROBE_SYSCALL_HANDLER (BOOT_PROBE_GPA + 0x100)
#define PROBE_DATA 0x50000ULL
#define PORT_VECTOR 0xe0
#define PORT_SYSCALL 0xe1
#define PROBE_TIMEOUT_US 300000

#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_FMASK 0xc0000084
#define EFER_SCE (1ULL << 0)
#define CR4_OSXSAVE (1ULL << 18)

enum outcome { RAN, EXCEPTION, SYSCALL_HANDLER, EMULATION_FAILURE, TIMEOUT, OTHER };

struct probe {
	struct kvm *kvm;
	struct guest_memory mem;
	int vcpu_fd;
	struct kvm_run *run;
	unsigned int vector;
};

static void alarm_handler(int sig)
{
}

static enum outcome probe_run(struct probe *p)
{
	struct itimerval t = { .it_value = { 0, PROBE_TIMEOUT_US } };
	struct itimerval off = { 0 };
	int r;

	setitimer(ITIMER_REAL, &t, NULL);
	r = ioctl(p->vcpu_fd, KVM_RUN, 0);
	setitimer(ITIMER_REAL, &off, NULL);
	if (r < 0)
		return errno == EINTR ? TIMEOUT : OTHER;
	switch (p->run->exit_reason) {
	case KVM_EXIT_HLT:
		return RAN;
	case KVM_EXIT_IO:
		if (p->run->io.direction != KVM_EXIT_IO_OUT)
			return OTHER;
		p->vector = *((uint8_t *)p->run + p->run->io.data_offset);
		if (p->run->io.port == PORT_VECTOR)
			return EXCEPTION;
		if (p->run->io.port == PORT_SYSCALL)
			return SYSCALL_HANDLER;
		return OTHER;
	case KVM_EXIT_INTERNAL_ERROR:
		return EMULATION_FAILURE;
	default:
		return OTHER;
	}
}

static int probe_reset(struct probe *p, uint64_t cr4_extra, uint64_t efer_extra)
{
	struct kvm_sregs s;
	int ret = cpu_enter_long_mode(p->vcpu_fd, PROBE_CODE, 0, PROBE_KSTACK);

	if (ret)
		return ret;
	if (ioctl(p->vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.cr4 |= cr4_extra;
	s.efer |= efer_extra;
	s.idt.base = PROBE_IDT;
	s.idt.limit = 32 * 16 - 1;
	return ioctl(p->vcpu_fd, KVM_SET_SREGS, &s) < 0 ? -errno : 0;
}

/* Run code in ring 0; returns the outcome, or OTHER when the state could not be set. */
static enum outcome probe_snippet(struct probe *p, const uint8_t *code, size_t len,
				  uint64_t cr4_extra)
{
	if (guest_write(&p->mem, PROBE_CODE, code, len))
		return OTHER;
	if (probe_reset(p, cr4_extra, 0) < 0)
		return OTHER;
	return probe_run(p);
}

static void write_idt(struct probe *p)
{
	uint64_t *idt = guest_ptr(&p->mem, PROBE_IDT, 32 * 16);
	uint8_t *stubs = guest_ptr(&p->mem, PROBE_STUBS, 32 * 8);
	unsigned int v;

	for (v = 0; v < 32; v++) {
		uint64_t h = PROBE_STUBS + v * 8;
		/* mov al, v; out 0xe0, al; hlt; then padding */
		const uint8_t stub[8] = { 0xb0, v, 0xe6, PORT_VECTOR, 0xf4, 0x90, 0x90, 0x90 };

		memcpy(stubs + v * 8, stub, 8);
		/* 64-bit interrupt gate: present, DPL 0, type 0xe, selector SEL_CODE64. */
		idt[2 * v] = (h & 0xffff) | ((uint64_t)SEL_CODE64 << 16) | (0x8eULL << 40) |
			     ((h >> 16) & 0xffff) << 48;
		idt[2 * v + 1] = h >> 32;
	}
}

static int probe_user_syscall(struct probe *p, bool *fails)
{
	/* Build an iretq frame to ring 3 at PROBE_USER_CODE. */
	static const uint8_t to_user[] = {
		0x6a, SEL_USER_DATA | 3,		/* push ss */
		0x68, 0x00, 0x00, 0x21, 0x00,		/* push PROBE_USTACK */
		0x6a, 0x02,				/* push rflags */
		0x6a, SEL_USER_CODE64 | 3,		/* push cs */
		0x68, 0x00, 0x00, 0x20, 0x00,		/* push PROBE_USER_CODE */
		0x48, 0xcf,				/* iretq */
	};
	static const uint8_t user[] = { 0x0f, 0x05, 0xeb, 0xfe };	/* syscall; jmp . */
	static const uint8_t handler[] = { 0xb0, 0x01, 0xe6, PORT_SYSCALL, 0xf4 };
	static const struct kvm_msr_entry entries[3] = {
		{ .index = MSR_STAR, .data = (0x20ULL << 48) | ((uint64_t)SEL_CODE64 << 32) },
		{ .index = MSR_LSTAR, .data = PROBE_SYSCALL_HANDLER },
		{ .index = MSR_FMASK, .data = 0x200 },
	};
	union {
		struct kvm_msrs h;
		uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(entries)];
	} msrs = { .h.nmsrs = 3 };
	struct kvm_sregs s;
	uint64_t rsp0 = PROBE_KSTACK;
	enum outcome o;

	/* TSS.RSP0 sits at offset 4, not 8-byte aligned. */
	if (guest_write(&p->mem, BOOT_TSS_GPA + 4, &rsp0, sizeof(rsp0)) ||
	    guest_write(&p->mem, PROBE_CODE, to_user, sizeof(to_user)) ||
	    guest_write(&p->mem, PROBE_USER_CODE, user, sizeof(user)) ||
	    guest_write(&p->mem, PROBE_SYSCALL_HANDLER, handler, sizeof(handler)))
		return -EFAULT;
	if (probe_reset(p, 0, EFER_SCE) < 0)
		return -EIO;
	memcpy(msrs.h.entries, entries, sizeof(entries));
	if (ioctl(p->vcpu_fd, KVM_SET_MSRS, &msrs) != 3)
		return -EIO;
	o = probe_run(p);
	if (o == SYSCALL_HANDLER && ioctl(p->vcpu_fd, KVM_GET_SREGS, &s) == 0 &&
	    (s.cs.selector & 3) == 0) {
		*fails = false;
		return 0;
	}
	*fails = true;
	if (o == EXCEPTION && p->vector == 14 && ioctl(p->vcpu_fd, KVM_GET_SREGS, &s) == 0 &&
	    s.cr2 == PROBE_SYSCALL_HANDLER)
		pr_debug("probe: user-mode syscall faults at LSTAR (page fault, cr2 %#llx)",
			 (unsigned long long)s.cr2);
	else
		pr_debug("probe: user-mode syscall: outcome %d vector %u", o, p->vector);
	return 0;
}

static bool failed(enum outcome o)
{
	return o == EMULATION_FAILURE || o == TIMEOUT;
}

int quirks_probe(struct kvm *kvm, struct host_quirks *q)
{
	static const uint8_t int3[] = { 0xcc, 0xf4 };
	static const uint8_t fwait[] = { 0x9b, 0xf4 };
	static const uint8_t popcnt[] = { 0xf3, 0x48, 0x0f, 0xb8, 0xc0, 0xf4 };
	static const uint8_t cx16[] = { 0xbf, 0x00, 0x00, 0x05, 0x00,	/* mov edi, PROBE_DATA */
					0xf0, 0x48, 0x0f, 0xc7, 0x0f, 0xf4 };
	static const uint8_t clac[] = { 0x0f, 0x01, 0xca, 0xf4 };
	static const uint8_t xsave[] = {
		0x31, 0xc9, 0xb8, 0x03, 0x00, 0x00, 0x00, 0x31, 0xd2,	/* xcr0 = x87|sse */
		0x0f, 0x01, 0xd1,					/* xsetbv */
		0xbf, 0x00, 0x00, 0x05, 0x00,				/* mov edi, PROBE_DATA */
		0x0f, 0xae, 0x27, 0x0f, 0xae, 0x2f, 0xf4,		/* xsave; xrstor; hlt */
	};
	static const uint8_t vmcall[] = { 0xb8, 0xff, 0xff, 0x00, 0x00, 0x0f, 0x01, 0xc1, 0xf4 };
	struct sigaction sa = { .sa_handler = alarm_handler }, old;
	struct probe p = { .kvm = kvm, .vcpu_fd = -1 };
	struct kvm sub = *kvm;
	uint64_t *pd;
	char err[256];
	enum outcome o;
	int ret;

	memset(q, 0, sizeof(*q));
	/* A VM of its own: the real one must not inherit any of this state. */
	sub.vm_fd = -1;
	ret = kvm_create_vm(&sub, false, err, sizeof(err));
	if (ret) {
		pr_debug("probe: %s", err);
		return ret;
	}
	p.kvm = &sub;
	ret = guest_memory_init(&p.mem, PROBE_MEM, false);
	if (ret)
		goto out_vm;
	ret = kvm_map_memory(&sub, &p.mem);
	if (ret)
		goto out_mem;
	p.vcpu_fd = ioctl(sub.vm_fd, KVM_CREATE_VCPU, 0UL);
	if (p.vcpu_fd < 0) {
		ret = -errno;
		goto out_mem;
	}
	p.run = mmap(NULL, kvm->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, p.vcpu_fd, 0);
	if (p.run == MAP_FAILED) {
		ret = -errno;
		goto out_vcpu;
	}
	ret = cpuid_setup_vcpu(&sub, p.vcpu_fd, 0, 1, NULL);
	if (ret)
		goto out_run;
	ret = cpu_write_boot_tables(&p.mem, true);
	if (ret)
		goto out_run;
	write_idt(&p);
	/*
	 * Only the second 2 MiB page is user-accessible, as in a real kernel:
	 * LSTAR's page is supervisor-only, which is what makes a broken
	 * SYSCALL show up as a user-mode page fault at LSTAR.
	 */
	pd = guest_ptr(&p.mem, BOOT_PD_GPA, 8);
	*pd &= ~4ULL;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);

	q->int3 = failed(probe_snippet(&p, int3, sizeof(int3), 0));
	q->fwait = failed(probe_snippet(&p, fwait, sizeof(fwait), 0));
	q->popcnt = failed(probe_snippet(&p, popcnt, sizeof(popcnt), 0));
	q->cx16 = failed(probe_snippet(&p, cx16, sizeof(cx16), 0));
	q->smap = failed(probe_snippet(&p, clac, sizeof(clac), 0));
	o = probe_snippet(&p, xsave, sizeof(xsave), CR4_OSXSAVE);
	/*
	 * OTHER here means KVM refused CR4.OSXSAVE: xsave is not offered to
	 * guests, yet a guest may still see it in CPUID on such hosts; keep
	 * Linux off it either way.
	 */
	q->xsave = failed(o) || o == OTHER;
	ret = probe_user_syscall(&p, &q->user_syscall);
	if (ret)
		pr_debug("probe: user-mode test could not run: %s", strerror(-ret));
	/* Last: a hung vmcall may leave the vCPU unusable. */
	q->hypercall = failed(probe_snippet(&p, vmcall, sizeof(vmcall), 0));
	q->probed = true;
	ret = 0;

	sigaction(SIGALRM, &old, NULL);
out_run:
	munmap(p.run, kvm->vcpu_mmap_size);
out_vcpu:
	close(p.vcpu_fd);
out_mem:
	guest_memory_free(&p.mem);
out_vm:
	close(sub.vm_fd);
	return ret;
}

void quirks_all(struct host_quirks *q)
{
	*q = (struct host_quirks){ .probed = false, .int3 = true, .fwait = true, .xsave = true,
				   .popcnt = true, .cx16 = true, .smap = true, .hypercall = true,
				   .user_syscall = true };
}

static bool emulated_ring0(const struct host_quirks *q)
{
	return q->int3 || q->fwait || q->popcnt || q->xsave;
}

void quirks_kernel_params(const struct host_quirks *q, char *buf, size_t len)
{
	char ids[64] = "";
	size_t n = 0;

	buf[0] = '\0';
	if (q->cx16)
		strcat(ids, ",cx16");
	if (q->popcnt)
		strcat(ids, ",popcnt");
	if (q->smap)
		strcat(ids, ",smap");
	if (q->xsave)
		strcat(ids, ",xsave");
	if (q->xsave)
		n += snprintf(buf + n, len - n, "noxsave ");
	if (ids[0] && n < len)
		n += snprintf(buf + n, len - n, "clearcpuid=%s ", ids + 1);
	/*
	 * Emulated kernel code runs ~100x slower than hardware: the IO-APIC
	 * timer check and the TSC watchdog would misjudge working clocks, and
	 * RCU's stall detector takes a long memset for a stuck CPU.
	 */
	if (emulated_ring0(q) && n < len)
		n += snprintf(buf + n, len - n,
			      "no_timer_check tsc=reliable rcupdate.rcu_cpu_stall_suppress=1 ");
	if (n && n <= len)
		buf[n - 1] = '\0';
}

void quirks_describe(const struct host_quirks *q, char *buf, size_t len)
{
	static const struct {
		size_t off;
		const char *name;
	} names[] = {
		{ offsetof(struct host_quirks, int3), "int3" },
		{ offsetof(struct host_quirks, fwait), "fwait" },
		{ offsetof(struct host_quirks, xsave), "xsave" },
		{ offsetof(struct host_quirks, popcnt), "popcnt" },
		{ offsetof(struct host_quirks, cx16), "cmpxchg16b" },
		{ offsetof(struct host_quirks, smap), "clac" },
		{ offsetof(struct host_quirks, hypercall), "vmcall" },
		{ offsetof(struct host_quirks, user_syscall), "user-mode syscall" },
	};
	size_t n = 0, i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]) && n < len; i++)
		if (*((const bool *)q + names[i].off))
			n += snprintf(buf + n, len - n, "%s%s", n ? ", " : "", names[i].name);
}
