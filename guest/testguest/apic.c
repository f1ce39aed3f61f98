// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupt controllers (SDM Vol. 3A, ch. 11 Local APIC; 82093AA I/O APIC data
 * sheet). Addresses come from the MADT when there is one, else the PC defaults
 * kvmini also uses (vmm/layout.h).
 */
#include "acpi.h"
#include "apic.h"
#include "cpu.h"
#include "testguest.h"
#include "trap.h"

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1u << 11)
#define LAPIC_ID 0x20
#define LAPIC_TPR 0x80
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3e0
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOAPIC_REDTBL(n) (0x10 + 2 * (n))

static uint64_t lapic_base = 0xfee00000;
static uint64_t ioapic_base = 0xfec00000;
static uint8_t irq_gsi[16];
static bool apic_ready;

static uint32_t lapic_read(unsigned int reg)
{
	return mmio_read32(lapic_base + reg);
}

static void lapic_write(unsigned int reg, uint32_t v)
{
	mmio_write32(lapic_base + reg, v);
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

/* MADT (ACPI 6.5, 5.2.12): type 1 I/O APIC, type 2 interrupt source override. */
static void read_madt(void)
{
	const struct acpi_header *madt = acpi_find("APIC");
	const uint8_t *p, *end;

	for (unsigned int i = 0; i < 16; i++)
		irq_gsi[i] = i;
	if (!madt)
		return;
	lapic_base = *(const uint32_t *)(madt + 1);
	p = (const uint8_t *)(madt + 1) + 8;
	end = (const uint8_t *)madt + madt->length;
	while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
		if (p[0] == 1 && p[1] >= 12 && *(const uint32_t *)(p + 8) == 0)
			ioapic_base = *(const uint32_t *)(p + 4);
		if (p[0] == 2 && p[1] >= 10 && p[3] < 16)
			irq_gsi[p[3]] = *(const uint32_t *)(p + 4);
		p += p[1];
	}
}

void apic_init(void)
{
	if (apic_ready)
		return;
	read_madt();
	/* The PICs would deliver ISA IRQs on vectors that overlap exceptions. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
	trap_eoi = lapic_eoi;
	apic_ready = true;
	printf("APIC lapic=0x%lx id=%u ioapic=0x%lx\n", lapic_base, lapic_id(), ioapic_base);
}

void apic_init_ap(void)
{
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
}

void lapic_send_ipi(uint32_t apic_id, uint32_t icr_low)
{
	lapic_write(LAPIC_ICR_HIGH, apic_id << 24);
	lapic_write(LAPIC_ICR_LOW, icr_low);
	/* Delivery status (bit 12) clears once the IPI is accepted. */
	for (int i = 0; i < 100000 && (lapic_read(LAPIC_ICR_LOW) & (1u << 12)); i++)
		cpu_relax();
}

void lapic_timer(uint8_t vector, uint32_t count)
{
	if (!count) {
		lapic_write(LAPIC_TIMER_INIT, 0);
		lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
		return;
	}
	lapic_write(LAPIC_TIMER_DIV, 0x3); /* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, LVT_PERIODIC | vector);
	lapic_write(LAPIC_TIMER_INIT, count);
}

unsigned int isa_irq_to_gsi(unsigned int irq)
{
	return irq < 16 ? irq_gsi[irq] : irq;
}

static void ioapic_write(unsigned int reg, uint32_t v)
{
	mmio_write32(ioapic_base + IOREGSEL, reg);
	mmio_write32(ioapic_base + IOWIN, v);
}

void ioapic_route(unsigned int gsi, uint8_t vector, bool level, bool masked)
{
	/* Fixed delivery, physical destination, active high. */
	uint32_t lo = vector | (level ? 1u << 15 : 0) | (masked ? 1u << 16 : 0);

	ioapic_write(IOAPIC_REDTBL(gsi) + 1, lapic_id() << 24);
	ioapic_write(IOAPIC_REDTBL(gsi), lo);
}

bool wait_irq_count(volatile uint64_t *counter, uint64_t target, uint64_t timeout_ms)
{
	uint64_t end = time_ns() + timeout_ms * 1000000;

	irq_enable();
	while (*counter < target && time_ns() < end)
		cpu_relax();
	irq_disable();
	return *counter >= target;
}
