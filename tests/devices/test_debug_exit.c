// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>

#include "devices/debug_exit.h"
#include "vmm/bus.h"
#include "vmm/layout.h"

static struct bus pio;
static struct debug_exit *de;
static int status, calls, plain_calls;

static void mock_exit_status(void *opaque, int s)
{
	cr_assert_eq(opaque, &pio);
	status = s;
	calls++;
}

static void mock_exit(void *opaque, enum kvmini_exit why)
{
	plain_calls++;
}

static void setup(void)
{
	struct machine_ctl ctl = {
		.request_exit = mock_exit,
		.request_exit_status = mock_exit_status,
		.opaque = &pio,
	};

	status = -1;
	calls = plain_calls = 0;
	cr_assert_eq(bus_init(&pio, "pio"), 0);
	de = debug_exit_create(ctl);
	cr_assert_not_null(de);
	cr_assert_eq(debug_exit_register(de, &pio), 0);
}

static void teardown(void)
{
	debug_exit_destroy(de);
	bus_destroy(&pio);
}

TestSuite(debug_exit, .init = setup, .fini = teardown);

static void write_port(uint32_t v, uint32_t len)
{
	uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };

	cr_assert(bus_access(&pio, PORT_DEBUG_EXIT, b, len, true));
}

Test(debug_exit, byte_write)
{
	write_port(0x10, 1);
	cr_assert_eq(calls, 1);
	cr_assert_eq(status, 0x21);
	cr_assert_eq(plain_calls, 0);
}

Test(debug_exit, word_write)
{
	write_port(0x0031, 2);
	cr_assert_eq(status, 0x63);
	write_port(0x0100, 2);
	cr_assert_eq(status, 0x01, "bits above the 8-bit status are dropped");
}

Test(debug_exit, dword_write)
{
	write_port(0x12345678, 4);
	cr_assert_eq(status, 0xf1);
	write_port(0, 4);
	cr_assert_eq(status, 1, "even 0 is an odd status, never a clean poweroff");
	cr_assert_eq(calls, 2);
}

Test(debug_exit, read_floats_and_does_not_exit)
{
	uint8_t b[4] = { 0 };

	cr_assert(bus_access(&pio, PORT_DEBUG_EXIT, b, 4, false));
	cr_assert_eq(b[0] & b[1] & b[2] & b[3], 0xff);
	cr_assert_eq(calls, 0);
}

Test(debug_exit, no_callback_is_harmless)
{
	struct machine_ctl none = { 0 };
	struct debug_exit *d2 = debug_exit_create(none);
	struct bus p2;
	uint8_t b = 1;

	cr_assert_eq(bus_init(&p2, "pio"), 0);
	cr_assert_eq(debug_exit_register(d2, &p2), 0);
	cr_assert(bus_access(&p2, PORT_DEBUG_EXIT, &b, 1, true));
	debug_exit_destroy(d2);
	bus_destroy(&p2);
}
