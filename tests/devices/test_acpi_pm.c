// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <libfdt.h>
#include <string.h>

#include "devices/acpi_pm.h"
#include "vmm/bus.h"
#include "vmm/layout.h"
#include "vmm/state.h"

static struct bus pio;
static struct acpi_pm *pm;
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
	pm = acpi_pm_create(ctl);
	cr_assert_not_null(pm);
	cr_assert_eq(acpi_pm_register(pm, &pio), 0);
}

static void teardown(void)
{
	acpi_pm_destroy(pm);
	bus_destroy(&pio);
}

TestSuite(acpi_pm, .init = setup, .fini = teardown);

static void out(uint16_t port, uint32_t v, uint32_t len)
{
	uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };

	cr_assert(bus_access(&pio, port, b, len, true));
}

static uint32_t in(uint16_t port, uint32_t len)
{
	uint8_t b[4] = { 0 };

	cr_assert(bus_access(&pio, port, b, len, false));
	return b[0] | b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

#define SLP(typ) (((typ) << 10) | (1 << 13))

Test(acpi_pm, s5_powers_off)
{
	/* ACPICA writes SLP_TYP first, then SLP_TYP | SLP_EN. */
	out(PORT_PM1A_CNT, ACPI_S5_SLP_TYP << 10, 2);
	cr_assert_eq(exits, 0, "SLP_TYP alone does nothing");
	cr_assert_eq(in(PORT_PM1A_CNT, 2), (ACPI_S5_SLP_TYP << 10) | 1u);
	out(PORT_PM1A_CNT, SLP(ACPI_S5_SLP_TYP), 2);
	cr_assert_eq(exits, 1);
	cr_assert_eq(last_exit, EXIT_POWEROFF);
	cr_assert_eq(in(PORT_PM1A_CNT, 2) & (1 << 13), 0, "SLP_EN is write-only");
}

Test(acpi_pm, s5_by_byte_write)
{
	out(PORT_PM1A_CNT + 1, SLP(ACPI_S5_SLP_TYP) >> 8, 1);
	cr_assert_eq(last_exit, EXIT_POWEROFF);
}

Test(acpi_pm, other_sleep_types_ignored)
{
	for (unsigned int typ = 0; typ < 8; typ++) {
		if (typ == ACPI_S5_SLP_TYP)
			continue;
		out(PORT_PM1A_CNT, SLP(typ), 2);
	}
	cr_assert_eq(exits, 0);
}

Test(acpi_pm, sci_en_always_set)
{
	cr_assert_eq(in(PORT_PM1A_CNT, 2) & 1, 1);
	out(PORT_PM1A_CNT, 0, 2);
	cr_assert_eq(in(PORT_PM1A_CNT, 2) & 1, 1);
}

Test(acpi_pm, pm1_en_read_write)
{
	out(PORT_PM1A_EVT + 2, 0x0120, 2);
	cr_assert_eq(in(PORT_PM1A_EVT + 2, 2), 0x0120);
	cr_assert_eq(in(PORT_PM1A_EVT, 4), 0x01200000, "STS 0, EN in the high half");
}

Test(acpi_pm, pm1_sts_write_one_to_clear)
{
	out(PORT_PM1A_EVT, 0xffff, 2);
	cr_assert_eq(in(PORT_PM1A_EVT, 2), 0, "writes never set status bits");
	acpi_pm_power_button(pm);
	cr_assert_eq(in(PORT_PM1A_EVT, 2), 0x0100);
	out(PORT_PM1A_EVT, 0xfeff, 2);
	cr_assert_eq(in(PORT_PM1A_EVT, 2), 0x0100, "writing 0 to the bit keeps it");
	out(PORT_PM1A_EVT + 1, 0x01, 1);
	cr_assert_eq(in(PORT_PM1A_EVT, 2), 0, "writing 1 clears it");
	cr_assert_eq(exits, 0);
}

static int sci_level, sci_changes;

static void mock_sci(void *opaque, uint32_t gsi, int level)
{
	cr_assert_eq(gsi, ACPI_SCI_IRQ);
	if (level != sci_level)
		sci_changes++;
	sci_level = level;
}

Test(acpi_pm, power_button_sci)
{
	struct irq_line sci = { .set_level = mock_sci, .gsi = ACPI_SCI_IRQ };

	sci_level = sci_changes = 0;
	acpi_pm_set_sci(pm, sci);
	acpi_pm_power_button(pm);
	cr_assert_eq(sci_level, 0, "PWRBTN_EN is clear");
	out(PORT_PM1A_EVT + 2, 0x0100, 2);
	cr_assert_eq(sci_level, 1);
	out(PORT_PM1A_EVT, 0x0100, 2);
	cr_assert_eq(sci_level, 0);
	acpi_pm_power_button(pm);
	cr_assert_eq(sci_level, 1);
	out(PORT_PM1A_EVT + 2, 0, 2);
	cr_assert_eq(sci_level, 0);
	cr_assert_eq(sci_changes, 4);
	cr_assert_eq(exits, 0, "the guest decides what a button press means");
}

Test(acpi_pm, reset_register)
{
	/* Linux reboot=pci: read, write SYS_RST, then SYS_RST | RST_CPU. */
	uint8_t cf9 = in(PORT_RESET, 1) & ~6;

	cr_assert_eq(cf9, 0);
	out(PORT_RESET, cf9 | 2, 1);
	cr_assert_eq(exits, 0, "SYS_RST alone does not reset");
	cr_assert_eq(in(PORT_RESET, 1), 2);
	out(PORT_RESET, cf9 | 6, 1);
	cr_assert_eq(exits, 1);
	cr_assert_eq(last_exit, EXIT_REBOOT);
}

Test(acpi_pm, reset_values)
{
	out(PORT_RESET, RESET_VALUE, 1);
	cr_assert_eq(last_exit, EXIT_REBOOT);
	last_exit = -1;
	out(PORT_RESET, 0x0e, 1);
	cr_assert_eq(last_exit, EXIT_REBOOT);
	cr_assert_eq(exits, 2);
}

Test(acpi_pm, reset_port_leaves_pci_config_ports_free)
{
	uint8_t b[4];

	cr_assert_not(bus_access(&pio, PORT_PCI_CONFIG_ADDR, b, 1, true));
	cr_assert_not(bus_access(&pio, PORT_PCI_CONFIG_DATA, b, 4, true));
	cr_assert_eq(bus_unregister(&pio, PORT_RESET, pm), 0);
	cr_assert_eq(bus_register(&pio, PORT_PCI_CONFIG_ADDR, 8, acpi_pm_reset_io, pm, "t"), 0,
		     "after unregistering 0xcf9 the whole 0xcf8 window is free");
}

/* Snapshot and migration state: save into a blob, restore into a fresh device. */

#define STATE_SIZE 4096

static void save_pm(void *buf)
{
	cr_assert_eq(state_begin(buf, STATE_SIZE), 0);
	cr_assert_eq(state_node_begin(buf, "acpi-pm"), 0);
	cr_assert_eq(acpi_pm_save(pm, buf), 0);
	cr_assert_eq(state_node_end(buf), 0);
	cr_assert_eq(state_finish(buf), 0);
	cr_assert_eq(state_check(buf, fdt_totalsize(buf)), 0, "%s", state_error());
}

static int restore_pm(const void *buf)
{
	int node = state_node(buf, 0, "acpi-pm");

	cr_assert_geq(node, 0);
	return acpi_pm_restore(pm, buf, node);
}

static void replace_pm(void)
{
	struct machine_ctl ctl = { .request_exit = mock_exit };
	struct irq_line sci = { .set_level = mock_sci, .gsi = ACPI_SCI_IRQ };

	cr_assert_eq(bus_unregister(&pio, PORT_PM1A_EVT, pm), 0);
	cr_assert_eq(bus_unregister(&pio, PORT_PM1A_CNT, pm), 0);
	cr_assert_eq(bus_unregister(&pio, PORT_RESET, pm), 0);
	acpi_pm_destroy(pm);
	pm = acpi_pm_create(ctl);
	cr_assert_not_null(pm);
	cr_assert_eq(acpi_pm_register(pm, &pio), 0);
	acpi_pm_set_sci(pm, sci);
	sci_level = sci_changes = 0;
}

/* Power button pressed and enabled (SCI up), BM_RLD and SLP_TYP 2, SYS_RST. */
static void busy_pm(void)
{
	struct irq_line sci = { .set_level = mock_sci, .gsi = ACPI_SCI_IRQ };

	sci_level = sci_changes = 0;
	acpi_pm_set_sci(pm, sci);
	out(PORT_PM1A_EVT + 2, 0x0120, 2);
	acpi_pm_power_button(pm);
	out(PORT_PM1A_CNT, (2 << 10) | 2, 2);
	out(PORT_RESET, 2, 1);
	cr_assert_eq(sci_level, 1);
}

Test(acpi_pm, state_round_trip_raises_sci)
{
	static uint8_t src[STATE_SIZE];

	busy_pm();
	save_pm(src);

	replace_pm();
	cr_assert_eq(restore_pm(src), 0, "%s", state_error());
	cr_assert_eq(sci_level, 1, "PWRBTN_STS and PWRBTN_EN: SCI asserted");
	cr_assert_eq(sci_changes, 1);
	cr_assert_eq(in(PORT_PM1A_EVT, 4), 0x01200100);
	cr_assert_eq(in(PORT_PM1A_CNT, 2), (2u << 10) | 2 | 1);
	cr_assert_eq(in(PORT_RESET, 1), 2);
	out(PORT_PM1A_EVT, 0x0100, 2);
	cr_assert_eq(sci_level, 0, "the guest acknowledges the restored event");
	cr_assert_eq(exits, 0);
}

Test(acpi_pm, state_restore_lowers_sci)
{
	static uint8_t idle[STATE_SIZE];

	save_pm(idle);
	busy_pm();
	sci_changes = 0;
	cr_assert_eq(restore_pm(idle), 0, "%s", state_error());
	cr_assert_eq(sci_level, 0);
	cr_assert_eq(sci_changes, 1);
	cr_assert_eq(in(PORT_PM1A_EVT, 4), 0);
	cr_assert_eq(in(PORT_RESET, 1), 0);
	/* The SCI is driven even when the device thinks it is already at that level. */
	sci_level = -1;
	cr_assert_eq(restore_pm(idle), 0, "%s", state_error());
	cr_assert_eq(sci_level, 0);
}

/* A copy of blob with prop set to val (len bytes), or removed when val is NULL. */
static const void *pm_blob_with(const void *blob, const char *prop, const void *val, int len)
{
	static uint8_t buf[STATE_SIZE];
	int node;

	cr_assert_eq(fdt_open_into(blob, buf, sizeof(buf)), 0);
	node = fdt_subnode_offset(buf, 0, "acpi-pm");
	cr_assert_geq(node, 0);
	if (val)
		cr_assert_eq(fdt_setprop(buf, node, prop, val, len), 0);
	else
		cr_assert_eq(fdt_delprop(buf, node, prop), 0);
	cr_assert_eq(fdt_pack(buf), 0);
	return buf;
}

Test(acpi_pm, state_bad_blobs_leave_the_registers_alone)
{
	static uint8_t src[STATE_SIZE], after[STATE_SIZE];
	/* Integers are big-endian cells, as state_put_u32() writes them. */
	const struct {
		const char *prop;
		const void *val;	/* NULL: the property is missing */
		int len;
	} cases[] = {
		{ "pm1-enable", NULL, 0 },
		{ "reset-control", NULL, 0 },
		{ "pm1-status", "\0\0\x01\x01", 4 },	/* no source for bit 0 */
		{ "pm1-enable", "\0\x01\0\0", 4 },
		{ "pm1-control", "\0\0\x28\0", 4 },	/* SLP_EN is write-only */
		{ "reset-control", "\0\0\0\x06", 4 },	/* RST_CPU is not stored */
		{ "pm1-status", "\x01\0", 2 },
	};
	unsigned int i;

	busy_pm();
	save_pm(src);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *prop = cases[i].prop;
		int ret;

		state_fail("%s", "");
		sci_changes = 0;
		ret = restore_pm(pm_blob_with(src, prop, cases[i].val, cases[i].len));
		cr_assert_eq(ret, -EINVAL, "case %u (%s): %d", i, prop, ret);
		cr_assert(strstr(state_error(), prop), "case %u: error '%s'", i, state_error());
		cr_assert_eq(sci_changes, 0, "case %u: the SCI moved", i);
		save_pm(after);
		cr_assert_eq(fdt_totalsize(after), fdt_totalsize(src));
		cr_assert_eq(memcmp(after, src, fdt_totalsize(src)), 0, "case %u: changed", i);
	}
	cr_assert_eq(sci_level, 1);
	cr_assert_eq(exits, 0, "a rejected blob resets nothing");
}
