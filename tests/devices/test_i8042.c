// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <libfdt.h>
#include <string.h>

#include "devices/i8042.h"
#include "vmm/bus.h"
#include "vmm/layout.h"
#include "vmm/state.h"

#define STR_OBF 0x01
#define STR_IBF 0x02

static struct bus pio;
static struct i8042 *kbc;
static int exits, last_exit;

static void mock_exit(void *opaque, enum kvmini_exit why)
{
	exits++;
	last_exit = why;
}

static void setup(void)
{
	struct machine_ctl ctl = { .request_exit = mock_exit };

	exits = 0;
	last_exit = -1;
	cr_assert_eq(bus_init(&pio, "pio"), 0);
	kbc = i8042_create(ctl);
	cr_assert_not_null(kbc);
	cr_assert_eq(i8042_register(kbc, &pio), 0);
}

static void teardown(void)
{
	i8042_destroy(kbc);
	bus_destroy(&pio);
}

TestSuite(i8042, .init = setup, .fini = teardown);

static uint8_t in(uint16_t port)
{
	uint8_t v;

	cr_assert(bus_access(&pio, port, &v, 1, false));
	return v;
}

static void out(uint16_t port, uint8_t v)
{
	cr_assert(bus_access(&pio, port, &v, 1, true));
}

/* Linux's __i8042_command(): the reply must be there on the first poll. */
static uint8_t command_reply(uint8_t cmd)
{
	cr_assert_eq(in(PORT_I8042_CMD) & STR_IBF, 0);
	out(PORT_I8042_CMD, cmd);
	cr_assert_eq(in(PORT_I8042_CMD) & STR_OBF, STR_OBF, "no reply to %#x", cmd);
	return in(PORT_I8042_DATA);
}

Test(i8042, reset_command)
{
	out(PORT_I8042_CMD, 0xfe);
	cr_assert_eq(exits, 1);
	cr_assert_eq(last_exit, EXIT_REBOOT);
}

Test(i8042, null_pulse_does_not_reset)
{
	/* Linux sends 0xff at init "for SMM firmware": bit 0 set pulses nothing. */
	out(PORT_I8042_CMD, 0xff);
	cr_assert_eq(exits, 0);
	out(PORT_I8042_CMD, 0xf0);
	cr_assert_eq(last_exit, EXIT_REBOOT, "any pulse with bit 0 clear resets");
}

Test(i8042, output_port_reset_line)
{
	out(PORT_I8042_CMD, 0xd1);
	out(PORT_I8042_DATA, 0xdf);	/* Linux: A20 on */
	cr_assert_eq(exits, 0);
	cr_assert_eq(command_reply(0xd0) & 0x03, 0x03);
	out(PORT_I8042_CMD, 0xd1);
	out(PORT_I8042_DATA, 0xde);
	cr_assert_eq(last_exit, EXIT_REBOOT);
}

Test(i8042, self_test)
{
	cr_assert_eq(command_reply(0xaa), 0x55);
	cr_assert_eq(in(PORT_I8042_CMD) & STR_OBF, 0, "reading data empties the buffer");
	cr_assert_eq(command_reply(0xab), 0x00, "keyboard interface test passes");
	cr_assert_eq(exits, 0);
}

Test(i8042, idle_status_looks_like_a_controller)
{
	uint8_t s = in(PORT_I8042_CMD);

	cr_assert_neq(s, 0xff);
	cr_assert_eq(s & (STR_OBF | STR_IBF), 0, "i8042_flush() must find nothing");
	cr_assert(s & 0x10, "keylock bit set means not locked");
	cr_assert(s & 0x04, "system flag after POST");
}

Test(i8042, command_byte_round_trip)
{
	uint8_t ctr = command_reply(0x20);

	cr_assert_eq(ctr & 0x40, 0x40, "translation on, as a BIOS leaves it");
	out(PORT_I8042_CMD, 0x60);
	cr_assert(in(PORT_I8042_CMD) & 0x08, "status says the last write was a command");
	out(PORT_I8042_DATA, 0x74);
	cr_assert_eq(in(PORT_I8042_CMD) & 0x08, 0);
	cr_assert_eq(command_reply(0x20), 0x74);
	out(PORT_I8042_CMD, 0xae);
	cr_assert_eq(command_reply(0x20), 0x64);
	out(PORT_I8042_CMD, 0xad);
	out(PORT_I8042_CMD, 0xa8);
	cr_assert_eq(command_reply(0x20), 0x54);
	out(PORT_I8042_CMD, 0xa7);
	cr_assert_eq(command_reply(0x20), 0x74);
}

Test(i8042, controller_ram)
{
	out(PORT_I8042_CMD, 0x65);
	out(PORT_I8042_DATA, 0xa5);
	cr_assert_eq(command_reply(0x25), 0xa5);
	cr_assert_eq(command_reply(0x3f), 0);
}

Test(i8042, linux_probe_sequence)
{
	uint8_t ctr;

	/* i8042_platform_init: A20 via 0xd1, null command */
	out(PORT_I8042_CMD, 0xd1);
	out(PORT_I8042_DATA, 0xdf);
	out(PORT_I8042_CMD, 0xff);
	/* i8042_controller_check: flush */
	cr_assert_eq(in(PORT_I8042_CMD) & STR_OBF, 0);
	/* i8042_probe: selftest (reset_always on x86 without PNP), then CTR twice */
	cr_assert_eq(command_reply(0xaa), 0x55);
	ctr = command_reply(0x20);
	cr_assert_eq(command_reply(0x20), ctr, "stable CTR read");
	ctr = (ctr | 0x10) & ~0x01;
	out(PORT_I8042_CMD, 0x60);
	out(PORT_I8042_DATA, ctr);
	cr_assert_eq(in(PORT_I8042_CMD) & STR_OBF, 0);
	/* i8042_enable_kbd_port */
	out(PORT_I8042_CMD, 0x60);
	out(PORT_I8042_DATA, (ctr & ~0x10) | 0x01);
	cr_assert_eq(command_reply(0x20), (ctr & ~0x10) | 0x01);
	cr_assert_eq(exits, 0);
}

Test(i8042, stray_keyboard_bytes_are_dropped)
{
	out(PORT_I8042_DATA, 0xf2);	/* atkbd GET ID without dumbkbd */
	cr_assert_eq(in(PORT_I8042_CMD) & STR_OBF, 0);
	out(PORT_I8042_CMD, 0xd2);
	out(PORT_I8042_DATA, 0x5a);
	cr_assert_eq(in(PORT_I8042_CMD) & (STR_OBF | 0x20), STR_OBF, "keyboard loopback");
	cr_assert_eq(in(PORT_I8042_DATA), 0x5a);
	cr_assert_eq(exits, 0);
}

Test(i8042, aux_port_reports_nothing)
{
	uint8_t param = 0x5a;

	cr_assert_neq(command_reply(0xa9), 0x00, "AUX interface test fails");
	/* i8042_check_aux(): AUX loopback must not look like AUX data, nor time out. */
	out(PORT_I8042_CMD, 0xd3);
	out(PORT_I8042_DATA, param);
	cr_assert_eq(in(PORT_I8042_CMD) & (STR_OBF | 0x20), STR_OBF);
	in(PORT_I8042_DATA);
	out(PORT_I8042_CMD, 0xd4);
	out(PORT_I8042_DATA, 0xf4);
	cr_assert_eq(in(PORT_I8042_CMD) & STR_OBF, 0, "nothing answers for a mouse");
}

/* Snapshot and migration state: save into a blob, restore into a fresh controller. */

#define STATE_SIZE 4096

static void save_kbc(void *buf)
{
	cr_assert_eq(state_begin(buf, STATE_SIZE), 0);
	cr_assert_eq(state_node_begin(buf, "i8042"), 0);
	cr_assert_eq(i8042_save(kbc, buf), 0);
	cr_assert_eq(state_node_end(buf), 0);
	cr_assert_eq(state_finish(buf), 0);
	cr_assert_eq(state_check(buf, fdt_totalsize(buf)), 0, "%s", state_error());
}

static int restore_kbc(const void *buf)
{
	int node = state_node(buf, 0, "i8042");

	cr_assert_geq(node, 0);
	return i8042_restore(kbc, buf, node);
}

static void replace_kbc(void)
{
	struct machine_ctl ctl = { .request_exit = mock_exit };

	cr_assert_eq(bus_unregister(&pio, PORT_I8042_DATA, kbc), 0);
	cr_assert_eq(bus_unregister(&pio, PORT_I8042_CMD, kbc), 0);
	i8042_destroy(kbc);
	kbc = i8042_create(ctl);
	cr_assert_not_null(kbc);
	cr_assert_eq(i8042_register(kbc, &pio), 0);
}

/* Command byte 0x65, RAM byte 5, output port, a reply unread and a command awaiting data. */
static void busy_controller(void)
{
	out(PORT_I8042_CMD, 0x60);
	out(PORT_I8042_DATA, 0x65);
	out(PORT_I8042_CMD, 0x65);
	out(PORT_I8042_DATA, 0xa5);
	out(PORT_I8042_CMD, 0xd1);
	out(PORT_I8042_DATA, 0xdd);
	out(PORT_I8042_CMD, 0xd2);
	out(PORT_I8042_DATA, 0x5a);
	out(PORT_I8042_CMD, 0x60);
	cr_assert_eq(in(PORT_I8042_CMD), 0x1d, "OBF, SYS, command, keylock");
}

Test(i8042, state_round_trip)
{
	static uint8_t src[STATE_SIZE];

	busy_controller();
	save_kbc(src);

	replace_kbc();
	cr_assert_eq(in(PORT_I8042_CMD), 0x14, "a fresh controller is idle");
	cr_assert_eq(restore_kbc(src), 0, "%s", state_error());
	cr_assert_eq(in(PORT_I8042_CMD), 0x1d);
	cr_assert_eq(in(PORT_I8042_DATA), 0x5a, "the unread reply survived");
	cr_assert_eq(in(PORT_I8042_CMD), 0x1c);
	/* The pending 0x60 takes this byte as the new command byte. */
	out(PORT_I8042_DATA, 0x47);
	cr_assert_eq(command_reply(0x20), 0x47);
	cr_assert_eq(command_reply(0x25), 0xa5);
	cr_assert_eq(command_reply(0xd0), 0xdd);
	cr_assert_eq(exits, 0);
}

/* A copy of blob with prop set to val (len bytes), or removed when val is NULL. */
static const void *kbc_blob_with(const void *blob, const char *prop, const void *val, int len)
{
	static uint8_t buf[STATE_SIZE];
	int node;

	cr_assert_eq(fdt_open_into(blob, buf, sizeof(buf)), 0);
	node = fdt_subnode_offset(buf, 0, "i8042");
	cr_assert_geq(node, 0);
	if (val)
		cr_assert_eq(fdt_setprop(buf, node, prop, val, len), 0);
	else
		cr_assert_eq(fdt_delprop(buf, node, prop), 0);
	cr_assert_eq(fdt_pack(buf), 0);
	return buf;
}

Test(i8042, state_bad_blobs_leave_the_controller_alone)
{
	static uint8_t src[STATE_SIZE], after[STATE_SIZE], ram30[30];
	/* Integers are big-endian cells, as state_put_u32() writes them. */
	const struct {
		const char *prop;
		const void *val;	/* NULL: the property is missing */
		int len;
	} cases[] = {
		{ "ram", NULL, 0 },
		{ "status", NULL, 0 },
		{ "ram", ram30, sizeof(ram30) },
		{ "command-byte", "\0\0\x01\0", 4 },
		{ "status", "\0\0\0\x1f", 4 },		/* IBF is never set */
		{ "status", "\0\0\0\x09", 4 },		/* keylock always reads 1 */
		{ "status", "\0\0\0\x19", 4 },		/* SYS unlike the command byte */
		{ "status", "\0\0\0\x34", 4 },		/* AUXDATA without OBF */
		{ "output-port", "\0\0\0\xfe", 4 },	/* CPU held in reset */
		{ "pending-command", "\0\0\0\xaa", 4 },	/* self-test takes no data */
		{ "output-buffer", "\0\x5a", 2 },
	};
	unsigned int i;

	busy_controller();
	save_kbc(src);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *prop = cases[i].prop;
		int ret;

		state_fail("%s", "");
		ret = restore_kbc(kbc_blob_with(src, prop, cases[i].val, cases[i].len));
		cr_assert_eq(ret, -EINVAL, "case %u (%s): %d", i, prop, ret);
		cr_assert(strstr(state_error(), prop), "case %u: error '%s'", i, state_error());
		save_kbc(after);
		cr_assert_eq(fdt_totalsize(after), fdt_totalsize(src));
		cr_assert_eq(memcmp(after, src, fdt_totalsize(src)), 0, "case %u: changed", i);
	}
	cr_assert_eq(in(PORT_I8042_DATA), 0x5a);
}
