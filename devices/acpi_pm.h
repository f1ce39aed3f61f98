/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ACPI fixed hardware: the PM1a event and control blocks the FADT points at
 * (PORT_PM1A_EVT, PORT_PM1A_CNT) and the reset control register at
 * PORT_RESET (0xcf9), which is also the FADT's RESET_REG. The guest powers
 * off with SLP_TYP = ACPI_S5_SLP_TYP and SLP_EN, and resets through 0xcf9.
 */
#ifndef KVMINI_ACPI_PM_H
#define KVMINI_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

#include "device.h"

struct bus;
struct acpi_pm;

struct acpi_pm *acpi_pm_create(struct machine_ctl ctl);
void acpi_pm_destroy(struct acpi_pm *pm);

/* Claims the PM1a event block (4 ports), PM1a control (2) and PORT_RESET (1). */
int acpi_pm_register(struct acpi_pm *pm, struct bus *pio);

/*
 * The SCI (ACPI_SCI_IRQ), asserted while a PM1_STS bit and its PM1_EN bit
 * are both set. Without one the events below only set status bits.
 */
void acpi_pm_set_sci(struct acpi_pm *pm, struct irq_line sci);

/*
 * Press the fixed-feature power button: sets PWRBTN_STS. A guest that
 * enabled it (Linux's ACPI button driver does) gets an SCI and decides what
 * to do, typically an orderly poweroff through S5.
 */
void acpi_pm_power_button(struct acpi_pm *pm);

/*
 * The reset control register alone, as a bus callback (opaque = pm, offset
 * 0 = port 0xcf9). It lies inside the PCI configuration ports 0xcf8-0xcff:
 * a PCI host that claims 0xcf8-0xcfb for its dword CONFIG_ADDRESS can
 * unregister PORT_RESET and hand byte accesses to 0xcf9 on to this.
 */
void acpi_pm_reset_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/*
 * Snapshot and migration state (vmm/state.h), with the guest paused:
 * PM1_STS, PM1_EN, PM1_CNT and the reset control register. After a restore
 * the SCI is driven to the level they imply; on -EINVAL (state_error() says
 * why) the registers and the SCI are left as they were.
 */
int acpi_pm_save(struct acpi_pm *pm, void *fdt);
int acpi_pm_restore(struct acpi_pm *pm, const void *fdt, int node);

#endif
