// SPDX-License-Identifier: GPL-2.0
/*
 * scenario=irq: LAPIC timer interrupts, then a legacy ISA interrupt through the
 * I/O APIC: the UART's transmitter-empty interrupt on COM1's IRQ 4.
 */
#include "apic.h"
#include "cpu.h"
#include "testguest.h"
#include "trap.h"

#define VEC_TIMER 0x40
#define VEC_UART 0x24
#define COM1_IER 0x3f9
#define COM1_IIR 0x3fa
#define IER_THRE 0x02

static void uart_handler(struct trap_frame *f)
{
	/* Reading IIR acknowledges the THRE interrupt (16550 data sheet, IIR). */
	(void)inb(COM1_IIR);
	outb(COM1_IER, 0);
}

static void irq_scenario(struct scn_ctx *c)
{
	uint64_t ticks = scn_opt_u64(c, "ticks", 10);
	uint64_t count = scn_opt_u64(c, "timer-count", 100000);
	uint64_t uart = scn_opt_u64(c, "uart", 3);
	uint64_t timeout = scn_opt_u64(c, "timeout-ms", 10000);
	uint64_t start, t0;
	unsigned int gsi;

	apic_init();
	start = irq_count[VEC_TIMER];
	t0 = time_ns();
	lapic_timer(VEC_TIMER, count);
	if (!wait_irq_count(&irq_count[VEC_TIMER], start + ticks, timeout))
		tg_fail("irq: %lu of %lu LAPIC timer interrupts", irq_count[VEC_TIMER] - start,
			ticks);
	lapic_timer(VEC_TIMER, 0);
	printf("IRQ timer vector=0x%x count=%lu ms=%lu\n", VEC_TIMER, irq_count[VEC_TIMER] - start,
	       (time_ns() - t0) / 1000000);

	if (!uart)
		return;
	gsi = isa_irq_to_gsi(4);
	trap_set_handler(VEC_UART, uart_handler);
	ioapic_route(gsi, VEC_UART, false, false);
	start = irq_count[VEC_UART];
	for (uint64_t i = 1; i <= uart; i++) {
		/* THR is empty, so enabling the interrupt raises it at once. */
		outb(COM1_IER, IER_THRE);
		if (!wait_irq_count(&irq_count[VEC_UART], start + i, timeout))
			tg_fail("irq: no UART interrupt %lu on GSI %u", i, gsi);
	}
	ioapic_route(gsi, VEC_UART, false, true);
	trap_set_handler(VEC_UART, NULL);
	printf("IRQ uart gsi=%u vector=0x%x count=%lu\n", gsi, VEC_UART,
	       irq_count[VEC_UART] - start);
}
SCENARIO("irq", irq_scenario, "LAPIC timer interrupts and COM1's IRQ 4 through the I/O APIC");
