// SPDX-License-Identifier: GPL-2.0
/*
 * MADT (signature "APIC"), ACPI 6.4 section 5.2.12: the local APICs (one
 * per vCPU), KVM's in-kernel IOAPIC, the ISA interrupt overrides and LINT1
 * as NMI.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "firmware/acpi_tables.h"
#include "vmm/layout.h"

#define MADT_REVISION 5
#define MADT_PCAT_COMPAT (1u << 0)	/* 8259 PICs present (KVM's irqchip has them) */

/* Interrupt controller structure types (ACPI 6.4 section 5.2.12). */
#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_ISO 2
#define MADT_LAPIC_NMI 4
#define MADT_X2APIC 9
#define MADT_X2APIC_NMI 10

#define MADT_ENABLED (1u << 0)

/* MPS INTI flags, section 5.2.12.5. */
#define INTI_POLARITY_HIGH 0x1
#define INTI_POLARITY_LOW 0x3
#define INTI_TRIGGER_EDGE (0x1 << 2)
#define INTI_TRIGGER_LEVEL (0x3 << 2)

/* APIC ID 0xff is the xAPIC broadcast ID: CPUs from there on need x2APIC entries (5.2.12.12). */
#define XAPIC_MAX_ID 254

#define ALL_PROCESSORS_U8 0xff
#define ALL_PROCESSORS_U32 0xffffffffu

struct madt {
	struct acpi_header h;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));

struct madt_lapic {
	uint8_t type, length;
	uint8_t uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type, length;
	uint8_t id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

struct madt_iso {
	uint8_t type, length;
	uint8_t bus;		/* 0: ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

struct madt_lapic_nmi {
	uint8_t type, length;
	uint8_t uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

struct madt_x2apic {
	uint8_t type, length;
	uint16_t reserved;
	uint32_t x2apic_id;
	uint32_t flags;
	uint32_t uid;
} __attribute__((packed));

struct madt_x2apic_nmi {
	uint8_t type, length;
	uint16_t flags;
	uint32_t uid;
	uint8_t lint;
	uint8_t reserved[3];
} __attribute__((packed));

_Static_assert(sizeof(struct madt_lapic) == 8, "Processor Local APIC is 8 bytes");
_Static_assert(sizeof(struct madt_ioapic) == 12, "I/O APIC is 12 bytes");
_Static_assert(sizeof(struct madt_iso) == 10, "Interrupt Source Override is 10 bytes");
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "Local APIC NMI is 6 bytes");
_Static_assert(sizeof(struct madt_x2apic) == 16, "Processor Local x2APIC is 16 bytes");
_Static_assert(sizeof(struct madt_x2apic_nmi) == 12, "Local x2APIC NMI is 12 bytes");

static size_t madt_size(unsigned int nr_cpus)
{
	unsigned int nr_xapic = nr_cpus > XAPIC_MAX_ID + 1 ? XAPIC_MAX_ID + 1 : nr_cpus;
	unsigned int nr_x2apic = nr_cpus - nr_xapic;

	return sizeof(struct madt) + nr_xapic * sizeof(struct madt_lapic) +
	       nr_x2apic * sizeof(struct madt_x2apic) + sizeof(struct madt_ioapic) +
	       2 * sizeof(struct madt_iso) + sizeof(struct madt_lapic_nmi) +
	       (nr_x2apic ? sizeof(struct madt_x2apic_nmi) : 0);
}

#define PUT(p, s)                             \
	do {                                  \
		memcpy((p), &(s), sizeof(s)); \
		(p) += sizeof(s);             \
	} while (0)

/* APIC ID = vCPU index; the processor UID is the same number. */
static uint8_t *put_cpus(uint8_t *p, unsigned int nr_cpus)
{
	struct madt_lapic lapic = { .type = MADT_LAPIC, .length = sizeof(lapic) };
	struct madt_x2apic x2apic = { .type = MADT_X2APIC, .length = sizeof(x2apic) };
	unsigned int i;

	for (i = 0; i < nr_cpus; i++) {
		if (i <= XAPIC_MAX_ID) {
			lapic.uid = i;
			lapic.apic_id = i;
			lapic.flags = MADT_ENABLED;
			PUT(p, lapic);
		} else {
			x2apic.x2apic_id = i;
			x2apic.uid = i;
			x2apic.flags = MADT_ENABLED;
			PUT(p, x2apic);
		}
	}
	return p;
}

static uint8_t *put_ioapic(uint8_t *p)
{
	/*
	 * IOAPIC ID 0, the reset value of the ID register of KVM's IOAPIC, so
	 * the table and the device agree. It shares the number with CPU 0's
	 * APIC ID, which does not matter since the system-bus xAPIC replaced
	 * the serial APIC bus: x86-64 Linux only keeps IOAPIC IDs unique among
	 * IOAPICs (io_apic_unique_id()), and with up to 1024 CPUs no 8-bit ID
	 * would be free anyway.
	 */
	struct madt_ioapic io = {
		.type = MADT_IOAPIC,
		.length = sizeof(io),
		.id = ACPI_IOAPIC_ID,
		.address = IOAPIC_BASE,
		.gsi_base = 0,
	};
	/* The PIT's IRQ0 is wired to IOAPIC pin 2 on PCs (and in KVM), edge-triggered. */
	struct madt_iso irq0 = {
		.type = MADT_ISO,
		.length = sizeof(irq0),
		.source = 0,
		.gsi = 2,
		.flags = INTI_POLARITY_HIGH | INTI_TRIGGER_EDGE,
	};
	/*
	 * Without an override the SCI is level, active-low (section 5.2.9,
	 * SCI_INT); the VMM drives IRQ9 as a level, active-high line, the
	 * polarity KVM's PIC and IOAPIC share for an ISA IRQ.
	 */
	struct madt_iso sci = {
		.type = MADT_ISO,
		.length = sizeof(sci),
		.source = ACPI_SCI_IRQ,
		.gsi = ACPI_SCI_IRQ,
		.flags = INTI_POLARITY_HIGH | INTI_TRIGGER_LEVEL,
	};

	PUT(p, io);
	PUT(p, irq0);
	PUT(p, sci);
	return p;
}

/* LINT1 carries NMI on every CPU, as on PCs. */
static uint8_t *put_nmi(uint8_t *p, bool x2apic)
{
	struct madt_lapic_nmi nmi = {
		.type = MADT_LAPIC_NMI,
		.length = sizeof(nmi),
		.uid = ALL_PROCESSORS_U8,
		.flags = INTI_POLARITY_HIGH | INTI_TRIGGER_EDGE,
		.lint = 1,
	};
	/* The 8-bit UID 0xff cannot name x2APIC processors: they need their own entry. */
	struct madt_x2apic_nmi x2nmi = {
		.type = MADT_X2APIC_NMI,
		.length = sizeof(x2nmi),
		.flags = INTI_POLARITY_HIGH | INTI_TRIGGER_EDGE,
		.uid = ALL_PROCESSORS_U32,
		.lint = 1,
	};

	PUT(p, nmi);
	if (x2apic)
		PUT(p, x2nmi);
	return p;
}

long acpi_build_madt(const struct fw_machine *m, uint8_t *buf, size_t size)
{
	struct madt hdr = { .lapic_address = LAPIC_BASE, .flags = MADT_PCAT_COMPAT };
	uint8_t *p = buf + sizeof(hdr);
	size_t len;

	if (m->nr_cpus == 0 || m->nr_cpus > FW_MAX_CPUS)
		return -EINVAL;
	len = madt_size(m->nr_cpus);
	if (size < len)
		return -ENOSPC;

	acpi_header_init(&hdr.h, "APIC", MADT_REVISION);
	memcpy(buf, &hdr, sizeof(hdr));
	p = put_cpus(p, m->nr_cpus);
	p = put_ioapic(p);
	put_nmi(p, m->nr_cpus > XAPIC_MAX_ID + 1);
	acpi_finish(buf, len);
	return len;
}
