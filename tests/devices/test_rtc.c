// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "devices/rtc.h"
#include "vmm/bus.h"

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
