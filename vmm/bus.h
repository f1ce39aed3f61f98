/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PIO and MMIO dispatch. Devices register address ranges with a callback;
 * vCPU threads look up the range of each exit and call it. Ranges may be
 * added and removed while the guest runs (a PCI BAR being moved), so the
 * table is guarded by a rwlock. The callback is called without the lock held,
 * so a callback may itself (un)register ranges; device objects live as long
 * as the VM, so calling a range that has just been removed is harmless.
 */
#ifndef KVMINI_BUS_H
#define KVMINI_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * offset is relative to the start of the registered range. data holds len
 * bytes (1, 2, 4 or 8): on a write the value to store, on a read the buffer
 * to fill (already set to all ones, the value of an undriven bus).
 */
typedef void (*bus_io_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			  bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_io_fn fn;
	void *opaque;
	const char *name;
};

struct bus {
	const char *name;	/* "pio" or "mmio", for messages */
	pthread_rwlock_t lock;
	struct bus_range *ranges;	/* sorted by base, never overlapping */
	unsigned int nr, cap;
	/* Accesses that hit no device, for the once-per-address log. */
	unsigned long unhandled;
};

int bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);

/* -EEXIST when [base, base + len) overlaps a registered range; -EINVAL for len 0 or overflow. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_io_fn fn, void *opaque,
		 const char *name);
/* Remove the range that starts at base and belongs to opaque; -ENOENT if none. */
int bus_unregister(struct bus *bus, uint64_t base, void *opaque);

/*
 * Dispatch one access. Returns true when a device took it. When none did,
 * reads return all ones and writes are dropped (returns false).
 */
bool bus_access(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);

#endif
