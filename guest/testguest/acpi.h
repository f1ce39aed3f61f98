/* SPDX-License-Identifier: GPL-2.0 */
/* Finding ACPI tables: RSDP, then XSDT or RSDT. */
#ifndef TG_ACPI_H
#define TG_ACPI_H

#include <stdint.h>

struct acpi_header {
	char sig[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t creator_id;
	uint32_t creator_revision;
} __attribute__((packed));

/* Address of the RSDP (boot info, else the BIOS area scan), 0 if none. */
uint64_t acpi_rsdp(void);
/* First table with this signature whose checksum holds, or NULL. */
const struct acpi_header *acpi_find(const char *sig);

#endif
