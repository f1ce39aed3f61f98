/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a device sees of the machine: an interrupt line it can raise and
 * lower, and a way to ask the machine to stop. Both are small callback
 * structs so that unit tests can supply their own and check what a device
 * did without KVM.
 */
#ifndef KVMINI_DEVICE_H
#define KVMINI_DEVICE_H

#include <stdint.h>

#include "../vmm/exitcode.h"

struct irq_line {
	/* level 1 asserts, 0 deasserts; edge-triggered users pulse 1 then 0. */
	void (*set_level)(void *opaque, uint32_t gsi, int level);
	void *opaque;
	uint32_t gsi;
};

static inline void irq_line_set(const struct irq_line *irq, int level)
{
	if (irq->set_level)
		irq->set_level(irq->opaque, irq->gsi, level);
}

struct machine_ctl {
	/* Ask the machine to stop all vCPUs and exit with this status. */
	void (*request_exit)(void *opaque, enum kvmini_exit why);
	/*
	 * The same with an arbitrary 8-bit status, for the test-only
	 * isa-debug-exit port whose statuses are outside enum kvmini_exit.
	 */
	void (*request_exit_status)(void *opaque, int status);
	void *opaque;
};

static inline void machine_request_exit(const struct machine_ctl *ctl, enum kvmini_exit why)
{
	if (ctl->request_exit)
		ctl->request_exit(ctl->opaque, why);
}

static inline void machine_request_exit_status(const struct machine_ctl *ctl, int status)
{
	if (ctl->request_exit_status)
		ctl->request_exit_status(ctl->opaque, status);
}

#endif
