/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest RAM: a small table of regions (guest physical address, size, host
 * address, and an fd when the memory is shared). Every translation of a
 * guest-supplied address goes through guest_ptr(), which refuses any range
 * that is not wholly inside one region: a device must never be able to
 * reach past guest RAM into kvmini's own memory.
 */
#ifndef KVMINI_MEMORY_H
#define KVMINI_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 8
#define GUEST_PAGE_SHIFT 12
#define GUEST_PAGE_SIZE (1ULL << GUEST_PAGE_SHIFT)

/*
 * RAM below 4 GiB ends here; the rest of the 32-bit space is the hole for
 * MMIO (PCI windows, ECAM, IOAPIC, LAPIC). RAM above moves to 4 GiB.
 */
#define GUEST_MEM_HOLE_START 0xc0000000ULL
#define GUEST_MEM_HOLE_END 0x100000000ULL

struct mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	int fd;			/* memfd backing a shared region, -1 otherwise */
	uint64_t fd_offset;
	/*
	 * Pages written by kvmini's own device code (KVM's dirty log sees
	 * only vCPU writes). One bit per 4 KiB page, set atomically.
	 */
	unsigned long *vmm_dirty;
};

struct guest_memory {
	struct mem_region region[GUEST_MEM_MAX_REGIONS];
	unsigned int nr_regions;
	uint64_t ram_size;	/* bytes of RAM over all regions */
	bool shared;
};

/*
 * Allocate size bytes of guest RAM, split around the MMIO hole. shared
 * backs it with a memfd (MAP_SHARED) instead of anonymous private memory.
 * Returns 0 or a negative errno.
 */
int guest_memory_init(struct guest_memory *mem, uint64_t size, bool shared);
void guest_memory_free(struct guest_memory *mem);

/*
 * Host pointer for [gpa, gpa + len) or NULL when the range is not wholly
 * inside one RAM region (or len is 0, or the sum overflows).
 */
void *guest_ptr(const struct guest_memory *mem, uint64_t gpa, uint64_t len);

/* The region holding gpa, or NULL. */
const struct mem_region *guest_region(const struct guest_memory *mem, uint64_t gpa);

/* Copy in or out of guest RAM; -EFAULT when the range is not RAM. Writes mark pages dirty. */
int guest_read(const struct guest_memory *mem, uint64_t gpa, void *buf, uint64_t len);
int guest_write(const struct guest_memory *mem, uint64_t gpa, const void *buf, uint64_t len);

/* Record that kvmini (not a vCPU) wrote [gpa, gpa + len). Safe from any thread. */
void guest_mark_dirty(const struct guest_memory *mem, uint64_t gpa, uint64_t len);

#endif
