// SPDX-License-Identifier: GPL-2.0
/*
 * MC146818 RTC (Motorola MC146818A datasheet; register names as in Linux's
 * include/linux/mc146818rtc.h). The clock is the host's CLOCK_REALTIME as
 * UTC plus an offset that changes only when the guest sets the time.
 * The update cycle is never observed: UIP always reads 0, so readers that
 * poll UIP before reading (Linux's mc146818_avoid_UIP()) go straight on;
 * they re-read the seconds to catch a tick in between, which can happen.
 *
 * Setting the time: with register B's SET bit the clock freezes at the
 * moment SET was written and guest writes change the frozen time; clearing
 * SET starts it again from there. A time register written without SET
 * takes effect at once. Periodic, alarm and update interrupts are not
 * implemented: their enable bits are stored and register C reads 0.
 *
 * Locking: vCPU threads only; rtc->lock guards the state.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../vmm/bus.h"
#include "../vmm/state.h"
#include "rtc.h"

#define RTC_SECONDS 0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES 0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS 0x04
#define RTC_HOURS_ALARM 0x05
#define RTC_DAY_OF_WEEK 0x06
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_FIRST_RAM 0x0e

#define REG_A_UIP 0x80
/* 32.768 kHz time base, 1024 Hz periodic rate: what a PC BIOS programs. */
#define REG_A_DEFAULT 0x26
#define REG_B_SET 0x80
#define REG_B_DM_BINARY 0x04
#define REG_B_24H 0x02
#define REG_D_VRT 0x80	/* valid RAM and time: the battery is fine */
#define HOUR_PM 0x80	/* 12-hour mode */

#define INDEX_MASK 0x7f	/* bit 7 of the index port masks NMI on a PC */

/*
 * Bound on a restored clock offset or frozen time, in seconds (about 70000
 * years). The guest cannot get further than about year 25600 (century and
 * year registers 0xff, binary mode), far inside it; the bound keeps
 * host_now() + offset from overflowing.
 */
#define RTC_MAX_TIME (INT64_C(1) << 41)

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t reg_a, reg_b;
	int64_t offset;		/* guest time - host time, seconds */
	time_t frozen;		/* the guest's time while SET is on */
	uint8_t cmos[RTC_CMOS_SIZE];
};

static time_t host_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

static time_t rtc_now(const struct rtc *rtc)
{
	if (rtc->reg_b & REG_B_SET)
		return rtc->frozen;
	return host_now() + rtc->offset;
}

static uint8_t to_bcd(unsigned int v)
{
	return ((v / 10) % 10) << 4 | (v % 10);
}

static unsigned int from_bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t rtc_encode(const struct rtc *rtc, unsigned int v)
{
	return rtc->reg_b & REG_B_DM_BINARY ? v : to_bcd(v);
}

static unsigned int rtc_decode(const struct rtc *rtc, uint8_t v)
{
	return rtc->reg_b & REG_B_DM_BINARY ? v : from_bcd(v);
}

static uint8_t rtc_encode_hour(const struct rtc *rtc, unsigned int hour)
{
	unsigned int h12;

	if (rtc->reg_b & REG_B_24H)
		return rtc_encode(rtc, hour);
	h12 = hour % 12 ? hour % 12 : 12;
	return rtc_encode(rtc, h12) | (hour >= 12 ? HOUR_PM : 0);
}

static unsigned int rtc_decode_hour(const struct rtc *rtc, uint8_t v)
{
	if (rtc->reg_b & REG_B_24H)
		return rtc_decode(rtc, v);
	return rtc_decode(rtc, v & ~HOUR_PM) % 12 + (v & HOUR_PM ? 12 : 0);
}

static bool is_time_reg(uint8_t index)
{
	switch (index) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_WEEK:
	case RTC_DAY_OF_MONTH:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY_INDEX:
		return true;
	}
	return false;
}

static uint8_t rtc_read_time(const struct rtc *rtc, uint8_t index)
{
	time_t t = rtc_now(rtc);
	struct tm tm = { 0 };

	gmtime_r(&t, &tm);
	switch (index) {
	case RTC_SECONDS:
		return rtc_encode(rtc, tm.tm_sec);
	case RTC_MINUTES:
		return rtc_encode(rtc, tm.tm_min);
	case RTC_HOURS:
		return rtc_encode_hour(rtc, tm.tm_hour);
	case RTC_DAY_OF_WEEK:
		return rtc_encode(rtc, tm.tm_wday + 1);	/* 1 = Sunday */
	case RTC_DAY_OF_MONTH:
		return rtc_encode(rtc, tm.tm_mday);
	case RTC_MONTH:
		return rtc_encode(rtc, tm.tm_mon + 1);
	case RTC_YEAR:
		return rtc_encode(rtc, (tm.tm_year + 1900) % 100);
	default: /* RTC_CENTURY_INDEX */
		return rtc_encode(rtc, (tm.tm_year + 1900) / 100);
	}
}

/*
 * The guest sets one field. Out-of-range values (bad BCD, month 0) are
 * normalised by timegm() like any carry; every input is below 256, so
 * nothing overflows.
 */
static void rtc_write_time(struct rtc *rtc, uint8_t index, uint8_t val)
{
	time_t t = rtc_now(rtc);
	unsigned int v;
	struct tm tm = { 0 };

	if (!gmtime_r(&t, &tm))
		return;
	v = index == RTC_HOURS ? rtc_decode_hour(rtc, val) : rtc_decode(rtc, val);
	switch (index) {
	case RTC_SECONDS:
		tm.tm_sec = v;
		break;
	case RTC_MINUTES:
		tm.tm_min = v;
		break;
	case RTC_HOURS:
		tm.tm_hour = v;
		break;
	case RTC_DAY_OF_WEEK:
		/* Derived from the date here; Linux ignores it too. */
		return;
	case RTC_DAY_OF_MONTH:
		tm.tm_mday = v;
		break;
	case RTC_MONTH:
		tm.tm_mon = (int)v - 1;
		break;
	case RTC_YEAR:
		tm.tm_year = (tm.tm_year + 1900) / 100 * 100 + v - 1900;
		break;
	default: /* RTC_CENTURY_INDEX */
		tm.tm_year = v * 100 + (tm.tm_year + 1900) % 100 - 1900;
		break;
	}
	t = timegm(&tm);
	if (t == (time_t)-1)
		return;
	if (rtc->reg_b & REG_B_SET)
		rtc->frozen = t;
	else
		rtc->offset = (int64_t)t - host_now();
}

static void rtc_write_reg_b(struct rtc *rtc, uint8_t val)
{
	bool was_set = rtc->reg_b & REG_B_SET, set = val & REG_B_SET;

	if (!was_set && set)
		rtc->frozen = rtc_now(rtc);
	else if (was_set && !set)
		rtc->offset = (int64_t)rtc->frozen - host_now();
	rtc->reg_b = val;
}

static uint8_t rtc_read(struct rtc *rtc, uint8_t index)
{
	if (is_time_reg(index))
		return rtc_read_time(rtc, index);
	switch (index) {
	case RTC_REG_A:
		return rtc->reg_a;	/* UIP is never set */
	case RTC_REG_B:
		return rtc->reg_b;
	case RTC_REG_C:
		return 0;		/* no interrupt flags: nothing raises them */
	case RTC_REG_D:
		return REG_D_VRT;
	}
	return rtc->cmos[index];	/* alarms and RAM */
}

static void rtc_write(struct rtc *rtc, uint8_t index, uint8_t val)
{
	if (is_time_reg(index)) {
		rtc_write_time(rtc, index, val);
		return;
	}
	switch (index) {
	case RTC_REG_A:
		rtc->reg_a = val & ~REG_A_UIP;
		return;
	case RTC_REG_B:
		rtc_write_reg_b(rtc, val);
		return;
	case RTC_REG_C:
	case RTC_REG_D:
		return;		/* read-only */
	}
	rtc->cmos[index] = val;
}

/* Offset 0 is the index port, 1 the data port; a 16-bit access is both in turn. */
static void rtc_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct rtc *rtc = opaque;
	uint32_t i;

	pthread_mutex_lock(&rtc->lock);
	for (i = 0; i < len && offset + i < 2; i++) {
		if (offset + i == 0) {
			/* The index port is write-only; reads float (pre-filled ones). */
			if (is_write)
				rtc->index = data[i] & INDEX_MASK;
		} else if (is_write) {
			rtc_write(rtc, rtc->index, data[i]);
		} else {
			data[i] = rtc_read(rtc, rtc->index);
		}
	}
	pthread_mutex_unlock(&rtc->lock);
}

int rtc_cmos_set(struct rtc *rtc, uint8_t index, uint8_t val)
{
	if (index < RTC_FIRST_RAM || index >= RTC_CMOS_SIZE || is_time_reg(index))
		return -EINVAL;
	pthread_mutex_lock(&rtc->lock);
	rtc->cmos[index] = val;
	pthread_mutex_unlock(&rtc->lock);
	return 0;
}

/*
 * State node: index, reg-a, reg-b, cmos (the 128 RAM bytes; those at clock
 * and status register indexes are never read), clock-offset (guest time
 * minus host UTC, seconds, two's complement) and frozen-time (the guest's
 * time while register B's SET bit stops the clock, seconds since the epoch).
 */
int rtc_save(struct rtc *rtc, void *fdt)
{
	int ret;

	pthread_mutex_lock(&rtc->lock);
	ret = state_put_u32(fdt, "index", rtc->index);
	if (!ret)
		ret = state_put_u32(fdt, "reg-a", rtc->reg_a);
	if (!ret)
		ret = state_put_u32(fdt, "reg-b", rtc->reg_b);
	if (!ret)
		ret = state_put_blob(fdt, "cmos", rtc->cmos, sizeof(rtc->cmos));
	if (!ret)
		ret = state_put_u64(fdt, "clock-offset", (uint64_t)rtc->offset);
	if (!ret)
		ret = state_put_u64(fdt, "frozen-time", (uint64_t)(int64_t)rtc->frozen);
	pthread_mutex_unlock(&rtc->lock);
	return ret;
}

static int get_seconds(const void *fdt, int node, const char *name, int64_t *v)
{
	uint64_t raw;
	int ret = state_get_u64(fdt, node, name, &raw);

	if (ret)
		return ret;
	*v = (int64_t)raw;
	if (*v > RTC_MAX_TIME || *v < -RTC_MAX_TIME)
		return state_fail("rtc/%s: %" PRId64 " seconds out of range", name, *v);
	return 0;
}

int rtc_restore(struct rtc *rtc, const void *fdt, int node)
{
	uint8_t cmos[RTC_CMOS_SIZE];
	uint32_t index, reg_a, reg_b;
	int64_t offset, frozen;
	int ret;

	ret = state_get_u32(fdt, node, "index", &index);
	if (!ret && index > INDEX_MASK)
		ret = state_fail("rtc/index: %#x out of range", index);
	if (!ret)
		ret = state_get_u32(fdt, node, "reg-a", &reg_a);
	/* UIP is never latched (rtc_write()): a set UIP is a value this RTC cannot hold. */
	if (!ret && (reg_a > 0xff || (reg_a & REG_A_UIP)))
		ret = state_fail("rtc/reg-a: %#x out of range", reg_a);
	if (!ret)
		ret = state_get_u32(fdt, node, "reg-b", &reg_b);
	if (!ret && reg_b > 0xff)
		ret = state_fail("rtc/reg-b: %#x out of range", reg_b);
	if (!ret)
		ret = state_get_blob(fdt, node, "cmos", cmos, sizeof(cmos));
	if (!ret)
		ret = get_seconds(fdt, node, "clock-offset", &offset);
	if (!ret)
		ret = get_seconds(fdt, node, "frozen-time", &frozen);
	if (ret)
		return ret;

	pthread_mutex_lock(&rtc->lock);
	rtc->index = index;
	rtc->reg_a = reg_a;
	rtc->reg_b = reg_b;
	memcpy(rtc->cmos, cmos, sizeof(cmos));
	rtc->offset = offset;
	rtc->frozen = frozen;
	pthread_mutex_unlock(&rtc->lock);
	return 0;
}

int rtc_register(struct rtc *rtc, struct bus *pio)
{
	return bus_register(pio, PORT_RTC_INDEX, 2, rtc_io, rtc, "rtc");
}

struct rtc *rtc_create(void)
{
	struct rtc *rtc = calloc(1, sizeof(*rtc));

	if (!rtc)
		return NULL;
	if (pthread_mutex_init(&rtc->lock, NULL)) {
		free(rtc);
		return NULL;
	}
	rtc->reg_a = REG_A_DEFAULT;
	rtc->reg_b = REG_B_24H;
	return rtc;
}

void rtc_destroy(struct rtc *rtc)
{
	if (!rtc)
		return;
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}
