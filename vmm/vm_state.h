/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The whole machine as state blobs (state.h): the guest configuration that
 * a destination builds its machine from, and the machine state proper.
 *
 *   config:  version, kvmini, memory, cpus, debug-exit,
 *            nic@N { kind, mac, queues, ifname }
 *   state:   version, kvm { pic-master, pic-slave, ioapic, pit, clock, tsc-khz },
 *            cpu@N { ... }, uart, i8042, acpi-pm, rtc, nic@N { pci, virtio, dev }
 */
#ifndef KVMINI_VM_STATE_H
#define KVMINI_VM_STATE_H

#include <stddef.h>

#include "config.h"

struct vm;

/* A malloc'ed blob in *out (the caller frees it); 0 or -errno with vm_state_error(). */
int vm_config_save(struct vm *vm, void **out, size_t *len);
int vm_state_save(struct vm *vm, void **out, size_t *len);

/*
 * The destination's configuration: the guest's part from the blob, the
 * host's part (consoles, NIC backends given with --net, api socket) from
 * host. nics given on the destination's command line replace the source's
 * by position. 0, or -EINVAL with why in err.
 */
int vm_config_load(const void *blob, size_t len, const struct vm_config *host,
		   struct vm_config *out, char *err, size_t errlen);

/*
 * Apply a state blob to a machine built from its config whose vCPUs never
 * ran: checks first (CPUID, TSC), then devices, in-kernel irqchip and PIT,
 * vCPUs, the clock. NIC data paths stay paused. 0 or -errno with vm_state_error().
 */
int vm_state_restore(struct vm *vm, const void *blob, size_t len);

/* Why the last call on this thread failed. */
const char *vm_state_error(void);

#endif
