/* SPDX-License-Identifier: GPL-2.0 */
/* A second CPU that ticks: an application processor on its own LAPIC timer. */
#ifndef TG_SMP_H
#define TG_SMP_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Starts the first application processor the MADT lists (INIT-SIPI-SIPI); it
 * takes LAPIC timer interrupts on vector, counted in irq_count[vector], and
 * halts between them. Returns its APIC ID, or -1 when the MADT lists one CPU
 * or the AP did not report within timeout_ms.
 */
int smp_start_ticker(uint8_t vector, uint64_t timeout_ms);

#endif
