// SPDX-License-Identifier: GPL-2.0
/* ACPI table lookup (ACPI 6.5, 5.2.5 RSDP, 5.2.7 RSDT, 5.2.8 XSDT). */
#include "acpi.h"
#include "testguest.h"

struct rsdp {
	char sig[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length; /* revision >= 2 from here */
	uint64_t xsdt;
	uint8_t xchecksum;
	uint8_t reserved[3];
} __attribute__((packed));

static bool sum_ok(const void *p, uint32_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s += *b++;
	return s == 0;
}

static bool rsdp_valid(const struct rsdp *r)
{
	return memcmp(r->sig, "RSD PTR ", 8) == 0 && sum_ok(r, 20);
}

uint64_t acpi_rsdp(void)
{
	/* The BIOS read-only area, 16-byte aligned (5.2.5.1); kvmini puts it at 0xe0000. */
	if (boot.rsdp && rsdp_valid((const void *)boot.rsdp))
		return boot.rsdp;
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
		if (rsdp_valid((const void *)a))
			return a;
	return 0;
}

const struct acpi_header *acpi_find(const char *sig)
{
	uint64_t addr = acpi_rsdp();
	const struct rsdp *r = (const void *)addr;
	const struct acpi_header *root;
	unsigned int entry_size, n;

	if (!addr)
		return NULL;
	if (r->revision >= 2 && r->xsdt) {
		root = (const void *)r->xsdt;
		entry_size = 8;
	} else {
		root = (const void *)(uint64_t)r->rsdt;
		entry_size = 4;
	}
	if (!sum_ok(root, root->length))
		return NULL;
	n = (root->length - sizeof(*root)) / entry_size;
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *e = (const uint8_t *)(root + 1) + i * entry_size;
		uint64_t t = entry_size == 8 ? *(const uint64_t *)e : *(const uint32_t *)e;
		const struct acpi_header *h = (const void *)t;

		if (memcmp(h->sig, sig, 4) == 0 && sum_ok(h, h->length))
			return h;
	}
	return NULL;
}
