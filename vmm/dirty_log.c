// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "dirty_log.h"
#include "log.h"

#define BITS_PER_LONG (8 * sizeof(unsigned long))

static uint64_t region_pages(const struct mem_region *r)
{
	return r->size >> GUEST_PAGE_SHIFT;
}

/* Bitmap bytes for n pages, in whole 64-bit words (KVM's rule for dirty_bitmap). */
static size_t bitmap_bytes(uint64_t n)
{
	return (n + 63) / 64 * 8;
}

static int set_slot_logging(struct dirty_log *d, bool on)
{
	unsigned int i;

	for (i = 0; i < d->mem->nr_regions; i++) {
		const struct mem_region *r = &d->mem->region[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};

		if (ioctl(d->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return -errno;
	}
	return 0;
}

unsigned int dirty_log_use_from_env(void)
{
	const char *s = getenv("KVMINI_TEST_SKIP_DIRTY_LOG");
	unsigned int use = DIRTY_LOG_ALL;

	if (!s)
		return use;
	if (strstr(s, "kvm"))
		use &= ~DIRTY_LOG_KVM;
	if (strstr(s, "vmm"))
		use &= ~DIRTY_LOG_VMM;
	if (strstr(s, "vhost"))
		use &= ~DIRTY_LOG_BACKEND;
	if (use != DIRTY_LOG_ALL)
		pr_warn("KVMINI_TEST_SKIP_DIRTY_LOG=%s: migration will miss pages (tests only)", s);
	return use;
}

static void clear_vmm_bits(const struct guest_memory *mem)
{
	unsigned int i;
	uint64_t w;

	for (i = 0; i < mem->nr_regions; i++)
		for (w = 0; w < (region_pages(&mem->region[i]) + BITS_PER_LONG - 1) / BITS_PER_LONG;
		     w++)
			__atomic_store_n(&mem->region[i].vmm_dirty[w], 0, __ATOMIC_RELAXED);
}

int dirty_log_start(struct dirty_log *d, int vm_fd, const struct guest_memory *mem,
		    unsigned int use)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
		.args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
	};
	uint64_t top = 0;
	unsigned int i;
	int ret;

	memset(d, 0, sizeof(*d));
	d->vm_fd = vm_fd;
	d->mem = mem;
	d->use = use;
	for (i = 0; i < mem->nr_regions; i++) {
		size_t b = bitmap_bytes(region_pages(&mem->region[i]));

		d->kvm_bits[i] = calloc(1, b);
		d->dirty[i] = calloc(1, b);
		if (!d->kvm_bits[i] || !d->dirty[i])
			goto nomem;
		if (mem->region[i].gpa + mem->region[i].size > top)
			top = mem->region[i].gpa + mem->region[i].size;
	}
	d->backend_bytes = bitmap_bytes(top >> GUEST_PAGE_SHIFT);
	d->backend = calloc(1, d->backend_bytes);
	if (!d->backend)
		goto nomem;

	/*
	 * Manual protection must be chosen before the slots start logging;
	 * without it KVM_GET_DIRTY_LOG clears and re-protects by itself.
	 */
	if (ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) > 0 &&
	    ioctl(vm_fd, KVM_ENABLE_CAP, &cap) == 0)
		d->manual_protect = true;
	ret = set_slot_logging(d, true);
	if (ret) {
		pr_err("KVM_MEM_LOG_DIRTY_PAGES: %s", strerror(-ret));
		set_slot_logging(d, false);
		dirty_log_stop(d);
		return ret;
	}
	d->kvm_logging = true;
	clear_vmm_bits(mem);
	return 0;
nomem:
	dirty_log_stop(d);
	return -ENOMEM;
}

static int harvest_kvm(struct dirty_log *d, unsigned int i)
{
	const struct mem_region *r = &d->mem->region[i];
	struct kvm_dirty_log log = { .slot = i, .dirty_bitmap = d->kvm_bits[i] };

	memset(d->kvm_bits[i], 0, bitmap_bytes(region_pages(r)));
	if (ioctl(d->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return -errno;
	if (d->manual_protect) {
		/* Re-protect what we are about to send, before reading it. */
		struct kvm_clear_dirty_log clear = {
			.slot = i,
			.num_pages = (uint32_t)region_pages(r),
			.first_page = 0,
			.dirty_bitmap = d->kvm_bits[i],
		};

		if (ioctl(d->vm_fd, KVM_CLEAR_DIRTY_LOG, &clear) < 0)
			return -errno;
	}
	return 0;
}

int64_t dirty_log_harvest(struct dirty_log *d)
{
	int64_t total = 0;
	unsigned int i;
	uint64_t w;
	int ret;

	for (i = 0; i < d->mem->nr_regions; i++) {
		const struct mem_region *r = &d->mem->region[i];
		uint64_t pages = region_pages(r), words = bitmap_bytes(pages) / 8;
		uint64_t first = r->gpa >> GUEST_PAGE_SHIFT;
		unsigned long *vmm = r->vmm_dirty;

		ret = harvest_kvm(d, i);
		if (ret) {
			pr_err("KVM_GET_DIRTY_LOG slot %u: %s", i, strerror(-ret));
			return ret;
		}
		for (w = 0; w < words; w++) {
			uint64_t bits = 0, b;

			if (d->use & DIRTY_LOG_KVM)
				bits |= d->kvm_bits[i][w];
			/* unsigned long is 64 bits on x86_64: one vmm word per word. */
			b = __atomic_exchange_n(&vmm[w], 0, __ATOMIC_ACQ_REL);
			if (d->use & DIRTY_LOG_VMM)
				bits |= b;
			/* Regions start on 64-page boundaries (the hole and 4 GiB are). */
			b = __atomic_exchange_n(&d->backend[first / 64 + w], 0, __ATOMIC_ACQ_REL);
			if (d->use & DIRTY_LOG_BACKEND)
				bits |= b;
			if (w == words - 1 && pages % 64)
				bits &= (1ULL << (pages % 64)) - 1;
			d->dirty[i][w] = bits;
			total += __builtin_popcountll(bits);
		}
	}
	return total;
}

void dirty_log_stop(struct dirty_log *d)
{
	unsigned int i;

	if (d->kvm_logging)
		set_slot_logging(d, false);
	d->kvm_logging = false;
	for (i = 0; i < GUEST_MEM_MAX_REGIONS; i++) {
		free(d->kvm_bits[i]);
		free(d->dirty[i]);
		d->kvm_bits[i] = d->dirty[i] = NULL;
	}
	free(d->backend);
	d->backend = NULL;
}
