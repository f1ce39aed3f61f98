/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ACPI table layouts (ACPI 6.4 chapter 5) and the per-table builders that
 * fw_acpi_build() in acpi.c strings together. Internal to firmware/ (and its
 * tests): the VMM only sees fw_acpi_build().
 *
 * Structures are packed and little-endian, as the spec lays them out; x86
 * hosts only, so they are filled natively and copied into the buffer.
 */
#ifndef KVMINI_FIRMWARE_ACPI_TABLES_H
#define KVMINI_FIRMWARE_ACPI_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/firmware.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ACPI tables are little-endian and filled natively"
#endif

#define ACPI_OEM_ID "KVMINI"
#define ACPI_OEM_TABLE_ID "KVMINIVM"
#define ACPI_OEM_REVISION 1
#define ACPI_CREATOR_ID "KVMI"
#define ACPI_CREATOR_REVISION 1

/* Generic Address Structure, ACPI 6.4 section 5.2.3.2. */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

#define ACPI_GAS_SYSTEM_IO 1
#define ACPI_GAS_ACCESS_BYTE 1
#define ACPI_GAS_ACCESS_WORD 2

/* RSDP, ACPI 6.4 section 5.2.5.3. */
struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;	/* over the first 20 bytes (the ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;	/* over all of it */
	uint8_t reserved[3];
} __attribute__((packed));

#define ACPI_RSDP_V1_LEN 20

/* System description table header, ACPI 6.4 section 5.2.6. */
struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

/* FACS, ACPI 6.4 section 5.2.10: no checksum, must be 64-byte aligned. */
struct acpi_facs {
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved[3];
	uint32_t ospm_flags;
	uint8_t reserved2[24];
} __attribute__((packed));

#define ACPI_FACS_ALIGN 64

/* MCFG, PCI Firmware Specification 3.2 section 4.1.2. */
struct acpi_mcfg_alloc {
	uint64_t base;
	uint16_t segment;
	uint8_t start_bus;
	uint8_t end_bus;
	uint32_t reserved;
} __attribute__((packed));

struct acpi_mcfg {
	struct acpi_header h;
	uint64_t reserved;
	struct acpi_mcfg_alloc alloc[];
} __attribute__((packed));

/* Fill a header; length and checksum are set by acpi_finish(). */
void acpi_header_init(struct acpi_header *h, const char sig[4], uint8_t revision);

/* Byte sum complement: the value that makes len bytes sum to zero. */
uint8_t acpi_checksum(const void *p, size_t len);

/* Set the length of the table at t to len and its checksum. */
void acpi_finish(void *t, size_t len);

/*
 * Builders: write one table at buf (up to size bytes), with guest-physical
 * addresses given where the table points elsewhere. Return the length
 * written or a negative errno.
 */
struct acpi_fadt_addrs {
	uint64_t facs;
	uint64_t dsdt;
};

long acpi_build_fadt(uint8_t *buf, size_t size, const struct acpi_fadt_addrs *addrs);
long acpi_build_madt(const struct fw_machine *m, uint8_t *buf, size_t size);
long acpi_build_dsdt(const struct fw_machine *m, uint8_t *buf, size_t size);

/* The IOAPIC ID the MADT announces (see acpi_madt.c for why it may equal a CPU's). */
#define ACPI_IOAPIC_ID 0

#endif
