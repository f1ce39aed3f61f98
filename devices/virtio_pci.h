/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The virtio-pci transport, modern interface only (virtio 1.2, 4.1): a PCI
 * function 0x1af4:0x1040+id whose capabilities point at the common
 * configuration, notification, ISR and device configuration structures in
 * BAR 0 (64-bit memory), with the MSI-X table and PBA in BAR 2 (32-bit
 * memory), plus the configuration-space window VIRTIO_PCI_CAP_PCI_CFG.
 *
 * Notifications: each queue has a kick eventfd, bound with KVM_IOEVENTFD to
 * its notify address while BAR 0 decodes (a plain MMIO write there, when no
 * ioeventfd took it, is forwarded to the eventfd), and a call eventfd bound
 * with KVM_IRQFD to an MSI route carrying its vector's message while MSI-X
 * is enabled and the vector is unmasked. Otherwise the transport reads the
 * call eventfd itself and sets the vector's pending bit (masked) or ISR
 * bit 0 and INTx (MSI-X disabled), so that no interrupt is lost.
 *
 * Threads and locking: every register access takes the PCI device's lock
 * (pci.h). A watcher thread per device polls the call eventfds that are not
 * bound to an irqfd, and performs the work a virtio device requests
 * through struct virtio_transport, which never blocks on that lock: the
 * device may call it from any thread, even from inside its ops, which are
 * called with the lock held.
 */
#ifndef KVMINI_VIRTIO_PCI_H
#define KVMINI_VIRTIO_PCI_H

#include <stdbool.h>

#include "../vmm/irq_routing.h"
#include "virtio.h"

struct guest_memory;
struct pci_bus;
struct pci_device;
struct virtio_pci;

struct virtio_pci_params {
	const char *name;
	const struct virtio_dev_ops *ops;
	void *dev;			/* the device's opaque, passed to ops */
	const struct guest_memory *mem; /* to check ring addresses */
	/* KVM_IRQFD, routes, KVM_SIGNAL_MSI, KVM_IOEVENTFD; NULL: none (interrupts go nowhere). */
	const struct kvm_glue *kvm;
	/*
	 * No watcher thread: the owner calls virtio_pci_service() to read the
	 * call eventfds and run deferred device requests (tests, fuzzing).
	 */
	bool manual_service;
};

/* NULL on failure, with one line logged. */
struct virtio_pci *virtio_pci_create(const struct virtio_pci_params *p);
/* Put the device on bus pb (slot -1: first free). Returns the slot or a negative errno. */
int virtio_pci_add(struct virtio_pci *vp, struct pci_bus *pb, int slot);
/* Stops the device, unbinds everything, frees. The device must be off the bus. */
void virtio_pci_destroy(struct virtio_pci *vp);

/* What the device calls back into (device_error, config_changed). */
struct virtio_transport virtio_pci_transport(struct virtio_pci *vp);

/* Non-blocking: deliver what the call eventfds and the device asked for. */
void virtio_pci_service(struct virtio_pci *vp);

struct pci_device *virtio_pci_pdev(struct virtio_pci *vp);

/*
 * Live migration and snapshots (virtio_pci_state.c), with the guest paused,
 * from any thread but the device's own.
 *
 * virtio_pci_pause() stops the data path where it is: on return neither the
 * device (its I/O thread, a vhost worker) nor the transport's watcher
 * writes guest memory or raises an interrupt until virtio_pci_resume();
 * interrupts that were on their way are kept as pending state. Idempotent;
 * on a device that is not started it only holds back interrupts. A device
 * that fails to pause is stopped for good (DEVICE_NEEDS_RESET) and the
 * errno returned.
 *
 * virtio_pci_resume() starts the data path where it stopped (also after a
 * restore) and delivers what is pending; the data path stays off when the
 * driver had not reached DRIVER_OK or the device needs reset.
 *
 * virtio_pci_save() adds subnodes pci, virtio and dev to the caller's open
 * node; the device must be paused if it was started.
 *
 * virtio_pci_restore() applies such a node to a device freshly created and
 * added to a bus (same slot, same backend kind): everything is checked
 * before anything is applied, so on -EINVAL (state_error() says why) the
 * device is still at reset. It leaves the device paused, BARs decoding
 * where the guest had put them, notifications and MSI routes wired.
 */
int virtio_pci_pause(struct virtio_pci *vp);
int virtio_pci_resume(struct virtio_pci *vp);
int virtio_pci_save(struct virtio_pci *vp, void *fdt);
int virtio_pci_restore(struct virtio_pci *vp, const void *fdt, int node);

#endif
