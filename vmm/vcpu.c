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
#include "seccomp.h"
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
		/* The guest is dead (SDM Vol. 3A, 6.15, "Interrupt 8"): say so even without -v. */
		pr_warn("vcpu%u: triple fault (KVM_EXIT_SHUTDOWN): the guest stopped, exit status %d",
			vcpu->id, EXIT_SHUTDOWN);
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

/*
 * Finish the exit KVM_RUN last returned before the vCPU's state is read: a
 * PIO-in or MMIO-read only lands in the guest's registers on the next
 * KVM_RUN, and immediate_exit makes that call return -EINTR right after it
 * ("complete pending operations", Documentation/virt/kvm/api.rst,
 * immediate_exit). A rep string access can need another exit first. Returns
 * false when the vCPU must stop.
 */
static bool complete_pending_exit(struct vcpu *vcpu)
{
	for (;;) {
		__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (ioctl(vcpu->fd, KVM_RUN, 0) == 0) {
			if (!handle_exit(vcpu))
				return false;
			continue;
		}
		if (errno == EINTR || errno == EAGAIN)
			return true;
		pr_err("vcpu%u: KVM_RUN (completing an exit): %s", vcpu->id, strerror(errno));
		vm_request_exit(vcpu->vm, EXIT_VMM_ERROR);
		return false;
	}
}

static bool vm_stopping(struct vm *vm)
{
	return __atomic_load_n(&vm->stopping, __ATOMIC_SEQ_CST);
}

/* Wait outside KVM_RUN until vm_resume() or the machine stops. */
static void park(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	pthread_mutex_lock(&vm->pause_lock);
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (vm->pause_requested && !vm_stopping(vm))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->nr_parked--;
	pthread_mutex_unlock(&vm->pause_lock);
	/*
	 * Before the loop looks at stopping again: a stop request sets
	 * stopping before it kicks, so a kick lost here is seen there.
	 */
	__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIG_VCPU_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	seccomp_enter(SECCOMP_VCPU);

	while (!vm_stopping(vm)) {
		if (__atomic_load_n(&vm->pause_requested, __ATOMIC_SEQ_CST)) {
			if (!complete_pending_exit(vcpu))
				break;
			park(vcpu);
			continue;
		}
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
	/* A vm_pause() waiting for this thread to park must see it is gone. */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
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
	struct vm *vm = vcpu->vm;

	if (!vcpu->started)
		return;
	/*
	 * immediate_exit covers the window where the signal lands before the
	 * thread enters KVM_RUN (Documentation/virt/kvm/api.rst, immediate_exit).
	 */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(vcpu->thread, SIG_VCPU_KICK);
	/* A parked thread sleeps on pause_cond, not in KVM_RUN: wake it to see stopping. */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_pause_init(struct vm *vm)
{
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	vm->pause_requested = false;
	vm->nr_parked = 0;
}

static unsigned int nr_started(const struct vm *vm)
{
	unsigned int i, n = 0;

	for (i = 0; i < vm->nr_vcpus; i++)
		n += vm->vcpus[i].started;
	return n;
}

int vm_pause(struct vm *vm)
{
	unsigned int i;
	int ret = 0;

	pthread_mutex_lock(&vm->pause_lock);
	__atomic_store_n(&vm->pause_requested, true, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vm->pause_lock);
	/* vcpu_kick() takes pause_lock: kick without holding it. */
	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);

	pthread_mutex_lock(&vm->pause_lock);
	for (;;) {
		if (vm_stopping(vm)) {
			ret = -ESHUTDOWN;
			break;
		}
		if (vm->nr_parked >= nr_started(vm))
			break;
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	}
	pthread_mutex_unlock(&vm->pause_lock);
	return ret;
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	__atomic_store_n(&vm->pause_requested, false, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

bool vm_paused(struct vm *vm)
{
	return __atomic_load_n(&vm->pause_requested, __ATOMIC_SEQ_CST);
}
