// SPDX-License-Identifier: GPL-2.0
/* ACPI tables: checksums, lengths, the pointer chain, MADT, FADT, MCFG, DSDT. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/firmware.h"
#include "tests/firmware/acpi_walk.h"
#include "vmm/layout.h"

static uint8_t buf[ACPI_BUF_SIZE];

static long build(unsigned int nr_cpus, bool pci)
{
	struct fw_machine m = { .nr_cpus = nr_cpus, .nr_ram = 1, .pci = pci };

	m.ram[0].size = 256ULL << 20;
	memset(buf, 0xa5, sizeof(buf));	/* garbage the builder must overwrite */
	return fw_acpi_build(&m, buf, sizeof(buf));
}

Test(acpi, rsdp_at_offset_0_with_both_checksums)
{
	long len = build(2, true);
	struct acpi_rsdp r;

	cr_assert_gt(len, 0);
	memcpy(&r, buf, sizeof(r));
	cr_assert_eq(memcmp(r.signature, "RSD PTR ", 8), 0);
	cr_assert_eq(ACPI_TABLES_GPA % 16, 0, "the RSDP must be 16-byte aligned");
	cr_assert_eq(r.revision, 2);
	cr_assert_eq(r.length, 36);
	cr_assert_eq(sum8(buf, 20), 0, "ACPI 1.0 checksum");
	cr_assert_eq(sum8(buf, 36), 0, "extended checksum");
	cr_assert_eq(memcmp(r.oem_id, "KVMINI", 6), 0);
	cr_assert_neq(r.xsdt_address, 0);
}

static void check_table(const uint8_t *t, const char *sig, long total)
{
	struct acpi_header h;

	cr_assert_not_null(t, "%s not reachable", sig);
	memcpy(&h, t, sizeof(h));
	cr_assert_eq(memcmp(h.signature, sig, 4), 0);
	cr_assert_leq((long)(t - buf) + (long)h.length, total, "%s runs past the end", sig);
	cr_assert_eq(sum8(t, h.length), 0, "%s checksum", sig);
	cr_assert_eq(memcmp(h.oem_id, "KVMINI", 6), 0);
	cr_assert_eq(memcmp(h.oem_table_id, "KVMINIVM", 8), 0);
	cr_assert_eq(memcmp(h.creator_id, "KVMI", 4), 0);
}

Test(acpi, chain_resolves_and_checksums_are_zero)
{
	long len = build(4, true);
	const uint8_t *fadt, *x;

	cr_assert_gt(len, 0);
	cr_assert_leq(len, (long)ACPI_TABLES_SIZE);
	x = acpi_xsdt(buf, len);
	check_table(x, "XSDT", len);
	cr_assert_eq(rd32(x + 4), 36 + 3 * 8, "FADT, MADT, MCFG");
	fadt = acpi_find(buf, len, "FACP");
	check_table(fadt, "FACP", len);
	cr_assert_eq(rd32(fadt + 4), 276);
	cr_assert_eq(fadt[8], 6, "FADT revision 6");
	check_table(acpi_find(buf, len, "APIC"), "APIC", len);
	check_table(acpi_find(buf, len, "MCFG"), "MCFG", len);
	check_table(acpi_dsdt(buf, len), "DSDT", len);
}

Test(acpi, tables_do_not_overlap)
{
	long len = build(300, true);
	const char *sigs[] = { "FACP", "APIC", "MCFG" };
	const uint8_t *t[5];
	unsigned int i, j;

	cr_assert_gt(len, 0);
	for (i = 0; i < 3; i++)
		t[i] = acpi_find(buf, len, sigs[i]);
	t[3] = acpi_dsdt(buf, len);
	t[4] = acpi_xsdt(buf, len);
	for (i = 0; i < 5; i++) {
		cr_assert_not_null(t[i]);
		cr_assert_geq(t[i] - buf, 36, "nothing overlaps the RSDP");
		for (j = 0; j < 5; j++) {
			if (i == j)
				continue;
			cr_assert(t[i] + rd32(t[i] + 4) <= t[j] || t[j] + rd32(t[j] + 4) <= t[i],
				  "tables %u and %u overlap", i, j);
		}
	}
}

Test(acpi, fadt_fields)
{
	long len = build(1, false);
	const uint8_t *f = acpi_find(buf, len, "FACP"), *facs, *dsdt;
	uint32_t flags;

	cr_assert_not_null(f);
	cr_assert_eq(rd16(f + 46), ACPI_SCI_IRQ);
	cr_assert_eq(rd32(f + 48), 0, "no SMI_CMD: ACPI is always enabled");
	cr_assert_eq(rd32(f + 56), PORT_PM1A_EVT);
	cr_assert_eq(rd32(f + 64), PORT_PM1A_CNT);
	cr_assert_eq(rd32(f + 76), 0, "no PM timer");
	cr_assert_eq(f[88], 4);
	cr_assert_eq(f[89], 2);
	cr_assert_eq(f[91], 0, "PM_TMR_LEN");
	flags = rd32(f + 112);
	cr_assert(flags & (1u << 10), "RESET_REG_SUP");
	cr_assert(flags & (1u << 0), "WBINVD");
	cr_assert(flags & (1u << 4) && flags & (1u << 5), "no fixed buttons");
	cr_assert_not(flags & (1u << 20), "not hardware-reduced");
	cr_assert_not(rd16(f + 109) & (1u << 1), "8042 flag clear: reset-only i8042");
	cr_assert(rd16(f + 109) & (1u << 0), "LEGACY_DEVICES: COM1");
	/* RESET_REG: system I/O, 8 bits, at PORT_RESET, value RESET_VALUE. */
	cr_assert_eq(f[116], 1);
	cr_assert_eq(f[117], 8);
	cr_assert_eq(rd64(f + 120), PORT_RESET);
	cr_assert_eq(f[128], RESET_VALUE);
	/* X_PM1a blocks agree with the 32-bit ones. */
	cr_assert_eq(rd64(f + 148 + 4), PORT_PM1A_EVT);
	cr_assert_eq(f[148 + 1], 32);
	cr_assert_eq(rd64(f + 172 + 4), PORT_PM1A_CNT);
	cr_assert_eq(f[172 + 1], 16);

	cr_assert_eq(rd32(f + FADT_FIRMWARE_CTRL), 0, "X_FIRMWARE_CTRL set: FIRMWARE_CTRL 0");
	facs = acpi_at(buf, len, rd64(f + FADT_X_FIRMWARE_CTRL));
	cr_assert_not_null(facs);
	cr_assert_eq(memcmp(facs, "FACS", 4), 0);
	cr_assert_eq(rd32(facs + 4), 64);
	cr_assert_eq(rd64(f + FADT_X_FIRMWARE_CTRL) % 64, 0, "FACS 64-byte aligned");
	dsdt = acpi_at(buf, len, rd64(f + FADT_X_DSDT));
	cr_assert_not_null(dsdt);
	cr_assert_eq(rd32(f + FADT_DSDT), rd64(f + FADT_X_DSDT), "DSDT and X_DSDT agree");
}

struct madt_count {
	unsigned int lapic, x2apic, ioapic, iso, nmi, x2nmi;
	unsigned int bad;
};

/* Record one processor entry's APIC ID: each must be below nr_cpus and appear once. */
static void see_cpu(bool *seen, uint32_t id, unsigned int nr_cpus)
{
	cr_assert_lt(id, nr_cpus, "APIC ID %u for %u vCPUs", id, nr_cpus);
	cr_assert_not(seen[id], "APIC ID %u twice", id);
	seen[id] = true;
}

static struct madt_count walk_madt(const uint8_t *t, unsigned int nr_cpus, bool *seen)
{
	struct madt_count c = { 0 };
	uint32_t len = rd32(t + 4), off;
	const uint8_t *e;

	cr_assert_eq(rd32(t + 36), LAPIC_BASE);
	cr_assert_eq(rd32(t + 40) & 1, 1, "PCAT_COMPAT");
	for (off = 44; off < len; off += e[1]) {
		e = t + off;
		cr_assert_geq(e[1], 2, "entry length at %u", off);
		cr_assert_leq(off + e[1], len, "entry at %u runs past the table", off);
		switch (e[0]) {
		case 0:
			cr_assert_eq(e[1], 8);
			cr_assert_leq(e[3], 254, "xAPIC entry for ID %u", e[3]);
			cr_assert_eq(e[2], e[3], "UID = APIC ID");
			cr_assert_eq(rd32(e + 4) & 1, 1, "enabled");
			see_cpu(seen, e[3], nr_cpus);
			c.lapic++;
			break;
		case 9:
			cr_assert_eq(e[1], 16);
			cr_assert_geq(rd32(e + 4), 255, "x2APIC entry for ID %u", rd32(e + 4));
			cr_assert_eq(rd32(e + 12), rd32(e + 4), "UID = APIC ID");
			cr_assert_eq(rd32(e + 8) & 1, 1, "enabled");
			see_cpu(seen, rd32(e + 4), nr_cpus);
			c.x2apic++;
			break;
		case 1:
			cr_assert_eq(e[1], 12);
			cr_assert_eq(rd32(e + 4), IOAPIC_BASE);
			cr_assert_eq(rd32(e + 8), 0, "GSI base");
			c.ioapic++;
			break;
		case 2:
			cr_assert_eq(e[1], 10);
			if (e[3] == 0) {
				cr_assert_eq(rd32(e + 4), 2, "IRQ0 -> GSI2");
				cr_assert_eq(rd16(e + 8), 0x5, "edge, active high");
			} else {
				cr_assert_eq(e[3], ACPI_SCI_IRQ);
				cr_assert_eq(rd32(e + 4), ACPI_SCI_IRQ);
				cr_assert_eq(rd16(e + 8), 0xd, "SCI level, active high");
			}
			c.iso++;
			break;
		case 4:
			cr_assert_eq(e[1], 6);
			cr_assert_eq(e[2], 0xff, "all processors");
			cr_assert_eq(e[5], 1, "LINT1");
			c.nmi++;
			break;
		case 10:
			cr_assert_eq(e[1], 12);
			cr_assert_eq(rd32(e + 4), 0xffffffffu, "all processors");
			cr_assert_eq(e[8], 1, "LINT1");
			c.x2nmi++;
			break;
		default:
			c.bad++;
			break;
		}
	}
	cr_assert_eq(off, len, "entries end exactly at the table's length");
	return c;
}

ParameterizedTestParameters(acpi, madt_one_entry_per_vcpu)
{
	static unsigned int n[] = { 1, 2, 64, 255, 256, 300, FW_MAX_CPUS };

	return cr_make_param_array(unsigned int, n, sizeof(n) / sizeof(n[0]));
}

ParameterizedTest(unsigned int *n, acpi, madt_one_entry_per_vcpu)
{
	long len = build(*n, true);
	const uint8_t *t;
	struct madt_count c;
	bool *seen = calloc(*n, sizeof(bool));
	unsigned int i;

	cr_assert_gt(len, 0);
	t = acpi_find(buf, len, "APIC");
	cr_assert_not_null(t);
	c = walk_madt(t, *n, seen);
	for (i = 0; i < *n; i++)
		cr_assert(seen[i], "no entry for APIC ID %u", i);
	cr_assert_eq(c.lapic, *n < 255 ? *n : 255);
	cr_assert_eq(c.x2apic, *n > 255 ? *n - 255 : 0);
	cr_assert_eq(c.ioapic, 1);
	cr_assert_eq(c.iso, 2);
	cr_assert_eq(c.nmi, 1);
	cr_assert_eq(c.x2nmi, *n > 255 ? 1 : 0, "x2APIC NMI only with x2APIC entries");
	cr_assert_eq(c.bad, 0);
	free(seen);
}

Test(acpi, mcfg_only_with_pci)
{
	long len = build(2, false);
	const uint8_t *t;

	cr_assert_gt(len, 0);
	cr_assert_null(acpi_find(buf, len, "MCFG"));
	cr_assert_eq(rd32(acpi_xsdt(buf, len) + 4), 36 + 2 * 8);

	len = build(2, true);
	t = acpi_find(buf, len, "MCFG");
	cr_assert_not_null(t);
	cr_assert_eq(rd32(t + 4), 44 + 16, "one allocation");
	cr_assert_eq(rd64(t + 44), PCI_ECAM_BASE);
	cr_assert_eq(rd16(t + 52), 0, "segment");
	cr_assert_eq(t[54], 0, "start bus");
	cr_assert_eq(t[55], PCI_ECAM_BUSES - 1, "end bus");
}

Test(acpi, dsdt_has_s5_and_pci0_only_with_pci)
{
	long len = build(2, false);
	const uint8_t *d = acpi_dsdt(buf, len);
	/* Name (\_S5, Package (4) { 5, 5, 0, 0 }) */
	const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a,
			       ACPI_S5_SLP_TYP, 0x0a, ACPI_S5_SLP_TYP, 0x00, 0x00 };

	cr_assert_not_null(d);
	cr_assert_eq(d[8], 2, "DSDT revision 2: 64-bit integers");
	cr_assert(contains(d, rd32(d + 4), s5, sizeof(s5)), "\\_S5 package");
	cr_assert(contains(d, rd32(d + 4), "COM1", 4));
	cr_assert_not(contains(d, rd32(d + 4), "PCI0", 4));

	len = build(2, true);
	d = acpi_dsdt(buf, len);
	cr_assert_not_null(d);
	cr_assert(contains(d, rd32(d + 4), s5, sizeof(s5)));
	cr_assert(contains(d, rd32(d + 4), "PCI0", 4));
	cr_assert(contains(d, rd32(d + 4), "_PRT", 4));
	/* EISAID("PNP0A08") and EISAID("PNP0C02") as DWordConst. */
	cr_assert(contains(d, rd32(d + 4), "\x0c\x41\xd0\x0a\x08", 5));
	cr_assert(contains(d, rd32(d + 4), "\x0c\x41\xd0\x0c\x02", 5));
}

Test(acpi, errors)
{
	struct fw_machine m = { .nr_cpus = 2, .nr_ram = 1, .pci = true };
	long len;

	m.ram[0].size = 256ULL << 20;
	len = fw_acpi_build(&m, buf, sizeof(buf));
	cr_assert_gt(len, 0);
	cr_assert_eq(fw_acpi_build(&m, buf, len - 1), -ENOSPC);
	cr_assert_eq(fw_acpi_build(&m, buf, 100), -ENOSPC);
	cr_assert_eq(fw_acpi_build(&m, buf, 10), -ENOSPC);
	cr_assert_eq(fw_acpi_build(&m, buf, len), len, "exactly enough room");
	m.nr_cpus = 0;
	cr_assert_eq(fw_acpi_build(&m, buf, sizeof(buf)), -EINVAL);
	m.nr_cpus = FW_MAX_CPUS + 1;
	cr_assert_eq(fw_acpi_build(&m, buf, sizeof(buf)), -EINVAL);
}

Test(acpi, largest_machine_fits_the_window)
{
	long len = build(FW_MAX_CPUS, true);

	cr_assert_gt(len, 0);
	cr_assert_leq(len, (long)ACPI_TABLES_SIZE);
}
