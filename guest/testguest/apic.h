/* SPDX-License-Identifier: GPL-2.0 */
/* Local APIC (xAPIC MMIO), I/O APIC and the 8259 PICs kept out of the way. */
#ifndef TG_APIC_H
#define TG_APIC_H

#include <stdbool.h>
#include <stdint.h>

#define VEC_SPURIOUS 0xff

/* Masks the PICs, enables the LAPIC and sets the EOI hook; safe to call again. */
void apic_init(void);
uint32_t lapic_id(void);
/* On an application processor: enables its LAPIC as apic_init() did the BSP's. */
void apic_init_ap(void);
/* Writes ICR (SDM Vol. 3A, 11.6.1) and waits for the IPI to be accepted. */
void lapic_send_ipi(uint32_t apic_id, uint32_t icr_low);
void lapic_eoi(void);
/* Periodic timer on vector; count 0 stops it. */
void lapic_timer(uint8_t vector, uint32_t count);
/* GSI of an ISA IRQ, following MADT interrupt source overrides. */
unsigned int isa_irq_to_gsi(unsigned int irq);
void ioapic_route(unsigned int gsi, uint8_t vector, bool level, bool masked);
/* Spins with interrupts on until *counter reaches target or timeout_ms passes. */
bool wait_irq_count(volatile uint64_t *counter, uint64_t target, uint64_t timeout_ms);

#endif
