// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI PM1a registers and the 0xcf9 reset control register. Register
 * layouts: ACPI 6.5, section 4.8.3 (PM1 event and control registers); the
 * reset register follows Intel's PCH "RST_CNT" (I/O port 0xcf9).
 *
 * The only event source is the fixed power button (there is no PM timer:
 * the FADT leaves PM_TMR_BLK at 0). The SCI is a level: asserted while any
 * PM1_STS bit is set together with its PM1_EN bit.
 *
 * Locking: register accesses come from vCPU threads, the power button from
 * whichever thread handles the request; pm->lock guards the registers and
 * the SCI level, which is set under it so that level changes stay ordered.
 * Exit requests are made with the lock held: they only signal the main loop.
 */
#include <pthread.h>
#include <stdlib.h>

#include "../vmm/bus.h"
#include "../vmm/layout.h"
#include "../vmm/log.h"
#include "../vmm/state.h"
#include "acpi_pm.h"

#define PM1_EVT_LEN 4	/* PM1_STS (2), PM1_EN (2) */
#define PM1_PWRBTN (1u << 8)	/* in both PM1_STS and PM1_EN */
#define PM1_CNT_LEN 2

/* PM1_CNT */
#define PM1_SCI_EN (1u << 0)
#define PM1_BM_RLD (1u << 1)
#define PM1_GBL_RLS (1u << 2)	/* write-only */
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_TYP_MASK (7u << PM1_SLP_TYP_SHIFT)
#define PM1_SLP_EN (1u << 13)	/* write-only */

/* RST_CNT */
#define RST_SYS_RST 0x02	/* hard rather than soft reset */
#define RST_CPU 0x04		/* 0 -> 1 starts the reset */
#define RST_FULL_RST 0x08
#define RST_CNT_MASK (RST_SYS_RST | RST_FULL_RST)

struct acpi_pm {
	pthread_mutex_t lock;
	struct machine_ctl ctl;
	struct irq_line sci;
	int sci_level;
	uint16_t sts, en, cnt;
	uint8_t rst_cnt;
};

/* Registers are handled a byte at a time so that any access width works. */
static uint8_t reg_byte(uint16_t reg, unsigned int i)
{
	return reg >> (8 * i);
}

static uint16_t set_reg_byte(uint16_t reg, unsigned int i, uint8_t val)
{
	return (reg & ~(0xffu << (8 * i))) | ((uint16_t)val << (8 * i));
}

static void pm1_update_sci(struct acpi_pm *pm)
{
	int level = (pm->sts & pm->en) != 0;

	if (level != pm->sci_level) {
		pm->sci_level = level;
		irq_line_set(&pm->sci, level);
	}
}

static void pm1_evt_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct acpi_pm *pm = opaque;
	uint32_t i;

	pthread_mutex_lock(&pm->lock);
	for (i = 0; i < len && offset + i < PM1_EVT_LEN; i++) {
		unsigned int off = offset + i;
		uint16_t *reg = off < 2 ? &pm->sts : &pm->en;

		if (!is_write)
			data[i] = reg_byte(*reg, off & 1);
		else if (off < 2)
			/* PM1_STS bits are write-1-to-clear (ACPI 4.8.3.1). */
			pm->sts &= ~((uint16_t)data[i] << (8 * (off & 1)));
		else
			*reg = set_reg_byte(*reg, off & 1, data[i]);
	}
	pm1_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static void pm1_sleep(struct acpi_pm *pm, unsigned int slp_typ)
{
	if (slp_typ == ACPI_S5_SLP_TYP) {
		machine_request_exit(&pm->ctl, EXIT_POWEROFF);
		return;
	}
	/* The DSDT announces only \_S5, so S1-S4 are guest misbehaviour: stay running. */
	pr_warn_once("acpi: guest asked for sleep type %u; only S5 (poweroff) is supported",
		     slp_typ);
}

static void pm1_cnt_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct acpi_pm *pm = opaque;
	uint32_t i;

	pthread_mutex_lock(&pm->lock);
	for (i = 0; i < len && offset + i < PM1_CNT_LEN; i++) {
		unsigned int off = offset + i;
		uint16_t val;

		if (!is_write) {
			/* SCI_EN reads 1: the FADT has no SMI_CMD, so ACPI mode is fixed on. */
			data[i] = reg_byte(pm->cnt | PM1_SCI_EN, off);
			continue;
		}
		val = set_reg_byte(pm->cnt, off, data[i]);
		pm->cnt = val & (PM1_BM_RLD | PM1_SLP_TYP_MASK);
		/* SLP_EN sits in the same byte as SLP_TYP, so one byte write carries both. */
		if (off == 1 && (val & PM1_SLP_EN))
			pm1_sleep(pm, (val & PM1_SLP_TYP_MASK) >> PM1_SLP_TYP_SHIFT);
	}
	pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_set_sci(struct acpi_pm *pm, struct irq_line sci)
{
	pthread_mutex_lock(&pm->lock);
	pm->sci = sci;
	pm->sci_level = 0;
	irq_line_set(&pm->sci, 0);
	pm1_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts |= PM1_PWRBTN;
	pm1_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_reset_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct acpi_pm *pm = opaque;

	/* One byte register; Linux (reboot.c, reboot=pci) and ACPICA use byte accesses. */
	if (offset != 0 || len < 1)
		return;
	pthread_mutex_lock(&pm->lock);
	if (!is_write) {
		data[0] = pm->rst_cnt;
	} else {
		pm->rst_cnt = data[0] & RST_CNT_MASK;
		/*
		 * Linux writes SYS_RST first and then SYS_RST | RST_CPU, and the
		 * FADT's RESET_VALUE (0x06) does both at once: RST_CPU resets.
		 */
		if (data[0] & RST_CPU)
			machine_request_exit(&pm->ctl, EXIT_REBOOT);
	}
	pthread_mutex_unlock(&pm->lock);
}

/* State node: pm1-status, pm1-enable, pm1-control, reset-control. */
int acpi_pm_save(struct acpi_pm *pm, void *fdt)
{
	int ret;

	pthread_mutex_lock(&pm->lock);
	ret = state_put_u32(fdt, "pm1-status", pm->sts);
	if (!ret)
		ret = state_put_u32(fdt, "pm1-enable", pm->en);
	if (!ret)
		ret = state_put_u32(fdt, "pm1-control", pm->cnt);
	if (!ret)
		ret = state_put_u32(fdt, "reset-control", pm->rst_cnt);
	pthread_mutex_unlock(&pm->lock);
	return ret;
}

/* A register property that may have only the bits in mask set. */
static int get_reg(const void *fdt, int node, const char *name, uint32_t mask, uint32_t *v)
{
	int ret = state_get_u32(fdt, node, name, v);

	if (ret)
		return ret;
	if (*v & ~mask)
		return state_fail("acpi-pm/%s: %#x has bits outside %#x", name, *v, mask);
	return 0;
}

int acpi_pm_restore(struct acpi_pm *pm, const void *fdt, int node)
{
	uint32_t sts, en, cnt, rst;
	int ret;

	/*
	 * What each register can hold here: the power button is the only
	 * status source; PM1_CNT keeps BM_RLD and SLP_TYP (the write-only
	 * bits and SCI_EN are not stored, see pm1_cnt_io()); RST_CNT keeps
	 * SYS_RST and FULL_RST.
	 */
	ret = get_reg(fdt, node, "pm1-status", PM1_PWRBTN, &sts);
	if (!ret)
		ret = get_reg(fdt, node, "pm1-enable", 0xffff, &en);
	if (!ret)
		ret = get_reg(fdt, node, "pm1-control", PM1_BM_RLD | PM1_SLP_TYP_MASK, &cnt);
	if (!ret)
		ret = get_reg(fdt, node, "reset-control", RST_CNT_MASK, &rst);
	if (ret)
		return ret;

	pthread_mutex_lock(&pm->lock);
	pm->sts = sts;
	pm->en = en;
	pm->cnt = cnt;
	pm->rst_cnt = rst;
	/* Drive the SCI whatever level was last set: the destination's irqchip starts afresh. */
	pm->sci_level = -1;
	pm1_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

int acpi_pm_register(struct acpi_pm *pm, struct bus *pio)
{
	int ret;

	ret = bus_register(pio, PORT_PM1A_EVT, PM1_EVT_LEN, pm1_evt_io, pm, "acpi-pm1a-evt");
	if (ret)
		return ret;
	ret = bus_register(pio, PORT_PM1A_CNT, PM1_CNT_LEN, pm1_cnt_io, pm, "acpi-pm1a-cnt");
	if (ret)
		goto err_evt;
	ret = bus_register(pio, PORT_RESET, 1, acpi_pm_reset_io, pm, "reset-control");
	if (ret)
		goto err_cnt;
	return 0;

err_cnt:
	bus_unregister(pio, PORT_PM1A_CNT, pm);
err_evt:
	bus_unregister(pio, PORT_PM1A_EVT, pm);
	return ret;
}

struct acpi_pm *acpi_pm_create(struct machine_ctl ctl)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	if (pthread_mutex_init(&pm->lock, NULL)) {
		free(pm);
		return NULL;
	}
	pm->ctl = ctl;
	return pm;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}
