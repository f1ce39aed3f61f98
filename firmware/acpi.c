// SPDX-License-Identifier: GPL-2.0
/*
 * The ACPI table set: lays the tables out in one buffer meant for
 * ACPI_TABLES_GPA and links them, RSDP -> XSDT -> FADT (-> FACS, DSDT),
 * MADT, MCFG. Every address stored in a table is guest-physical.
 */
#include <errno.h>
#include <string.h>

#include "firmware/acpi_tables.h"
#include "firmware/firmware.h"
#include "vmm/layout.h"

#define RSDP_REVISION 2		/* ACPI 2.0+: has the XSDT address */
#define XSDT_REVISION 1
#define MCFG_REVISION 1
#define FACS_VERSION 2
#define XSDT_MAX_ENTRIES 3	/* FADT, MADT, MCFG */

/* Tables start on 16-byte boundaries; the RSDP must (ACPI 6.4 section 5.2.5.1). */
#define TABLE_ALIGN 16

void acpi_header_init(struct acpi_header *h, const char sig[4], uint8_t revision)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->signature, sig, 4);
	h->revision = revision;
	memcpy(h->oem_id, ACPI_OEM_ID, sizeof(h->oem_id));
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, sizeof(h->oem_table_id));
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, sizeof(h->creator_id));
	h->creator_revision = ACPI_CREATOR_REVISION;
}

uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;
	size_t i;

	for (i = 0; i < len; i++)
		sum += b[i];
	return -sum;
}

void acpi_finish(void *t, size_t len)
{
	struct acpi_header h;

	memcpy(&h, t, sizeof(h));
	h.length = len;
	h.checksum = 0;
	memcpy(t, &h, sizeof(h));
	h.checksum = acpi_checksum(t, len);
	memcpy(t, &h, sizeof(h));
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static void build_rsdp(uint8_t *buf, uint64_t xsdt_gpa)
{
	struct acpi_rsdp r;

	memset(&r, 0, sizeof(r));
	memcpy(r.signature, "RSD PTR ", 8);
	memcpy(r.oem_id, ACPI_OEM_ID, sizeof(r.oem_id));
	r.revision = RSDP_REVISION;
	/* No RSDT: every consumer of revision 2 uses the XSDT. */
	r.rsdt_address = 0;
	r.length = sizeof(r);
	r.xsdt_address = xsdt_gpa;
	r.checksum = acpi_checksum(&r, ACPI_RSDP_V1_LEN);
	r.extended_checksum = acpi_checksum(&r, sizeof(r));
	memcpy(buf, &r, sizeof(r));
}

static long build_xsdt(uint8_t *buf, size_t size, const uint64_t *entries, unsigned int n)
{
	struct acpi_header h;
	size_t len = sizeof(h) + n * sizeof(uint64_t);

	if (size < len)
		return -ENOSPC;
	acpi_header_init(&h, "XSDT", XSDT_REVISION);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), entries, n * sizeof(uint64_t));
	acpi_finish(buf, len);
	return len;
}

static long build_facs(uint8_t *buf, size_t size)
{
	struct acpi_facs f;

	if (size < sizeof(f))
		return -ENOSPC;
	memset(&f, 0, sizeof(f));
	memcpy(f.signature, "FACS", 4);
	f.length = sizeof(f);
	f.version = FACS_VERSION;
	memcpy(buf, &f, sizeof(f));
	return sizeof(f);
}

/* One ECAM allocation: segment 0, buses 0 .. PCI_ECAM_BUSES - 1. */
static long build_mcfg(uint8_t *buf, size_t size)
{
	struct acpi_mcfg_alloc alloc = {
		.base = PCI_ECAM_BASE,
		.segment = 0,
		.start_bus = 0,
		.end_bus = PCI_ECAM_BUSES - 1,
	};
	struct acpi_header h;
	size_t len = sizeof(struct acpi_mcfg) + sizeof(alloc);

	if (size < len)
		return -ENOSPC;
	memset(buf, 0, len);
	acpi_header_init(&h, "MCFG", MCFG_REVISION);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(struct acpi_mcfg), &alloc, sizeof(alloc));
	acpi_finish(buf, len);
	return len;
}

/*
 * A cursor over the output buffer: each table is placed at the next aligned
 * offset; a builder's negative return (or running out of room) sticks.
 */
struct layout {
	uint8_t *buf;
	size_t size;
	size_t off;
	long err;
};

static size_t place(struct layout *l, size_t align)
{
	size_t at = align_up(l->off, align);

	if (!l->err && at > l->size)
		l->err = -ENOSPC;
	return l->err ? 0 : at;
}

static void commit(struct layout *l, size_t at, long len)
{
	if (l->err)
		return;
	if (len < 0)
		l->err = len;
	else
		l->off = at + len;
}

static uint64_t gpa(size_t off)
{
	return ACPI_TABLES_GPA + off;
}

long fw_acpi_build(const struct fw_machine *m, uint8_t *buf, size_t size)
{
	struct layout l = { .buf = buf, .size = size };
	struct acpi_fadt_addrs fadt_addrs;
	uint64_t xsdt_entries[XSDT_MAX_ENTRIES];
	size_t xsdt_at, fadt_at, facs_at, dsdt_at, madt_at, mcfg_at;
	unsigned int n = 0, nr_tables = m->pci ? 3 : 2;

	if (m->nr_cpus == 0 || m->nr_cpus > FW_MAX_CPUS)
		return -EINVAL;
	if (size < sizeof(struct acpi_rsdp))
		return -ENOSPC;
	memset(buf, 0, size);

	/*
	 * Tables whose address others need come first in the plan; the XSDT
	 * is written last, once all of them are placed. Its size is known.
	 */
	l.off = sizeof(struct acpi_rsdp);
	xsdt_at = place(&l, TABLE_ALIGN);
	commit(&l, xsdt_at, sizeof(struct acpi_header) + nr_tables * sizeof(uint64_t));

	/* The FACS must be 64-byte aligned (ACPI 6.4 section 5.2.10). */
	facs_at = place(&l, ACPI_FACS_ALIGN);
	commit(&l, facs_at, l.err ? 0 : build_facs(buf + facs_at, size - facs_at));

	dsdt_at = place(&l, TABLE_ALIGN);
	commit(&l, dsdt_at, l.err ? 0 : acpi_build_dsdt(m, buf + dsdt_at, size - dsdt_at));

	fadt_at = place(&l, TABLE_ALIGN);
	fadt_addrs.facs = gpa(facs_at);
	fadt_addrs.dsdt = gpa(dsdt_at);
	commit(&l, fadt_at,
	       l.err ? 0 : acpi_build_fadt(buf + fadt_at, size - fadt_at, &fadt_addrs));
	xsdt_entries[n++] = gpa(fadt_at);

	madt_at = place(&l, TABLE_ALIGN);
	commit(&l, madt_at, l.err ? 0 : acpi_build_madt(m, buf + madt_at, size - madt_at));
	xsdt_entries[n++] = gpa(madt_at);

	if (m->pci) {
		mcfg_at = place(&l, TABLE_ALIGN);
		commit(&l, mcfg_at, l.err ? 0 : build_mcfg(buf + mcfg_at, size - mcfg_at));
		xsdt_entries[n++] = gpa(mcfg_at);
	}
	if (l.err)
		return l.err;

	if (build_xsdt(buf + xsdt_at, size - xsdt_at, xsdt_entries, n) < 0)
		return -ENOSPC;
	build_rsdp(buf, gpa(xsdt_at));
	return l.off;
}
