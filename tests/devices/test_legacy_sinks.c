// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>

#include "devices/legacy_sinks.h"
#include "vmm/bus.h"

static struct bus pio;

static void setup(void)
{
	cr_assert_eq(bus_init(&pio, "pio"), 0);
	cr_assert_eq(legacy_sinks_register(&pio), 0);
}

static void teardown(void)
{
	bus_destroy(&pio);
}

TestSuite(legacy_sinks, .init = setup, .fini = teardown);

Test(legacy_sinks, delay_ports_are_quiet)
{
	uint8_t v = 0x12;

	cr_assert(bus_access(&pio, 0x80, &v, 1, true));
	cr_assert(bus_access(&pio, 0xed, &v, 1, true));
	cr_assert(bus_access(&pio, 0x80, &v, 1, false));
	cr_assert_eq(v, 0xff);
	cr_assert_eq(pio.unhandled, 0);
}

Test(legacy_sinks, dma_page_register_stays_unclaimed)
{
	uint8_t v = 0;

	/* Linux's i8237A_init_ops() needs 0xff from 0x87 to skip the ISA DMA driver. */
	cr_assert_not(bus_access(&pio, 0x87, &v, 1, false));
	cr_assert_eq(v, 0xff);
	cr_assert_not(bus_access(&pio, 0x81, &v, 1, false));
}

static void other_device(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	cr_assert_fail("the sinks must not call other devices");
}

Test(legacy_sinks, register_twice_fails_cleanly)
{
	struct bus p2;

	cr_assert_eq(bus_init(&p2, "pio"), 0);
	cr_assert_eq(bus_register(&p2, 0xed, 1, other_device, NULL, "x"), 0);
	cr_assert_eq(legacy_sinks_register(&p2), -EEXIST);
	cr_assert_eq(p2.nr, 1, "the 0x80 sink was rolled back");
	bus_destroy(&p2);
}
