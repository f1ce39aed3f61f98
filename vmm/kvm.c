// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm.h"
#include "log.h"
#include "memory.h"

/* Where KVM puts the three pages it needs on Intel (TSS) and the identity map. */
#define KVM_TSS_GPA 0xfffbd000ULL
#define KVM_IDENTITY_MAP_GPA 0xfffbc000ULL

int kvm_check_extension(struct kvm *kvm, long cap)
{
	int fd = kvm->vm_fd >= 0 ? kvm->vm_fd : kvm->sys_fd;
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

static struct kvm_cpuid2 *get_supported_cpuid(int sys_fd)
{
	unsigned int nent = 128;

	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = nent;
		if (ioctl(sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG || nent >= 4096)
			return NULL;
		nent *= 2;
	}
}

int kvm_open(struct kvm *kvm, char *err, size_t errlen)
{
	int version;

	memset(kvm, 0, sizeof(*kvm));
	kvm->vm_fd = -1;
	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0) {
		int e = errno;

		if (e == ENOENT)
			snprintf(err, errlen, "/dev/kvm does not exist: is KVM enabled "
				 "(kvm_intel or kvm_amd loaded, virtualization on in the firmware)?");
		else if (e == EACCES || e == EPERM)
			snprintf(err, errlen, "/dev/kvm: permission denied (add yourself to the "
				 "'kvm' group or run as root)");
		else
			snprintf(err, errlen, "/dev/kvm: %s", strerror(e));
		return -e;
	}
	version = ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		snprintf(err, errlen, "KVM API version %d, kvmini needs %d", version,
			 KVM_API_VERSION);
		goto err;
	}
	kvm->vcpu_mmap_size = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		goto err;
	}
	kvm->nr_vcpus_recommended = kvm_check_extension(kvm, KVM_CAP_NR_VCPUS);
	kvm->max_vcpus = kvm_check_extension(kvm, KVM_CAP_MAX_VCPUS);
	if (!kvm->nr_vcpus_recommended)
		kvm->nr_vcpus_recommended = 4;
	if (!kvm->max_vcpus)
		kvm->max_vcpus = kvm->nr_vcpus_recommended;
	kvm->supported_cpuid = get_supported_cpuid(kvm->sys_fd);
	if (!kvm->supported_cpuid) {
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		goto err;
	}
	return 0;
err:
	close(kvm->sys_fd);
	kvm->sys_fd = -1;
	return -EINVAL;
}

int kvm_create_vm(struct kvm *kvm, bool with_irqchip, char *err, size_t errlen)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	const char *what;

	kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0) {
		what = "KVM_CREATE_VM";
		goto err;
	}
	/* Needed on Intel before the first vCPU runs; harmless elsewhere. */
	if (ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_GPA) < 0) {
		what = "KVM_SET_TSS_ADDR";
		goto err;
	}
	if (kvm_check_extension(kvm, KVM_CAP_SET_IDENTITY_MAP_ADDR)) {
		uint64_t addr = KVM_IDENTITY_MAP_GPA;

		if (ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr) < 0) {
			what = "KVM_SET_IDENTITY_MAP_ADDR";
			goto err;
		}
	}
	if (!with_irqchip)
		return 0;
	if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		what = "KVM_CREATE_IRQCHIP";
		goto err;
	}
	if (ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		what = "KVM_CREATE_PIT2";
		goto err;
	}
	/*
	 * x2APIC IDs above 254 need the 32-bit destination format in MSI routes
	 * and broadcast quirk disabled (Documentation/virt/kvm/api.rst, 7.19).
	 */
	if (kvm_check_extension(kvm, KVM_CAP_X2APIC_API)) {
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_X2APIC_API,
			.args[0] = KVM_X2APIC_API_USE_32BIT_IDS |
				   KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK,
		};

		kvm->x2apic_api = ioctl(kvm->vm_fd, KVM_ENABLE_CAP, &cap) == 0;
	}
	return 0;
err:
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return -errno;
}

int kvm_map_memory(struct kvm *kvm, const struct guest_memory *mem)
{
	unsigned int i;

	for (i = 0; i < mem->nr_regions; i++) {
		const struct mem_region *r = &mem->region[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};

		if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return -errno;
	}
	return 0;
}

void kvm_set_irq_level(void *opaque, uint32_t gsi, int level)
{
	struct kvm *kvm = opaque;
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	if (ioctl(kvm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		pr_err_once("KVM_IRQ_LINE gsi %u: %s", gsi, strerror(errno));
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	free(kvm->supported_cpuid);
	kvm->supported_cpuid = NULL;
	kvm->vm_fd = kvm->sys_fd = -1;
}
