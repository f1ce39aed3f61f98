// SPDX-License-Identifier: GPL-2.0
/* The virtio PCI modern transport (virtio 1.2, 4.1.4) and MSI-X (PCI 3.0, 6.8.2). */
#include "apic.h"
#include "cpu.h"
#include "virtio.h"

/* virtio_pci_cap.cfg_type (4.1.4) */
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR 3
#define CAP_DEVICE 4

/* Rings and buffers live here: between the image and the dirty workload's default
 * range (scn_dirty.c), so both can run in one boot. */
#define DMA_BASE 0x180000ULL
#define DMA_END 0x200000ULL

extern char __image_end[];
static uint64_t dma_next = DMA_BASE;

void *dma_alloc(uint64_t size, uint64_t align)
{
	uint64_t a = ALIGN_UP(dma_next, align);

	if ((uint64_t)__image_end > DMA_BASE)
		tg_fail("image overlaps the DMA window at 0x%llx", DMA_BASE);
	if (a + size > DMA_END)
		tg_fail("out of DMA memory (0x%lx more bytes)", size);
	dma_next = a + size;
	return (void *)a;
}

void dma_reset(void)
{
	dma_next = DMA_BASE;
}

void virtio_pci_init(struct virtio_dev *d, struct pci_dev *p)
{
	uint64_t *slot[5] = {NULL, &d->common, &d->notify, &d->isr, &d->device};

	*d = (struct virtio_dev){.pci = p};
	for (int i = 0; i < p->ncaps; i++) {
		uint8_t off = p->cap_off[i], type, bar;
		uint32_t offset;

		if (p->cap_id[i] == PCI_CAP_MSIX) {
			uint32_t tbl = pci_read32(p->bdf, off + 4);

			d->msix_cap = off;
			d->msix_entries = (pci_read16(p->bdf, off + 2) & 0x7ff) + 1;
			d->msix_table = p->bar[tbl & 7].addr + (tbl & ~7u);
			tbl = pci_read32(p->bdf, off + 8);
			d->msix_pba = p->bar[tbl & 7].addr + (tbl & ~7u);
			continue;
		}
		if (p->cap_id[i] != PCI_CAP_VENDOR)
			continue;
		type = pci_read8(p->bdf, off + 3);
		bar = pci_read8(p->bdf, off + 4);
		offset = pci_read32(p->bdf, off + 8);
		/* The first capability of each type is the preferred one (4.1.4.1). */
		if (type < 1 || type > 4 || bar > 5 || *slot[type])
			continue;
		if (p->bar[bar].type != BAR_MEM32 && p->bar[bar].type != BAR_MEM64)
			continue;
		*slot[type] = p->bar[bar].addr + offset;
		if (type == CAP_NOTIFY)
			d->notify_mult = pci_read32(p->bdf, off + 16);
	}
	if (!d->common || !d->notify || !d->isr)
		tg_fail("virtio: %04x:%04x lacks a common, notify or ISR structure", p->vendor,
			p->device);
}

uint8_t virtio_status(struct virtio_dev *d)
{
	return mmio_read8(d->common + CC_STATUS);
}

void virtio_add_status(struct virtio_dev *d, uint8_t bits)
{
	mmio_write8(d->common + CC_STATUS, virtio_status(d) | bits);
}

void virtio_reset(struct virtio_dev *d)
{
	mmio_write8(d->common + CC_STATUS, 0);
	/* Reset completes when status reads back 0 (4.1.4.3.2). */
	for (int i = 0; i < 1000000 && virtio_status(d); i++)
		cpu_relax();
	if (virtio_status(d))
		tg_fail("virtio: device status stays 0x%x after reset", virtio_status(d));
}

uint64_t virtio_device_features(struct virtio_dev *d)
{
	uint64_t f;

	mmio_write32(d->common + CC_DFSELECT, 0);
	f = mmio_read32(d->common + CC_DF);
	mmio_write32(d->common + CC_DFSELECT, 1);
	return f | (uint64_t)mmio_read32(d->common + CC_DF) << 32;
}

bool virtio_set_features(struct virtio_dev *d, uint64_t features)
{
	mmio_write32(d->common + CC_GFSELECT, 0);
	mmio_write32(d->common + CC_GF, (uint32_t)features);
	mmio_write32(d->common + CC_GFSELECT, 1);
	mmio_write32(d->common + CC_GF, features >> 32);
	virtio_add_status(d, VIRTIO_STATUS_FEATURES_OK);
	d->features = features;
	return virtio_status(d) & VIRTIO_STATUS_FEATURES_OK;
}

bool virtio_msix_enable(struct virtio_dev *d, uint8_t first_vector, unsigned int n)
{
	uint16_t ctrl;

	if (!d->msix_cap || n > d->msix_entries)
		return false;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t e = d->msix_table + 16 * i;

		/* Fixed delivery, edge, to this CPU (SDM Vol. 3A, 11.11 MSI format). */
		mmio_write32(e + 0, 0xfee00000u | lapic_id() << 12);
		mmio_write32(e + 4, 0);
		mmio_write32(e + 8, first_vector + i);
		mmio_write32(e + 12, 0); /* unmasked */
	}
	ctrl = pci_read16(d->pci->bdf, d->msix_cap + 2);
	pci_write16(d->pci->bdf, d->msix_cap + 2, (ctrl | 0x8000) & ~0x4000);
	/* INTx stays quiet while MSI-X is on; disable it too for clarity. */
	pci_write16(d->pci->bdf, PCI_COMMAND,
		    pci_read16(d->pci->bdf, PCI_COMMAND) | PCI_CMD_INTX_DISABLE);
	return true;
}

void virtio_msix_disable(struct virtio_dev *d)
{
	if (d->msix_cap)
		pci_write16(d->pci->bdf, d->msix_cap + 2,
			    pci_read16(d->pci->bdf, d->msix_cap + 2) & ~0x8000);
	pci_write16(d->pci->bdf, PCI_COMMAND,
		    pci_read16(d->pci->bdf, PCI_COMMAND) & ~PCI_CMD_INTX_DISABLE);
}

bool virtio_set_config_vector(struct virtio_dev *d, uint16_t entry)
{
	mmio_write16(d->common + CC_MSIX, entry);
	return mmio_read16(d->common + CC_MSIX) == entry;
}

uint8_t virtio_read_isr(struct virtio_dev *d)
{
	return mmio_read8(d->isr);
}
