// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "memory.h"

#define BITS_PER_LONG (8 * sizeof(unsigned long))

static int region_alloc(struct guest_memory *mem, uint64_t gpa, uint64_t size, int fd,
			uint64_t fd_offset)
{
	struct mem_region *r = &mem->region[mem->nr_regions];
	uint64_t pages = size >> GUEST_PAGE_SHIFT;
	int flags = fd >= 0 ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	void *hva;

	hva = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, fd >= 0 ? (off_t)fd_offset : 0);
	if (hva == MAP_FAILED)
		return -errno;
	/*
	 * A fork (the tap helper, a shell-out) must not copy-on-write the guest:
	 * that would double memory and let a child see guest data.
	 */
	madvise(hva, size, MADV_DONTFORK);
	if (fd < 0)
		madvise(hva, size, MADV_HUGEPAGE);

	r->vmm_dirty = calloc((pages + BITS_PER_LONG - 1) / BITS_PER_LONG, sizeof(unsigned long));
	if (!r->vmm_dirty) {
		munmap(hva, size);
		return -ENOMEM;
	}
	r->gpa = gpa;
	r->size = size;
	r->hva = hva;
	r->fd = fd;
	r->fd_offset = fd_offset;
	mem->nr_regions++;
	mem->ram_size += size;
	return 0;
}

int guest_memory_init(struct guest_memory *mem, uint64_t size, bool shared)
{
	uint64_t low = size < GUEST_MEM_HOLE_START ? size : GUEST_MEM_HOLE_START;
	int fd = -1;
	int ret;

	memset(mem, 0, sizeof(*mem));
	if (size < (1ULL << 20) || size & (GUEST_PAGE_SIZE - 1))
		return -EINVAL;
	mem->shared = shared;

	if (shared) {
		fd = memfd_create("kvmini-guest-ram", MFD_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (ftruncate(fd, size) < 0) {
			ret = -errno;
			close(fd);
			return ret;
		}
	}

	ret = region_alloc(mem, 0, low, fd, 0);
	if (ret)
		goto err;
	if (size > low) {
		/* Both regions share one memfd: offsets continue past the low part. */
		ret = region_alloc(mem, GUEST_MEM_HOLE_END, size - low, fd, low);
		if (ret)
			goto err;
	}
	return 0;
err:
	if (mem->nr_regions)
		guest_memory_free(mem);	/* closes the memfd too */
	else if (fd >= 0)
		close(fd);
	return ret;
}

void guest_memory_free(struct guest_memory *mem)
{
	int fd = mem->nr_regions ? mem->region[0].fd : -1;
	unsigned int i;

	for (i = 0; i < mem->nr_regions; i++) {
		munmap(mem->region[i].hva, mem->region[i].size);
		free(mem->region[i].vmm_dirty);
	}
	if (fd >= 0)
		close(fd);
	mem->nr_regions = 0;
	mem->ram_size = 0;
}

const struct mem_region *guest_region(const struct guest_memory *mem, uint64_t gpa)
{
	unsigned int i;

	for (i = 0; i < mem->nr_regions; i++) {
		const struct mem_region *r = &mem->region[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

void *guest_ptr(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	const struct mem_region *r = guest_region(mem, gpa);
	uint64_t off;

	if (!r || !len)
		return NULL;
	off = gpa - r->gpa;
	/* Written so that no sum can overflow: off < size holds here. */
	if (len > r->size - off)
		return NULL;
	return r->hva + off;
}

int guest_read(const struct guest_memory *mem, uint64_t gpa, void *buf, uint64_t len)
{
	void *p = guest_ptr(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int guest_write(const struct guest_memory *mem, uint64_t gpa, const void *buf, uint64_t len)
{
	void *p = guest_ptr(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	guest_mark_dirty(mem, gpa, len);
	return 0;
}

void guest_mark_dirty(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	const struct mem_region *r = guest_region(mem, gpa);
	uint64_t first, last, pg;

	if (!r || !len)
		return;
	first = (gpa - r->gpa) >> GUEST_PAGE_SHIFT;
	last = (gpa - r->gpa + len - 1) >> GUEST_PAGE_SHIFT;
	if (last >= r->size >> GUEST_PAGE_SHIFT)
		last = (r->size >> GUEST_PAGE_SHIFT) - 1;
	for (pg = first; pg <= last; pg++)
		__atomic_fetch_or(&r->vmm_dirty[pg / BITS_PER_LONG], 1UL << (pg % BITS_PER_LONG),
				  __ATOMIC_RELAXED);
}
