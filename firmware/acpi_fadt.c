// SPDX-License-Identifier: GPL-2.0
/*
 * FADT (signature "FACP"), ACPI 6.4 section 5.2.9, revision 6 layout.
 *
 * kvmini is a full (not hardware-reduced) ACPI platform so that Linux uses
 * the fixed PM1 registers for S5 power-off and the SCI, which the VMM
 * emulates at PORT_PM1A_EVT/PORT_PM1A_CNT. There is no SMI: ACPI is always
 * enabled (PM1_CNT.SCI_EN reads 1), so SMI_CMD is 0 (section 5.2.9, SMI_CMD).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "firmware/acpi_tables.h"
#include "vmm/layout.h"

struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6 is 276 bytes");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "IAPC_BOOT_ARCH at 109");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "RESET_REG at 116");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "X_DSDT at 140");

#define FADT_REVISION 6
#define FADT_MINOR_VERSION 4	/* ACPI 6.4 */

/* Fixed feature flags, ACPI 6.4 section 5.2.9 (Flags field). */
#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_PWR_BUTTON (1u << 4)	/* set: no fixed-feature power button */
#define FADT_SLP_BUTTON (1u << 5)	/* set: no fixed-feature sleep button */
#define FADT_FIX_RTC (1u << 6)		/* set: no RTC wake status in PM1 */
#define FADT_RESET_REG_SUP (1u << 10)

/* IA-PC boot architecture flags, ACPI 6.4 section 5.2.9.3. */
#define BOOT_LEGACY_DEVICES (1u << 0)
#define BOOT_8042 (1u << 1)
#define BOOT_VGA_NOT_PRESENT (1u << 2)
#define BOOT_PCIE_ASPM_CONTROLS (1u << 4)

/* Worst-case latencies above these limits mean "C2/C3 not supported" (section 5.2.9). */
#define P_LVL2_NONE 101
#define P_LVL3_NONE 1001

static struct acpi_gas io_gas(uint16_t port, unsigned int len, uint8_t access)
{
	return (struct acpi_gas){
		.space_id = ACPI_GAS_SYSTEM_IO,
		.bit_width = len * 8,
		.access_size = access,
		.address = port,
	};
}

long acpi_build_fadt(uint8_t *buf, size_t size, const struct acpi_fadt_addrs *addrs)
{
	struct acpi_fadt f;

	if (size < sizeof(f))
		return -ENOSPC;
	if (addrs->dsdt > UINT32_MAX)
		return -EINVAL;
	memset(&f, 0, sizeof(f));
	acpi_header_init(&f.h, "FACP", FADT_REVISION);

	/*
	 * X_FIRMWARE_CTRL only: the spec wants it zero when FIRMWARE_CTRL is
	 * set. The 32-bit DSDT field is kept equal to X_DSDT for older readers.
	 */
	f.x_firmware_ctrl = addrs->facs;
	f.dsdt = addrs->dsdt;
	f.x_dsdt = addrs->dsdt;

	f.sci_int = ACPI_SCI_IRQ;
	f.smi_cmd = 0;
	f.pm1a_evt_blk = PORT_PM1A_EVT;
	f.pm1_evt_len = 4;	/* PM1_STS (2) + PM1_EN (2) */
	f.pm1a_cnt_blk = PORT_PM1A_CNT;
	f.pm1_cnt_len = 2;
	/* No PM timer is emulated; kvmclock and the TSC are the guest's clocks. */
	f.pm_tmr_len = 0;
	f.x_pm1a_evt_blk = io_gas(PORT_PM1A_EVT, 4, ACPI_GAS_ACCESS_WORD);
	f.x_pm1a_cnt_blk = io_gas(PORT_PM1A_CNT, 2, ACPI_GAS_ACCESS_WORD);
	f.p_lvl2_lat = P_LVL2_NONE;
	f.p_lvl3_lat = P_LVL3_NONE;

	/*
	 * LEGACY_DEVICES: COM1 is an ISA-style device. 8042 is left clear:
	 * there is no keyboard behind kvmini's controller, so a guest has no
	 * reason to drive it; the reboot path still writes 0xfe to port 0x64,
	 * and a guest that probes anyway (i8042.nopnp) gets quick answers that
	 * find no ports. No VGA, and no ASPM to manage. The CMOS RTC is present,
	 * with its century byte at the PC's index (CENTURY, 5.2.9).
	 */
	f.century = RTC_CENTURY_INDEX;
	f.iapc_boot_arch = BOOT_LEGACY_DEVICES | BOOT_VGA_NOT_PRESENT | BOOT_PCIE_ASPM_CONTROLS;
	f.flags = FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_FIX_RTC |
		  FADT_RESET_REG_SUP;
	f.reset_reg = io_gas(PORT_RESET, 1, ACPI_GAS_ACCESS_BYTE);
	f.reset_value = RESET_VALUE;
	f.minor_version = FADT_MINOR_VERSION;

	memcpy(buf, &f, sizeof(f));
	acpi_finish(buf, sizeof(f));
	return sizeof(f);
}
