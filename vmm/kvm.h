/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The KVM system and VM file descriptors, and the few VM-wide ioctls kvmini
 * uses: memory slots, the in-kernel irqchip and PIT, interrupt lines.
 */
#ifndef KVMINI_KVM_H
#define KVMINI_KVM_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

struct guest_memory;

struct kvm {
	int sys_fd;
	int vm_fd;
	int vcpu_mmap_size;
	int nr_vcpus_recommended;	/* KVM_CAP_NR_VCPUS */
	int max_vcpus;			/* KVM_CAP_MAX_VCPUS */
	bool x2apic_api;		/* KVM_CAP_X2APIC_API */
	struct kvm_cpuid2 *supported_cpuid;
};

/* Open /dev/kvm and check the API; -errno with a message in err on failure. */
int kvm_open(struct kvm *kvm, char *err, size_t errlen);
/* Create the VM; with_irqchip adds the in-kernel PIC/IOAPIC/LAPIC and PIT. */
int kvm_create_vm(struct kvm *kvm, bool with_irqchip, char *err, size_t errlen);
int kvm_map_memory(struct kvm *kvm, const struct guest_memory *mem);
void kvm_close(struct kvm *kvm);

/* irq_line callback: KVM_IRQ_LINE on the in-kernel irqchip. opaque is struct kvm. */
void kvm_set_irq_level(void *opaque, uint32_t gsi, int level);

int kvm_check_extension(struct kvm *kvm, long cap);

#endif
