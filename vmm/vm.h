/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The machine: KVM VM, guest memory, the buses, the vCPUs, the devices and
 * the event loop, and how it stops.
 *
 * Threads: one per vCPU (runs guest code and handles its exits) and the
 * main thread (the event loop: console input, signals, the stop request).
 * Stopping: whoever wants the machine to end calls vm_request_exit(); the
 * first status wins. The main thread then kicks every vCPU out of KVM_RUN
 * (immediate_exit + a signal), joins them and tears down.
 */
#ifndef KVMINI_VM_H
#define KVMINI_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "bus.h"
#include "irq_routing.h"
#include "devices/pci.h"
#include "config.h"
#include "kvm.h"
#include "loop.h"
#include "memory.h"
#include "quirks.h"

struct vm;
struct console;
struct uart;
struct i8042;
struct acpi_pm;
struct rtc;

struct virtio_net;
struct virtio_pci;

struct vm_nic {
	struct virtio_net *net;
	struct virtio_pci *pci;
	uint8_t mac[6];
};

struct migration;
struct api_server;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	uint64_t emulation_fixups;	/* int3/fwait absorbed (quirks) */
};

struct vm {
	const struct vm_config *cfg;
	struct kvm kvm;
	struct guest_memory mem;
	struct bus pio;
	struct bus mmio;
	struct vcpu *vcpus;
	unsigned int nr_vcpus;
	struct host_quirks quirks;
	struct event_loop loop;
	struct console *console;
	int signal_fd;		/* signalfd for SIGINT, SIGTERM, SIGHUP */
	int exit_efd;		/* eventfd: written when the machine must stop */
	int link_timer_fd;	/* timerfd: NICs whose tap may vanish are asked once a second */
	int exit_status;	/* valid once stopping is set */
	bool stopping;

	struct uart *uart;
	struct i8042 *i8042;
	struct acpi_pm *acpi_pm;
	struct rtc *rtc;
	void *debug_exit;

	struct irq_routing irq_routing;
	struct kvm_glue glue;
	struct pci_bus pci;
	struct vm_nic nics[CONFIG_MAX_NICS];
	unsigned int nr_nics;

	/*
	 * Pausing (vm_pause(), vcpu.c): vCPU threads park outside KVM_RUN,
	 * with any PIO/MMIO exit completed, until vm_resume().
	 */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	bool pause_requested;
	unsigned int nr_parked;

	struct migration *migration;	/* outgoing migration or snapshot running (main thread) */
	struct api_server *api;		/* --api-socket */
	uint64_t started_s;		/* CLOCK_MONOTONIC seconds, for status */
};

/* Build the machine from cfg, boot it, run until it stops; returns the exit status. */
int vm_run(const struct vm_config *cfg);

/* Ask the machine to stop with status (the first request wins). Any thread. */
void vm_request_exit(struct vm *vm, int status);

/* vCPU life cycle (vcpu.c). */
int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int id);
int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);
void vcpu_signals_init(void);

/* Pausing the guest (vcpu.c); vm_pause_init() once before vCPUs start. */
void vm_pause_init(struct vm *vm);
/*
 * Returns once every started vCPU is parked and no exit is half-done, so
 * that vCPU and device state can be read. 0, or -ESHUTDOWN when the
 * machine is stopping. Main thread (or one migration thread) only.
 */
int vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
bool vm_paused(struct vm *vm);

/*
 * Absorb an emulation failure KVM reported (emulate.c); 0 when the vCPU may
 * go on. With allowed false (--quirks off) it only reports the instruction.
 */
int emulate_fixup(struct vcpu *vcpu, bool allowed);
void vcpu_dump(struct vcpu *vcpu, const char *why);

#endif
