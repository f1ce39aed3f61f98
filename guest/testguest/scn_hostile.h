/* SPDX-License-Identifier: GPL-2.0 */
/* scenario=hostile, shared between its phases (scn_hostile.c, scn_hostile_rings.c). */
#ifndef TG_SCN_HOSTILE_H
#define TG_SCN_HOSTILE_H

#include "virtio.h"

#define HOSTILE_MAX_DEVS 16

struct hostile {
	uint64_t rng;
	uint64_t timeout_ms;
	struct pci_dev devs[HOSTILE_MAX_DEVS];
	int ndevs;
	struct virtio_dev *vd; /* the NIC, as vnet_open() found it */
	uint64_t ram_end;      /* end of the highest RAM range */
	uint32_t run;	       /* run number of the next frames sent */
	int ap_id;	       /* APIC ID of the ticking second CPU, -1 if none */
};

uint64_t hostile_rand(struct hostile *h);
/* Waits up to timeout_ms for DEVICE_NEEDS_RESET; returns the status read last. */
uint8_t hostile_wait_needs_reset(struct hostile *h, uint64_t *ms);

/* Phase (c): queues pointing at MMIO, outside RAM, and broken chains. */
void hostile_rings(struct hostile *h);

#endif
