// SPDX-License-Identifier: GPL-2.0
/* One application processor, started with INIT-SIPI-SIPI (SDM Vol. 3A, 9.4.4). */
#include "acpi.h"
#include "apic.h"
#include "cpu.h"
#include "smp.h"
#include "testguest.h"
#include "trap.h"

/* Free low memory under kvmini (vmm/layout.h: page tables end at 0xf000, the
 * command line starts at 0x20000) and QEMU; the SIPI vector is its page number. */
#define AP_TRAMPOLINE 0x10000
#define AP_TICK_COUNT 1000000 /* divided by 16: about 60 Hz under KVM's 1 GHz APIC clock */

extern const char ap_tramp_start[], ap_tramp_end[];
static uint8_t ap_stack[16384] __attribute__((aligned(16)));
uint64_t ap_stack_top = (uint64_t)ap_stack + sizeof(ap_stack);
static volatile uint32_t ap_started;
static uint8_t ap_vector;

void ap_main(void);

void ap_main(void)
{
	trap_load_idt();
	apic_init_ap();
	lapic_timer(ap_vector, AP_TICK_COUNT);
	ap_started = 1;
	for (;;)
		asm volatile("sti; hlt" ::: "memory");
}

/* The APIC ID of the first enabled processor in the MADT that is not us, or -1. */
static int other_cpu(void)
{
	const struct acpi_header *madt = acpi_find("APIC");
	const uint8_t *p, *end;

	if (!madt)
		return -1;
	p = (const uint8_t *)(madt + 1) + 8;
	end = (const uint8_t *)madt + madt->length;
	for (; p + 2 <= end && p[1] >= 2 && p + p[1] <= end; p += p[1])
		/* Type 0, processor local APIC: UID, APIC ID, flags bit 0 enabled (5.2.12.2). */
		if (p[0] == 0 && p[1] >= 8 && (p[4] & 1) && p[3] != lapic_id())
			return p[3];
	return -1;
}

static void delay_us(uint64_t us)
{
	uint64_t end = time_ns() + us * 1000;

	while (time_ns() < end)
		cpu_relax();
}

int smp_start_ticker(uint8_t vector, uint64_t timeout_ms)
{
	int id = other_cpu();
	uint64_t end;

	if (id < 0)
		return -1;
	ap_vector = vector;
	memcpy((void *)AP_TRAMPOLINE, ap_tramp_start, ap_tramp_end - ap_tramp_start);
	/* INIT, then two STARTUPs with the trampoline's page as the vector. */
	lapic_send_ipi(id, 0x4500);
	delay_us(10000);
	for (int i = 0; i < 2 && !ap_started; i++) {
		lapic_send_ipi(id, 0x4600 | AP_TRAMPOLINE >> 12);
		delay_us(200);
	}
	end = time_ns() + timeout_ms * 1000000;
	while (!ap_started && time_ns() < end)
		cpu_relax();
	return ap_started ? id : -1;
}
