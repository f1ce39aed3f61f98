// SPDX-License-Identifier: GPL-2.0
/*
 * PCI bus 0: configuration space (type 1 ports and ECAM), BAR decoding,
 * capabilities and INTx. See pci.h for the model and the locking.
 */
#include <errno.h>
#include <string.h>
#include <linux/pci_regs.h>
/* pci_regs.h names a bridge register PCI_IO_BASE; kvmini's layout.h names the I/O window so. */
#undef PCI_IO_BASE

#include "../vmm/layout.h"
#include "../vmm/log.h"
#include "../vmm/state.h"
#include "pci.h"

#define CONFIG_ADDRESS_ENABLE 0x80000000u
/* Bus, device, function and dword register; bits 1:0 and 30:24 are reserved (read 0). */
#define CONFIG_ADDRESS_MASK 0x80fffffcu

/* Command bits a device implements (PCI 3.0, 6.2.2): I/O, memory, master, parity, SERR, INTx. */
#define PCI_COMMAND_WMASK                                                                \
	(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | \
	 PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)
/* Status error bits are write-1-to-clear (PCI 3.0, 6.2.3). */
#define PCI_STATUS_W1C                                                                   \
	(PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_REC_TARGET_ABORT | \
	 PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)

#define PCI_CAP_START 0x40
#define PCI_MAX_CAPS 48 /* (256 - 64) / 4: a longer walk is a loop */

void pci_cfg_set8(struct pci_device *pdev, uint32_t off, uint8_t v)
{
	if (off < PCI_CFG_SIZE)
		pdev->cfg[off] = v;
}

void pci_cfg_set16(struct pci_device *pdev, uint32_t off, uint16_t v)
{
	pci_cfg_set8(pdev, off, v & 0xff);
	pci_cfg_set8(pdev, off + 1, v >> 8);
}

void pci_cfg_set32(struct pci_device *pdev, uint32_t off, uint32_t v)
{
	pci_cfg_set16(pdev, off, v & 0xffff);
	pci_cfg_set16(pdev, off + 2, v >> 16);
}

uint32_t pci_cfg_get(const struct pci_device *pdev, uint32_t off, uint32_t len)
{
	uint32_t v = 0, i;

	for (i = 0; i < len && i < 4 && off + i < PCI_CFG_SIZE; i++)
		v |= (uint32_t)pdev->cfg[off + i] << (8 * i);
	return v;
}

void pci_wmask_set(struct pci_device *pdev, uint32_t off, uint32_t len, uint32_t mask)
{
	uint32_t i;

	for (i = 0; i < len && i < 4 && off + i < PCI_CFG_SIZE; i++)
		pdev->wmask[off + i] = (mask >> (8 * i)) & 0xff;
}

void pci_device_init(struct pci_device *pdev, const char *name, const struct pci_id *id,
		     const struct pci_device_ops *ops, void *opaque)
{
	memset(pdev, 0, sizeof(*pdev));
	pthread_mutex_init(&pdev->lock, NULL);
	pdev->name = name;
	pdev->slot = -1;
	pdev->ops = ops;
	pdev->opaque = opaque;
	pdev->cap_end = PCI_CAP_START;

	pci_cfg_set16(pdev, PCI_VENDOR_ID, id->vendor);
	pci_cfg_set16(pdev, PCI_DEVICE_ID, id->device);
	pci_cfg_set8(pdev, PCI_REVISION_ID, id->revision);
	pci_cfg_set8(pdev, PCI_CLASS_PROG, id->class_code & 0xff);
	pci_cfg_set16(pdev, PCI_CLASS_DEVICE, id->class_code >> 8);
	pci_cfg_set8(pdev, PCI_HEADER_TYPE, PCI_HEADER_TYPE_NORMAL);
	pci_cfg_set16(pdev, PCI_SUBSYSTEM_VENDOR_ID, id->subsys_vendor);
	pci_cfg_set16(pdev, PCI_SUBSYSTEM_ID, id->subsys);
	pci_cfg_set8(pdev, PCI_INTERRUPT_PIN, id->irq_pin <= 4 ? id->irq_pin : 0);

	pci_wmask_set(pdev, PCI_COMMAND, 2, PCI_COMMAND_WMASK);
	pdev->w1cmask[PCI_STATUS] = PCI_STATUS_W1C & 0xff;
	pdev->w1cmask[PCI_STATUS + 1] = PCI_STATUS_W1C >> 8;
	pci_wmask_set(pdev, PCI_CACHE_LINE_SIZE, 1, 0xff);
	pci_wmask_set(pdev, PCI_LATENCY_TIMER, 1, 0xff);
	pci_wmask_set(pdev, PCI_INTERRUPT_LINE, 1, 0xff);
}

void pci_device_destroy(struct pci_device *pdev)
{
	pthread_mutex_destroy(&pdev->lock);
}

int pci_device_add_bar(struct pci_device *pdev, int bar, enum pci_bar_type type, uint64_t size,
		       bus_io_fn fn, void *opaque)
{
	uint32_t off, flags, mask;

	if (bar < 0 || bar >= PCI_NR_BARS || !fn || !size || (size & (size - 1)))
		return -EINVAL;
	if (pdev->bar[bar].type != PCI_BAR_NONE ||
	    (bar > 0 && pdev->bar[bar - 1].type == PCI_BAR_MEM64))
		return -EINVAL;
	switch (type) {
	case PCI_BAR_IO:
		if (size < 4 || size > 256)
			return -EINVAL;
		flags = PCI_BASE_ADDRESS_SPACE_IO;
		mask = ~(uint32_t)(size - 1) & PCI_BASE_ADDRESS_IO_MASK;
		break;
	case PCI_BAR_MEM32:
		if (size < 16 || size > (1ULL << 31))
			return -EINVAL;
		flags = PCI_BASE_ADDRESS_MEM_TYPE_32;
		mask = ~(uint32_t)(size - 1) & PCI_BASE_ADDRESS_MEM_MASK;
		break;
	case PCI_BAR_MEM64:
		if (size < 16 || size > (1ULL << 31) || bar == PCI_NR_BARS - 1 ||
		    pdev->bar[bar + 1].type != PCI_BAR_NONE)
			return -EINVAL;
		flags = PCI_BASE_ADDRESS_MEM_TYPE_64;
		mask = ~(uint32_t)(size - 1) & PCI_BASE_ADDRESS_MEM_MASK;
		break;
	default:
		return -EINVAL;
	}
	off = PCI_BASE_ADDRESS_0 + 4 * bar;
	/* Sizing needs nothing more: the size bits are read-only 0 (PCI 3.0, 6.2.5.1). */
	pci_cfg_set32(pdev, off, flags);
	pci_wmask_set(pdev, off, 4, mask);
	if (type == PCI_BAR_MEM64)
		pci_wmask_set(pdev, off + 4, 4, 0xffffffff);
	pdev->bar[bar] = (struct pci_bar){.type = type, .size = size, .fn = fn, .opaque = opaque};
	return 0;
}

uint8_t pci_find_capability(const struct pci_device *pdev, uint8_t id)
{
	uint8_t pos = pdev->cfg[PCI_CAPABILITY_LIST] & ~3;
	int n;

	if (!(pdev->cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST))
		return 0;
	for (n = 0; n < PCI_MAX_CAPS && pos >= PCI_CAP_START; n++) {
		if (pdev->cfg[pos + PCI_CAP_LIST_ID] == id)
			return pos;
		pos = pdev->cfg[pos + PCI_CAP_LIST_NEXT] & ~3;
	}
	return 0;
}

int pci_add_capability(struct pci_device *pdev, uint8_t id, uint8_t len)
{
	uint8_t pos = pdev->cap_end, last;
	int n;

	if (len < 2 || pos + len > PCI_CFG_SIZE)
		return -ENOSPC;
	if (!(pdev->cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST)) {
		pdev->cfg[PCI_CAPABILITY_LIST] = pos;
		pdev->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	} else {
		last = pdev->cfg[PCI_CAPABILITY_LIST];
		for (n = 0; n < PCI_MAX_CAPS && pdev->cfg[last + PCI_CAP_LIST_NEXT]; n++)
			last = pdev->cfg[last + PCI_CAP_LIST_NEXT];
		pdev->cfg[last + PCI_CAP_LIST_NEXT] = pos;
	}
	pdev->cfg[pos + PCI_CAP_LIST_ID] = id;
	pdev->cfg[pos + PCI_CAP_LIST_NEXT] = 0;
	pdev->cap_end = (pos + len + 3) & ~3;
	if (pdev->cap_end < pos) /* wrapped past 255: no room for another */
		pdev->cap_end = 0xfc;
	return pos;
}

static void intx_update(struct pci_device *pdev)
{
	bool disabled = pci_cfg_get(pdev, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE;
	bool want = pdev->intx_level && !disabled;

	if (pdev->intx_asserted == want)
		return;
	pdev->intx_asserted = want;
	irq_line_set(&pdev->intx, want);
}

void pci_set_intx(struct pci_device *pdev, bool level)
{
	if (!pdev->cfg[PCI_INTERRUPT_PIN])
		return;
	pdev->intx_level = level;
	if (level)
		pdev->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		pdev->cfg[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
	intx_update(pdev);
}

/* Where BAR i points now, and whether it should decode there. */
static bool bar_target(const struct pci_device *pdev, int i, uint64_t *addr)
{
	const struct pci_bar *b = &pdev->bar[i];
	uint32_t cmd = pci_cfg_get(pdev, PCI_COMMAND, 2);
	uint32_t lo = pci_cfg_get(pdev, PCI_BASE_ADDRESS_0 + 4 * i, 4);

	switch (b->type) {
	case PCI_BAR_IO:
		*addr = lo & PCI_BASE_ADDRESS_IO_MASK;
		/* x86 ports stop at 0xffff: a BAR above decodes nothing. */
		return (cmd & PCI_COMMAND_IO) && *addr && *addr + b->size <= 0x10000;
	case PCI_BAR_MEM32:
		*addr = lo & PCI_BASE_ADDRESS_MEM_MASK;
		break;
	case PCI_BAR_MEM64:
		*addr = (lo & PCI_BASE_ADDRESS_MEM_MASK) |
			(uint64_t)pci_cfg_get(pdev, PCI_BASE_ADDRESS_0 + 4 * (i + 1), 4) << 32;
		break;
	default:
		return false;
	}
	return (cmd & PCI_COMMAND_MEMORY) && *addr && *addr + b->size > *addr;
}

/*
 * Bring every BAR's bus range in line with the registers. pdev->lock held.
 * Every BAR that moves leaves first: a BAR going where another of this
 * device's BARs was until this write must not find that one still there
 * (and stay undecoded until some later write).
 */
static void update_bars(struct pci_device *pdev)
{
	struct pci_bus *pb = pdev->bus;
	int i;

	if (!pb)
		return;
	for (i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &pdev->bar[i];
		struct bus *bus = b->type == PCI_BAR_IO ? pb->pio : pb->mmio;
		uint64_t addr = 0;
		bool want = bar_target(pdev, i, &addr);

		if (b->type == PCI_BAR_NONE || !b->mapped || (want && addr == b->addr))
			continue;
		bus_unregister(bus, b->addr, b->opaque);
		b->mapped = false;
		if (pdev->ops && pdev->ops->bar_mapped)
			pdev->ops->bar_mapped(pdev, i, b->addr, false);
	}
	for (i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &pdev->bar[i];
		struct bus *bus = b->type == PCI_BAR_IO ? pb->pio : pb->mmio;
		uint64_t addr = 0;
		bool want = bar_target(pdev, i, &addr);
		int ret;

		if (b->type == PCI_BAR_NONE || !want || b->mapped)
			continue;
		ret = bus_register(bus, addr, b->size, b->fn, b->opaque, pdev->name);
		if (ret) {
			/* The guest put it over another device: it decodes nowhere until moved. */
			pr_warn_once("pci %s: BAR %d at %#llx not decoded: %s", pdev->name, i,
				     (unsigned long long)addr, strerror(-ret));
			continue;
		}
		b->mapped = true;
		b->addr = addr;
		if (pdev->ops && pdev->ops->bar_mapped)
			pdev->ops->bar_mapped(pdev, i, addr, true);
	}
}

static bool overlaps(uint32_t off, uint32_t len, uint32_t start, uint32_t end)
{
	return off < end && off + len > start;
}

static void config_write(struct pci_device *pdev, uint32_t off, const uint8_t *data, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++) {
		uint8_t *b = &pdev->cfg[off + i];

		*b = (*b & ~pdev->wmask[off + i]) | (data[i] & pdev->wmask[off + i]);
		*b &= ~(data[i] & pdev->w1cmask[off + i]);
	}
	if (overlaps(off, len, PCI_COMMAND, PCI_COMMAND + 2) ||
	    overlaps(off, len, PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_5 + 4))
		update_bars(pdev);
	if (overlaps(off, len, PCI_COMMAND, PCI_COMMAND + 2))
		intx_update(pdev);
	if (pdev->ops && pdev->ops->config_write)
		pdev->ops->config_write(pdev, off, len);
}

void pci_config_access(struct pci_bus *pb, unsigned int busnr, unsigned int dev, unsigned int fn,
		       uint32_t off, uint8_t *data, uint32_t len, bool is_write, uint32_t limit)
{
	struct pci_device *pdev;

	if (!is_write)
		memset(data, 0xff, len);
	/* Only function 0 of each slot exists: the header type says single-function. */
	if (busnr != 0 || dev >= PCI_SLOTS || fn != 0 || !pb->dev[dev])
		return;
	if (len == 0 || len > 4 || off >= limit || len > limit - off)
		return;
	pdev = pb->dev[dev];
	if (off >= PCI_CFG_SIZE) {
		/* A conventional function: extended capabilities start nowhere (PCIe 3.0, 7.9.1).
		 */
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (len > PCI_CFG_SIZE - off)
		return;
	pthread_mutex_lock(&pdev->lock);
	if (is_write) {
		config_write(pdev, off, data, len);
	} else {
		if (pdev->ops && pdev->ops->config_read)
			pdev->ops->config_read(pdev, off, len);
		memcpy(data, &pdev->cfg[off], len);
	}
	pthread_mutex_unlock(&pdev->lock);
}

void pci_cf8_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_bus *pb = opaque;
	uint32_t v;

	/*
	 * CONFIG_ADDRESS is decoded for dword accesses only; a byte at 0xcf9 is
	 * the chipset's reset control register, and other narrow accesses go on
	 * to nothing (as on PIIX/ICH chipsets).
	 */
	if (offset == 0 && len == 4) {
		if (is_write) {
			memcpy(&v, data, 4);
			__atomic_store_n(&pb->config_address, v & CONFIG_ADDRESS_MASK,
					 __ATOMIC_RELAXED);
		} else {
			v = __atomic_load_n(&pb->config_address, __ATOMIC_RELAXED);
			memcpy(data, &v, 4);
		}
		return;
	}
	if (offset == 1 && len == 1 && pb->cf9_fn)
		pb->cf9_fn(pb->cf9_opaque, 0, data, len, is_write);
}

void pci_cfc_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_bus *pb = opaque;
	uint32_t a = __atomic_load_n(&pb->config_address, __ATOMIC_RELAXED);

	if (!(a & CONFIG_ADDRESS_ENABLE)) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pci_config_access(pb, (a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7,
			  (a & 0xfc) + (uint32_t)offset, data, len, is_write, PCI_CFG_SIZE);
}

void pci_ecam_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_bus *pb = opaque;

	/* ECAM accesses are naturally aligned and at most a dword (PCIe 3.0, 7.2.2). */
	if (len > 4 || (offset & (len - 1))) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pci_config_access(pb, offset >> 20, (offset >> 15) & 0x1f, (offset >> 12) & 7,
			  offset & 0xfff, data, len, is_write, PCI_CFG_EXT_SIZE);
}

int pci_bus_init(struct pci_bus *pb, struct bus *pio, struct bus *mmio,
		 void (*set_irq)(void *opaque, uint32_t gsi, int level), void *irq_opaque)
{
	static const struct pci_id host_id = {
		.vendor = PCI_HOST_VENDOR,
		.device = PCI_HOST_DEVICE,
		.class_code = 0x060000, /* bridge, host bridge */
	};

	memset(pb, 0, sizeof(*pb));
	pb->pio = pio;
	pb->mmio = mmio;
	pb->set_irq = set_irq;
	pb->irq_opaque = irq_opaque;
	pb->mmio_next = PCI_MMIO32_BASE;
	pb->io_next = PCI_IO_BASE;
	pci_device_init(&pb->host, "host-bridge", &host_id, NULL, NULL);
	/* The host bridge always decodes; its command register is read-only. */
	pci_cfg_set16(&pb->host, PCI_COMMAND,
		      PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	pci_wmask_set(&pb->host, PCI_COMMAND, 2, 0);
	pb->host.bus = pb;
	pb->host.slot = 0;
	pb->dev[0] = &pb->host;
	return 0;
}

int pci_bus_register(struct pci_bus *pb, bus_io_fn cf9_fn, void *cf9_opaque)
{
	int ret;

	pb->cf9_fn = cf9_fn;
	pb->cf9_opaque = cf9_opaque;
	ret = bus_register(pb->pio, PORT_PCI_CONFIG_ADDR, 4, pci_cf8_io, pb, "pci-config-address");
	if (ret)
		return ret;
	ret = bus_register(pb->pio, PORT_PCI_CONFIG_DATA, 4, pci_cfc_io, pb, "pci-config-data");
	if (ret)
		goto err_cf8;
	ret = bus_register(pb->mmio, PCI_ECAM_BASE, PCI_ECAM_SIZE, pci_ecam_io, pb, "pci-ecam");
	if (ret)
		goto err_cfc;
	pb->registered = true;
	return 0;

err_cfc:
	bus_unregister(pb->pio, PORT_PCI_CONFIG_DATA, pb);
err_cf8:
	bus_unregister(pb->pio, PORT_PCI_CONFIG_ADDR, pb);
	return ret;
}

/* Firmware's job on a PC: give each BAR a naturally aligned address in the windows. */
static int assign_bars(struct pci_bus *pb, struct pci_device *pdev)
{
	uint32_t cmd = 0;
	int i;

	for (i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &pdev->bar[i];
		uint32_t off = PCI_BASE_ADDRESS_0 + 4 * i;
		uint64_t addr;

		if (b->type == PCI_BAR_NONE)
			continue;
		if (b->type == PCI_BAR_IO) {
			addr = (pb->io_next + b->size - 1) & ~(b->size - 1);
			if (addr + b->size > PCI_IO_BASE + PCI_IO_SIZE)
				return -ENOSPC;
			pb->io_next = addr + b->size;
			pci_cfg_set32(pdev, off, (uint32_t)addr | PCI_BASE_ADDRESS_SPACE_IO);
			cmd |= PCI_COMMAND_IO;
			continue;
		}
		addr = (pb->mmio_next + b->size - 1) & ~(b->size - 1);
		if (addr + b->size > PCI_MMIO32_BASE + PCI_MMIO32_SIZE)
			return -ENOSPC;
		pb->mmio_next = addr + b->size;
		pci_cfg_set32(pdev, off, (uint32_t)addr | (pci_cfg_get(pdev, off, 4) & 0xf));
		if (b->type == PCI_BAR_MEM64)
			pci_cfg_set32(pdev, off + 4, (uint32_t)(addr >> 32));
		cmd |= PCI_COMMAND_MEMORY;
	}
	pci_cfg_set16(pdev, PCI_COMMAND, pci_cfg_get(pdev, PCI_COMMAND, 2) | cmd);
	return 0;
}

int pci_bus_add(struct pci_bus *pb, struct pci_device *pdev, int slot)
{
	uint8_t pin = pdev->cfg[PCI_INTERRUPT_PIN];
	int ret;

	if (slot < 0) {
		for (slot = 1; slot < PCI_SLOTS && pb->dev[slot]; slot++)
			;
	}
	if (slot < 1 || slot >= PCI_SLOTS)
		return -ENOSPC;
	if (pb->dev[slot])
		return -EEXIST;
	ret = assign_bars(pb, pdev);
	if (ret)
		return ret;
	pthread_mutex_lock(&pdev->lock);
	pdev->bus = pb;
	pdev->slot = slot;
	if (pin) {
		/* The swizzle the firmware's _PRT describes: pin INTA..INTD is 0..3. */
		pdev->intx = (struct irq_line){pb->set_irq, pb->irq_opaque,
					       PCI_INTX_GSI_BASE +
						       ((slot + pin - 1) & (PCI_INTX_GSIS - 1))};
		pdev->cfg[PCI_INTERRUPT_LINE] = pdev->intx.gsi;
	}
	update_bars(pdev);
	pthread_mutex_unlock(&pdev->lock);
	pb->dev[slot] = pdev;
	return slot;
}

void pci_bus_destroy(struct pci_bus *pb)
{
	int i;

	for (i = 1; i < PCI_SLOTS; i++) {
		struct pci_device *pdev = pb->dev[i];
		int b;

		if (!pdev)
			continue;
		for (b = 0; b < PCI_NR_BARS; b++) {
			struct pci_bar *bar = &pdev->bar[b];

			if (bar->mapped)
				bus_unregister(bar->type == PCI_BAR_IO ? pb->pio : pb->mmio,
					       bar->addr, bar->opaque);
			bar->mapped = false;
		}
		pb->dev[i] = NULL;
	}
	if (pb->registered) {
		bus_unregister(pb->mmio, PCI_ECAM_BASE, pb);
		bus_unregister(pb->pio, PORT_PCI_CONFIG_DATA, pb);
		bus_unregister(pb->pio, PORT_PCI_CONFIG_ADDR, pb);
		pb->registered = false;
	}
	pci_device_destroy(&pb->host);
}

int pci_device_save(struct pci_device *pdev, void *fdt)
{
	int ret = state_put_blob(fdt, "config", pdev->cfg, PCI_CFG_SIZE);

	if (!ret)
		ret = state_put_u32(fdt, "slot", pdev->slot);
	return ret;
}

int pci_device_check_state(const struct pci_device *pdev, const void *fdt, int node)
{
	uint8_t cfg[PCI_CFG_SIZE];
	uint32_t slot, i;
	int ret;

	ret = state_get_u32(fdt, node, "slot", &slot);
	if (!ret)
		ret = state_get_blob(fdt, node, "config", cfg, sizeof(cfg));
	if (ret)
		return ret;
	/* The INTx routing (interrupt line, _PRT swizzle) follows from the slot. */
	if ((int)slot != pdev->slot)
		return state_fail("pci %s: saved in slot %u, restored in slot %d", pdev->name, slot,
				  pdev->slot);
	for (i = 0; i < PCI_CFG_SIZE; i++) {
		uint8_t ro = ~(pdev->wmask[i] | pdev->w1cmask[i]);

		/* Interrupt Status is the device's, not the template's (PCI 3.0, 6.2.3). */
		if (i == PCI_STATUS)
			ro &= ~PCI_STATUS_INTERRUPT;
		if ((cfg[i] ^ pdev->cfg[i]) & ro)
			return state_fail("pci %s: read-only config byte %#x is %#x, this device "
					  "has %#x: another device model",
					  pdev->name, i, cfg[i], pdev->cfg[i]);
	}
	return 0;
}

int pci_device_load_state(struct pci_device *pdev, const void *fdt, int node)
{
	uint64_t addr;
	int ret, i;

	ret = state_get_blob(fdt, node, "config", pdev->cfg, PCI_CFG_SIZE);
	if (ret)
		return ret;
	pdev->intx_level = pdev->cfg[PCI_STATUS] & PCI_STATUS_INTERRUPT;
	update_bars(pdev);
	for (i = 0; i < PCI_NR_BARS; i++)
		if (pdev->bus && bar_target(pdev, i, &addr) && !pdev->bar[i].mapped)
			return -EBUSY;
	return 0;
}
