// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#undef PCI_IO_BASE

#include "devices/pci.h"
#include "devices/virtio_pci.h"
#include "vmm/bus.h"
#include "vmm/memory.h"

#define NQ 2
#define QMAX 256
#define F_CSUM (1ULL << 0)
#define F_V1 (1ULL << VIRTIO_F_VERSION_1)
#define SLOT 5
#define RAM (16ULL << 20)

/* --- a virtio device that records what the transport asks of it --- */
struct mock_dev {
	int set_features_calls, start_calls, stop_calls, start_ret;
	uint64_t features;
	struct virtio_queue_info q[NQ];
	uint8_t config[8];
};

static unsigned int m_num_queues(void *dev)
{
	return NQ;
}

static uint16_t m_queue_max(void *dev, unsigned int q)
{
	return QMAX;
}

static uint64_t m_get_features(void *dev)
{
	return F_V1 | F_CSUM;
}

static int m_set_features(void *dev, uint64_t f)
{
	struct mock_dev *m = dev;

	m->set_features_calls++;
	m->features = f;
	return 0;
}

static void m_config_read(void *dev, uint32_t off, uint8_t *buf, uint32_t len)
{
	memcpy(buf, ((struct mock_dev *)dev)->config + off, len);
}

static void m_config_write(void *dev, uint32_t off, const uint8_t *buf, uint32_t len)
{
	memcpy(((struct mock_dev *)dev)->config + off, buf, len);
}

static int m_start(void *dev, const struct virtio_queue_info *q, unsigned int nq)
{
	struct mock_dev *m = dev;

	m->start_calls++;
	memcpy(m->q, q, nq * sizeof(*q));
	return m->start_ret;
}

static void m_stop(void *dev)
{
	((struct mock_dev *)dev)->stop_calls++;
}

static const struct virtio_dev_ops mock_ops = {
	.name = "mock",
	.device_id = 1,
	.config_size = 8,
	.num_queues = m_num_queues,
	.queue_max_size = m_queue_max,
	.get_features = m_get_features,
	.set_features = m_set_features,
	.config_read = m_config_read,
	.config_write = m_config_write,
	.start = m_start,
	.stop = m_stop,
};

/* --- fake KVM --- */
struct fake_kvm {
	int routes, next_gsi, signals, irqfds_bound, ioeventfds;
	uint64_t last_addr, ioev_addr[NQ];
	uint32_t last_data;
};

static int f_route_add(void *ctx, uint64_t addr, uint32_t data)
{
	struct fake_kvm *k = ctx;

	k->routes++;
	return 24 + k->next_gsi++;
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
	((struct fake_kvm *)ctx)->irqfds_bound += assign ? 1 : -1;
	return 0;
}

static int f_signal(void *ctx, uint64_t addr, uint32_t data)
{
	struct fake_kvm *k = ctx;

	k->signals++;
	k->last_addr = addr;
	k->last_data = data;
	return 0;
}

static int f_ioeventfd(void *ctx, uint64_t addr, uint32_t len, bool pio, int fd, bool assign)
{
	struct fake_kvm *k = ctx;
	unsigned int q = (addr & 0xfff) / 4;

	cr_assert_eq(len, 2);
	cr_assert(!pio);
	cr_assert(q < NQ);
	k->ioeventfds += assign ? 1 : -1;
	if (assign)
		k->ioev_addr[q] = addr;
	return 0;
}

static struct bus pio, mmio;
static struct pci_bus pb;
static struct guest_memory mem;
static struct mock_dev md;
static struct fake_kvm fk;
static struct kvm_glue glue = {
	f_route_add, f_route_update, f_route_del, f_irqfd, f_signal, f_ioeventfd, &fk,
};
static struct virtio_pci *vp;
static int irq_level;

static void set_irq(void *opaque, uint32_t gsi, int level)
{
	irq_level = level;
}

static void setup_with(bool manual)
{
	struct virtio_pci_params p = {
		.name = "test",
		.ops = &mock_ops,
		.dev = &md,
		.mem = &mem,
		.kvm = &glue,
		.manual_service = manual,
	};

	memset(&md, 0, sizeof(md));
	memset(&fk, 0, sizeof(fk));
	irq_level = 0;
	cr_assert_eq(guest_memory_init(&mem, RAM, false), 0);
	cr_assert_eq(bus_init(&pio, "pio"), 0);
	cr_assert_eq(bus_init(&mmio, "mmio"), 0);
	pci_bus_init(&pb, &pio, &mmio, set_irq, NULL);
	cr_assert_eq(pci_bus_register(&pb, NULL, NULL), 0);
	vp = virtio_pci_create(&p);
	cr_assert_not_null(vp);
	cr_assert_eq(virtio_pci_add(vp, &pb, SLOT), SLOT);
}

static void setup(void)
{
	setup_with(true);
}

static void setup_thread(void)
{
	setup_with(false);
}

static void teardown(void)
{
	pci_bus_destroy(&pb);
	virtio_pci_destroy(vp);
	bus_destroy(&pio);
	bus_destroy(&mmio);
	guest_memory_free(&mem);
}

TestSuite(virtio_pci, .init = setup, .fini = teardown);

static uint32_t cfg_read(uint32_t off, uint32_t len)
{
	uint32_t v = 0;

	pci_config_access(&pb, 0, SLOT, 0, off, (uint8_t *)&v, len, false, PCI_CFG_EXT_SIZE);
	return v;
}

static void cfg_write(uint32_t off, uint32_t v, uint32_t len)
{
	pci_config_access(&pb, 0, SLOT, 0, off, (uint8_t *)&v, len, true, PCI_CFG_EXT_SIZE);
}

static uint64_t bar_addr(int bar)
{
	uint64_t a = cfg_read(PCI_BASE_ADDRESS_0 + 4 * bar, 4) & ~0xfULL;

	if (bar == 0)
		a |= (uint64_t)cfg_read(PCI_BASE_ADDRESS_1, 4) << 32;
	return a;
}

static uint64_t rd(uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	bus_access(&mmio, bar_addr(0) + off, (uint8_t *)&v, len, false);
	return v;
}

static void wr(uint64_t off, uint64_t v, uint32_t len)
{
	bus_access(&mmio, bar_addr(0) + off, (uint8_t *)&v, len, true);
}

#define COMMON(f) (0x0000 + VIRTIO_PCI_COMMON_##f)
#define STATUS() rd(COMMON(STATUS), 1)

static void msix_entry(unsigned int v, uint64_t addr, uint32_t data, bool masked)
{
	uint64_t base = bar_addr(2) + v * 16;
	uint32_t ctrl = masked;

	bus_access(&mmio, base, (uint8_t *)&addr, 8, true);
	bus_access(&mmio, base + 8, (uint8_t *)&data, 4, true);
	bus_access(&mmio, base + 12, (uint8_t *)&ctrl, 4, true);
}

static uint8_t find_vcap(uint8_t type)
{
	uint8_t pos = cfg_read(PCI_CAPABILITY_LIST, 1);
	int n;

	for (n = 0; pos && n < 48; n++, pos = cfg_read(pos + 1, 1))
		if (cfg_read(pos, 1) == PCI_CAP_ID_VNDR && cfg_read(pos + 3, 1) == type)
			return pos;
	return 0;
}

static void negotiate(uint64_t f)
{
	wr(COMMON(STATUS), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
	wr(COMMON(GFSELECT), 0, 4);
	wr(COMMON(GF), (uint32_t)f, 4);
	wr(COMMON(GFSELECT), 1, 4);
	wr(COMMON(GF), f >> 32, 4);
	wr(COMMON(STATUS),
	   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK, 1);
}

static void setup_queue(unsigned int q, uint16_t size, uint64_t base)
{
	wr(COMMON(Q_SELECT), q, 2);
	wr(COMMON(Q_SIZE), size, 2);
	wr(COMMON(Q_DESCLO), base, 8);
	wr(COMMON(Q_AVAILLO), base + 0x1000, 4);
	wr(COMMON(Q_AVAILHI), (base + 0x1000) >> 32, 4);
	wr(COMMON(Q_USEDLO), base + 0x2000, 8);
	wr(COMMON(Q_ENABLE), 1, 2);
}

static void driver_ok(void)
{
	wr(COMMON(STATUS), STATUS() | VIRTIO_CONFIG_S_DRIVER_OK, 1);
}

Test(virtio_pci, identity)
{
	cr_assert_eq(cfg_read(PCI_VENDOR_ID, 4), 0x1af4 | 0x1041 << 16);
	cr_assert_eq(cfg_read(PCI_REVISION_ID, 1), 1);
	cr_assert_eq(cfg_read(PCI_CLASS_REVISION, 4) >> 8, 0x020000);
	cr_assert_eq(cfg_read(PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	cr_assert(cfg_read(PCI_SUBSYSTEM_ID, 2) >= 0x40);
	cr_assert_eq(cfg_read(PCI_INTERRUPT_PIN, 1), 1);
	cr_assert_eq(rd(COMMON(NUMQ), 2), NQ);
}

Test(virtio_pci, capabilities_point_inside_their_bar)
{
	uint32_t bar_size[PCI_NR_BARS] = {0};
	uint8_t type, pos;
	int b;

	cfg_write(PCI_COMMAND, 0, 2);
	for (b = 0; b < PCI_NR_BARS; b++) {
		uint32_t old = cfg_read(PCI_BASE_ADDRESS_0 + 4 * b, 4);

		cfg_write(PCI_BASE_ADDRESS_0 + 4 * b, 0xffffffff, 4);
		bar_size[b] = ~(cfg_read(PCI_BASE_ADDRESS_0 + 4 * b, 4) & ~0xfu) + 1;
		cfg_write(PCI_BASE_ADDRESS_0 + 4 * b, old, 4);
	}
	cfg_write(PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cr_assert_eq(cfg_read(PCI_BASE_ADDRESS_0, 4) & 0x6, PCI_BASE_ADDRESS_MEM_TYPE_64);
	for (type = VIRTIO_PCI_CAP_COMMON_CFG; type <= VIRTIO_PCI_CAP_DEVICE_CFG; type++) {
		uint8_t bar;
		uint32_t off, len;

		pos = find_vcap(type);
		cr_assert(pos, "cfg_type %u missing", type);
		bar = cfg_read(pos + offsetof(struct virtio_pci_cap, bar), 1);
		off = cfg_read(pos + offsetof(struct virtio_pci_cap, offset), 4);
		len = cfg_read(pos + offsetof(struct virtio_pci_cap, length), 4);
		cr_assert(bar < PCI_NR_BARS && bar_size[bar] && bar_size[bar] != 1);
		cr_assert(len && off + len <= bar_size[bar], "cfg_type %u", type);
	}
	cr_assert_geq(cfg_read(find_vcap(VIRTIO_PCI_CAP_COMMON_CFG) + 12, 4), 0x38);
	pos = find_vcap(VIRTIO_PCI_CAP_NOTIFY_CFG);
	cr_assert_eq(cfg_read(pos + VIRTIO_PCI_NOTIFY_CAP_MULT, 4), 4);
	cr_assert_geq(cfg_read(pos + 2, 1), sizeof(struct virtio_pci_notify_cap));
	cr_assert(find_vcap(VIRTIO_PCI_CAP_PCI_CFG));
	/* MSI-X: table and PBA inside their BAR. */
	for (pos = cfg_read(PCI_CAPABILITY_LIST, 1); pos; pos = cfg_read(pos + 1, 1))
		if (cfg_read(pos, 1) == PCI_CAP_ID_MSIX)
			break;
	cr_assert(pos);
	{
		uint32_t t = cfg_read(pos + PCI_MSIX_TABLE, 4), p = cfg_read(pos + PCI_MSIX_PBA, 4);
		uint32_t n = (cfg_read(pos + PCI_MSIX_FLAGS, 2) & 0x7ff) + 1;

		cr_assert_eq(n, NQ + 1);
		cr_assert((t & ~7u) + 16 * n <= bar_size[t & 7]);
		cr_assert((p & ~7u) + 8 <= bar_size[p & 7]);
	}
}

Test(virtio_pci, feature_negotiation)
{
	cr_assert_eq(rd(COMMON(DF), 4), (uint32_t)F_CSUM);
	wr(COMMON(DFSELECT), 1, 4);
	cr_assert_eq(rd(COMMON(DF), 4), 1);
	wr(COMMON(DFSELECT), 2, 4);
	cr_assert_eq(rd(COMMON(DF), 4), 0);

	negotiate(F_V1 | (1ULL << 5)); /* not offered */
	cr_assert_eq(STATUS() & VIRTIO_CONFIG_S_FEATURES_OK, 0);
	cr_assert_eq(md.set_features_calls, 0);
	wr(COMMON(STATUS), 0, 1);
	negotiate(F_CSUM); /* no VERSION_1 */
	cr_assert_eq(STATUS() & VIRTIO_CONFIG_S_FEATURES_OK, 0);
	wr(COMMON(STATUS), 0, 1);
	negotiate(F_V1 | F_CSUM);
	cr_assert(STATUS() & VIRTIO_CONFIG_S_FEATURES_OK);
	cr_assert_eq(md.set_features_calls, 1);
	cr_assert_eq(md.features, F_V1 | F_CSUM);
	/* Fixed after FEATURES_OK. */
	wr(COMMON(GFSELECT), 0, 4);
	wr(COMMON(GF), 0, 4);
	cr_assert_eq(rd(COMMON(GF), 4), (uint32_t)F_CSUM);
	cr_assert_eq(STATUS() & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
}

Test(virtio_pci, clearing_a_status_bit_needs_reset)
{
	negotiate(F_V1);
	wr(COMMON(STATUS), VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
	cr_assert(STATUS() & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert(STATUS() & VIRTIO_CONFIG_S_FEATURES_OK);
	/* A driver writing the status back with NEEDS_RESET is not another error. */
	wr(COMMON(STATUS), STATUS() | VIRTIO_CONFIG_S_FAILED, 1);
	cr_assert(STATUS() & VIRTIO_CONFIG_S_FAILED);
	wr(COMMON(STATUS), 0, 1);
	cr_assert_eq(STATUS(), 0);
}

Test(virtio_pci, driver_ok_without_features_ok)
{
	wr(COMMON(STATUS),
	   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK, 1);
	cr_assert(STATUS() & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(STATUS() & VIRTIO_CONFIG_S_DRIVER_OK, 0);
	cr_assert_eq(md.start_calls, 0);
}

Test(virtio_pci, start_and_reset)
{
	negotiate(F_V1);
	setup_queue(0, 128, 0x100000);
	wr(COMMON(Q_MSIX), 1, 2);
	wr(COMMON(MSIX), 0, 2);
	wr(COMMON(Q_SELECT), 1, 2);
	cr_assert_eq(rd(COMMON(Q_SIZE), 2), QMAX);
	cr_assert_eq(rd(COMMON(Q_NOFF), 2), 1);
	driver_ok();
	cr_assert(STATUS() & VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert_eq(STATUS() & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	cr_assert_eq(md.start_calls, 1);
	cr_assert(md.q[0].enabled);
	cr_assert_eq(md.q[0].size, 128);
	cr_assert_eq(md.q[0].desc, 0x100000);
	cr_assert_eq(md.q[0].avail, 0x101000);
	cr_assert_eq(md.q[0].used, 0x102000);
	cr_assert(md.q[0].kick_fd >= 0 && md.q[0].call_fd >= 0);
	cr_assert(!md.q[1].enabled);
	/* Queue registers are frozen while live. */
	wr(COMMON(Q_SELECT), 0, 2);
	wr(COMMON(Q_SIZE), 64, 2);
	wr(COMMON(Q_DESCLO), 0x200000, 8);
	cr_assert_eq(rd(COMMON(Q_SIZE), 2), 128);
	cr_assert_eq(rd(COMMON(Q_DESCLO), 8), 0x100000);

	wr(COMMON(STATUS), 0, 1);
	cr_assert_eq(STATUS(), 0);
	cr_assert_eq(md.stop_calls, 1);
	cr_assert_eq(rd(COMMON(Q_SIZE), 2), QMAX);
	cr_assert_eq(rd(COMMON(Q_ENABLE), 2), 0);
	cr_assert_eq(rd(COMMON(Q_MSIX), 2), 0xffff);
	cr_assert_eq(rd(COMMON(Q_DESCLO), 8), 0);
	cr_assert_eq(rd(COMMON(MSIX), 2), 0xffff);
	cr_assert_eq(rd(COMMON(GF), 4), 0);
	/* And it starts again after another negotiation. */
	negotiate(F_V1);
	setup_queue(0, 256, 0x300000);
	driver_ok();
	cr_assert_eq(md.start_calls, 2);
}

Test(virtio_pci, queue_size_rules)
{
	negotiate(F_V1);
	wr(COMMON(Q_SELECT), 0, 2);
	wr(COMMON(Q_SIZE), 64, 2);
	cr_assert_eq(rd(COMMON(Q_SIZE), 2), 64);
	wr(COMMON(Q_SIZE), 512, 2);
	cr_assert_eq(rd(COMMON(Q_SIZE), 2), 64);
	cr_assert(STATUS() & VIRTIO_CONFIG_S_NEEDS_RESET);
	wr(COMMON(STATUS), 0, 1);
	negotiate(F_V1);
	wr(COMMON(Q_SIZE), 100, 2);
	cr_assert_eq(rd(COMMON(Q_SIZE), 2), QMAX);
	cr_assert(STATUS() & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* No such queue: size reads 0, writes go nowhere. */
	wr(COMMON(STATUS), 0, 1);
	wr(COMMON(Q_SELECT), NQ, 2);
	cr_assert_eq(rd(COMMON(Q_SIZE), 2), 0);
	wr(COMMON(Q_SIZE), 64, 2);
	wr(COMMON(Q_ENABLE), 1, 2);
	cr_assert_eq(rd(COMMON(Q_ENABLE), 2), 0);
	cr_assert_eq(STATUS(), 0);
}

Test(virtio_pci, rings_outside_ram_refused)
{
	negotiate(F_V1);
	setup_queue(0, 256, RAM - 0x1000); /* desc fits, avail and used do not */
	driver_ok();
	cr_assert(STATUS() & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(md.start_calls, 0);
	wr(COMMON(STATUS), 0, 1);
	negotiate(F_V1);
	setup_queue(0, 256, 0x100008); /* misaligned descriptor table */
	driver_ok();
	cr_assert(STATUS() & VIRTIO_CONFIG_S_NEEDS_RESET);
	wr(COMMON(STATUS), 0, 1);
	negotiate(F_V1);
	setup_queue(0, 256, 0xd0000000ULL); /* in the MMIO hole */
	driver_ok();
	cr_assert(STATUS() & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(md.start_calls, 0);
}

Test(virtio_pci, start_failure_needs_reset_with_config_irq)
{
	md.start_ret = -EIO;
	negotiate(F_V1);
	setup_queue(0, 64, 0x100000);
	driver_ok();
	cr_assert(STATUS() & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* INTx mode: the configuration bit in the ISR and the line. */
	cr_assert_eq(irq_level, 1);
	cr_assert_eq(rd(0x1000, 1), VIRTIO_PCI_ISR_CONFIG);
	cr_assert_eq(irq_level, 0);
	cr_assert_eq(rd(0x1000, 1), 0);
}

Test(virtio_pci, intx_queue_interrupt_via_isr)
{
	uint64_t one = 1;

	negotiate(F_V1);
	setup_queue(0, 64, 0x100000);
	driver_ok();
	cr_assert_eq(write(md.q[0].call_fd, &one, 8), 8);
	virtio_pci_service(vp);
	cr_assert_eq(irq_level, 1);
	cr_assert(cfg_read(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cr_assert_eq(rd(0x1000, 1), 0x1);
	cr_assert_eq(irq_level, 0);
	cr_assert_eq(fk.signals, 0);
}

static void enable_msix(bool fmask)
{
	uint8_t pos;

	for (pos = cfg_read(PCI_CAPABILITY_LIST, 1); pos; pos = cfg_read(pos + 1, 1))
		if (cfg_read(pos, 1) == PCI_CAP_ID_MSIX)
			break;
	cfg_write(pos + PCI_MSIX_FLAGS,
		  PCI_MSIX_FLAGS_ENABLE | (fmask ? PCI_MSIX_FLAGS_MASKALL : 0), 2);
}

Test(virtio_pci, msix_irqfd_binding_and_masking)
{
	uint64_t one = 1;

	enable_msix(false);
	negotiate(F_V1);
	setup_queue(0, 64, 0x100000);
	wr(COMMON(Q_MSIX), 1, 2);
	cr_assert_eq(rd(COMMON(Q_MSIX), 2), 1);
	wr(COMMON(Q_MSIX), 7, 2); /* beyond the table */
	cr_assert_eq(rd(COMMON(Q_MSIX), 2), 0xffff);
	wr(COMMON(Q_MSIX), 1, 2);
	cr_assert_eq(fk.irqfds_bound, 0); /* vector 1 still masked */
	msix_entry(1, 0xfee00000, 0x41, false);
	cr_assert_eq(fk.irqfds_bound, 1);
	cr_assert_eq(fk.routes, 1);
	driver_ok();
	/* Masked: the watcher path sets the pending bit, the unmask sends once. */
	msix_entry(1, 0xfee00000, 0x41, true);
	cr_assert_eq(fk.irqfds_bound, 0);
	cr_assert_eq(write(md.q[0].call_fd, &one, 8), 8);
	virtio_pci_service(vp);
	cr_assert_eq(fk.signals, 0);
	{
		uint64_t pba = 0;

		bus_access(&mmio, bar_addr(2) + 0x1000, (uint8_t *)&pba, 8, false);
		cr_assert_eq(pba, 2);
	}
	msix_entry(1, 0xfee00000, 0x41, false);
	cr_assert_eq(fk.signals, 1);
	cr_assert_eq(fk.last_data, 0x41);
	cr_assert_eq(fk.irqfds_bound, 1);
	virtio_pci_service(vp);
	cr_assert_eq(fk.signals, 1);
	/* MSI-X off: back to INTx, the route goes. */
	enable_msix(true);
	cr_assert_eq(fk.irqfds_bound, 0);
	wr(COMMON(STATUS), 0, 1);
	cr_assert_eq(fk.routes, 0);
}

Test(virtio_pci, config_change_interrupt_and_generation)
{
	struct virtio_transport t = virtio_pci_transport(vp);
	uint8_t gen = rd(COMMON(CFGGENERATION), 1);

	enable_msix(false);
	msix_entry(0, 0xfee00000, 0x30, false);
	wr(COMMON(MSIX), 0, 2);
	cr_assert_eq(rd(COMMON(MSIX), 2), 0);
	negotiate(F_V1);
	driver_ok();
	t.config_changed(t.transport);
	cr_assert_eq((uint8_t)rd(COMMON(CFGGENERATION), 1), (uint8_t)(gen + 1));
	virtio_pci_service(vp);
	cr_assert_eq(fk.signals, 1);
	cr_assert_eq(fk.last_data, 0x30);
	t.device_error(t.transport, "test");
	virtio_pci_service(vp);
	cr_assert(STATUS() & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(fk.signals, 2);
	cr_assert_eq(md.stop_calls, 1);
}

Test(virtio_pci, ioeventfd_follows_the_bar)
{
	uint64_t a = bar_addr(0), v;

	cr_assert_eq(fk.ioeventfds, NQ);
	cr_assert_eq(fk.ioev_addr[1], a + 0x3000 + 4);
	cfg_write(PCI_BASE_ADDRESS_0, 0xd0000000, 4);
	cr_assert_eq(fk.ioeventfds, NQ);
	cr_assert_eq(fk.ioev_addr[0], 0xd0003000);
	cfg_write(PCI_COMMAND, 0, 2);
	cr_assert_eq(fk.ioeventfds, 0);
	cfg_write(PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cr_assert_eq(fk.ioeventfds, NQ);
	/* A write that no ioeventfd took still kicks. */
	negotiate(F_V1);
	setup_queue(1, 64, 0x100000);
	driver_ok();
	wr(0x3004, 1, 4);
	cr_assert_eq(read(md.q[1].kick_fd, &v, 8), 8);
	cr_assert_eq(read(md.q[0].kick_fd, &v, 8), -1);
}

Test(virtio_pci, device_config_and_pci_cfg_window)
{
	uint8_t cap = find_vcap(VIRTIO_PCI_CAP_PCI_CFG);

	md.config[2] = 0x77;
	cr_assert_eq(rd(0x2002, 1), 0x77);
	wr(0x2004, 0xdeadbeef, 4);
	cr_assert_eq(rd(0x2004, 4), 0xdeadbeef);
	cr_assert_eq(rd(0x2006, 4), 0); /* past config_size */
	/* Through configuration space: status, then a config byte. */
	cfg_write(cap + 4, 0, 1);
	cfg_write(cap + 8, VIRTIO_PCI_COMMON_STATUS, 4);
	cfg_write(cap + 12, 1, 4);
	cfg_write(cap + 16, VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
	cr_assert_eq(STATUS(), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	cfg_write(cap + 8, 0x2002, 4);
	cr_assert_eq(cfg_read(cap + 16, 1), 0x77);
	/* Malformed windows do nothing. */
	cfg_write(cap + 12, 3, 4);
	cfg_write(cap + 16, 0, 4);
	cfg_write(cap + 12, 2, 4);
	cfg_write(cap + 8, 0x2003, 4);
	cfg_write(cap + 16, 0, 2);
	cfg_write(cap + 4, 9, 1);
	cfg_write(cap + 8, 0x14, 4);
	cfg_write(cap + 16, 0, 1);
	cr_assert_eq(STATUS(), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	cr_assert_eq(md.config[2], 0x77);
}

Test(virtio_pci, malformed_accesses_are_harmless)
{
	uint64_t off;
	uint32_t len;

	negotiate(F_V1);
	/* Wrong widths on the common config: status is a byte, num_queues a word. */
	wr(COMMON(STATUS), 0, 4);
	wr(COMMON(STATUS), 0, 2);
	cr_assert(STATUS() & VIRTIO_CONFIG_S_FEATURES_OK);
	cr_assert_eq(rd(COMMON(NUMQ), 4), 0);
	cr_assert_eq(rd(COMMON(NUMQ), 1), 0);
	/* Every offset and width over the BAR, reads then writes of all ones. */
	for (off = 0; off < 0x4000; off++)
		for (len = 1; len <= 8; len *= 2)
			rd(off, len);
	for (off = 0x38; off < 0x4000; off++)
		for (len = 1; len <= 8; len *= 2)
			wr(off, ~0ULL, len);
	for (off = 0; off < 0x2000; off++)
		for (len = 1; len <= 8; len *= 2) {
			uint64_t v = ~0ULL;

			bus_access(&mmio, bar_addr(2) + off, (uint8_t *)&v, len, true);
		}
	for (off = 0; off < 256; off++)
		for (len = 1; len <= 4; len *= 2)
			cfg_write(off, 0xffffffff, len);
	cr_assert(STATUS() & VIRTIO_CONFIG_S_FEATURES_OK);
}

Test(virtio_pci_thread, watcher_delivers_without_help, .init = setup_thread, .fini = teardown)
{
	struct virtio_transport t = virtio_pci_transport(vp);
	uint64_t one = 1;
	int i;

	negotiate(F_V1);
	setup_queue(0, 64, 0x100000);
	driver_ok();
	cr_assert_eq(write(md.q[0].call_fd, &one, 8), 8);
	for (i = 0; i < 200 && !__atomic_load_n(&irq_level, __ATOMIC_ACQUIRE); i++)
		usleep(5000);
	cr_assert_eq(rd(0x1000, 1), 0x1);
	t.device_error(t.transport, "test");
	for (i = 0; i < 200 && !(STATUS() & VIRTIO_CONFIG_S_NEEDS_RESET); i++)
		usleep(5000);
	cr_assert(STATUS() & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(md.stop_calls, 1);
}
