/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interrupt routing for devices that signal MSIs: the KVM GSI routing table
 * (KVM_SET_GSI_ROUTING), irqfds bound to its routes (KVM_IRQFD) and one-off
 * messages (KVM_SIGNAL_MSI).
 *
 * KVM_SET_GSI_ROUTING replaces the whole table, so kvmini keeps its own copy:
 * GSIs 0-23 stay routed to the in-kernel IOAPIC pins (and 0-15 also to the
 * PICs), as KVM's default table does (arch/x86/kvm/irq_comm.c), and every
 * MSI route a device allocates gets a GSI from IRQ_ROUTING_MSI_BASE up. The
 * copy and the ioctl are serialized by a mutex: vCPU threads program MSI-X
 * tables concurrently.
 */
#ifndef KVMINI_IRQ_ROUTING_H
#define KVMINI_IRQ_ROUTING_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define IRQ_ROUTING_IRQCHIP_GSIS 24
#define IRQ_ROUTING_MSI_BASE IRQ_ROUTING_IRQCHIP_GSIS
#define IRQ_ROUTING_MAX_MSI 1024

struct irq_msi_route {
	bool used;
	uint64_t addr;
	uint32_t data;
};

struct irq_routing {
	int vm_fd;
	pthread_mutex_t lock;
	unsigned int max_msi; /* MSI routes this host's KVM allows (capped) */
	unsigned int nr_used;
	struct irq_msi_route *msi; /* indexed by gsi - IRQ_ROUTING_MSI_BASE */
};

/* Install the default irqchip routes. 0 or a negative errno. */
int irq_routing_init(struct irq_routing *r, int vm_fd);
void irq_routing_destroy(struct irq_routing *r);

/* A new MSI route: returns its GSI (>= IRQ_ROUTING_MSI_BASE) or a negative errno. */
int irq_routing_add_msi(struct irq_routing *r, uint64_t addr, uint32_t data);
int irq_routing_update_msi(struct irq_routing *r, uint32_t gsi, uint64_t addr, uint32_t data);
int irq_routing_del_msi(struct irq_routing *r, uint32_t gsi);

/* Deliver one message now. */
int irq_signal_msi(int vm_fd, uint64_t addr, uint32_t data);

/*
 * Bind eventfd fd to gsi: a write to fd injects the GSI. resample_fd (or -1)
 * makes it a level-triggered line: KVM deasserts it at the guest's EOI and
 * signals resample_fd so the device can reassert if it still needs service.
 */
int irqfd_assign(int vm_fd, int fd, uint32_t gsi, int resample_fd);
int irqfd_deassign(int vm_fd, int fd, uint32_t gsi);

/*
 * The KVM calls a device transport needs, as a table so that unit tests can
 * supply fakes. All may be called from any thread.
 */
struct kvm_glue {
	int (*msi_route_add)(void *ctx, uint64_t addr, uint32_t data); /* GSI or -errno */
	int (*msi_route_update)(void *ctx, uint32_t gsi, uint64_t addr, uint32_t data);
	void (*msi_route_del)(void *ctx, uint32_t gsi);
	int (*irqfd)(void *ctx, int fd, uint32_t gsi, bool assign);
	int (*signal_msi)(void *ctx, uint64_t addr, uint32_t data);
	/* MMIO (pio false) or port; len as in struct ioeventfd, no datamatch. */
	int (*ioeventfd)(void *ctx, uint64_t addr, uint32_t len, bool pio, int fd, bool assign);
	void *ctx;
};

/* The real thing: ctx is r (which must outlive the glue). */
void irq_routing_glue(struct irq_routing *r, struct kvm_glue *glue);

#endif
