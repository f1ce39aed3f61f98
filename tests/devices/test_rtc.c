// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <libfdt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/rtc.h"
#include "vmm/bus.h"
#include "vmm/state.h"

static struct bus pio;
static struct rtc *rtc;

static void setup(void)
{
	cr_assert_eq(bus_init(&pio, "pio"), 0);
	rtc = rtc_create();
	cr_assert_not_null(rtc);
	cr_assert_eq(rtc_register(rtc, &pio), 0);
}

static void teardown(void)
{
	rtc_destroy(rtc);
	bus_destroy(&pio);
}

TestSuite(rtc, .init = setup, .fini = teardown);

static uint8_t cmos_read(uint8_t index)
{
	uint8_t v = index;

	cr_assert(bus_access(&pio, 0x70, &v, 1, true));
	cr_assert(bus_access(&pio, 0x71, &v, 1, false));
	return v;
}

static void cmos_write(uint8_t index, uint8_t val)
{
	cr_assert(bus_access(&pio, 0x70, &index, 1, true));
	cr_assert(bus_access(&pio, 0x71, &val, 1, true));
}

static unsigned int bcd(uint8_t v, const char *what)
{
	cr_assert_leq(v & 0x0f, 9, "%s %#x is not BCD", what, v);
	cr_assert_leq(v >> 4, 9, "%s %#x is not BCD", what, v);
	return (v >> 4) * 10 + (v & 0x0f);
}

/* Read the clock as Linux does: retry if the seconds changed meanwhile. */
static time_t read_clock(bool binary, struct tm *out)
{
	unsigned int (*dec)(uint8_t, const char *) = bcd;
	struct tm tm = { 0 };
	uint8_t sec;

	do {
		cr_assert_eq(cmos_read(0x0a) & 0x80, 0, "UIP never set");
		sec = cmos_read(0x00);
		if (binary) {
			tm.tm_sec = sec;
			tm.tm_min = cmos_read(0x02);
			tm.tm_hour = cmos_read(0x04);
			tm.tm_mday = cmos_read(0x07);
			tm.tm_mon = cmos_read(0x08) - 1;
			tm.tm_year = cmos_read(0x32) * 100 + cmos_read(0x09) - 1900;
			tm.tm_wday = cmos_read(0x06) - 1;
		} else {
			tm.tm_sec = dec(sec, "seconds");
			tm.tm_min = dec(cmos_read(0x02), "minutes");
			tm.tm_hour = dec(cmos_read(0x04), "hours");
			tm.tm_mday = dec(cmos_read(0x07), "day");
			tm.tm_mon = dec(cmos_read(0x08), "month") - 1;
			tm.tm_year = dec(cmos_read(0x32), "century") * 100 +
				     dec(cmos_read(0x09), "year") - 1900;
			tm.tm_wday = dec(cmos_read(0x06), "weekday") - 1;
		}
	} while (sec != cmos_read(0x00));
	cr_assert_geq(tm.tm_sec, 0);
	cr_assert_leq(tm.tm_sec, 59);
	cr_assert_leq(tm.tm_min, 59);
	cr_assert_leq(tm.tm_hour, 23);
	cr_assert_geq(tm.tm_mday, 1);
	cr_assert_leq(tm.tm_mday, 31);
	cr_assert_geq(tm.tm_mon, 0);
	cr_assert_leq(tm.tm_mon, 11);
	if (out)
		*out = tm;
	return timegm(&tm);
}

Test(rtc, status_registers)
{
	cr_assert_eq(cmos_read(0x0a), 0x26);
	cr_assert_eq(cmos_read(0x0b), 0x02, "24-hour BCD");
	cr_assert_eq(cmos_read(0x0c), 0);
	cr_assert_eq(cmos_read(0x0d), 0x80, "VRT");
	cmos_write(0x0a, 0xa6);
	cr_assert_eq(cmos_read(0x0a), 0x26, "UIP is read-only");
	cmos_write(0x0d, 0);
	cr_assert_eq(cmos_read(0x0d), 0x80);
}

Test(rtc, bcd_matches_host_time)
{
	struct tm tm, host;
	time_t now = time(NULL), t = read_clock(false, &tm);

	cr_assert_leq(labs((long)(t - now)), 2, "rtc %ld host %ld", (long)t, (long)now);
	gmtime_r(&t, &host);
	cr_assert_eq(tm.tm_wday, host.tm_wday, "day of week, 1 = Sunday");
}

Test(rtc, binary_mode_matches_host_time)
{
	cmos_write(0x0b, 0x06);
	cr_assert_leq(labs((long)(read_clock(true, NULL) - time(NULL))), 2);
}

Test(rtc, twelve_hour_mode)
{
	struct tm tm;
	uint8_t h;

	read_clock(false, &tm);
	cmos_write(0x0b, 0x00);
	h = cmos_read(0x04);
	cr_assert_eq(h & 0x80 ? 1 : 0, tm.tm_hour >= 12 ? 1 : 0, "PM bit");
	cr_assert_geq(bcd(h & 0x7f, "hour"), 1);
	cr_assert_leq(bcd(h & 0x7f, "hour"), 12);
	cr_assert_eq(bcd(h & 0x7f, "hour") % 12, (unsigned int)tm.tm_hour % 12);
}

Test(rtc, set_the_time)
{
	struct tm want = { .tm_year = 101, .tm_mon = 1, .tm_mday = 3, .tm_hour = 4,
			   .tm_min = 5, .tm_sec = 6 };
	struct tm got;

	cmos_write(0x0b, 0x82);	/* SET: the clock stops */
	cmos_write(0x00, 0x06);
	cmos_write(0x02, 0x05);
	cmos_write(0x04, 0x04);
	cmos_write(0x07, 0x03);
	cmos_write(0x08, 0x02);
	cmos_write(0x09, 0x01);
	cmos_write(0x32, 0x20);
	cr_assert_eq(cmos_read(0x09), 0x01);
	cr_assert_eq(cmos_read(0x00), 0x06, "frozen while SET");
	cmos_write(0x0b, 0x02);
	cr_assert_leq(labs((long)(read_clock(false, &got) - timegm(&want))), 2);
	cr_assert_eq(got.tm_year, 101);
	cr_assert_eq(got.tm_wday, 6, "3 Feb 2001 was a Saturday");
}

Test(rtc, cmos_ram_and_nmi_bit)
{
	cmos_write(0x40, 0x5a);
	cr_assert_eq(cmos_read(0x40), 0x5a);
	cr_assert_eq(cmos_read(0xc0), 0x5a, "index bit 7 is the NMI mask");
	cmos_write(0xff, 0x11);
	cr_assert_eq(cmos_read(0x7f), 0x11);
	cmos_write(0x01, 0x30);
	cr_assert_eq(cmos_read(0x01), 0x30, "alarm registers are plain storage");
	cr_assert_eq(rtc_cmos_set(rtc, 0x34, 0x77), 0);
	cr_assert_eq(cmos_read(0x34), 0x77);
	cr_assert_eq(rtc_cmos_set(rtc, 0x09, 1), -EINVAL);
	cr_assert_eq(rtc_cmos_set(rtc, 0x32, 1), -EINVAL);
	cr_assert_eq(rtc_cmos_set(rtc, 0x80, 1), -EINVAL);
}

Test(rtc, word_access_sets_index_then_data)
{
	uint8_t w[2] = { 0x41, 0x99 };

	cr_assert(bus_access(&pio, 0x70, w, 2, true));
	cr_assert_eq(cmos_read(0x41), 0x99);
}

Test(rtc, any_guest_writes_keep_it_sane)
{
	/* Every value into every register: nothing crashes, the clock stays readable. */
	for (unsigned int i = 0; i < 128; i++) {
		if (i == 0x0b)
			continue;
		for (unsigned int v = 0; v < 256; v++)
			cmos_write(i, v);
	}
	cmos_write(0x0b, 0x06);
	for (unsigned int i = 0; i < 10; i++)
		cmos_read(i);
	cmos_write(0x0b, 0x02);
	read_clock(false, NULL);
}

/* Snapshot and migration state: save into a blob, restore into a fresh RTC. */

#define STATE_SIZE 4096

static void save_rtc(void *buf)
{
	cr_assert_eq(state_begin(buf, STATE_SIZE), 0);
	cr_assert_eq(state_node_begin(buf, "rtc"), 0);
	cr_assert_eq(rtc_save(rtc, buf), 0);
	cr_assert_eq(state_node_end(buf), 0);
	cr_assert_eq(state_finish(buf), 0);
	cr_assert_eq(state_check(buf, fdt_totalsize(buf)), 0, "%s", state_error());
}

static int restore_rtc(const void *buf)
{
	int node = state_node(buf, 0, "rtc");

	cr_assert_geq(node, 0);
	return rtc_restore(rtc, buf, node);
}

static void replace_rtc(void)
{
	cr_assert_eq(bus_unregister(&pio, 0x70, rtc), 0);
	rtc_destroy(rtc);
	rtc = rtc_create();
	cr_assert_not_null(rtc);
	cr_assert_eq(rtc_register(rtc, &pio), 0);
}

/* A copy of blob with prop set to val (len bytes), or removed when val is NULL. */
static const void *rtc_blob_with(const void *blob, const char *prop, const void *val, int len)
{
	static uint8_t buf[STATE_SIZE];
	int node;

	cr_assert_eq(fdt_open_into(blob, buf, sizeof(buf)), 0);
	node = fdt_subnode_offset(buf, 0, "rtc");
	cr_assert_geq(node, 0);
	if (val)
		cr_assert_eq(fdt_setprop(buf, node, prop, val, len), 0);
	else
		cr_assert_eq(fdt_delprop(buf, node, prop), 0);
	cr_assert_eq(fdt_pack(buf), 0);
	return buf;
}

/* 3 Feb 2001 04:05:06 UTC, set as Linux's mc146818_set_time() does, in BCD. */
static time_t set_2001(void)
{
	struct tm want = { .tm_year = 101, .tm_mon = 1, .tm_mday = 3, .tm_hour = 4,
			   .tm_min = 5, .tm_sec = 6 };

	cmos_write(0x0b, 0x82);
	cmos_write(0x00, 0x06);
	cmos_write(0x02, 0x05);
	cmos_write(0x04, 0x04);
	cmos_write(0x07, 0x03);
	cmos_write(0x08, 0x02);
	cmos_write(0x09, 0x01);
	cmos_write(0x32, 0x20);
	return timegm(&want);
}

/* The data port alone: reads whatever the index register selects. */
static uint8_t data_read(void)
{
	uint8_t v;

	cr_assert(bus_access(&pio, 0x71, &v, 1, false));
	return v;
}

Test(rtc, state_round_trip_keeps_ram_registers_and_guest_time)
{
	static uint8_t src[STATE_SIZE];
	time_t want = set_2001();

	cmos_write(0x0b, 0x06);		/* SET off (the clock runs), binary, 24 hour */
	cmos_write(0x0a, 0x2a);
	cmos_write(0x01, 0x30);
	cmos_write(0x7f, 0x11);
	cmos_write(0x40, 0x5a);		/* leaves the index at 0x40 */
	save_rtc(src);

	replace_rtc();
	cr_assert_eq(restore_rtc(src), 0, "%s", state_error());
	/* A fresh RTC's index is 0, the seconds, which are never 0x5a (not BCD, over 59). */
	cr_assert_eq(data_read(), 0x5a, "the index register survived");
	cr_assert_eq(cmos_read(0x0a), 0x2a);
	cr_assert_eq(cmos_read(0x0b), 0x06);
	cr_assert_eq(cmos_read(0x01), 0x30);
	cr_assert_eq(cmos_read(0x7f), 0x11);
	cr_assert_leq(labs((long)(read_clock(true, NULL) - want)), 2,
		      "the guest's time, not the host's");
}

Test(rtc, state_clock_offset_is_relative_to_host_utc)
{
	static uint8_t src[STATE_SIZE];
	/* A day ahead of host UTC, as the source would have saved it. */
	const fdt64_t day = cpu_to_fdt64(86400);

	save_rtc(src);
	cr_assert_eq(restore_rtc(rtc_blob_with(src, "clock-offset", &day, sizeof(day))), 0,
		     "%s", state_error());
	cr_assert_leq(labs((long)(read_clock(false, NULL) - (time(NULL) + 86400))), 2);
}

Test(rtc, state_round_trip_while_the_clock_is_stopped)
{
	static uint8_t src[STATE_SIZE];
	time_t want = set_2001();

	save_rtc(src);		/* SET still on: the guest is between writes */
	replace_rtc();
	cr_assert_eq(restore_rtc(src), 0, "%s", state_error());
	cr_assert_eq(cmos_read(0x0b), 0x82);
	cr_assert_eq(cmos_read(0x00), 0x06, "still frozen at the time the guest wrote");
	cr_assert_eq(cmos_read(0x09), 0x01);
	cmos_write(0x0b, 0x02);
	cr_assert_leq(labs((long)(read_clock(false, NULL) - want)), 2);
}

Test(rtc, state_bad_blobs_leave_the_rtc_alone)
{
	static uint8_t src[STATE_SIZE], after[STATE_SIZE], cmos127[127], cmos129[129];
	/* Integers are big-endian cells, as state_put_u32()/u64() write them. */
	const struct {
		const char *prop;
		const void *val;	/* NULL: the property is missing */
		int len;
	} cases[] = {
		{ "cmos", NULL, 0 },
		{ "frozen-time", NULL, 0 },
		{ "cmos", cmos127, sizeof(cmos127) },
		{ "cmos", cmos129, sizeof(cmos129) },
		{ "index", "\0\0\0\x80", 4 },
		{ "reg-a", "\0\0\0\xa6", 4 },		/* UIP never latches */
		{ "reg-b", "\0\0\x01\x02", 4 },
		{ "clock-offset", "\x40\0\0\0\0\0\0\0", 8 },
		{ "frozen-time", "\xc0\0\0\0\0\0\0\0", 8 },
		{ "clock-offset", "\0\0\0\0", 4 },
	};
	unsigned int i;

	set_2001();
	cmos_write(0x0b, 0x02);
	cmos_write(0x40, 0x5a);
	save_rtc(src);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *prop = cases[i].prop;
		int ret;

		state_fail("%s", "");
		ret = restore_rtc(rtc_blob_with(src, prop, cases[i].val, cases[i].len));
		cr_assert_eq(ret, -EINVAL, "case %u (%s): %d", i, prop, ret);
		cr_assert(strstr(state_error(), prop), "case %u: error '%s'", i, state_error());
		save_rtc(after);
		cr_assert_eq(fdt_totalsize(after), fdt_totalsize(src));
		cr_assert_eq(memcmp(after, src, fdt_totalsize(src)), 0, "case %u: RTC changed", i);
	}
	cr_assert_eq(cmos_read(0x40), 0x5a);
	cr_assert_eq(cmos_read(0x09), 0x01, "still in 2001");
}
