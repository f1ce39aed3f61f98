// SPDX-License-Identifier: GPL-2.0
/*
 * Absorbing emulation failures. On a host whose KVM runs guest ring-0 code
 * through its instruction emulator, a few instructions stop the vCPU with
 * KVM_EXIT_INTERNAL_ERROR / KVM_INTERNAL_ERROR_EMULATION. Where kvmini can
 * complete such an instruction itself, it does so and the guest goes on:
 *
 *  - int3 (0xcc) and int $3 (0xcd 0x03): advance RIP past the instruction
 *    and inject #BP, which is what the CPU does for this trap. Linux runs
 *    int3 at every boot (int3_selftest()) and during text patching.
 *  - fwait (0x9b): it only checks for pending unmasked x87 exceptions, which
 *    a guest that has not enabled CR0.NE exception reporting does not have;
 *    skipping it is what the hardware would do in the common case.
 *
 * Anything else is reported with the instruction bytes and the guest stops.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "exitcode.h"
#include "log.h"
#include "vm.h"

#define BP_VECTOR 3

/* Fetch up to 15 instruction bytes at the current RIP; returns how many. */
static int fetch_insn(struct vcpu *vcpu, uint8_t *buf, struct kvm_regs *regs)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_sregs sregs;
	struct kvm_translation tr;
	void *p;
	int n;

	if (run->emulation_failure.ndata >= 3 &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) &&
	    run->emulation_failure.insn_size) {
		n = run->emulation_failure.insn_size;
		if (n > 15)
			n = 15;
		memcpy(buf, run->emulation_failure.insn_bytes, n);
		return n;
	}
	/* Older KVM: translate RIP ourselves and read guest memory. */
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return 0;
	memset(&tr, 0, sizeof(tr));
	tr.linear_address = sregs.cs.base + regs->rip;
	if (ioctl(vcpu->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
		return 0;
	for (n = 15; n > 0; n--) {
		p = guest_ptr(&vcpu->vm->mem, tr.physical_address, n);
		if (p) {
			memcpy(buf, p, n);
			return n;
		}
	}
	return 0;
}

static int skip_and_inject_bp(struct vcpu *vcpu, struct kvm_regs *regs, unsigned int len)
{
	struct kvm_vcpu_events ev;

	regs->rip += len;
	if (ioctl(vcpu->fd, KVM_SET_REGS, regs) < 0)
		return -errno;
	if (ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	if (ev.exception.injected || ev.exception.pending)
		return -EBUSY;	/* an exception in flight already: do not stack another */
	ev.exception.injected = 1;
	ev.exception.nr = BP_VECTOR;
	ev.exception.has_error_code = 0;
	ev.flags = 0;
	if (ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	return 0;
}

int emulate_fixup(struct vcpu *vcpu, bool allowed)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;
	uint8_t insn[15];
	int n, ret;

	if (run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION)
		return -ENOTSUP;
	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0)
		return -errno;
	n = fetch_insn(vcpu, insn, &regs);
	if (n < 1)
		return -EFAULT;

	if (!allowed) {
		ret = -EPERM;
	} else if (insn[0] == 0xcc) {
		ret = skip_and_inject_bp(vcpu, &regs, 1);
	} else if (n >= 2 && insn[0] == 0xcd && insn[1] == 0x03) {
		ret = skip_and_inject_bp(vcpu, &regs, 2);
	} else if (insn[0] == 0x9b) {
		regs.rip += 1;
		ret = ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
	} else {
		ret = -ENOTSUP;
	}
	if (ret == -EPERM || ret == -ENOTSUP) {
		char hex[3 * 15 + 1] = "";
		int i;

		for (i = 0; i < n; i++)
			snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02x ", insn[i]);
		pr_err("vcpu%u: KVM could not emulate the instruction at rip %#llx: %s%s", vcpu->id,
		       (unsigned long long)regs.rip, hex,
		       ret == -EPERM ? "(--quirks off: not completed by kvmini)" : "");
		return ret;
	}
	if (!ret && __atomic_add_fetch(&vcpu->emulation_fixups, 1, __ATOMIC_RELAXED) == 1)
		pr_debug("vcpu%u: completed %s at %#llx for KVM", vcpu->id,
			 insn[0] == 0x9b ? "fwait" : "int3", (unsigned long long)regs.rip);
	return ret;
}

void vcpu_dump(struct vcpu *vcpu, const char *why)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_run *run = vcpu->run;
	unsigned int i;

	pr_err("vcpu%u stopped: %s (suberror %u)", vcpu->id, why, run->internal.suberror);
	/* An emulation failure was already reported with its instruction bytes. */
	for (i = 0; run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION &&
		    i < run->internal.ndata && i < 16; i++)
		pr_err("  data[%u] = %#llx", i, (unsigned long long)run->internal.data[i]);
	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return;
	pr_err("  rip %016llx rsp %016llx rflags %08llx", (unsigned long long)r.rip,
	       (unsigned long long)r.rsp, (unsigned long long)r.rflags);
	pr_err("  rax %016llx rbx %016llx rcx %016llx rdx %016llx", (unsigned long long)r.rax,
	       (unsigned long long)r.rbx, (unsigned long long)r.rcx, (unsigned long long)r.rdx);
	pr_err("  rsi %016llx rdi %016llx rbp %016llx", (unsigned long long)r.rsi,
	       (unsigned long long)r.rdi, (unsigned long long)r.rbp);
	pr_err("  cr0 %llx cr3 %llx cr4 %llx efer %llx cs %04x", (unsigned long long)s.cr0,
	       (unsigned long long)s.cr3, (unsigned long long)s.cr4, (unsigned long long)s.efer,
	       s.cs.selector);
}
