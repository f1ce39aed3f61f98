/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM-wide in-kernel state in a state blob (state.h), node "kvm":
 *
 *   pic-master, pic-slave  struct kvm_pic_state (KVM_GET_IRQCHIP)
 *   ioapic                 struct kvm_ioapic_state (KVM_GET_IRQCHIP)
 *   pit                    struct kvm_pit_state2 (KVM_GET_PIT2), when the VM has a PIT
 *   clock                  struct kvm_clock_data (KVM_GET_CLOCK)
 *   tsc-khz                u32, the guest's TSC rate (0: KVM could not tell)
 *
 * A destination calls kvm_state_check() and vcpu_state_check() for every
 * vCPU, then kvm_state_restore(), vcpu_state_restore() for every vCPU,
 * kvm_state_restore_clock(), and only then starts the vCPU threads.
 */
#ifndef KVMINI_KVM_STATE_H
#define KVMINI_KVM_STATE_H

struct vm;

/* Into the caller's open node "kvm"; vCPUs paused. 0 or -errno. */
int kvm_state_save(struct vm *vm, void *fdt);

/*
 * Can this machine take it: the PIT present on both sides or neither, the
 * guest's TSC rate settable here. 0, or -EINVAL with one line in state_error().
 */
int kvm_state_check(struct vm *vm, const void *fdt, int node);

/* Its first step, without KVM: the node's properties and their sizes (for fuzz_state). */
int kvm_state_parse(const void *fdt, int node);

/* PICs, IOAPIC, PIT, and the TSC rate of every vCPU in vm->vcpus: before the vCPUs' state. */
int kvm_state_restore(struct vm *vm, const void *fdt, int node);

/* KVM_SET_CLOCK, after every vCPU is restored (their TSC writes move kvmclock's base). */
int kvm_state_restore_clock(struct vm *vm, const void *fdt, int node);

#endif
