// SPDX-License-Identifier: GPL-2.0
/*
 * Pause, save, restore and resume of a virtio-net NIC on virtio-pci: a
 * driver emulated through the BARs, a fake frames backend (one end of a
 * SOCK_SEQPACKET socketpair), a fake KVM, and a second NIC on a second bus
 * over a copy of guest memory as the migration destination.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <libfdt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#undef PCI_IO_BASE

#include "devices/net_backend.h"
#include "devices/pci.h"
#include "devices/virtio_net.h"
#include "devices/virtio_pci.h"
#include "devices/virtq.h"
#include "vmm/bus.h"
#include "vmm/memory.h"
#include "vmm/state.h"

#define RAM (4ULL << 20)
#define SLOT 3
#define QSZ 16
#define QMAX VIRTIO_NET_QUEUE_SIZE
#define RXQ_BASE 0x100000ULL /* desc, avail +0x1000, used +0x2000 */
#define TXQ_BASE 0x110000ULL
#define RX_BUF 0x200000ULL
#define TX_BUF 0x240000ULL
#define BIT(n) (1ULL << (n))

static const uint64_t feats = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MAC) |
			      BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_STATUS) |
			      BIT(VIRTIO_F_EVENT_IDX);
/* Without EVENT_IDX every completion interrupts (2.7.7.2). */
static const uint64_t feats_noevt = feats & ~BIT(VIRTIO_F_EVENT_IDX);
static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

/* --- fake frames backend --- */
struct fake_be {
	struct net_backend be;
	int fd;
	uint32_t caps;
};

static struct fake_be *to_fake(struct net_backend *be)
{
	return (struct fake_be *)be;
}

static void fake_destroy(struct net_backend *be)
{
	close(to_fake(be)->fd);
	free(be);
}

static uint32_t fake_caps(struct net_backend *be)
{
	return to_fake(be)->caps;
}

static int fake_set_offloads(struct net_backend *be, uint32_t o)
{
	return 0;
}

static int fake_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt};

	return sendmsg(to_fake(be)->fd, &m, MSG_DONTWAIT) < 0 ? -errno : 0;
}

static ssize_t fake_recv(struct net_backend *be, void *buf, size_t len)
{
	ssize_t n = recv(to_fake(be)->fd, buf, len, MSG_DONTWAIT);

	return n < 0 ? -errno : n;
}

static int fake_poll_prepare(struct net_backend *be, struct net_pollset *ps, bool want_rx)
{
	if (!want_rx)
		return 0;
	return net_pollset_add(ps, to_fake(be)->fd, POLLIN) < 0 ? -ENOMEM : 0;
}

static void fake_poll_dispatch(struct net_backend *be, const struct net_pollset *ps)
{
}

static const struct net_backend_ops fake_ops = {
	.name = "fake",
	.mode = NET_BACKEND_FRAMES,
	.destroy = fake_destroy,
	.caps = fake_caps,
	.set_offloads = fake_set_offloads,
	.send = fake_send,
	.recv = fake_recv,
	.poll_prepare = fake_poll_prepare,
	.poll_dispatch = fake_poll_dispatch,
};

/* --- fake KVM: an irqfd is "delivered" when consume() reads it, as KVM would --- */
#define MAX_GSI 8
struct fake_kvm {
	int routes, next_gsi, signals, irqfds_bound, ioeventfds, delivered;
	int irqfd[MAX_GSI];
	uint64_t ioev_addr[3];
};

static int f_route_add(void *ctx, uint64_t addr, uint32_t data)
{
	struct fake_kvm *k = ctx;

	k->routes++;
	return 24 + k->next_gsi++ % MAX_GSI;
}

static int f_route_update(void *ctx, uint32_t gsi, uint64_t addr, uint32_t data)
{
	return 0;
}

static void f_route_del(void *ctx, uint32_t gsi)
{
	((struct fake_kvm *)ctx)->routes--;
}

static int f_irqfd(void *ctx, int fd, uint32_t gsi, bool assign)
{
	struct fake_kvm *k = ctx;

	k->irqfds_bound += assign ? 1 : -1;
	k->irqfd[(gsi - 24) % MAX_GSI] = assign ? fd : -1;
	return 0;
}

static int f_signal(void *ctx, uint64_t addr, uint32_t data)
{
	((struct fake_kvm *)ctx)->signals++;
	return 0;
}

static int f_ioeventfd(void *ctx, uint64_t addr, uint32_t len, bool pio, int fd, bool assign)
{
	struct fake_kvm *k = ctx;
	unsigned int q = (addr & 0xfff) / 4;

	k->ioeventfds += assign ? 1 : -1;
	if (assign && q < 3)
		k->ioev_addr[q] = addr;
	return 0;
}

static void consume(struct fake_kvm *k)
{
	uint64_t v;
	int i;

	for (i = 0; i < MAX_GSI; i++)
		if (k->irqfd[i] >= 0 && read(k->irqfd[i], &v, 8) == 8)
			k->delivered++;
}

/* --- one NIC on its own bus --- */
struct nic {
	struct bus pio, mmio;
	struct pci_bus pb;
	struct guest_memory *mem;
	struct virtio_net *net;
	struct virtio_pci *vp;
	struct fake_kvm fk;
	struct kvm_glue glue;
	int peer;
};

static struct guest_memory mem1, mem2;
static struct nic src, dst;
static uint16_t rx_avail, tx_avail, tx_desc;

static void nic_create_be(struct nic *x, struct guest_memory *mem, struct net_backend *be)
{
	struct virtio_pci_params p = {
		.name = "nic",
		.ops = &virtio_net_ops,
		.mem = mem,
		.kvm = &x->glue,
		.manual_service = true,
	};
	struct virtio_transport t;
	int i;

	memset(x, 0, sizeof(*x));
	for (i = 0; i < MAX_GSI; i++)
		x->fk.irqfd[i] = -1;
	x->glue = (struct kvm_glue){f_route_add, f_route_update, f_route_del, f_irqfd,
				    f_signal,	 f_ioeventfd,	 &x->fk};
	x->mem = mem;
	x->peer = -1;
	x->net = virtio_net_create(mem, be, mac);
	cr_assert_not_null(x->net);
	p.dev = x->net;
	x->vp = virtio_pci_create(&p);
	cr_assert_not_null(x->vp);
	t = virtio_pci_transport(x->vp);
	virtio_net_set_transport(x->net, &t);
	cr_assert_eq(bus_init(&x->pio, "pio"), 0);
	cr_assert_eq(bus_init(&x->mmio, "mmio"), 0);
	pci_bus_init(&x->pb, &x->pio, &x->mmio, NULL, NULL);
	cr_assert_eq(pci_bus_register(&x->pb, NULL, NULL), 0);
	cr_assert_eq(virtio_pci_add(x->vp, &x->pb, SLOT), SLOT);
}

static void nic_create(struct nic *x, struct guest_memory *mem, uint32_t caps)
{
	struct fake_be *fb = calloc(1, sizeof(*fb));
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	fb->be.ops = &fake_ops;
	fb->fd = sv[0];
	fb->caps = caps;
	nic_create_be(x, mem, &fb->be);
	x->peer = sv[1];
}

static void nic_destroy(struct nic *x)
{
	if (!x->vp)
		return;
	pci_bus_destroy(&x->pb);
	virtio_pci_destroy(x->vp);
	virtio_net_destroy(x->net);
	if (x->peer >= 0)
		close(x->peer);
	bus_destroy(&x->pio);
	bus_destroy(&x->mmio);
	x->vp = NULL;
}

static void setup(void)
{
	cr_assert_eq(guest_memory_init(&mem1, RAM, false), 0);
	cr_assert_eq(guest_memory_init(&mem2, RAM, false), 0);
	rx_avail = tx_avail = tx_desc = 0;
	nic_create(&src, &mem1, 0);
}

static void teardown(void)
{
	nic_destroy(&src);
	nic_destroy(&dst);
	guest_memory_free(&mem1);
	guest_memory_free(&mem2);
}

TestSuite(vp_state, .init = setup, .fini = teardown, .timeout = 30);

/* --- the driver --- */
static uint32_t cfg_read(struct nic *x, uint32_t off, uint32_t len)
{
	uint32_t v = 0;

	pci_config_access(&x->pb, 0, SLOT, 0, off, (uint8_t *)&v, len, false, PCI_CFG_SIZE);
	return v;
}

static void cfg_write(struct nic *x, uint32_t off, uint32_t v, uint32_t len)
{
	pci_config_access(&x->pb, 0, SLOT, 0, off, (uint8_t *)&v, len, true, PCI_CFG_SIZE);
}

static uint64_t bar_addr(struct nic *x, int bar)
{
	uint64_t a = cfg_read(x, PCI_BASE_ADDRESS_0 + 4 * bar, 4) & ~0xfULL;

	if (bar == 0)
		a |= (uint64_t)cfg_read(x, PCI_BASE_ADDRESS_1, 4) << 32;
	return a;
}

static uint64_t rd(struct nic *x, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	bus_access(&x->mmio, bar_addr(x, 0) + off, (uint8_t *)&v, len, false);
	return v;
}

static void wr(struct nic *x, uint64_t off, uint64_t v, uint32_t len)
{
	bus_access(&x->mmio, bar_addr(x, 0) + off, (uint8_t *)&v, len, true);
}

#define COMMON(f) VIRTIO_PCI_COMMON_##f

static void msix_entry(struct nic *x, unsigned int v, uint32_t data, bool masked)
{
	uint64_t base = bar_addr(x, 2) + v * 16, addr = 0xfee00000;
	uint32_t ctrl = masked;

	bus_access(&x->mmio, base, (uint8_t *)&addr, 8, true);
	bus_access(&x->mmio, base + 8, (uint8_t *)&data, 4, true);
	bus_access(&x->mmio, base + 12, (uint8_t *)&ctrl, 4, true);
}

static void setup_queue(struct nic *x, unsigned int q, uint64_t base, uint16_t vector)
{
	wr(x, COMMON(Q_SELECT), q, 2);
	wr(x, COMMON(Q_SIZE), QSZ, 2);
	wr(x, COMMON(Q_DESCLO), base, 8);
	wr(x, COMMON(Q_AVAILLO), base + 0x1000, 8);
	wr(x, COMMON(Q_USEDLO), base + 0x2000, 8);
	wr(x, COMMON(Q_MSIX), vector, 2);
	wr(x, COMMON(Q_ENABLE), 1, 2);
}

/* Up to DRIVER_OK with MSI-X: vector 0 config, 1 receive, 2 transmit. */
static void bring_up(struct nic *x, uint64_t f)
{
	uint8_t cap = pci_find_capability(virtio_pci_pdev(x->vp), PCI_CAP_ID_MSIX);

	cfg_write(x, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	for (int v = 0; v < 3; v++)
		msix_entry(x, v, 0x30 + v, false);
	wr(x, COMMON(STATUS), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
	wr(x, COMMON(GFSELECT), 0, 4);
	wr(x, COMMON(GF), (uint32_t)f, 4);
	wr(x, COMMON(GFSELECT), 1, 4);
	wr(x, COMMON(GF), f >> 32, 4);
	wr(x, COMMON(STATUS), rd(x, COMMON(STATUS), 1) | VIRTIO_CONFIG_S_FEATURES_OK, 1);
	cr_assert(rd(x, COMMON(STATUS), 1) & VIRTIO_CONFIG_S_FEATURES_OK);
	wr(x, COMMON(MSIX), 0, 2);
	setup_queue(x, 0, RXQ_BASE, 1);
	setup_queue(x, 1, TXQ_BASE, 2);
	wr(x, COMMON(STATUS), rd(x, COMMON(STATUS), 1) | VIRTIO_CONFIG_S_DRIVER_OK, 1);
	cr_assert_eq(rd(x, COMMON(STATUS), 1) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	cr_assert_eq(x->fk.irqfds_bound, 2);
}

static uint8_t *gp(struct nic *x, uint64_t gpa)
{
	return guest_ptr(x->mem, gpa, 1);
}

static void set_desc(struct nic *x, uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint8_t *d = gp(x, table + 16ULL * i);

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void publish(struct nic *x, uint64_t avail, uint16_t *idx, uint16_t head)
{
	((uint16_t *)gp(x, avail + 4))[*idx % QSZ] = head;
	__atomic_store_n((uint16_t *)gp(x, avail + 2), ++*idx, __ATOMIC_RELEASE);
}

static void kick(struct nic *x, unsigned int q)
{
	wr(x, 0x3000 + 4 * q, q, 2);
}

static void add_rx_buffers(struct nic *x, int n)
{
	for (int i = 0; i < n; i++) {
		uint16_t d = rx_avail % QSZ;

		set_desc(x, RXQ_BASE, d, RX_BUF + 0x1000ULL * d, 2048, VIRTQ_DESC_F_WRITE, 0);
		publish(x, RXQ_BASE + 0x1000, &rx_avail, d);
	}
}

/* Frame number seq: a zero header, then 60 bytes of seq. */
static void add_tx_frame(struct nic *x, uint8_t seq)
{
	uint16_t d = tx_desc;
	uint64_t buf = TX_BUF + 0x1000ULL * (d / 2);

	memset(gp(x, buf), 0, 12);
	memset(gp(x, buf + 0x100), seq, 60);
	set_desc(x, TXQ_BASE, d, buf, 12, VIRTQ_DESC_F_NEXT, d + 1);
	set_desc(x, TXQ_BASE, d + 1, buf + 0x100, 60, 0, 0);
	tx_desc = (d + 2) % QSZ;
	publish(x, TXQ_BASE + 0x1000, &tx_avail, d);
}

static uint16_t used_idx(struct nic *x, uint64_t qbase)
{
	return __atomic_load_n((uint16_t *)gp(x, qbase + 0x2002), __ATOMIC_ACQUIRE);
}

static bool wait_used(struct nic *x, uint64_t qbase, uint16_t want)
{
	for (int i = 0; i < 2000; i++) {
		if (used_idx(x, qbase) == want)
			return true;
		usleep(1000);
	}
	return false;
}

/* The next frame at the backend's side: its sequence byte, or -1 after ms without one. */
static int peer_frame(struct nic *x, int ms)
{
	struct pollfd p = {.fd = x->peer, .events = POLLIN};
	uint8_t buf[256];

	if (poll(&p, 1, ms) != 1)
		return -1;
	cr_assert_eq(recv(x->peer, buf, sizeof(buf), 0), 60);
	return buf[0];
}

static void peer_send(struct nic *x, uint8_t seq)
{
	uint8_t f[64];

	memset(f, seq, sizeof(f));
	cr_assert_eq(send(x->peer, f, sizeof(f), 0), 64);
}

/* A state blob holding x in node nic@0. */
static void *save(struct nic *x)
{
	void *buf = malloc(1 << 16);

	cr_assert_eq(state_begin(buf, 1 << 16), 0);
	cr_assert_eq(state_node_begin(buf, "nic@0"), 0);
	cr_assert_eq(virtio_pci_save(x->vp, buf), 0);
	cr_assert_eq(state_node_end(buf), 0);
	cr_assert_eq(state_finish(buf), 0);
	cr_assert_eq(state_check(buf, fdt_totalsize(buf)), 0);
	return buf;
}

static int restore(struct nic *x, const void *fdt)
{
	return virtio_pci_restore(x->vp, fdt, state_node(fdt, 0, "nic@0"));
}

static void copy_ram(void)
{
	memcpy(mem2.region[0].hva, mem1.region[0].hva, mem1.region[0].size);
}

/* Everything a driver can read from the common configuration, queue by queue. */
static void assert_same_registers(struct nic *a, struct nic *b)
{
	static const struct {
		uint32_t off, len;
	} regs[] = {
		{COMMON(DF), 4},	{COMMON(GF), 4},       {COMMON(MSIX), 2},
		{COMMON(NUMQ), 2},	{COMMON(STATUS), 1},   {COMMON(Q_SIZE), 2},
		{COMMON(Q_MSIX), 2},	{COMMON(Q_ENABLE), 2}, {COMMON(Q_DESCLO), 8},
		{COMMON(Q_AVAILLO), 8}, {COMMON(Q_USEDLO), 8}, {COMMON(CFGGENERATION), 1},
	};
	uint32_t off;

	for (unsigned int sel = 0; sel < 4; sel++) {
		for (unsigned int half = 0; half < 2; half++) {
			wr(a, COMMON(Q_SELECT), sel, 2);
			wr(b, COMMON(Q_SELECT), sel, 2);
			wr(a, COMMON(DFSELECT), half, 4);
			wr(b, COMMON(DFSELECT), half, 4);
			wr(a, COMMON(GFSELECT), half, 4);
			wr(b, COMMON(GFSELECT), half, 4);
			for (unsigned int i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
				cr_assert_eq(rd(a, regs[i].off, regs[i].len),
					     rd(b, regs[i].off, regs[i].len),
					     "register %#x, queue %u, half %u", regs[i].off, sel,
					     half);
		}
	}
	/* Device configuration: MAC, status, pairs, MTU. */
	for (off = 0; off < VIRTIO_NET_CONFIG_SIZE; off++)
		cr_assert_eq(rd(a, 0x2000 + off, 1), rd(b, 0x2000 + off, 1));
	/* PCI configuration space, BARs and MSI-X capability included. */
	for (off = 0; off < PCI_CFG_SIZE; off += 4)
		cr_assert_eq(cfg_read(a, off, 4), cfg_read(b, off, 4), "config %#x", off);
	/* MSI-X table and PBA. */
	for (off = 0; off < 3 * 16; off += 4) {
		uint32_t va = 0, vb = 0;

		bus_access(&a->mmio, bar_addr(a, 2) + off, (uint8_t *)&va, 4, false);
		bus_access(&b->mmio, bar_addr(b, 2) + off, (uint8_t *)&vb, 4, false);
		cr_assert_eq(va, vb, "MSI-X table %#x", off);
	}
}

Test(vp_state, migrate_continues_at_the_right_index)
{
	uint64_t bar0;
	void *blob;
	int seq;

	bring_up(&src, feats);
	add_rx_buffers(&src, 4);
	kick(&src, 0);
	for (seq = 1; seq <= 3; seq++)
		add_tx_frame(&src, seq);
	kick(&src, 1);
	for (seq = 1; seq <= 3; seq++)
		cr_assert_eq(peer_frame(&src, 2000), seq);
	cr_assert(wait_used(&src, TXQ_BASE, 3));
	peer_send(&src, 0xa1);
	peer_send(&src, 0xa2);
	cr_assert(wait_used(&src, RXQ_BASE, 2));
	/* The guest moved BAR 0: the destination must decode it there too. */
	cfg_write(&src, PCI_BASE_ADDRESS_0, 0xd0000000, 4);
	bar0 = bar_addr(&src, 0);
	cr_assert_eq(bar0, 0xd0000000);
	usleep(20000);
	consume(&src.fk); /* KVM takes irqfd signals at once */

	cr_assert_eq(virtio_pci_pause(src.vp), 0);
	cr_assert_eq(virtio_pci_pause(src.vp), 0, "idempotent");
	blob = save(&src);
	copy_ram();

	nic_create(&dst, &mem2, 0);
	cr_assert_eq(restore(&dst, blob), 0, "%s", state_error());
	free(blob);
	assert_same_registers(&src, &dst);
	cr_assert_eq(bar_addr(&dst, 0), bar0);
	cr_assert_eq(dst.fk.ioev_addr[0], bar0 + 0x3000, "notify ioeventfd at the new BAR");
	cr_assert_eq(dst.fk.ioev_addr[1], bar0 + 0x3004);
	cr_assert_eq(dst.fk.ioeventfds, 2);
	cr_assert_eq(dst.fk.irqfds_bound, 2, "queue vectors back on irqfd routes");
	cr_assert_eq(dst.fk.routes, 2);
	nic_destroy(&src);

	/* Restored, still paused: nothing moves. */
	add_tx_frame(&dst, 4);
	kick(&dst, 1);
	cr_assert_eq(peer_frame(&dst, 100), -1);
	cr_assert_eq(used_idx(&dst, TXQ_BASE), 3);

	cr_assert_eq(virtio_pci_resume(dst.vp), 0);
	cr_assert_eq(peer_frame(&dst, 2000), 4, "the next frame, no replay");
	cr_assert_eq(peer_frame(&dst, 100), -1, "and nothing else");
	cr_assert(wait_used(&dst, TXQ_BASE, 4));
	cr_assert_eq(*(uint32_t *)gp(&dst, TXQ_BASE + 0x2004 + 8 * 3), 6, "used slot 3: head 6");
	/* EVENT_IDX state came along: used_event 0 was passed long ago, no interrupt. */
	consume(&dst.fk);
	cr_assert_eq(dst.fk.delivered, 0, "suppressed as on the source");
	/* used_event = 4: interrupt once used->idx passes 4 (2.7.10). */
	*(uint16_t *)gp(&dst, TXQ_BASE + 0x1004 + 2 * QSZ) = 4;
	add_tx_frame(&dst, 5);
	kick(&dst, 1);
	cr_assert_eq(peer_frame(&dst, 2000), 5);
	cr_assert(wait_used(&dst, TXQ_BASE, 5));
	usleep(20000);
	consume(&dst.fk);
	cr_assert_eq(dst.fk.delivered, 1, "completion interrupts through the irqfd");

	peer_send(&dst, 0xa3);
	cr_assert(wait_used(&dst, RXQ_BASE, 3));
	cr_assert_eq(*(uint32_t *)gp(&dst, RXQ_BASE + 0x2004 + 8 * 2), 2, "the third buffer");
	cr_assert_eq(*gp(&dst, RX_BUF + 0x2000 + 12), 0xa3);
	cr_assert_eq(*gp(&dst, RX_BUF + 0x1000 + 12), 0xa2, "earlier frames untouched");
}

Test(vp_state, pause_stops_everything_until_resume)
{
	struct virtio_transport t = virtio_pci_transport(src.vp);
	uint64_t pba = 0;

	bring_up(&src, feats_noevt);
	add_rx_buffers(&src, 2);
	kick(&src, 0);
	add_tx_frame(&src, 1);
	kick(&src, 1);
	cr_assert_eq(peer_frame(&src, 2000), 1);
	cr_assert(wait_used(&src, TXQ_BASE, 1));
	consume(&src.fk);

	cr_assert_eq(virtio_pci_pause(src.vp), 0);
	add_tx_frame(&src, 2);
	kick(&src, 1);
	peer_send(&src, 0xb1);
	add_rx_buffers(&src, 2);
	kick(&src, 0);
	t.config_changed(t.transport);
	virtio_pci_service(src.vp);
	usleep(100000);
	cr_assert_eq(peer_frame(&src, 0), -1, "no transmit while paused");
	cr_assert_eq(used_idx(&src, TXQ_BASE), 1);
	cr_assert_eq(used_idx(&src, RXQ_BASE), 0, "no receive while paused");
	cr_assert_eq(src.fk.signals, 0, "no configuration interrupt while paused");

	cr_assert_eq(virtio_pci_resume(src.vp), 0);
	virtio_pci_service(src.vp); /* what the woken watcher does */
	cr_assert_eq(src.fk.signals, 1, "the held-back configuration interrupt");
	cr_assert_eq(peer_frame(&src, 2000), 2);
	cr_assert(wait_used(&src, TXQ_BASE, 2));
	cr_assert(wait_used(&src, RXQ_BASE, 1));
	cr_assert_eq(*gp(&src, RX_BUF + 12), 0xb1);

	/* A call the watcher had not delivered when paused is delivered on resume. */
	msix_entry(&src, 2, 0x32, true);
	cr_assert_eq(src.fk.irqfds_bound, 1);
	add_tx_frame(&src, 3);
	kick(&src, 1);
	cr_assert_eq(peer_frame(&src, 2000), 3);
	cr_assert(wait_used(&src, TXQ_BASE, 3));
	usleep(20000);
	cr_assert_eq(virtio_pci_pause(src.vp), 0);
	virtio_pci_service(src.vp);
	bus_access(&src.mmio, bar_addr(&src, 2) + 0x1000, (uint8_t *)&pba, 8, false);
	cr_assert_eq(pba, 0, "not even a pending bit while paused");
	cr_assert_eq(virtio_pci_resume(src.vp), 0);
	virtio_pci_service(src.vp);
	bus_access(&src.mmio, bar_addr(&src, 2) + 0x1000, (uint8_t *)&pba, 8, false);
	cr_assert_eq(pba, 1 << 2, "masked vector 2 pending after resume");
}

Test(vp_state, pending_interrupts_survive_migration)
{
	uint64_t pba = 0;
	void *blob;

	bring_up(&src, feats_noevt);
	/* Vector 2 masked: the TX completion leaves its pending bit. */
	msix_entry(&src, 2, 0x32, true);
	add_tx_frame(&src, 1);
	kick(&src, 1);
	cr_assert_eq(peer_frame(&src, 2000), 1);
	cr_assert(wait_used(&src, TXQ_BASE, 1));
	usleep(20000);
	virtio_pci_service(src.vp);
	/* A second one not yet seen by the watcher when paused. */
	add_tx_frame(&src, 2);
	kick(&src, 1);
	cr_assert_eq(peer_frame(&src, 2000), 2);
	cr_assert(wait_used(&src, TXQ_BASE, 2));
	usleep(20000);
	cr_assert_eq(virtio_pci_pause(src.vp), 0);
	blob = save(&src);
	copy_ram();
	nic_create(&dst, &mem2, 0);
	cr_assert_eq(restore(&dst, blob), 0, "%s", state_error());
	free(blob);
	bus_access(&dst.mmio, bar_addr(&dst, 2) + 0x1000, (uint8_t *)&pba, 8, false);
	cr_assert_eq(pba, 1 << 2, "PBA restored");
	cr_assert_eq(virtio_pci_resume(dst.vp), 0);
	virtio_pci_service(dst.vp);
	cr_assert_eq(dst.fk.signals, 0, "still masked");
	msix_entry(&dst, 2, 0x32, false);
	cr_assert_eq(dst.fk.signals, 1, "the pending vector fires once on unmask");
	cr_assert_eq(dst.fk.irqfds_bound, 2);
}

/* A valid blob from a running NIC, edited in place by each case. */
static void *good_blob(void)
{
	bring_up(&src, feats);
	cr_assert_eq(virtio_pci_pause(src.vp), 0);
	return save(&src);
}

static void set_u32(void *fdt, const char *path, const char *prop, uint32_t v)
{
	int node = fdt_path_offset(fdt, path);

	cr_assert_geq(node, 0, "%s", path);
	cr_assert_eq(fdt_setprop_inplace_u32(fdt, node, prop, v), 0);
}

static void set_u64(void *fdt, const char *path, const char *prop, uint64_t v)
{
	int node = fdt_path_offset(fdt, path);

	cr_assert_geq(node, 0, "%s", path);
	cr_assert_eq(fdt_setprop_inplace_u64(fdt, node, prop, v), 0);
}

static void assert_refused_untouched(struct nic *x, const void *blob, const char *why)
{
	uint32_t ctrl = 0;

	cr_assert_eq(restore(x, blob), -EINVAL);
	cr_assert_not_null(strstr(state_error(), why), "'%s' does not say '%s'", state_error(),
			   why);
	cr_assert_eq(rd(x, COMMON(STATUS), 1), 0);
	cr_assert_eq(rd(x, COMMON(GF), 4), 0);
	wr(x, COMMON(Q_SELECT), 0, 2);
	cr_assert_eq(rd(x, COMMON(Q_SIZE), 2), QMAX);
	cr_assert_eq(rd(x, COMMON(Q_ENABLE), 2), 0);
	cr_assert_eq(rd(x, COMMON(Q_MSIX), 2), 0xffff);
	cr_assert_eq(rd(x, COMMON(Q_DESCLO), 8), 0);
	bus_access(&x->mmio, bar_addr(x, 2) + 12, (uint8_t *)&ctrl, 4, false);
	cr_assert_eq(ctrl, 1, "MSI-X vector 0 still masked");
	cr_assert_eq(x->fk.irqfds_bound, 0);
	cr_assert_eq(x->fk.routes, 0);
	/* And a driver can still bring it up from scratch. */
	bring_up(x, feats);
}

Test(vp_state, bad_blobs_are_refused_before_anything_changes)
{
	void *blob = good_blob(), *b = malloc(fdt_totalsize(blob));
	static const struct {
		const char *path, *prop;
		uint64_t v;
		bool u64;
		const char *why;
	} cases[] = {
		{"/nic@0/virtio/q@0", "size", 3, false, "size 3"},
		{"/nic@0/virtio/q@1", "size", 2 * QMAX, false, "size 512"},
		{"/nic@0/virtio/q@1", "desc", RAM + 0x10000, true, "outside guest RAM"},
		{"/nic@0/virtio/q@0", "used", 0xd0000000, true, "outside guest RAM"},
		{"/nic@0/virtio/q@1", "vector", 3, false, "vector 3 past"},
		{"/nic@0/virtio", "msix-config", 7, false, "config vector 7"},
		{"/nic@0/virtio", "driver-features", feats | BIT(VIRTIO_NET_F_CTRL_VQ), true,
		 "not offered"},
		{"/nic@0/virtio", "status", VIRTIO_CONFIG_S_DRIVER_OK, false, "status"},
		{"/nic@0/virtio", "num-queues", 3, false, "3 queues saved"},
		{"/nic@0/dev", "max-pairs", 2, false, "queue pairs"},
		{"/nic@0/pci", "slot", 4, false, "slot 4"},
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(b, blob, fdt_totalsize(blob));
		if (cases[i].u64)
			set_u64(b, cases[i].path, cases[i].prop, cases[i].v);
		else
			set_u32(b, cases[i].path, cases[i].prop, cases[i].v);
		nic_create(&dst, &mem1, 0);
		assert_refused_untouched(&dst, b, cases[i].why);
		nic_destroy(&dst);
	}
	/* Unedited, it applies. */
	nic_create(&dst, &mem1, 0);
	cr_assert_eq(restore(&dst, blob), 0, "%s", state_error());
	free(b);
	free(blob);
}

Test(vp_state, destination_backend_lacking_a_negotiated_feature)
{
	const uint32_t csum = NET_CAP_VNET_HDR | NET_CAP_CSUM | NET_CAP_GUEST_CSUM;
	void *blob;

	nic_destroy(&src);
	nic_create(&src, &mem1, csum);
	bring_up(&src, feats | BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM));
	cr_assert_eq(virtio_pci_pause(src.vp), 0);
	blob = save(&src);
	nic_create(&dst, &mem1, 0); /* a bare backend: no checksum offload */
	assert_refused_untouched(&dst, blob, "not offered");
	free(blob);
}

Test(vp_state, save_refuses_a_running_device)
{
	void *buf = malloc(1 << 16);

	bring_up(&src, feats);
	cr_assert_eq(state_begin(buf, 1 << 16), 0);
	cr_assert_eq(virtio_pci_save(src.vp, buf), -EBUSY);
	cr_assert_eq(virtio_pci_resume(src.vp), 0, "resume without pause: nothing to do");
	free(buf);
}

/* --- rings mode: a backend that runs the data queues itself, like vhost-net --- */
struct fake_rings {
	struct net_backend be;
	uint16_t pos[8];	/* where its "worker" is: stop_rings() reports it */
	uint16_t started_at[8]; /* last_avail given to start_rings() */
	bool resumed;		/* start_rings() had a last_avail */
	bool running;
	unsigned int nq, pairs, starts;
};

static struct fake_rings *to_rings(struct net_backend *be)
{
	return (struct fake_rings *)be;
}

static void rings_destroy(struct net_backend *be)
{
	free(be);
}

static unsigned int rings_max_pairs(struct net_backend *be)
{
	return 2;
}

static uint64_t rings_features(struct net_backend *be)
{
	return ~0ULL;
}

static int rings_start(struct net_backend *be, const struct net_backend_rings *r)
{
	struct fake_rings *f = to_rings(be);

	f->starts++;
	f->nq = r->nq;
	f->pairs = r->pairs;
	f->resumed = r->last_avail != NULL;
	if (r->last_avail) {
		memcpy(f->started_at, r->last_avail, r->nq * sizeof(uint16_t));
		memcpy(f->pos, r->last_avail, r->nq * sizeof(uint16_t));
	}
	f->running = true;
	return 0;
}

static void rings_stop(struct net_backend *be, uint16_t *last_avail, unsigned int nq)
{
	struct fake_rings *f = to_rings(be);

	for (unsigned int i = 0; i < nq && i < 8; i++)
		last_avail[i] = f->pos[i];
	f->running = false;
}

static int rings_set_pairs(struct net_backend *be, unsigned int pairs)
{
	to_rings(be)->pairs = pairs;
	return 0;
}

static const struct net_backend_ops rings_ops = {
	.name = "fake-rings",
	.mode = NET_BACKEND_RINGS,
	.destroy = rings_destroy,
	.max_queue_pairs = rings_max_pairs,
	.start_rings = rings_start,
	.stop_rings = rings_stop,
	.ring_features = rings_features,
	.set_queue_pairs = rings_set_pairs,
};

#define MQ_NQ 5
#define MQ_BASE(q) (0x100000ULL + 0x10000ULL * (q))
#define CTRL_BUF 0x300000ULL

static struct fake_rings *rings_nic(struct nic *x, struct guest_memory *mem)
{
	struct fake_rings *f = calloc(1, sizeof(*f));

	f->be.ops = &rings_ops;
	nic_create_be(x, mem, &f->be);
	return f;
}

static void bring_up_mq(struct nic *x, uint64_t f)
{
	uint8_t cap = pci_find_capability(virtio_pci_pdev(x->vp), PCI_CAP_ID_MSIX);

	cfg_write(x, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	for (int v = 0; v <= MQ_NQ; v++)
		msix_entry(x, v, 0x30 + v, false);
	wr(x, COMMON(STATUS), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
	wr(x, COMMON(GFSELECT), 0, 4);
	wr(x, COMMON(GF), (uint32_t)f, 4);
	wr(x, COMMON(GFSELECT), 1, 4);
	wr(x, COMMON(GF), f >> 32, 4);
	wr(x, COMMON(STATUS), rd(x, COMMON(STATUS), 1) | VIRTIO_CONFIG_S_FEATURES_OK, 1);
	cr_assert(rd(x, COMMON(STATUS), 1) & VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int q = 0; q < MQ_NQ; q++)
		setup_queue(x, q, MQ_BASE(q), q + 1);
	wr(x, COMMON(STATUS), rd(x, COMMON(STATUS), 1) | VIRTIO_CONFIG_S_DRIVER_OK, 1);
	cr_assert_eq(rd(x, COMMON(STATUS), 1) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
}

/* VQ_PAIRS_SET through the control queue (5.1.6.5.5); returns once it is used. */
static void set_pairs(struct nic *x, uint16_t *avail_idx, uint16_t pairs)
{
	uint8_t *out = gp(x, CTRL_BUF);
	uint16_t want = *avail_idx + 1;

	out[0] = VIRTIO_NET_CTRL_MQ;
	out[1] = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
	memcpy(out + 2, &pairs, 2);
	*gp(x, CTRL_BUF + 64) = 0xee;
	set_desc(x, MQ_BASE(4), 0, CTRL_BUF, 4, VIRTQ_DESC_F_NEXT, 1);
	set_desc(x, MQ_BASE(4), 1, CTRL_BUF + 64, 1, VIRTQ_DESC_F_WRITE, 0);
	publish(x, MQ_BASE(4) + 0x1000, avail_idx, 0);
	kick(x, 4);
	cr_assert(wait_used(x, MQ_BASE(4), want));
	cr_assert_eq(*gp(x, CTRL_BUF + 64), VIRTIO_NET_OK);
}

Test(vp_state, rings_mode_resumes_queues_pairs_and_control_queue)
{
	uint64_t f = feats | BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_MQ);
	struct fake_rings *a, *b;
	uint16_t ctrl_avail = 0;
	void *blob;

	nic_destroy(&src);
	a = rings_nic(&src, &mem1);
	bring_up_mq(&src, f);
	cr_assert_eq(a->starts, 1);
	cr_assert_not(a->resumed);
	cr_assert_eq(a->pairs, 1, "one pair until VQ_PAIRS_SET");
	set_pairs(&src, &ctrl_avail, 2);
	cr_assert_eq(a->pairs, 2);
	/* The kernel worker moved the data rings meanwhile. */
	for (int i = 0; i < 4; i++)
		a->pos[i] = 10 + i;

	cr_assert_eq(virtio_pci_pause(src.vp), 0);
	cr_assert_not(a->running, "the backend is stopped on pause");
	blob = save(&src);
	copy_ram();
	b = rings_nic(&dst, &mem2);
	cr_assert_eq(restore(&dst, blob), 0, "%s", state_error());
	free(blob);
	cr_assert_eq(b->starts, 0, "restore leaves the data path paused");
	assert_same_registers(&src, &dst);
	cr_assert_eq(virtio_pci_resume(dst.vp), 0);
	cr_assert_eq(b->starts, 1);
	cr_assert(b->resumed);
	cr_assert_eq(b->nq, 4);
	cr_assert_eq(b->pairs, 2, "the pairs the driver had switched to");
	for (int i = 0; i < 4; i++)
		cr_assert_eq(b->started_at[i], 10 + i, "queue %d", i);
	/* The control queue continues at avail index 1: command 0 is not replayed. */
	set_pairs(&dst, &ctrl_avail, 1);
	cr_assert_eq(used_idx(&dst, MQ_BASE(4)), 2);
	cr_assert_eq(b->pairs, 1);
	/* And on the source, pause/resume hands the backend its own positions back. */
	cr_assert_eq(virtio_pci_resume(src.vp), 0);
	cr_assert(a->resumed);
	cr_assert_eq(a->started_at[3], 13);
	cr_assert_eq(a->pairs, 2);
}
