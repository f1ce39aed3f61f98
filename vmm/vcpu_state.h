/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One vCPU's state in a state blob (state.h), node "cpu@N":
 *
 *   cpuid      kvm_cpuid_entry2[] as kvmini set it (KVM_GET_CPUID2)
 *   regs       struct kvm_regs
 *   sregs2     struct kvm_sregs2 (KVM_CAP_SREGS2), else sregs: struct kvm_sregs
 *   xsave      KVM's XSAVE area (4096 bytes, or KVM_CAP_XSAVE2's size), else
 *   fpu        struct kvm_fpu (hosts without KVM_CAP_XSAVE)
 *   xcrs       struct kvm_xcrs (only with KVM_CAP_XCRS)
 *   lapic      struct kvm_lapic_state
 *   msrs       kvm_msr_entry[]: every MSR of KVM_GET_MSR_INDEX_LIST that reads
 *   events     struct kvm_vcpu_events
 *   mp-state   struct kvm_mp_state
 *   debugregs  struct kvm_debugregs
 *
 * Every property is checked for presence and size before anything reaches
 * KVM, so a damaged blob is refused with one line (state_error()) and never
 * half-applied.
 */
#ifndef KVMINI_VCPU_STATE_H
#define KVMINI_VCPU_STATE_H

struct vcpu;

/* Into the caller's open node "cpu@N". The vCPU is paused, outside KVM_RUN. 0 or -errno. */
int vcpu_state_save(struct vcpu *vcpu, void *fdt);

/*
 * Can this host run the saved vCPU? Refuses (-EINVAL, one line in
 * state_error()) CPUID feature bits this vCPU's own CPUID (set by
 * vcpu_create()) lacks, MSRs this KVM does not know, and register formats
 * it cannot take.
 */
int vcpu_state_check(struct vcpu *vcpu, const void *fdt, int node);

/*
 * What vcpu_state_check() reads before it asks KVM anything: the node's
 * properties, their sizes and counts. 0, or -EINVAL (-ENOMEM) with
 * state_error() set. Needs no vCPU: tests/fuzz/fuzz_state.c runs it.
 */
int vcpu_state_parse(const void *fdt, int node, unsigned int id);

/*
 * Load the saved state into a vCPU that never ran, in the order KVM needs
 * (CPUID first, LAPIC before the TSC deadline). Call kvm_state_restore()
 * before and kvm_state_restore_clock() after. 0 or -errno with state_error().
 */
int vcpu_state_restore(struct vcpu *vcpu, const void *fdt, int node);

#endif
