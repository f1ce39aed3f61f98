/* SPDX-License-Identifier: GPL-2.0 */
/* PCI configuration access (0xCF8/0xCFC and ECAM), enumeration and BARs. */
#ifndef TG_PCI_H
#define TG_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_BDF(b, d, f) ((uint16_t)((b) << 8 | (d) << 3 | (f)))
#define PCI_BUS(bdf) ((bdf) >> 8)
#define PCI_DEV(bdf) (((bdf) >> 3) & 0x1f)
#define PCI_FN(bdf) ((bdf)&7)

#define PCI_COMMAND 0x04
#define PCI_CMD_IO 0x1
#define PCI_CMD_MEM 0x2
#define PCI_CMD_MASTER 0x4
#define PCI_CMD_INTX_DISABLE 0x400
#define PCI_STATUS 0x06
#define PCI_STATUS_CAPS 0x10
#define PCI_STATUS_INTX 0x08
#define PCI_CAP_PTR 0x34
#define PCI_INT_LINE 0x3c
#define PCI_INT_PIN 0x3d
#define PCI_CAP_MSIX 0x11
#define PCI_CAP_VENDOR 0x09

enum pci_mech { PCI_MECH_CF8, PCI_MECH_ECAM };

enum bar_type { BAR_NONE, BAR_IO, BAR_MEM32, BAR_MEM64 };

struct pci_bar {
	enum bar_type type;
	bool prefetch;
	uint64_t addr;
	uint64_t size;
};

#define PCI_MAX_CAPS 16

struct pci_dev {
	uint16_t bdf;
	uint16_t vendor, device;
	uint32_t class; /* base, sub, prog-if */
	uint8_t hdr;
	uint8_t irq_pin, irq_line;
	struct pci_bar bar[6];
	int ncaps;
	uint8_t cap_id[PCI_MAX_CAPS];
	uint8_t cap_off[PCI_MAX_CAPS];
};

/* Looks for ECAM in the ACPI MCFG (or ecam=<addr> given to pci_init). */
void pci_init(uint64_t ecam_override);
uint64_t pci_ecam_base(void);
unsigned int pci_ecam_end_bus(void);

uint32_t pci_read32_mech(enum pci_mech m, uint16_t bdf, unsigned int off);
/* Everyday access: ECAM when there is one, else 0xCF8. */
uint32_t pci_read32(uint16_t bdf, unsigned int off);
uint16_t pci_read16(uint16_t bdf, unsigned int off);
uint8_t pci_read8(uint16_t bdf, unsigned int off);
void pci_write32(uint16_t bdf, unsigned int off, uint32_t v);
void pci_write16(uint16_t bdf, unsigned int off, uint16_t v);

/* Every function on bus 0 and behind bridges, through mechanism m. */
int pci_scan(enum pci_mech m, struct pci_dev *out, int max);
/* Fills BARs (sized with decoding off) and the capability list of d. */
void pci_probe(struct pci_dev *d);
/* Gives unassigned memory BARs an address in the 32-bit hole; enables decoding. */
void pci_enable(struct pci_dev *d);
const char *pci_bdf_str(uint16_t bdf, char buf[8]);

#endif
