/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PCI bus 0: a host bridge at 00:00.0 and up to 31 devices, one function
 * each. Configuration space through the type 1 mechanism (ports 0xcf8 and
 * 0xcfc-0xcff, 256 bytes per function) and through ECAM (PCI_ECAM_BASE,
 * 4 KiB per function; the extended space past 256 bytes reads 0).
 *
 * A device fills its configuration template (IDs, capabilities, BARs) and
 * its masks, then joins the bus with pci_bus_add(), which gives its BARs
 * addresses from PCI_MMIO32_BASE and PCI_IO_BASE and enables decoding, as
 * firmware would. The guest may move them: a BAR decodes on the PIO or MMIO
 * bus only while the matching command register bit is set, and is moved on
 * the bus when the guest writes a new address.
 *
 * Locking: each device has one mutex, pdev->lock, held during every
 * configuration access and around every callback below. A device's own BAR
 * handlers are called by the bus without it and take it themselves, which
 * makes it the device's one lock. It nests outside the bus's rwlock
 * (moving a BAR registers ranges under it) and inside nothing.
 */
#ifndef KVMINI_PCI_H
#define KVMINI_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "device.h"
#include "../vmm/bus.h"

#define PCI_SLOTS 32
#define PCI_CFG_SIZE 256      /* conventional configuration space */
#define PCI_CFG_EXT_SIZE 4096 /* through ECAM */
#define PCI_NR_BARS 6
#define PCI_INTX_GSI_BASE 16 /* must match the firmware's _PRT */
#define PCI_INTX_GSIS 8

/* The host bridge: Red Hat's generic PCIe host bridge ID, which no guest driver claims. */
#define PCI_HOST_VENDOR 0x1b36
#define PCI_HOST_DEVICE 0x0008

enum pci_bar_type { PCI_BAR_NONE, PCI_BAR_IO, PCI_BAR_MEM32, PCI_BAR_MEM64 };

struct pci_bar {
	enum pci_bar_type type;
	uint64_t size; /* a power of 2 */
	bus_io_fn fn;  /* offset is relative to the BAR's base */
	void *opaque;
	/* Where the BAR decodes now, if it does. */
	bool mapped;
	uint64_t addr;
};

struct pci_device;

struct pci_device_ops {
	/*
	 * Before a configuration read of [off, off + len) is answered from
	 * pdev->cfg, for registers whose value the device computes (a window
	 * into a BAR). Optional.
	 */
	void (*config_read)(struct pci_device *pdev, uint32_t off, uint32_t len);
	/* After a configuration write of [off, off + len) was stored. Optional. */
	void (*config_write)(struct pci_device *pdev, uint32_t off, uint32_t len);
	/* BAR bar now decodes at addr (mapped) or no longer decodes. Optional. */
	void (*bar_mapped)(struct pci_device *pdev, int bar, uint64_t addr, bool mapped);
};

struct pci_bus;

struct pci_device {
	pthread_mutex_t lock;
	const char *name;
	struct pci_bus *bus;
	int slot; /* -1 until added */
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];   /* bits the guest may write */
	uint8_t w1cmask[PCI_CFG_SIZE]; /* bits a 1 clears (status register) */
	uint8_t cap_end;	       /* where the next capability goes */
	struct pci_bar bar[PCI_NR_BARS];
	struct irq_line intx; /* set by pci_bus_add() from the slot and pin */
	bool intx_level;      /* the device's INTx request, before Interrupt Disable */
	bool intx_asserted;   /* what the line carries */
	const struct pci_device_ops *ops;
	void *opaque; /* for the device's callbacks */
};

struct pci_id {
	uint16_t vendor, device;
	uint16_t subsys_vendor, subsys;
	uint8_t revision;
	uint32_t class_code; /* base class, subclass, programming interface */
	uint8_t irq_pin;     /* 1 = INTA .. 4 = INTD, 0 = none */
};

struct pci_bus {
	struct bus *pio, *mmio;
	struct pci_device *dev[PCI_SLOTS];
	uint32_t config_address; /* 0xcf8, accessed atomically */
	/* 0xcf9 as a byte port: reset control (see pci_bus_set_port_cf9()). */
	bus_io_fn cf9_fn;
	void *cf9_opaque;
	/* INTx lines: set_level(opaque, gsi, level) for GSIs PCI_INTX_GSI_BASE.. */
	void (*set_irq)(void *opaque, uint32_t gsi, int level);
	void *irq_opaque;
	uint64_t mmio_next; /* kvmini's own BAR assignment */
	uint32_t io_next;
	struct pci_device host;
	bool registered;
};

/* Set up the template of pdev; ops and opaque may be NULL. */
void pci_device_init(struct pci_device *pdev, const char *name, const struct pci_id *id,
		     const struct pci_device_ops *ops, void *opaque);
void pci_device_destroy(struct pci_device *pdev);

/*
 * Describe BAR bar (a 64-bit BAR also takes bar + 1). size is a power of 2,
 * at least 16 for memory and 4 for I/O (at most 256 for I/O). 0 or -EINVAL.
 */
int pci_device_add_bar(struct pci_device *pdev, int bar, enum pci_bar_type type, uint64_t size,
		       bus_io_fn fn, void *opaque);

/*
 * Append a capability of len bytes (at least 2) with ID id to the list;
 * returns its offset in configuration space or -ENOSPC. The caller fills
 * the body and its wmask.
 */
int pci_add_capability(struct pci_device *pdev, uint8_t id, uint8_t len);

/* Offset of the first capability with ID id, 0 when none (bounded walk). */
uint8_t pci_find_capability(const struct pci_device *pdev, uint8_t id);

/*
 * Set the device's INTx request (1 asserts). The line follows it unless the
 * command register's Interrupt Disable bit is set; the status register's
 * Interrupt Status bit shows it either way (PCI 3.0, 6.2.2 and 6.2.3).
 * Call with pdev->lock held.
 */
void pci_set_intx(struct pci_device *pdev, bool level);

/*
 * Migration (vmm/state.h): pci_device_save() adds the configuration space
 * and the slot to fdt's open node. pci_device_check_state() checks such a
 * node against pdev (same slot, every bit the guest cannot write equal:
 * the same device model) without changing anything; pci_device_load_state()
 * then applies it and moves the BARs to where the guest had them, as a
 * guest write would (bar_mapped callbacks included); -EBUSY when a BAR that
 * should decode overlaps another range. INTx is left deasserted: the
 * Interrupt Status bit goes to intx_level, for pci_set_intx() on resume.
 * Call with pdev->lock held.
 */
int pci_device_save(struct pci_device *pdev, void *fdt);
int pci_device_check_state(const struct pci_device *pdev, const void *fdt, int node);
int pci_device_load_state(struct pci_device *pdev, const void *fdt, int node);

/* Little-endian helpers for the template (no locking). */
void pci_cfg_set8(struct pci_device *pdev, uint32_t off, uint8_t v);
void pci_cfg_set16(struct pci_device *pdev, uint32_t off, uint16_t v);
void pci_cfg_set32(struct pci_device *pdev, uint32_t off, uint32_t v);
uint32_t pci_cfg_get(const struct pci_device *pdev, uint32_t off, uint32_t len);
void pci_wmask_set(struct pci_device *pdev, uint32_t off, uint32_t len, uint32_t mask);

/*
 * Bus 0 with its host bridge. set_irq drives the INTx GSIs (may be NULL:
 * no INTx). Registers nothing yet: see pci_bus_register().
 */
int pci_bus_init(struct pci_bus *pb, struct bus *pio, struct bus *mmio,
		 void (*set_irq)(void *opaque, uint32_t gsi, int level), void *irq_opaque);

/*
 * Claim 0xcf8-0xcfb (CONFIG_ADDRESS, dword accesses only), 0xcfc-0xcff
 * (CONFIG_DATA) and the ECAM window. Byte accesses to 0xcf9 are passed to
 * fn (see acpi_pm_reset_io()), which must then not be registered on its own.
 */
int pci_bus_register(struct pci_bus *pb, bus_io_fn cf9_fn, void *cf9_opaque);

/*
 * Put pdev in slot (1..31, or -1 for the first free one), assign its BARs
 * and enable their decoding. Returns the slot or a negative errno.
 */
int pci_bus_add(struct pci_bus *pb, struct pci_device *pdev, int slot);
void pci_bus_destroy(struct pci_bus *pb);

/*
 * One configuration access to bus 0, device dev, function fn, register off
 * (for tests and the two access mechanisms). Reads of absent functions
 * return all ones; off + len past limit (256 or 4096) is refused.
 */
void pci_config_access(struct pci_bus *pb, unsigned int busnr, unsigned int dev, unsigned int fn,
		       uint32_t off, uint8_t *data, uint32_t len, bool is_write, uint32_t limit);

/* The bus callbacks, exposed for tests. */
void pci_cf8_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
void pci_cfc_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
void pci_ecam_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
