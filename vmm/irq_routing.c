// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "ioeventfd.h"
#include "irq_routing.h"
#include "log.h"

/* IOAPIC pins 0-23, plus the two 8259s for the 16 ISA IRQs. */
#define NR_IRQCHIP_ENTRIES (IRQ_ROUTING_IRQCHIP_GSIS + 16)

static void irqchip_entries(struct kvm_irq_routing_entry *e)
{
	unsigned int i, n = 0;

	for (i = 0; i < IRQ_ROUTING_IRQCHIP_GSIS; i++) {
		e[n].gsi = i;
		e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		e[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		e[n].u.irqchip.pin = i;
		n++;
		if (i >= 16)
			continue;
		e[n].gsi = i;
		e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		e[n].u.irqchip.irqchip = i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
		e[n].u.irqchip.pin = i % 8;
		n++;
	}
}

/* Push the whole table to KVM. Called with r->lock held. */
static int commit(struct irq_routing *r)
{
	struct kvm_irq_routing *t;
	unsigned int i, n = NR_IRQCHIP_ENTRIES;
	int ret = 0;

	t = calloc(1, sizeof(*t) + (NR_IRQCHIP_ENTRIES + r->nr_used) * sizeof(t->entries[0]));
	if (!t)
		return -ENOMEM;
	irqchip_entries(t->entries);
	for (i = 0; i < r->max_msi; i++) {
		struct kvm_irq_routing_entry *e = &t->entries[n];

		if (!r->msi[i].used)
			continue;
		e->gsi = IRQ_ROUTING_MSI_BASE + i;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)r->msi[i].addr;
		e->u.msi.address_hi = (uint32_t)(r->msi[i].addr >> 32);
		e->u.msi.data = r->msi[i].data;
		n++;
	}
	t->nr = n;
	if (ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, t) < 0)
		ret = -errno;
	free(t);
	return ret;
}

int irq_routing_init(struct irq_routing *r, int vm_fd)
{
	int max_routes;
	int ret;

	memset(r, 0, sizeof(*r));
	r->vm_fd = vm_fd;
	max_routes = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING);
	if (max_routes <= IRQ_ROUTING_IRQCHIP_GSIS)
		return -ENOTSUP;
	/* KVM refuses any GSI at or above the value it reports. */
	r->max_msi = max_routes - IRQ_ROUTING_MSI_BASE;
	if (r->max_msi > IRQ_ROUTING_MAX_MSI)
		r->max_msi = IRQ_ROUTING_MAX_MSI;
	r->msi = calloc(r->max_msi, sizeof(*r->msi));
	if (!r->msi)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_lock(&r->lock);
	ret = commit(r);
	pthread_mutex_unlock(&r->lock);
	if (ret) {
		pthread_mutex_destroy(&r->lock);
		free(r->msi);
		r->msi = NULL;
	}
	return ret;
}

void irq_routing_destroy(struct irq_routing *r)
{
	if (!r->msi)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->msi);
	r->msi = NULL;
}

int irq_routing_add_msi(struct irq_routing *r, uint64_t addr, uint32_t data)
{
	unsigned int i;
	int ret;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->max_msi && r->msi[i].used; i++)
		;
	if (i == r->max_msi) {
		ret = -ENOSPC;
		goto out;
	}
	r->msi[i] = (struct irq_msi_route){true, addr, data};
	r->nr_used++;
	ret = commit(r);
	if (ret) {
		r->msi[i].used = false;
		r->nr_used--;
		goto out;
	}
	ret = IRQ_ROUTING_MSI_BASE + i;
out:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

static struct irq_msi_route *lookup(struct irq_routing *r, uint32_t gsi)
{
	if (gsi < IRQ_ROUTING_MSI_BASE || gsi - IRQ_ROUTING_MSI_BASE >= r->max_msi)
		return NULL;
	if (!r->msi[gsi - IRQ_ROUTING_MSI_BASE].used)
		return NULL;
	return &r->msi[gsi - IRQ_ROUTING_MSI_BASE];
}

int irq_routing_update_msi(struct irq_routing *r, uint32_t gsi, uint64_t addr, uint32_t data)
{
	struct irq_msi_route *m, old;
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	m = lookup(r, gsi);
	if (!m) {
		ret = -ENOENT;
		goto out;
	}
	if (m->addr == addr && m->data == data)
		goto out;
	old = *m;
	m->addr = addr;
	m->data = data;
	ret = commit(r);
	if (ret)
		*m = old;
out:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int irq_routing_del_msi(struct irq_routing *r, uint32_t gsi)
{
	struct irq_msi_route *m;
	int ret;

	pthread_mutex_lock(&r->lock);
	m = lookup(r, gsi);
	if (!m) {
		ret = -ENOENT;
		goto out;
	}
	m->used = false;
	r->nr_used--;
	/* A failure leaves a stale route in KVM, harmless: nothing is bound to it any more. */
	ret = commit(r);
out:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int irq_signal_msi(int vm_fd, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};

	/* Returns 0 when the message was blocked (e.g. masked in the LAPIC): not an error. */
	return ioctl(vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -errno : 0;
}

int irqfd_assign(int vm_fd, int fd, uint32_t gsi, int resample_fd)
{
	struct kvm_irqfd req = {.fd = fd, .gsi = gsi};

	if (resample_fd >= 0) {
		req.flags = KVM_IRQFD_FLAG_RESAMPLE;
		req.resamplefd = resample_fd;
	}
	return ioctl(vm_fd, KVM_IRQFD, &req) < 0 ? -errno : 0;
}

int irqfd_deassign(int vm_fd, int fd, uint32_t gsi)
{
	struct kvm_irqfd req = {.fd = fd, .gsi = gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN};

	return ioctl(vm_fd, KVM_IRQFD, &req) < 0 ? -errno : 0;
}

static int glue_route_add(void *ctx, uint64_t addr, uint32_t data)
{
	return irq_routing_add_msi(ctx, addr, data);
}

static int glue_route_update(void *ctx, uint32_t gsi, uint64_t addr, uint32_t data)
{
	return irq_routing_update_msi(ctx, gsi, addr, data);
}

static void glue_route_del(void *ctx, uint32_t gsi)
{
	int ret = irq_routing_del_msi(ctx, gsi);

	if (ret)
		pr_err_once("cannot remove MSI route %u: %s", gsi, strerror(-ret));
}

static int glue_irqfd(void *ctx, int fd, uint32_t gsi, bool assign)
{
	struct irq_routing *r = ctx;

	return assign ? irqfd_assign(r->vm_fd, fd, gsi, -1) : irqfd_deassign(r->vm_fd, fd, gsi);
}

static int glue_signal_msi(void *ctx, uint64_t addr, uint32_t data)
{
	struct irq_routing *r = ctx;

	return irq_signal_msi(r->vm_fd, addr, data);
}

static int glue_ioeventfd(void *ctx, uint64_t addr, uint32_t len, bool pio, int fd, bool assign)
{
	struct irq_routing *r = ctx;
	struct ioeventfd ev = {.addr = addr, .len = len, .fd = fd, .pio = pio};

	return assign ? ioeventfd_assign(r->vm_fd, &ev) : ioeventfd_deassign(r->vm_fd, &ev);
}

void irq_routing_glue(struct irq_routing *r, struct kvm_glue *glue)
{
	*glue = (struct kvm_glue){
		.msi_route_add = glue_route_add,
		.msi_route_update = glue_route_update,
		.msi_route_del = glue_route_del,
		.irqfd = glue_irqfd,
		.signal_msi = glue_signal_msi,
		.ioeventfd = glue_ioeventfd,
		.ctx = r,
	};
}
