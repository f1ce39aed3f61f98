/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MSI-X (PCI 3.0, 6.8.2): the capability in configuration space, the vector
 * table and the pending bit array in a BAR. The owner maps the table and the
 * PBA in its BAR handler and forwards configuration writes; this file keeps
 * the per-vector state and decides, for each interrupt, between sending the
 * message and setting its pending bit.
 *
 * Every function here is called with the owning device's pdev->lock held,
 * and calls the ops with it held.
 */
#ifndef KVMINI_MSIX_H
#define KVMINI_MSIX_H

#include <stdbool.h>
#include <stdint.h>

#define MSIX_MAX_VECTORS 2048
#define MSIX_ENTRY_SIZE 16
#define MSIX_ALL_VECTORS 0xffffffffu

struct pci_device;

struct msix_ops {
	/* Deliver vector's message now. */
	void (*send)(void *opaque, unsigned int vector, uint64_t addr, uint32_t data);
	/*
	 * The message or the mask of vector changed, or (MSIX_ALL_VECTORS) the
	 * function's enable or mask bit did: re-evaluate how it is delivered.
	 */
	void (*changed)(void *opaque, unsigned int vector);
};

struct msix {
	struct pci_device *pdev;
	uint8_t cap; /* offset of the capability in configuration space */
	unsigned int nr;
	uint32_t (*table)[4]; /* address lo, address hi, data, vector control */
	uint64_t *pba;
	bool enabled; /* MSI-X Enable in message control */
	bool fmask;   /* Function Mask */
	const struct msix_ops *ops;
	void *opaque;
};

/*
 * Add the capability to pdev with nr vectors (1..MSIX_MAX_VECTORS), its
 * table at table_off in BAR table_bar and the PBA at pba_off in BAR
 * pba_bar (both 8-byte aligned). 0 or a negative errno.
 */
int msix_init(struct msix *m, struct pci_device *pdev, unsigned int nr, int table_bar,
	      uint32_t table_off, int pba_bar, uint32_t pba_off, const struct msix_ops *ops,
	      void *opaque);
void msix_destroy(struct msix *m);

/* Bytes the table and the PBA take in their BAR. */
uint32_t msix_table_size(unsigned int nr);
uint32_t msix_pba_size(unsigned int nr);

/* From the device's pci_device_ops.config_write. */
void msix_config_write(struct msix *m, uint32_t off, uint32_t len);

/* BAR accesses, off relative to the start of the table or the PBA. */
void msix_table_io(struct msix *m, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
void msix_pba_io(struct msix *m, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

/* Masked by its own bit or by the function mask. */
bool msix_vector_masked(const struct msix *m, unsigned int vector);
void msix_vector_msg(const struct msix *m, unsigned int vector, uint64_t *addr, uint32_t *data);
bool msix_pending(const struct msix *m, unsigned int vector);

/*
 * Vector fires: sent when unmasked, otherwise its pending bit is set and
 * it is sent once when unmasked. Ignored (false) when MSI-X is disabled or
 * vector is out of range.
 */
bool msix_notify(struct msix *m, unsigned int vector);

/*
 * Migration (vmm/state.h): the table and the PBA as properties of fdt's
 * open node. msix_check_state() checks them (sizes for this many vectors,
 * reserved bits clear) without changing anything; msix_load_state() applies
 * them and takes Enable and Function Mask from the configuration space,
 * which must be loaded first, then has the owner re-evaluate every vector
 * (ops->changed). Pending bits stay pending until the guest unmasks them.
 */
int msix_save(const struct msix *m, void *fdt);
int msix_check_state(const struct msix *m, const void *fdt, int node);
void msix_load_state(struct msix *m, const void *fdt, int node);

/* Function-level reset: all vectors masked, nothing pending, MSI-X off. */
void msix_reset(struct msix *m);

#endif
