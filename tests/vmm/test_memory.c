// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vmm/memory.h"

Test(memory, small_guest_is_one_region)
{
	struct guest_memory mem;

	cr_assert_eq(guest_memory_init(&mem, 64 << 20, false), 0);
	cr_assert_eq(mem.nr_regions, 1);
	cr_assert_eq(mem.region[0].gpa, 0);
	cr_assert_eq(mem.ram_size, 64 << 20);
	cr_assert_eq(mem.region[0].fd, -1);
	guest_memory_free(&mem);
}

Test(memory, large_guest_splits_around_the_hole)
{
	struct guest_memory mem;
	uint64_t size = 4ULL << 30;

	cr_assert_eq(guest_memory_init(&mem, size, true), 0);
	cr_assert_eq(mem.nr_regions, 2);
	cr_assert_eq(mem.region[0].size, GUEST_MEM_HOLE_START);
	cr_assert_eq(mem.region[1].gpa, GUEST_MEM_HOLE_END);
	cr_assert_eq(mem.region[1].size, size - GUEST_MEM_HOLE_START);
	cr_assert_geq(mem.region[0].fd, 0, "shared memory has a memfd");
	cr_assert_eq(mem.region[1].fd_offset, GUEST_MEM_HOLE_START);
	/* The hole is not memory. */
	cr_assert_null(guest_ptr(&mem, GUEST_MEM_HOLE_START, 1));
	cr_assert_null(guest_ptr(&mem, 0xfee00000, 4));
	cr_assert_not_null(guest_ptr(&mem, GUEST_MEM_HOLE_END, 4096));
	guest_memory_free(&mem);
}

Test(memory, guest_ptr_refuses_anything_outside_one_region)
{
	struct guest_memory mem;
	uint64_t size = 32 << 20;

	cr_assert_eq(guest_memory_init(&mem, size, false), 0);
	cr_assert_not_null(guest_ptr(&mem, 0, size));
	cr_assert_not_null(guest_ptr(&mem, size - 1, 1));
	cr_assert_null(guest_ptr(&mem, size - 1, 2), "range running off the end");
	cr_assert_null(guest_ptr(&mem, size, 1));
	cr_assert_null(guest_ptr(&mem, 16, 0), "zero length");
	cr_assert_null(guest_ptr(&mem, 4096, UINT64_MAX), "length that wraps");
	cr_assert_null(guest_ptr(&mem, UINT64_MAX, 2));
	cr_assert_eq(guest_read(&mem, size - 2, (char[4]){ 0 }, 4), -EFAULT);
	guest_memory_free(&mem);
}

Test(memory, vmm_writes_mark_pages_dirty)
{
	struct guest_memory mem;
	char buf[8192] = { 1 };
	const unsigned long *d;

	cr_assert_eq(guest_memory_init(&mem, 16 << 20, false), 0);
	d = mem.region[0].vmm_dirty;
	cr_assert_eq(d[0], 0);
	/* 8 KiB starting mid-page touches pages 2, 3 and 4. */
	cr_assert_eq(guest_write(&mem, 2 * 4096 + 100, buf, sizeof(buf)), 0);
	cr_assert_eq(d[0], (1UL << 2) | (1UL << 3) | (1UL << 4));
	guest_mark_dirty(&mem, 64 * 4096, 1);
	cr_assert_eq(d[1], 1UL);
	/* Outside RAM: nothing is marked, nothing crashes. */
	guest_mark_dirty(&mem, 1ULL << 40, 4096);
	cr_assert_eq(guest_write(&mem, 1ULL << 40, buf, 1), -EFAULT);
	guest_memory_free(&mem);
}
