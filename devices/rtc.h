/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MC146818 RTC and CMOS RAM at ports 0x70 (index) and 0x71 (data). The
 * clock reads the host's UTC time (plus whatever offset the guest sets);
 * no interrupts. See rtc.c.
 */
#ifndef KVMINI_RTC_H
#define KVMINI_RTC_H

#include <stdint.h>

struct bus;
struct rtc;

#define PORT_RTC_INDEX 0x70
#define RTC_CMOS_SIZE 128
#include "../vmm/layout.h"	/* RTC_CENTURY_INDEX */

struct rtc *rtc_create(void);
void rtc_destroy(struct rtc *rtc);
/* Claims ports 0x70 and 0x71. */
int rtc_register(struct rtc *rtc, struct bus *pio);

/*
 * Preset a CMOS RAM byte (index 0x0e-0x7f, except the century byte) before
 * the guest runs, e.g. for firmware that reads memory sizes from CMOS.
 * -EINVAL for an index that is a clock register.
 */
int rtc_cmos_set(struct rtc *rtc, uint8_t index, uint8_t val);

/*
 * Snapshot and migration state (vmm/state.h), with the guest paused: CMOS
 * RAM, the index register, registers A and B, and the clock as its offset
 * from host UTC (which source and destination share), so the guest's time
 * carries on from where it was, advanced by the time the migration took.
 * On -EINVAL (state_error() says why) rtc_restore() leaves the RTC alone.
 */
int rtc_save(struct rtc *rtc, void *fdt);
int rtc_restore(struct rtc *rtc, const void *fdt, int node);

#endif
