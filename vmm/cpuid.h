/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVMINI_CPUID_H
#define KVMINI_CPUID_H

struct kvm;
struct host_quirks;

/*
 * Give vCPU id (APIC ID = id) of nr_cpus the host's supported CPUID with its
 * own APIC IDs and topology (one socket, one thread per core), the
 * hypervisor bit, and KVM's paravirt leaves minus what the quirks rule out.
 */
int cpuid_setup_vcpu(struct kvm *kvm, int vcpu_fd, unsigned int id, unsigned int nr_cpus,
		     const struct host_quirks *q);

#endif
