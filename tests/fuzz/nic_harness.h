/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fuzz_state's NIC: virtio-net on virtio-pci on a PCI bus of its own, with
 * a frames backend that carries nothing and a fake KVM (what
 * tests/devices/test_virtio_pci_state.c builds, without the traffic), and
 * the driver's side up to DRIVER_OK for the seed. Uses the includer's
 * CHECK().
 */
#ifndef KVMINI_FUZZ_NIC_HARNESS_H
#define KVMINI_FUZZ_NIC_HARNESS_H

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#undef PCI_IO_BASE

#include "devices/net_backend.h"
#include "devices/pci.h"
#include "devices/virtio_net.h"
#include "devices/virtio_pci.h"
#include "vmm/bus.h"
#include "vmm/irq_routing.h"
#include "vmm/memory.h"

/* ---- a virtio-net NIC on virtio-pci, on a PCI bus of its own ---- */

static uint32_t be_caps(struct net_backend *be)
{
	return NET_CAP_VNET_HDR;
}
static int be_set_offloads(struct net_backend *be, uint32_t o)
{
	return 0;
}
static int be_send(struct net_backend *be, const struct iovec *iov, int n)
{
	return 0;
}
static ssize_t be_recv(struct net_backend *be, void *buf, size_t len)
{
	return -EAGAIN;
}
static int be_poll_prepare(struct net_backend *be, struct net_pollset *ps, bool rx)
{
	return 0;
}
static void be_poll_dispatch(struct net_backend *be, const struct net_pollset *ps)
{
}
static void be_destroy(struct net_backend *be)
{
	free(be);
}

static const struct net_backend_ops be_ops = {
	.name = "null",
	.mode = NET_BACKEND_FRAMES,
	.destroy = be_destroy,
	.caps = be_caps,
	.set_offloads = be_set_offloads,
	.send = be_send,
	.recv = be_recv,
	.poll_prepare = be_poll_prepare,
	.poll_dispatch = be_poll_dispatch,
};

static int k_route_add(void *ctx, uint64_t addr, uint32_t data)
{
	return 24;
}
static int k_route_update(void *ctx, uint32_t gsi, uint64_t addr, uint32_t data)
{
	return 0;
}
static void k_route_del(void *ctx, uint32_t gsi)
{
}
static int k_irqfd(void *ctx, int fd, uint32_t gsi, bool assign)
{
	return 0;
}
static int k_signal(void *ctx, uint64_t addr, uint32_t data)
{
	return 0;
}
static int k_ioeventfd(void *ctx, uint64_t a, uint32_t len, bool pio, int fd, bool assign)
{
	return 0;
}

static const struct kvm_glue glue = {k_route_add, k_route_update, k_route_del, k_irqfd,
				     k_signal,	  k_ioeventfd,	  NULL};

struct nic {
	struct bus mmio;
	struct pci_bus pb;
	struct virtio_net *net;
	struct virtio_pci *vp;
};

static struct guest_memory nic_mem;

static void *nic_new(struct bus *pio)
{
	static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	struct nic *x = calloc(1, sizeof(*x));
	struct net_backend *be = calloc(1, sizeof(*be));
	struct virtio_pci_params p = {.name = "nic0",
				      .ops = &virtio_net_ops,
				      .mem = &nic_mem,
				      .kvm = &glue,
				      .manual_service = true};
	struct virtio_transport t;

	/* Guest RAM is the machine, not state: restore only checks rings against it. */
	if (!nic_mem.nr_regions)
		CHECK(!guest_memory_init(&nic_mem, 4 << 20, false));
	CHECK(x && be);
	be->ops = &be_ops;
	x->net = virtio_net_create(&nic_mem, be, mac);
	CHECK(x->net);
	p.dev = x->net;
	x->vp = virtio_pci_create(&p);
	CHECK(x->vp);
	t = virtio_pci_transport(x->vp);
	virtio_net_set_transport(x->net, &t);
	CHECK(!bus_init(&x->mmio, "mmio"));
	CHECK(!pci_bus_init(&x->pb, pio, &x->mmio, NULL, NULL));
	CHECK(!pci_bus_register(&x->pb, NULL, NULL));
	CHECK(virtio_pci_add(x->vp, &x->pb, 3) == 3);
	return x;
}

static void nic_del(void *d)
{
	struct nic *x = d;

	pci_bus_destroy(&x->pb);
	virtio_pci_destroy(x->vp);
	virtio_net_destroy(x->net);
	bus_destroy(&x->mmio);
	free(x);
}

static int nic_sv(void *d, void *fdt)
{
	return virtio_pci_save(((struct nic *)d)->vp, fdt);
}
static int nic_rs(void *d, const void *f, int n)
{
	return virtio_pci_restore(((struct nic *)d)->vp, f, n);
}

static void nic_cfg_write(struct nic *x, uint32_t off, uint32_t v, uint32_t len)
{
	pci_config_access(&x->pb, 0, 3, 0, off, (uint8_t *)&v, len, true, PCI_CFG_SIZE);
}

static uint64_t nic_bar(struct nic *x, int bar)
{
	uint64_t a = 0;
	uint32_t lo = 0, hi = 0;

	pci_config_access(&x->pb, 0, 3, 0, PCI_BASE_ADDRESS_0 + 4 * bar, (uint8_t *)&lo, 4, false,
			  PCI_CFG_SIZE);
	if (bar == 0)
		pci_config_access(&x->pb, 0, 3, 0, PCI_BASE_ADDRESS_1, (uint8_t *)&hi, 4, false,
				  PCI_CFG_SIZE);
	a = (lo & ~0xfULL) | (uint64_t)hi << 32;
	return a;
}

static void nic_wr(struct nic *x, uint64_t off, uint64_t v, uint32_t len)
{
	CHECK(bus_access(&x->mmio, nic_bar(x, 0) + off, (uint8_t *)&v, len, true));
}

/* The driver's side up to DRIVER_OK (virtio 1.2, 3.1.1), MSI-X vectors 0 to 2; then paused. */
static void nic_bring_up(struct nic *x)
{
	static const uint64_t f = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MAC) |
				  (1ULL << VIRTIO_NET_F_MRG_RXBUF) |
				  (1ULL << VIRTIO_RING_F_EVENT_IDX);
	uint8_t cap = pci_find_capability(virtio_pci_pdev(x->vp), PCI_CAP_ID_MSIX);
	unsigned int q, v;

	nic_cfg_write(x, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	nic_cfg_write(x, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	for (v = 0; v < 3; v++) {
		uint64_t base = nic_bar(x, 2) + v * 16, addr = 0xfee00000;
		uint32_t data = 0x30 + v, ctrl = 0;

		CHECK(bus_access(&x->mmio, base, (uint8_t *)&addr, 8, true));
		CHECK(bus_access(&x->mmio, base + 8, (uint8_t *)&data, 4, true));
		CHECK(bus_access(&x->mmio, base + 12, (uint8_t *)&ctrl, 4, true));
	}
	nic_wr(x, VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER,
	       1);
	nic_wr(x, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	nic_wr(x, VIRTIO_PCI_COMMON_GF, (uint32_t)f, 4);
	nic_wr(x, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	nic_wr(x, VIRTIO_PCI_COMMON_GF, f >> 32, 4);
	nic_wr(x, VIRTIO_PCI_COMMON_STATUS, 0x0b, 1); /* + FEATURES_OK */
	nic_wr(x, VIRTIO_PCI_COMMON_MSIX, 0, 2);
	for (q = 0; q < 2; q++) {
		uint64_t base = 0x100000 + q * 0x10000;

		nic_wr(x, VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
		nic_wr(x, VIRTIO_PCI_COMMON_Q_SIZE, 16, 2);
		nic_wr(x, VIRTIO_PCI_COMMON_Q_DESCLO, base, 8);
		nic_wr(x, VIRTIO_PCI_COMMON_Q_AVAILLO, base + 0x1000, 8);
		nic_wr(x, VIRTIO_PCI_COMMON_Q_USEDLO, base + 0x2000, 8);
		nic_wr(x, VIRTIO_PCI_COMMON_Q_MSIX, q + 1, 2);
		nic_wr(x, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	}
	nic_wr(x, VIRTIO_PCI_COMMON_STATUS, 0x0f, 1); /* + DRIVER_OK */
	CHECK(!virtio_pci_pause(x->vp));
}

#endif
