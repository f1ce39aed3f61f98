// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpuid.h"
#include "exitcode.h"
#include "log.h"
#include "vm.h"

#define SIG_VCPU_KICK SIGUSR1

static void kick_handler(int sig)
{
	/* Only here to make KVM_RUN return -EINTR. */
}

void vcpu_signals_init(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	/* No SA_RESTART: the point is to interrupt KVM_RUN. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIG_VCPU_KICK, &sa, NULL);
}

int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int id)
{
	int ret;

	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->kvm.vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0)
		return -errno;
	vcpu->run = mmap(NULL, vm->kvm.vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		ret = -errno;
		goto err;
	}
	ret = cpuid_setup_vcpu(&vm->kvm, vcpu->fd, id, vm->nr_vcpus, &vm->quirks);
	if (ret)
		goto err_unmap;
	return 0;
err_unmap:
	munmap(vcpu->run, vm->kvm.vcpu_mmap_size);
err:
	close(vcpu->fd);
	vcpu->fd = -1;
	vcpu->run = NULL;
	return ret;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->kvm.vcpu_mmap_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}

static void handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t i;

	/* A string instruction (rep outsb) arrives as count back-to-back items. */
	for (i = 0; i < run->io.count; i++) {
		bus_access(&vcpu->vm->pio, run->io.port, data, run->io.size,
			   run->io.direction == KVM_EXIT_IO_OUT);
		data += run->io.size;
	}
}

static void handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (run->mmio.len > sizeof(run->mmio.data)) {
		pr_err_once("vcpu%u: MMIO access of %u bytes ignored", vcpu->id, run->mmio.len);
		return;
	}
	bus_access(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
		   run->mmio.is_write);
}

/* Returns false when the vCPU must stop. */
static bool handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(vcpu);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return true;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; nothing will wake this vCPU. */
		pr_info("vcpu%u halted with interrupts off", vcpu->id);
		vm_request_exit(vm, EXIT_POWEROFF);
		return false;
	case KVM_EXIT_SHUTDOWN:
		pr_info("vcpu%u: triple fault (KVM_EXIT_SHUTDOWN)", vcpu->id);
		vm_request_exit(vm, EXIT_SHUTDOWN);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_request_exit(vm, EXIT_POWEROFF);
			break;
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_exit(vm, EXIT_REBOOT);
			break;
		default:
			pr_err("vcpu%u: system event %u", vcpu->id, run->system_event.type);
			vm_request_exit(vm, EXIT_GUEST_ERROR);
			break;
		}
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		if (emulate_fixup(vcpu, vm->cfg->quirks != QUIRKS_OFF) == 0)
			return true;
		vcpu_dump(vcpu, "KVM internal error");
		vm_request_exit(vm, EXIT_GUEST_ERROR);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		pr_err("vcpu%u: VM entry failed, hardware reason %#llx", vcpu->id,
		       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vm_request_exit(vm, EXIT_VMM_ERROR);
		return false;
	default:
		pr_err("vcpu%u: unexpected KVM exit reason %u", vcpu->id, run->exit_reason);
		vm_request_exit(vm, EXIT_VMM_ERROR);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIG_VCPU_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!__atomic_load_n(&vm->stopping, __ATOMIC_SEQ_CST)) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				continue;
			}
			pr_err("vcpu%u: KVM_RUN: %s", vcpu->id, strerror(errno));
			vm_request_exit(vm, EXIT_VMM_ERROR);
			break;
		}
		if (!handle_exit(vcpu))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	char name[16];
	int ret;

	ret = -pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (ret)
		return ret;
	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(vcpu->thread, name);
	vcpu->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->started)
		return;
	/*
	 * immediate_exit covers the window where the signal lands before the
	 * thread enters KVM_RUN (Documentation/virt/kvm/api.rst, immediate_exit).
	 */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(vcpu->thread, SIG_VCPU_KICK);
}
