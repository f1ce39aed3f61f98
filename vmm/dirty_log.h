/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pages migration must send again: the union of three logs, because
 * each sees only its own writers (README, "Migration and snapshots"):
 *
 * - KVM's dirty bitmap per memory slot (KVM_MEM_LOG_DIRTY_PAGES): what the
 *   vCPUs wrote. With KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, KVM_GET_DIRTY_LOG
 *   only reads the bitmap and KVM_CLEAR_DIRTY_LOG re-protects exactly the
 *   pages about to be sent (api.rst 4.118), so a page written between the
 *   two calls is caught by the next round, not lost.
 * - kvmini's own bitmap (struct mem_region.vmm_dirty): what userspace device
 *   code wrote through guest_write()/guest_mark_dirty().
 * - the backends' log (vhost's VHOST_SET_LOG_BASE bitmap, one bit per 4 KiB
 *   of guest-physical address): what vhost-net wrote (received frames, used
 *   rings). kvmini owns the memory; the kernel sets bits with atomic ORs.
 *
 * kvmini's and vhost's bitmaps are harvested with an atomic exchange per
 * word, so a bit set concurrently is either in this round or the next.
 */
#ifndef KVMINI_DIRTY_LOG_H
#define KVMINI_DIRTY_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "memory.h"

/* Which logs a harvest reads (all, except in the tests that prove each is needed). */
#define DIRTY_LOG_KVM (1u << 0)
#define DIRTY_LOG_VMM (1u << 1)
#define DIRTY_LOG_BACKEND (1u << 2)
#define DIRTY_LOG_ALL (DIRTY_LOG_KVM | DIRTY_LOG_VMM | DIRTY_LOG_BACKEND)

struct dirty_log {
	int vm_fd;
	const struct guest_memory *mem;
	unsigned int use;		/* DIRTY_LOG_* */
	bool manual_protect;		/* KVM_CLEAR_DIRTY_LOG in use */
	bool kvm_logging;		/* slots carry KVM_MEM_LOG_DIRTY_PAGES */
	/* One bit per page of each region: KVM's bitmap, then the union. */
	uint64_t *kvm_bits[GUEST_MEM_MAX_REGIONS];
	uint64_t *dirty[GUEST_MEM_MAX_REGIONS];
	/* The backends' log, indexed by guest-physical page from 0. */
	uint64_t *backend;
	size_t backend_bytes;
};

/*
 * Start logging on every slot and clear the three logs (the first round
 * sends all of RAM anyway). d->backend is then ready to hand to the
 * backends. 0 or -errno.
 */
int dirty_log_start(struct dirty_log *d, int vm_fd, const struct guest_memory *mem,
		    unsigned int use);

/* Union of the logs since the last harvest into d->dirty; returns the page count or -errno. */
int64_t dirty_log_harvest(struct dirty_log *d);

/* Stop KVM's logging and free everything (the backends must have let go of d->backend). */
void dirty_log_stop(struct dirty_log *d);

/* DIRTY_LOG_ALL minus what KVMINI_TEST_SKIP_DIRTY_LOG (kvm,vmm,vhost) names. Tests only. */
unsigned int dirty_log_use_from_env(void);

static inline bool dirty_log_test(const uint64_t *bits, uint64_t page)
{
	return bits[page / 64] >> (page % 64) & 1;
}

#endif
