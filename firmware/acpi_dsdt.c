// SPDX-License-Identifier: GPL-2.0
/*
 * DSDT: the AML namespace of a kvmini machine. \_S5 for power-off through
 * PM1a_CNT, COM1, and with PCI the host bridge \_SB.PCI0 plus a motherboard
 * resources device reserving the ECAM window.
 */
#include <errno.h>
#include <string.h>

#include "firmware/acpi_tables.h"
#include "firmware/aml.h"
#include "vmm/layout.h"

/* Revision 2: integers are 64 bits wide (ACPI 6.4 section 5.2.11.1). */
#define DSDT_REVISION 2

#define PCI_SLOTS 32
#define PCI_INTX_PINS 4
#define PCI_INTX_GSI_BASE 16	/* IOAPIC pins 16-23: above the ISA IRQs */
#define PCI_INTX_GSIS 8

/* \_S5: SLP_TYPa, SLP_TYPb, two reserved (ACPI 6.4 section 7.4.2). */
static void dsdt_s5(struct aml *a)
{
	struct aml_pkg pkg;

	aml_name(a, "\\_S5");
	pkg = aml_package_begin(a, 4);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a, pkg);
}

static void dsdt_com1(struct aml *a)
{
	struct aml_pkg dev, crs;

	dev = aml_device_begin(a, "COM1");
	aml_name_eisaid(a, "_HID", "PNP0501");	/* 16550A-compatible */
	aml_name_integer(a, "_UID", 1);
	aml_name(a, "_CRS");
	crs = aml_restemplate_begin(a);
	aml_res_io(a, PORT_COM1, PORT_COM1, 1, 8);
	aml_res_irq_noflags(a, 1u << IRQ_COM1);
	aml_restemplate_end(a, crs);
	aml_end(a, dev);
}

/*
 * The bridge decodes all of I/O space except the config ports it consumes
 * itself, bus numbers covered by ECAM, and the 32-bit MMIO window for BARs.
 */
static void pci0_crs(struct aml *a)
{
	struct aml_pkg crs;

	aml_name(a, "_CRS");
	crs = aml_restemplate_begin(a);
	aml_res_word_bus(a, AML_ADDR_FIXED, 0, PCI_ECAM_BUSES - 1);
	aml_res_io(a, PORT_PCI_CONFIG_ADDR, PORT_PCI_CONFIG_ADDR, 1, 8);
	aml_res_word_io(a, AML_ADDR_FIXED, AML_IO_ENTIRE_RANGE, 0x0000, PORT_PCI_CONFIG_ADDR - 1);
	aml_res_word_io(a, AML_ADDR_FIXED, AML_IO_ENTIRE_RANGE, PORT_PCI_CONFIG_ADDR + 8, 0xffff);
	aml_res_dword_mem(a, AML_ADDR_FIXED, AML_MEM_READ_WRITE | AML_MEM_NON_CACHEABLE,
			  PCI_MMIO32_BASE, PCI_MMIO32_BASE + PCI_MMIO32_SIZE - 1);
	aml_restemplate_end(a, crs);
}

/*
 * _PRT (ACPI 6.4 section 6.2.13): INTx of every device slot straight to an
 * IOAPIC GSI (Source 0, SourceIndex = GSI), rotating by slot as a swizzle
 * would, so that neighbouring devices do not share a line. Such GSIs are
 * level-triggered, active-low.
 */
static void pci0_prt(struct aml *a)
{
	struct aml_pkg prt, ent;
	unsigned int slot, pin;

	aml_name(a, "_PRT");
	prt = aml_package_begin(a, (PCI_SLOTS - 1) * PCI_INTX_PINS);
	for (slot = 1; slot < PCI_SLOTS; slot++) {
		for (pin = 0; pin < PCI_INTX_PINS; pin++) {
			ent = aml_package_begin(a, 4);
			/* Address: device in the high word, 0xffff for all functions. */
			aml_integer(a, ((uint64_t)slot << 16) | 0xffff);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, PCI_INTX_GSI_BASE + ((slot + pin) & (PCI_INTX_GSIS - 1)));
			aml_end(a, ent);
		}
	}
	aml_end(a, prt);
}

static void dsdt_pci0(struct aml *a)
{
	struct aml_pkg dev;

	dev = aml_device_begin(a, "PCI0");
	aml_name_eisaid(a, "_HID", "PNP0A08");	/* PCI Express root bridge (ECAM) */
	aml_name_eisaid(a, "_CID", "PNP0A03");	/* PCI root bridge */
	aml_name_integer(a, "_SEG", 0);
	aml_name_integer(a, "_BBN", 0);
	aml_name_integer(a, "_UID", 0);
	/* No _ADR: a device has _HID or _ADR, not both (ACPI 6.4 section 6.1). */
	pci0_crs(a);
	pci0_prt(a);
	aml_end(a, dev);
}

/*
 * Linux uses the MCFG area only if it is reserved by e820 or by a PNP0C02
 * _CRS (arch/x86/pci/mmconfig-shared.c, is_mmconf_reserved()).
 */
static void dsdt_mbrd(struct aml *a)
{
	struct aml_pkg dev, crs;

	dev = aml_device_begin(a, "MBRD");
	aml_name_eisaid(a, "_HID", "PNP0C02");
	aml_name_integer(a, "_UID", 0);
	aml_name(a, "_CRS");
	crs = aml_restemplate_begin(a);
	aml_res_dword_mem(a, AML_ADDR_CONSUMER | AML_ADDR_FIXED,
			  AML_MEM_READ_WRITE | AML_MEM_NON_CACHEABLE, PCI_ECAM_BASE,
			  PCI_ECAM_BASE + PCI_ECAM_SIZE - 1);
	aml_restemplate_end(a, crs);
	aml_end(a, dev);
}

long acpi_build_dsdt(const struct fw_machine *m, uint8_t *buf, size_t size)
{
	struct acpi_header h;
	struct aml_pkg sb;
	struct aml a;

	if (size < sizeof(h))
		return -ENOSPC;
	aml_init(&a, buf + sizeof(h), size - sizeof(h));
	dsdt_s5(&a);
	sb = aml_scope_begin(&a, "\\_SB");
	dsdt_com1(&a);
	if (m->pci) {
		dsdt_pci0(&a);
		dsdt_mbrd(&a);
	}
	aml_end(&a, sb);
	if (a.err)
		return a.err;

	acpi_header_init(&h, "DSDT", DSDT_REVISION);
	memcpy(buf, &h, sizeof(h));
	acpi_finish(buf, sizeof(h) + a.len);
	return sizeof(h) + a.len;
}
