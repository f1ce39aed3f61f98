/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test helpers: follow the ACPI tables fw_acpi_build() produced the way a
 * guest would, from the RSDP through guest-physical pointers, with every
 * pointer checked to land inside the built bytes.
 */
#ifndef KVMINI_TESTS_ACPI_WALK_H
#define KVMINI_TESTS_ACPI_WALK_H

#include <stdint.h>
#include <string.h>

#include "firmware/acpi_tables.h"
#include "vmm/layout.h"

#define ACPI_BUF_SIZE ACPI_TABLES_SIZE

static inline uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

/* The table at guest-physical gpa, or NULL when it is not wholly in [buf, buf + len). */
static inline const uint8_t *acpi_at(const uint8_t *buf, long len, uint64_t gpa)
{
	uint64_t off, tlen;

	if (gpa < ACPI_TABLES_GPA ||
	    gpa - ACPI_TABLES_GPA + sizeof(struct acpi_header) > (uint64_t)len)
		return NULL;
	off = gpa - ACPI_TABLES_GPA;
	tlen = rd32(buf + off + 4);
	if (tlen < sizeof(struct acpi_header) || off + tlen > (uint64_t)len)
		return NULL;
	return buf + off;
}

static inline const uint8_t *acpi_xsdt(const uint8_t *buf, long len)
{
	return acpi_at(buf, len, rd64(buf + offsetof(struct acpi_rsdp, xsdt_address)));
}

/* A table listed in the XSDT, by signature; NULL when absent. */
static inline const uint8_t *acpi_find(const uint8_t *buf, long len, const char *sig)
{
	const uint8_t *x = acpi_xsdt(buf, len), *t;
	uint32_t i, n;

	if (!x)
		return NULL;
	n = (rd32(x + 4) - sizeof(struct acpi_header)) / 8;
	for (i = 0; i < n; i++) {
		t = acpi_at(buf, len, rd64(x + sizeof(struct acpi_header) + 8 * i));
		if (t && !memcmp(t, sig, 4))
			return t;
	}
	return NULL;
}

/* FADT offsets (ACPI 6.4 section 5.2.9). */
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT 40
#define FADT_X_FIRMWARE_CTRL 132
#define FADT_X_DSDT 140

static inline const uint8_t *acpi_dsdt(const uint8_t *buf, long len)
{
	const uint8_t *f = acpi_find(buf, len, "FACP");

	return f ? acpi_at(buf, len, rd64(f + FADT_X_DSDT)) : NULL;
}

static inline uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* Does [p, p + n) contain the n2 bytes at s? */
static inline int contains(const uint8_t *p, size_t n, const void *s, size_t n2)
{
	return memmem(p, n, s, n2) != NULL;
}

#endif
