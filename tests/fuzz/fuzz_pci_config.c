// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: PCI configuration space and BAR placement. A bus with
 * its host bridge, a virtio-pci device (mock virtio device, fake KVM) and a
 * plain device with a 32-bit, a 64-bit and an I/O BAR, next to fixed ranges
 * of other devices on both buses. Random type 1 (0xcf8/0xcfc) and ECAM
 * accesses of any width and alignment, BAR and command register writes,
 * BAR sizing, and accesses at wherever the BARs are. After every step:
 *   - the ranges of each bus are sorted, non-empty and never overlap;
 *   - every BAR marked mapped has its range on the right bus at the address
 *     its registers hold, with decoding enabled; the fixed ranges, the ECAM
 *     window and the config ports are never displaced;
 *   - vendor IDs read back unchanged, absent functions read all ones.
 * A violation is __builtin_trap(); ASan/UBSan watch the rest.
 *
 *   make fuzz-build && build/fuzz/fuzz_pci_config -max_total_time=60 \
 *	tests/fuzz/corpus/fuzz_pci_config
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "devices/virtio_pci.h"
#include "vmm/bus.h"
#include "vmm/layout.h"
#include "vmm/memory.h"

#define CHECK(cond)                        \
	do {                               \
		if (!(cond))               \
			__builtin_trap();  \
	} while (0)

#define VIRTIO_SLOT 2
#define PLAIN_SLOT 5
/* Fixed ranges of other devices, which a BAR must never displace. */
#define FIXED_PIO 0x3f8
#define FIXED_MMIO 0xd0000000ULL

struct state {
	struct bus pio, mmio;
	struct pci_bus pb;
	struct virtio_pci *vp;
	struct pci_device plain;
	int started;
	int routes;
	unsigned long cf9_writes;
	uint8_t dev_config[8];
};

/* One fuzz input at a time: the mocks below find the state here. */
static struct state *cur;

static unsigned int m_num_queues(void *dev)
{
	return 2;
}

static uint16_t m_queue_max(void *dev, unsigned int q)
{
	return 64;
}

static uint64_t m_get_features(void *dev)
{
	return 1ULL << 32;
}

static int m_set_features(void *dev, uint64_t f)
{
	return 0;
}

static void m_config_read(void *dev, uint32_t off, uint8_t *buf, uint32_t len)
{
	CHECK(off + len <= sizeof(cur->dev_config));
	memcpy(buf, cur->dev_config + off, len);
}

static void m_config_write(void *dev, uint32_t off, const uint8_t *buf, uint32_t len)
{
	CHECK(off + len <= sizeof(cur->dev_config));
	memcpy(cur->dev_config + off, buf, len);
}

static int m_start(void *dev, const struct virtio_queue_info *q, unsigned int nq)
{
	CHECK(!cur->started);
	cur->started = 1;
	return 0;
}

static void m_stop(void *dev)
{
	CHECK(cur->started);
	cur->started = 0;
}

static const struct virtio_dev_ops mock_ops = {
	.name = "fuzz",
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

static int f_route_add(void *ctx, uint64_t addr, uint32_t data)
{
	return 24 + cur->routes++;
}

static int f_route_update(void *ctx, uint32_t gsi, uint64_t addr, uint32_t data)
{
	return 0;
}

static void f_route_del(void *ctx, uint32_t gsi)
{
	cur->routes--;
}

static int f_irqfd(void *ctx, int fd, uint32_t gsi, bool assign)
{
	return 0;
}

static int f_signal(void *ctx, uint64_t addr, uint32_t data)
{
	return 0;
}

static int f_ioeventfd(void *ctx, uint64_t addr, uint32_t len, bool pio, int fd, bool assign)
{
	return 0;
}

static const struct kvm_glue glue = {
	f_route_add, f_route_update, f_route_del, f_irqfd, f_signal, f_ioeventfd, NULL,
};

static void set_irq(void *opaque, uint32_t gsi, int level)
{
	CHECK(gsi >= PCI_INTX_GSI_BASE && gsi < PCI_INTX_GSI_BASE + PCI_INTX_GSIS);
}

static void cf9_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	CHECK(offset == 0 && len == 1);
	if (is_write)
		cur->cf9_writes++;
	else
		data[0] = 0;
}

static void fixed_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	CHECK(len >= 1 && len <= 8 && offset < 0x1000);
}

/* The plain device's BARs: an access must fall inside the BAR. */
static void plain_bar_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			 bool is_write)
{
	const struct pci_bar *b = opaque;

	CHECK(len >= 1 && len <= 8 && offset + len <= b->size);
	if (!is_write)
		memset(data, 0x5a, len);
}

static void check_bus(const struct bus *bus)
{
	unsigned int i;

	for (i = 0; i < bus->nr; i++) {
		const struct bus_range *r = &bus->ranges[i];

		CHECK(r->len && r->base + r->len > r->base && r->fn);
		if (i + 1 < bus->nr)
			CHECK(r->base + r->len <= bus->ranges[i + 1].base);
	}
}

static const struct bus_range *find_range(const struct bus *bus, uint64_t base)
{
	unsigned int i;

	for (i = 0; i < bus->nr; i++)
		if (bus->ranges[i].base == base)
			return &bus->ranges[i];
	return NULL;
}

static void check_device(struct state *s, struct pci_device *pdev)
{
	uint32_t cmd = pci_cfg_get(pdev, 0x04, 2);
	int i;

	for (i = 0; i < PCI_NR_BARS; i++) {
		const struct pci_bar *b = &pdev->bar[i];
		const struct bus_range *r;
		uint64_t addr;

		if (b->type == PCI_BAR_NONE || !b->mapped)
			continue;
		addr = pci_cfg_get(pdev, 0x10 + 4 * i, 4);
		if (b->type == PCI_BAR_IO) {
			CHECK(cmd & 1);
			addr &= ~3ULL;
		} else {
			CHECK(cmd & 2);
			addr &= ~0xfULL;
			if (b->type == PCI_BAR_MEM64)
				addr |= (uint64_t)pci_cfg_get(pdev, 0x14 + 4 * i, 4) << 32;
		}
		CHECK(addr == b->addr && (addr & (b->size - 1)) == 0);
		r = find_range(b->type == PCI_BAR_IO ? &s->pio : &s->mmio, addr);
		CHECK(r && r->len == b->size && r->opaque == b->opaque);
		if (b->type == PCI_BAR_IO)
			CHECK(addr + b->size <= 0x10000);
	}
}

static void check_all(struct state *s)
{
	const struct bus_range *r;

	check_bus(&s->pio);
	check_bus(&s->mmio);
	check_device(s, &s->pb.host);
	check_device(s, virtio_pci_pdev(s->vp));
	check_device(s, &s->plain);
	r = find_range(&s->pio, FIXED_PIO);
	CHECK(r && r->fn == fixed_io && r->len == 8);
	r = find_range(&s->mmio, FIXED_MMIO);
	CHECK(r && r->fn == fixed_io && r->len == 0x1000);
	r = find_range(&s->mmio, PCI_ECAM_BASE);
	CHECK(r && r->fn == pci_ecam_io && r->len == PCI_ECAM_SIZE);
	r = find_range(&s->pio, PORT_PCI_CONFIG_ADDR);
	CHECK(r && r->fn == pci_cf8_io);
	r = find_range(&s->pio, PORT_PCI_CONFIG_DATA);
	CHECK(r && r->fn == pci_cfc_io);
}

static uint32_t ecam_read32(struct state *s, unsigned int slot, uint32_t reg)
{
	uint32_t v;

	CHECK(bus_access(&s->mmio, PCI_ECAM_BASE + (slot << 15) + reg, (uint8_t *)&v, 4, false));
	return v;
}

static void ecam_write32(struct state *s, unsigned int slot, uint32_t reg, uint32_t v)
{
	CHECK(bus_access(&s->mmio, PCI_ECAM_BASE + (slot << 15) + reg, (uint8_t *)&v, 4, true));
}

static struct pci_device *slot_dev(struct state *s, unsigned int sel)
{
	switch (sel % 3) {
	case 0:
		return &s->pb.host;
	case 1:
		return virtio_pci_pdev(s->vp);
	default:
		return &s->plain;
	}
}

static const uint8_t slots[3] = { 0, VIRTIO_SLOT, PLAIN_SLOT };

static void setup(struct state *s, struct guest_memory *mem)
{
	static const struct pci_id plain_id = {
		.vendor = 0x1234, .device = 0x5678, .class_code = 0xff0000, .irq_pin = 1,
	};
	struct virtio_pci_params p = {
		.name = "fuzz", .ops = &mock_ops, .mem = mem, .kvm = &glue,
		.manual_service = true,
	};

	CHECK(!bus_init(&s->pio, "pio") && !bus_init(&s->mmio, "mmio"));
	CHECK(!bus_register(&s->pio, FIXED_PIO, 8, fixed_io, s, "fixed"));
	CHECK(!bus_register(&s->mmio, FIXED_MMIO, 0x1000, fixed_io, s, "fixed"));
	CHECK(!pci_bus_init(&s->pb, &s->pio, &s->mmio, set_irq, s));
	CHECK(!pci_bus_register(&s->pb, cf9_io, s));
	s->vp = virtio_pci_create(&p);
	CHECK(s->vp && virtio_pci_add(s->vp, &s->pb, VIRTIO_SLOT) == VIRTIO_SLOT);
	pci_device_init(&s->plain, "plain", &plain_id, NULL, NULL);
	CHECK(!pci_device_add_bar(&s->plain, 0, PCI_BAR_MEM32, 0x1000, plain_bar_io,
				  &s->plain.bar[0]));
	CHECK(!pci_device_add_bar(&s->plain, 2, PCI_BAR_MEM64, 0x4000, plain_bar_io,
				  &s->plain.bar[2]));
	CHECK(!pci_device_add_bar(&s->plain, 4, PCI_BAR_IO, 0x20, plain_bar_io,
				  &s->plain.bar[4]));
	CHECK(pci_bus_add(&s->pb, &s->plain, PLAIN_SLOT) == PLAIN_SLOT);
}

static void teardown(struct state *s)
{
	pci_bus_destroy(&s->pb);
	virtio_pci_destroy(s->vp);
	pci_device_destroy(&s->plain);
	CHECK(!s->started && !s->routes);
	/* Only the fixed ranges are left. */
	CHECK(s->pio.nr == 1 && s->mmio.nr == 1);
	bus_destroy(&s->pio);
	bus_destroy(&s->mmio);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_memory mem;
	struct state s;

	/* Guest RAM only backs ring address checks; nothing here writes to it. */
	if (!mem.nr_regions)
		CHECK(!guest_memory_init(&mem, 2 << 20, false));
	memset(&s, 0, sizeof(s));
	cur = &s;
	setup(&s, &mem);
	check_all(&s);

	/* Each step: an op byte, then 7 bytes of operands. */
	while (size >= 8) {
		uint8_t op = data[0], buf[8];
		uint32_t v32, off = data[1] | data[2] << 8;
		uint32_t len = 1u << ((op >> 4) & 3);
		bool wr = op & 0x80;
		struct pci_device *pdev = slot_dev(&s, data[3]);
		unsigned int slot = slots[data[3] % 3];

		memcpy(&v32, data + 4, 4);
		memset(buf, 0, sizeof(buf));
		memcpy(buf, data + 4, 4);
		memcpy(buf + 4, data + 1, 3);
		data += 8;
		size -= 8;
		switch (op & 0xf) {
		case 0: /* CONFIG_ADDRESS, usually enabled and aimed at a real slot */
			if (!(op & 0x40))
				v32 = 0x80000000u | slot << 11 | (v32 & 0xfc);
			bus_access(&s.pio, PORT_PCI_CONFIG_ADDR, (uint8_t *)&v32, 4, true);
			break;
		case 1: /* the type 1 ports, any width and offset */
			bus_access(&s.pio, PORT_PCI_CONFIG_ADDR + (off & 7), buf, len, wr);
			break;
		case 2: /* ECAM, any slot, function, register, width and alignment */
			bus_access(&s.mmio, PCI_ECAM_BASE + (off << 4 | (data[-1] & 0xf)), buf, len,
				   wr);
			break;
		case 3: /* ECAM into one of our devices */
			bus_access(&s.mmio, PCI_ECAM_BASE + (slot << 15) + (off & 0xfff), buf, len,
				   wr);
			break;
		case 4: /* a BAR register: anywhere, or near the windows and the other ranges */
		case 5: {
			static const uint32_t near[8] = {
				0xc0000000, 0xd0000000, 0xe0000000, 0xfec00000,
				0xc000,	    0x3f8,	0xcf8,	    0xfffff000,
			};
			uint32_t reg = 0x10 + 4 * (off % 6);

			if (op & 1)
				v32 = near[off >> 8 & 7] + (v32 & 0xff0) -
				      (v32 & 0x1000 ? 0x4000 : 0);
			ecam_write32(&s, slot, reg, v32);
			break;
		}
		case 6: /* the command register */
			ecam_write32(&s, slot, 0x04, v32 & 0xffff);
			break;
		case 7: { /* BAR sizing, as firmware and Linux do it */
			uint32_t reg = 0x10 + 4 * (off % 6), old = ecam_read32(&s, slot, reg), sz;
			const struct pci_bar *b = &pdev->bar[off % 6];

			ecam_write32(&s, slot, reg, 0xffffffff);
			sz = ecam_read32(&s, slot, reg);
			if (b->type == PCI_BAR_MEM32 || b->type == PCI_BAR_MEM64)
				CHECK((sz & ~0xfu) == (~(uint32_t)(b->size - 1) & ~0xfu));
			else if (b->type == PCI_BAR_IO)
				CHECK((sz & ~3u) == (~(uint32_t)(b->size - 1) & 0xfffffffc));
			ecam_write32(&s, slot, reg, old);
			break;
		}
		case 8: { /* at a BAR of ours, wherever it is */
			const struct pci_bar *b = &pdev->bar[off % 6];

			if (b->mapped)
				bus_access(b->type == PCI_BAR_IO ? &s.pio : &s.mmio,
					   b->addr + (v32 % (b->size + 8)), buf, len, wr);
			break;
		}
		case 9: /* anywhere in the MMIO window or the ports */
			if (op & 0x40)
				bus_access(&s.pio, off, buf, len > 4 ? 4 : len, wr);
			else
				bus_access(&s.mmio, PCI_MMIO32_BASE + ((uint64_t)v32 << 5), buf,
					   len, wr);
			break;
		case 10: { /* INTx of the plain device */
			pthread_mutex_lock(&s.plain.lock);
			pci_set_intx(&s.plain, op & 0x40);
			pthread_mutex_unlock(&s.plain.lock);
			break;
		}
		default: { /* read back what cannot change */
			uint32_t id = ecam_read32(&s, slot, 0);

			CHECK(id == pci_cfg_get(pdev, 0, 4));
			CHECK(id == (slot == 0 ? 0x00081b36u :
				     slot == PLAIN_SLOT ? 0x56781234u : 0x10411af4u));
			/* A function that is not there reads all ones, both ways. */
			CHECK(ecam_read32(&s, 7, 0) == 0xffffffffu);
			v32 = 0x80000000u | 7 << 11;
			bus_access(&s.pio, PORT_PCI_CONFIG_ADDR, (uint8_t *)&v32, 4, true);
			bus_access(&s.pio, PORT_PCI_CONFIG_DATA, (uint8_t *)&v32, 4, false);
			CHECK(v32 == 0xffffffffu);
			break;
		}
		}
		check_all(&s);
	}
	teardown(&s);
	cur = NULL;
	return 0;
}
