// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>

#include "cpuid.h"
#include "kvm.h"
#include "quirks.h"

#define CPUID_1_ECX_CX16 (1U << 13)
#define CPUID_1_ECX_X2APIC (1U << 21)
#define CPUID_1_ECX_HYPERVISOR (1U << 31)
#define CPUID_1_EDX_HTT (1U << 28)
#define CPUID_7_EBX_SMAP (1U << 20)

/*
 * KVM paravirt features that are requested with a hypercall (vmcall): on a
 * host where hypercalls never return they hang the guest (PV IPIs during SMP
 * bring-up, PV unhalt in spinlocks). kvmclock and async PF use MSRs and stay.
 */
#define KVM_PV_HYPERCALL_FEATURES ((1U << KVM_FEATURE_PV_UNHALT) | \
				   (1U << KVM_FEATURE_PV_TLB_FLUSH) | \
				   (1U << KVM_FEATURE_PV_SEND_IPI) | \
				   (1U << KVM_FEATURE_POLL_CONTROL) | \
				   (1U << KVM_FEATURE_PV_SCHED_YIELD))

static unsigned int order_base_2(unsigned int n)
{
	unsigned int shift = 0;

	while ((1U << shift) < n)
		shift++;
	return shift;
}

int cpuid_setup_vcpu(struct kvm *kvm, int vcpu_fd, unsigned int id, unsigned int nr_cpus,
		     const struct host_quirks *q)
{
	const struct kvm_cpuid2 *sup = kvm->supported_cpuid;
	size_t size = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	unsigned int core_shift = order_base_2(nr_cpus);
	struct kvm_cpuid2 *c;
	unsigned int i;
	int ret = 0;

	c = malloc(size);
	if (!c)
		return -ENOMEM;
	memcpy(c, sup, size);

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			/* EBX[31:24] initial APIC ID, [23:16] logical processors per package. */
			e->ebx = (e->ebx & 0x0000ffff) | (id << 24) |
				 ((nr_cpus > 255 ? 255 : nr_cpus) << 16);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (nr_cpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			if (q && q->cx16)
				e->ecx &= ~CPUID_1_ECX_CX16;
			break;
		case 4:
			/* EAX[31:26]: cores per package - 1; [25:14]: threads sharing - 1. */
			e->eax &= 0x3ff;
			e->eax |= ((1U << core_shift) - 1) << 26;
			break;
		case 7:
			if (e->index == 0 && q && q->smap)
				e->ebx &= ~CPUID_7_EBX_SMAP;
			break;
		case 0xb:
		case 0x1f:
			/* x2APIC topology: level 0 SMT (1 thread), level 1 core (nr_cpus). */
			e->edx = id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1 << 8) | 0;
			} else if (e->index == 1) {
				e->eax = core_shift;
				e->ebx = nr_cpus;
				e->ecx = (2 << 8) | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case KVM_CPUID_FEATURES:
			if (q && q->hypercall)
				e->eax &= ~KVM_PV_HYPERCALL_FEATURES;
			break;
		default:
			break;
		}
	}
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	return ret;
}
