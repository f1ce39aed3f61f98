// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vmm/bus.h"

struct probe_dev {
	int calls;
	uint64_t last_offset;
	uint32_t last_len;
	bool last_write;
	uint8_t value;
};

static void dev_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct probe_dev *d = opaque;

	d->calls++;
	d->last_offset = offset;
	d->last_len = len;
	d->last_write = is_write;
	if (!is_write)
		memset(data, d->value, len);
}

Test(bus, dispatch_by_range_with_offset)
{
	struct bus bus;
	struct probe_dev a = { .value = 0xaa }, b = { .value = 0xbb };
	uint8_t data[4];

	cr_assert_eq(bus_init(&bus, "pio"), 0);
	cr_assert_eq(bus_register(&bus, 0x3f8, 8, dev_io, &a, "uart"), 0);
	cr_assert_eq(bus_register(&bus, 0x60, 1, dev_io, &b, "kbd"), 0);

	cr_assert(bus_access(&bus, 0x3fd, data, 1, false));
	cr_assert_eq(a.calls, 1);
	cr_assert_eq(a.last_offset, 5);
	cr_assert_eq(data[0], 0xaa);
	cr_assert(bus_access(&bus, 0x60, data, 1, true));
	cr_assert_eq(b.calls, 1);
	cr_assert(b.last_write);
	bus_destroy(&bus);
}

Test(bus, unhandled_reads_all_ones_and_counts)
{
	struct bus bus;
	struct probe_dev a = { .value = 0 };
	uint8_t data[4] = { 0 };

	bus_init(&bus, "pio");
	bus_register(&bus, 0x100, 4, dev_io, &a, "dev");
	cr_assert(!bus_access(&bus, 0x104, data, 4, false));
	cr_assert_eq(memcmp(data, "\xff\xff\xff\xff", 4), 0);
	/* Straddling the end of a range reaches no device. */
	cr_assert(!bus_access(&bus, 0x102, data, 4, false));
	cr_assert_eq(a.calls, 0);
	cr_assert_eq(bus.unhandled, 2);
	bus_destroy(&bus);
}

Test(bus, overlap_refused_and_unregister)
{
	struct bus bus;
	struct probe_dev a = { 0 }, b = { 0 };
	uint8_t data[1];

	bus_init(&bus, "mmio");
	cr_assert_eq(bus_register(&bus, 0x1000, 0x1000, dev_io, &a, "a"), 0);
	cr_assert_eq(bus_register(&bus, 0x1fff, 1, dev_io, &b, "b"), -EEXIST);
	cr_assert_eq(bus_register(&bus, 0x0800, 0x801, dev_io, &b, "b"), -EEXIST);
	cr_assert_eq(bus_register(&bus, 0x0800, 0x800, dev_io, &b, "b"), 0);
	cr_assert_eq(bus_register(&bus, 0, 0, dev_io, &b, "zero"), -EINVAL);
	cr_assert_eq(bus_register(&bus, UINT64_MAX, 2, dev_io, &b, "wrap"), -EINVAL);
	cr_assert_eq(bus_unregister(&bus, 0x1000, &b), -ENOENT, "wrong owner removed a range");
	cr_assert_eq(bus_unregister(&bus, 0x1000, &a), 0);
	cr_assert(!bus_access(&bus, 0x1800, data, 1, false));
	/* A moved BAR: the freed space can be taken again. */
	cr_assert_eq(bus_register(&bus, 0x1000, 0x100, dev_io, &a, "a"), 0);
	cr_assert(bus_access(&bus, 0x10ff, data, 1, false));
	bus_destroy(&bus);
}

Test(bus, many_ranges_stay_sorted)
{
	struct bus bus;
	struct probe_dev d[40];
	uint8_t data[1];
	int i;

	memset(d, 0, sizeof(d));
	bus_init(&bus, "pio");
	/* Registered in a scrambled order, beyond the initial capacity. */
	for (i = 0; i < 40; i++) {
		int k = (i * 17) % 40;

		cr_assert_eq(bus_register(&bus, 0x100 + k * 0x10, 0x10, dev_io, &d[k], "d"), 0);
	}
	for (i = 0; i < 40; i++) {
		cr_assert(bus_access(&bus, 0x100 + i * 0x10 + 7, data, 1, false));
		cr_assert_eq(d[i].calls, 1, "range %d", i);
		cr_assert_eq(d[i].last_offset, 7);
	}
	bus_destroy(&bus);
}
