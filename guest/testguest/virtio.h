/* SPDX-License-Identifier: GPL-2.0 */
/* Modern virtio over PCI (virtio 1.2, 4.1) and split virtqueues (2.7). */
#ifndef TG_VIRTIO_H
#define TG_VIRTIO_H

#include "pci.h"
#include "testguest.h"

#define VIRTIO_STATUS_ACK 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_MSI_NO_VECTOR 0xffff

/* Offsets in struct virtio_pci_common_cfg (virtio 1.2, 4.1.4.3). */
#define CC_DFSELECT 0x00
#define CC_DF 0x04
#define CC_GFSELECT 0x08
#define CC_GF 0x0c
#define CC_MSIX 0x10
#define CC_NUM_QUEUES 0x12
#define CC_STATUS 0x14
#define CC_Q_SELECT 0x16
#define CC_Q_SIZE 0x18
#define CC_Q_MSIX 0x1a
#define CC_Q_ENABLE 0x1c
#define CC_Q_NOTIFY_OFF 0x1e
#define CC_Q_DESC 0x20
#define CC_Q_DRIVER 0x28
#define CC_Q_DEVICE 0x30

struct virtio_dev {
	struct pci_dev *pci;
	uint64_t common, notify, isr, device; /* addresses of the four structures */
	uint32_t notify_mult;
	uint64_t features; /* negotiated */
	uint8_t msix_cap;  /* config offset, 0 if none */
	uint64_t msix_table;
	uint64_t msix_pba; /* pending bit array */
	uint16_t msix_entries;
};

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4

struct virtq_buf {
	uint64_t addr;
	uint32_t len;
	bool write; /* device writes it */
};

#define VIRTQ_MAX_SIZE 256
#define VIRTQ_MAX_SG 4

struct virtq {
	struct virtio_dev *dev;
	uint16_t index, size;
	volatile struct vring_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[size], used_event */
	volatile uint32_t *used;  /* flags|idx, {id, len}[size], avail_event */
	uint64_t notify_addr;
	uint16_t free_head, num_free, avail_idx, last_used;
	bool event_idx, indirect;
	struct vring_desc *indir; /* VIRTQ_MAX_SG entries per head */
	uint64_t token[VIRTQ_MAX_SIZE];
	uint16_t ndesc[VIRTQ_MAX_SIZE];
	uint64_t kicks, kicks_skipped;
};

/* Memory for rings and buffers: a bump allocator over a fixed window of RAM. */
void *dma_alloc(uint64_t size, uint64_t align);
void dma_reset(void);

/* Finds the capabilities and maps the structures; fails the run if one is missing. */
void virtio_pci_init(struct virtio_dev *d, struct pci_dev *p);
void virtio_reset(struct virtio_dev *d);
uint8_t virtio_status(struct virtio_dev *d);
void virtio_add_status(struct virtio_dev *d, uint8_t bits);
uint64_t virtio_device_features(struct virtio_dev *d);
/* Writes the driver features and sets FEATURES_OK; false if the device refused. */
bool virtio_set_features(struct virtio_dev *d, uint64_t features);
/* Programs MSI-X table entry i to CPU vector first_vector + i, i < n, and enables it. */
bool virtio_msix_enable(struct virtio_dev *d, uint8_t first_vector, unsigned int n);
void virtio_msix_disable(struct virtio_dev *d);
bool virtio_set_config_vector(struct virtio_dev *d, uint16_t entry);
uint8_t virtio_read_isr(struct virtio_dev *d);

/* Sets up queue index with at most max_size entries; msix_entry may be NO_VECTOR. */
void virtq_setup(struct virtq *q, struct virtio_dev *d, uint16_t index, uint16_t max_size,
		 uint16_t msix_entry);
/* Queues one buffer chain (direct or indirect); false if the ring is full. */
bool virtq_add(struct virtq *q, const struct virtq_buf *bufs, unsigned int n, uint64_t token);
/* Publishes added buffers and notifies unless the device asked not to be. */
void virtq_kick(struct virtq *q);
/* Takes one used buffer; false if none. */
bool virtq_get(struct virtq *q, uint64_t *token, uint32_t *len);
/* True if the device has used buffers not yet taken. */
bool virtq_pending(struct virtq *q);
/* Asks for an interrupt at the next used buffer (used_event or flags). */
void virtq_want_irq(struct virtq *q);

#endif
