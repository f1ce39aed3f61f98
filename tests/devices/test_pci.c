// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <linux/pci_regs.h>
#undef PCI_IO_BASE

#include "devices/pci.h"
#include "vmm/bus.h"
#include "vmm/layout.h"

struct mock {
	struct pci_device pdev;
	int bar_calls[PCI_NR_BARS];
	int mapped_events;
};

static struct bus pio, mmio;
static struct pci_bus pb;
static struct mock dev;
static int cf9_calls;
static uint8_t cf9_last;
static int irq_gsi = -1, irq_level = -1, irq_calls;

static void set_irq(void *opaque, uint32_t gsi, int level)
{
	irq_gsi = gsi;
	irq_level = level;
	irq_calls++;
}

static void cf9_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	cf9_calls++;
	if (is_write)
		cf9_last = data[0];
	else
		data[0] = 0x5a;
}

#define BAR_IO_FN(n)                                                                     \
	static void bar##n##_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, \
				bool is_write)                                           \
	{                                                                                \
		struct mock *m = opaque;                                                 \
		m->bar_calls[n]++;                                                       \
		if (!is_write)                                                           \
			memset(data, 0x40 + n, len);                                     \
	}
BAR_IO_FN(0)
BAR_IO_FN(2)
BAR_IO_FN(4)

static void mapped(struct pci_device *pdev, int bar, uint64_t addr, bool is_mapped)
{
	((struct mock *)pdev->opaque)->mapped_events++;
}

static const struct pci_device_ops mock_ops = {.bar_mapped = mapped};

static void setup(void)
{
	struct pci_id id = {.vendor = 0x1234,
			    .device = 0x5678,
			    .revision = 3,
			    .class_code = 0x020000,
			    .irq_pin = 1};

	cf9_calls = irq_calls = 0;
	irq_gsi = irq_level = -1;
	cr_assert_eq(bus_init(&pio, "pio"), 0);
	cr_assert_eq(bus_init(&mmio, "mmio"), 0);
	cr_assert_eq(pci_bus_init(&pb, &pio, &mmio, set_irq, NULL), 0);
	cr_assert_eq(pci_bus_register(&pb, cf9_io, NULL), 0);
	memset(&dev, 0, sizeof(dev));
	pci_device_init(&dev.pdev, "mock", &id, &mock_ops, &dev);
	cr_assert_eq(pci_device_add_bar(&dev.pdev, 0, PCI_BAR_MEM32, 0x1000, bar0_io, &dev), 0);
	cr_assert_eq(pci_device_add_bar(&dev.pdev, 2, PCI_BAR_MEM64, 0x4000, bar2_io, &dev), 0);
	cr_assert_eq(pci_device_add_bar(&dev.pdev, 4, PCI_BAR_IO, 0x20, bar4_io, &dev), 0);
	cr_assert_eq(pci_bus_add(&pb, &dev.pdev, 3), 3);
}

static void teardown(void)
{
	pci_bus_destroy(&pb);
	pci_device_destroy(&dev.pdev);
	bus_destroy(&pio);
	bus_destroy(&mmio);
}

TestSuite(pci, .init = setup, .fini = teardown);

static uint32_t cf8_read(unsigned int slot, uint32_t off, uint32_t len)
{
	uint32_t a = 0x80000000u | slot << 11 | (off & 0xfc), v = 0;

	bus_access(&pio, PORT_PCI_CONFIG_ADDR, (uint8_t *)&a, 4, true);
	bus_access(&pio, PORT_PCI_CONFIG_DATA + (off & 3), (uint8_t *)&v, len, false);
	return len == 4 ? v : v & ((1u << (8 * len)) - 1);
}

static void cf8_write(unsigned int slot, uint32_t off, uint32_t v, uint32_t len)
{
	uint32_t a = 0x80000000u | slot << 11 | (off & 0xfc);

	bus_access(&pio, PORT_PCI_CONFIG_ADDR, (uint8_t *)&a, 4, true);
	bus_access(&pio, PORT_PCI_CONFIG_DATA + (off & 3), (uint8_t *)&v, len, true);
}

static uint32_t ecam_read(unsigned int slot, uint32_t off, uint32_t len)
{
	uint32_t v = 0;

	bus_access(&mmio, PCI_ECAM_BASE + (slot << 15) + off, (uint8_t *)&v, len, false);
	return len == 4 ? v : v & ((1u << (8 * len)) - 1);
}

static void ecam_write(unsigned int slot, uint32_t off, uint32_t v, uint32_t len)
{
	bus_access(&mmio, PCI_ECAM_BASE + (slot << 15) + off, (uint8_t *)&v, len, true);
}

static bool mmio_hits(uint64_t addr, int bar)
{
	int before = dev.bar_calls[bar];
	uint32_t v;

	bus_access(&mmio, addr, (uint8_t *)&v, 4, false);
	return dev.bar_calls[bar] == before + 1 && v == 0x40404040u + 0x01010101u * bar;
}

static bool pio_hits(uint64_t port)
{
	int before = dev.bar_calls[4];
	uint8_t v;

	bus_access(&pio, port, &v, 1, false);
	return dev.bar_calls[4] == before + 1 && v == 0x44;
}

Test(pci, host_bridge_and_absent_functions)
{
	cr_assert_eq(cf8_read(0, PCI_VENDOR_ID, 4), PCI_HOST_VENDOR | PCI_HOST_DEVICE << 16);
	cr_assert_eq(ecam_read(0, PCI_VENDOR_ID, 4), PCI_HOST_VENDOR | PCI_HOST_DEVICE << 16);
	cr_assert_eq(cf8_read(0, PCI_CLASS_REVISION, 4) >> 8, 0x060000);
	cr_assert_eq(cf8_read(7, PCI_VENDOR_ID, 4), 0xffffffffu);
	cr_assert_eq(ecam_read(7, PCI_VENDOR_ID, 2), 0xffff);
	/* Function 1 of a present slot does not exist. */
	cr_assert_eq(ecam_read(3, (1 << 12) + PCI_VENDOR_ID, 4), 0xffffffffu);
}

Test(pci, cf8_and_ecam_agree)
{
	uint32_t off;

	cr_assert_eq(cf8_read(3, PCI_VENDOR_ID, 4), 0x56781234);
	for (off = 0; off < PCI_CFG_SIZE; off += 4)
		cr_assert_eq(cf8_read(3, off, 4), ecam_read(3, off, 4), "dword %#x", off);
	for (off = 0; off < PCI_CFG_SIZE; off++)
		cr_assert_eq(cf8_read(3, off, 1), ecam_read(3, off, 1), "byte %#x", off);
	/* Extended space of a conventional function reads 0 and ignores writes. */
	cr_assert_eq(ecam_read(3, 0x100, 4), 0);
	ecam_write(3, 0xffc, 0x12345678, 4);
	cr_assert_eq(ecam_read(3, 0xffc, 4), 0);
	/* A write through one mechanism shows through the other. */
	ecam_write(3, PCI_INTERRUPT_LINE, 0x0b, 1);
	cr_assert_eq(cf8_read(3, PCI_INTERRUPT_LINE, 1), 0x0b);
	cf8_write(3, PCI_CACHE_LINE_SIZE, 0x10, 1);
	cr_assert_eq(ecam_read(3, PCI_CACHE_LINE_SIZE, 1), 0x10);
	/* Word access at 0xcfe. */
	cr_assert_eq(cf8_read(3, PCI_DEVICE_ID, 2), 0x5678);
}

Test(pci, config_address_register)
{
	uint32_t a = 0x7fffffff, v = 0;
	uint8_t b = 0x06;

	/* Enable bit clear: CONFIG_DATA is not a configuration access. */
	bus_access(&pio, PORT_PCI_CONFIG_ADDR, (uint8_t *)&a, 4, true);
	bus_access(&pio, PORT_PCI_CONFIG_ADDR, (uint8_t *)&v, 4, false);
	cr_assert_eq(v, 0x00fffffc);
	bus_access(&pio, PORT_PCI_CONFIG_DATA, (uint8_t *)&v, 4, false);
	cr_assert_eq(v, 0xffffffffu);
	/* Bytes at 0xcf9 are the reset register; CONFIG_ADDRESS is untouched. */
	bus_access(&pio, PORT_RESET, &b, 1, true);
	cr_assert_eq(cf9_calls, 1);
	cr_assert_eq(cf9_last, 0x06);
	bus_access(&pio, PORT_RESET, &b, 1, false);
	cr_assert_eq(b, 0x5a);
	bus_access(&pio, PORT_PCI_CONFIG_ADDR, (uint8_t *)&v, 4, false);
	cr_assert_eq(v, 0x00fffffc);
	/* Misaligned ECAM accesses are dropped. */
	cr_assert_eq(ecam_read(3, 1, 2), 0xffff);
}

Test(pci, read_only_and_w1c_bits)
{
	uint16_t status = cf8_read(3, PCI_STATUS, 2);

	cf8_write(3, PCI_VENDOR_ID, 0, 4);
	cr_assert_eq(cf8_read(3, PCI_VENDOR_ID, 4), 0x56781234);
	cr_assert_eq(cf8_read(3, PCI_INTERRUPT_PIN, 1), 1);
	cf8_write(3, PCI_INTERRUPT_PIN, 4, 1);
	cr_assert_eq(cf8_read(3, PCI_INTERRUPT_PIN, 1), 1);
	/* Writing ones to status sets nothing; error bits are W1C. */
	cf8_write(3, PCI_STATUS, 0xffff, 2);
	cr_assert_eq(cf8_read(3, PCI_STATUS, 2), status);
	dev.pdev.cfg[PCI_STATUS + 1] |= PCI_STATUS_REC_MASTER_ABORT >> 8;
	cf8_write(3, PCI_STATUS, PCI_STATUS_REC_MASTER_ABORT, 2);
	cr_assert_eq(cf8_read(3, PCI_STATUS, 2), status);
	/* Unimplemented command bits read 0. */
	cf8_write(3, PCI_COMMAND, 0xffff, 2);
	cr_assert_eq(cf8_read(3, PCI_COMMAND, 2), 0x0547);
}

Test(pci, bar_sizing)
{
	uint32_t old0 = cf8_read(3, PCI_BASE_ADDRESS_0, 4);

	cr_assert_eq(old0 & 0xfff, 0);
	cr_assert(old0 >= PCI_MMIO32_BASE && old0 < PCI_MMIO32_BASE + PCI_MMIO32_SIZE);
	cf8_write(3, PCI_COMMAND, 0, 2);
	cf8_write(3, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	cr_assert_eq(cf8_read(3, PCI_BASE_ADDRESS_0, 4), 0xfffff000);
	cf8_write(3, PCI_BASE_ADDRESS_2, 0xffffffff, 4);
	cf8_write(3, PCI_BASE_ADDRESS_3, 0xffffffff, 4);
	cr_assert_eq(cf8_read(3, PCI_BASE_ADDRESS_2, 4), 0xffffc000 | PCI_BASE_ADDRESS_MEM_TYPE_64);
	cr_assert_eq(cf8_read(3, PCI_BASE_ADDRESS_3, 4), 0xffffffff);
	cf8_write(3, PCI_BASE_ADDRESS_4, 0xffffffff, 4);
	cr_assert_eq(cf8_read(3, PCI_BASE_ADDRESS_4, 4), 0xffffffe1);
	/* Unused BARs and the expansion ROM read 0 whatever is written. */
	cf8_write(3, PCI_BASE_ADDRESS_1, 0xffffffff, 4);
	cr_assert_eq(cf8_read(3, PCI_BASE_ADDRESS_1, 4), 0);
	cf8_write(3, PCI_ROM_ADDRESS, 0xffffffff, 4);
	cr_assert_eq(cf8_read(3, PCI_ROM_ADDRESS, 4), 0);
}

Test(pci, bar_move_and_command_gating)
{
	uint32_t a0 = cf8_read(3, PCI_BASE_ADDRESS_0, 4);
	uint32_t io = cf8_read(3, PCI_BASE_ADDRESS_4, 4) & ~3u;
	uint64_t a2 = cf8_read(3, PCI_BASE_ADDRESS_2, 4) & ~0xfu;

	cr_assert(mmio_hits(a0, 0));
	cr_assert(mmio_hits(a2 + 0x3ffc, 2));
	cr_assert(pio_hits(io + 0x1f));
	cr_assert(io >= PCI_IO_BASE && io < PCI_IO_BASE + PCI_IO_SIZE);

	cf8_write(3, PCI_BASE_ADDRESS_0, 0xd0000000, 4);
	cr_assert(!mmio_hits(a0, 0));
	cr_assert(mmio_hits(0xd0000000, 0));
	/* A 64-bit BAR above 4 GiB. */
	cf8_write(3, PCI_BASE_ADDRESS_3, 0x1, 4);
	cr_assert(!mmio_hits(a2, 2));
	cr_assert(mmio_hits(0x100000000ULL + a2, 2));

	cf8_write(3, PCI_COMMAND, PCI_COMMAND_IO, 2);
	cr_assert(!mmio_hits(0xd0000000, 0));
	cr_assert(!mmio_hits(0x100000000ULL + a2, 2));
	cr_assert(pio_hits(io));
	cf8_write(3, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cr_assert(!pio_hits(io));
	cr_assert(mmio_hits(0xd0000000, 0));
	/* Moved while decode is off: it decodes only at the new place once enabled. */
	cf8_write(3, PCI_COMMAND, 0, 2);
	cf8_write(3, PCI_BASE_ADDRESS_4, 0xe000, 4);
	cf8_write(3, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
	cr_assert(pio_hits(0xe000));
	cr_assert(!pio_hits(io));
	cr_assert(dev.mapped_events > 0);
}

static void blocker_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
}

Test(pci, bar_overlap_is_refused_gracefully)
{
	uint32_t a0 = cf8_read(3, PCI_BASE_ADDRESS_0, 4);
	int blocker;

	cr_assert_eq(bus_register(&mmio, 0xd0000000, 0x1000, blocker_io, &blocker, "blocker"), 0);
	cf8_write(3, PCI_BASE_ADDRESS_0, 0xd0000000, 4);
	cr_assert(!mmio_hits(0xd0000000, 0));
	cr_assert(!mmio_hits(a0, 0));
	/* The register keeps what the guest wrote; moving away decodes again. */
	cr_assert_eq(cf8_read(3, PCI_BASE_ADDRESS_0, 4), 0xd0000000);
	cf8_write(3, PCI_BASE_ADDRESS_0, 0xd0001000, 4);
	cr_assert(mmio_hits(0xd0001000, 0));
	/* Over the ECAM window too. */
	cf8_write(3, PCI_BASE_ADDRESS_0, PCI_ECAM_BASE, 4);
	cr_assert_eq(ecam_read(3, PCI_VENDOR_ID, 4), 0x56781234);
	cf8_write(3, PCI_BASE_ADDRESS_0, a0, 4);
	cr_assert(mmio_hits(a0, 0));
	bus_unregister(&mmio, 0xd0000000, &blocker);
}

Test(pci, bar_moved_where_another_bar_leaves_is_decoded)
{
	uint64_t a2 = cf8_read(3, PCI_BASE_ADDRESS_2, 4) & ~0xfu;

	/* BAR 0 onto BAR 2: refused while BAR 2 is there. */
	cf8_write(3, PCI_BASE_ADDRESS_0, (uint32_t)a2, 4);
	cr_assert(mmio_hits(a2, 2));
	/* BAR 2 moves away: in the same update BAR 0 takes the place it left. */
	cf8_write(3, PCI_BASE_ADDRESS_2, 0xd0000000, 4);
	cr_assert(mmio_hits(0xd0000000, 2));
	cr_assert(mmio_hits(a2, 0));
}

Test(pci, intx_level_disable_and_status)
{
	uint32_t gsi = PCI_INTX_GSI_BASE + ((3 + 0) & 7);

	cr_assert_eq(cf8_read(3, PCI_INTERRUPT_LINE, 1), gsi);
	pthread_mutex_lock(&dev.pdev.lock);
	pci_set_intx(&dev.pdev, true);
	pthread_mutex_unlock(&dev.pdev.lock);
	cr_assert_eq(irq_gsi, (int)gsi);
	cr_assert_eq(irq_level, 1);
	cr_assert(cf8_read(3, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* Interrupt Disable drops the line but not the status bit. */
	cf8_write(3, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE, 2);
	cr_assert_eq(irq_level, 0);
	cr_assert(cf8_read(3, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cf8_write(3, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cr_assert_eq(irq_level, 1);
	pthread_mutex_lock(&dev.pdev.lock);
	pci_set_intx(&dev.pdev, false);
	pci_set_intx(&dev.pdev, false);
	pthread_mutex_unlock(&dev.pdev.lock);
	cr_assert_eq(irq_level, 0);
	cr_assert_eq(irq_calls, 4);
	cr_assert(!(cf8_read(3, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT));
}

Test(pci, capability_chain)
{
	struct pci_id id = {.vendor = 1, .device = 2};
	struct pci_device d;
	unsigned int n = 0;
	uint8_t pos;

	pci_device_init(&d, "caps", &id, NULL, NULL);
	cr_assert_eq(pci_find_capability(&d, PCI_CAP_ID_VNDR), 0);
	cr_assert_eq(pci_add_capability(&d, PCI_CAP_ID_VNDR, 16), 0x40);
	cr_assert_eq(pci_add_capability(&d, PCI_CAP_ID_MSIX, 12), 0x50);
	cr_assert_eq(pci_add_capability(&d, PCI_CAP_ID_VNDR, 5), 0x5c);
	cr_assert_eq(pci_add_capability(&d, PCI_CAP_ID_VNDR, 200), -ENOSPC);
	cr_assert(d.cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST);
	for (pos = d.cfg[PCI_CAPABILITY_LIST]; pos; pos = d.cfg[pos + 1], n++)
		cr_assert_eq(pos & 3, 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(pci_find_capability(&d, PCI_CAP_ID_MSIX), 0x50);
	/* A looping list does not hang the walk. */
	d.cfg[0x5c + 1] = 0x40;
	cr_assert_eq(pci_find_capability(&d, PCI_CAP_ID_EXP), 0);
	pci_device_destroy(&d);
}

Test(pci, slots_and_bad_bars)
{
	struct pci_id id = {.vendor = 1, .device = 2};
	struct pci_device d;

	pci_device_init(&d, "x", &id, NULL, NULL);
	cr_assert_eq(pci_device_add_bar(&d, 0, PCI_BAR_MEM32, 0x1001, bar0_io, NULL), -EINVAL);
	cr_assert_eq(pci_device_add_bar(&d, 5, PCI_BAR_MEM64, 0x1000, bar0_io, NULL), -EINVAL);
	cr_assert_eq(pci_device_add_bar(&d, 0, PCI_BAR_IO, 0x1000, bar0_io, NULL), -EINVAL);
	cr_assert_eq(pci_bus_add(&pb, &d, 3), -EEXIST);
	cr_assert_eq(pci_bus_add(&pb, &d, 0), -ENOSPC);
	cr_assert_eq(pci_bus_add(&pb, &d, -1), 1);
	cr_assert_eq(cf8_read(1, PCI_VENDOR_ID, 4), 0x00020001);
	pb.dev[1] = NULL;
	pci_device_destroy(&d);
}
