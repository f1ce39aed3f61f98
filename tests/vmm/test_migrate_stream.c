// SPDX-License-Identifier: GPL-2.0
/*
 * The migration stream as a destination sees it from a hostile or broken
 * peer: records round-trip with their checksums, and a truncated, damaged,
 * foreign or out-of-range stream is refused with a line that says why.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/memory.h"
#include "vmm/migrate_pages.h"
#include "vmm/migrate_stream.h"

static int sv[2];
static struct mig_stream tx, rx;
static struct guest_memory src, dst;

static void setup(void)
{
	/* Room for a whole batch in flight without a reader thread. */
	int sz = 8 << 20;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	memset(&tx, 0, sizeof(tx));
	memset(&rx, 0, sizeof(rx));
	tx.fd = sv[0];
	rx.fd = sv[1];
	cr_assert_eq(guest_memory_init(&src, 16 << 20, false), 0);
	cr_assert_eq(guest_memory_init(&dst, 16 << 20, false), 0);
}

static void teardown(void)
{
	close(sv[0]);
	close(sv[1]);
	guest_memory_free(&src);
	guest_memory_free(&dst);
}

TestSuite(migrate_stream, .init = setup, .fini = teardown);

Test(migrate_stream, pages_and_zeros_round_trip)
{
	struct page_sender ps;
	struct mig_rec_hdr h;
	void *buf = NULL;
	size_t cap = 0;
	char err[256];
	uint64_t i;

	for (i = 0; i < 8; i++)
		memset(guest_ptr(&src, 0x100000 + i * 4096, 4096), (int)(i + 1), 4096);
	/* A page the destination has dirty from an earlier round must come back zero. */
	memset(guest_ptr(&dst, 0x200000, 4096), 0x55, 4096);

	cr_assert_eq(mig_write_header(&tx), 0);
	cr_assert_eq(page_sender_init(&ps, &tx, &src), 0);
	for (i = 0; i < 8; i++)
		cr_assert_eq(page_send(&ps, 0x100000 + i * 4096), 0);
	cr_assert_eq(page_send(&ps, 0x200000), 0);
	cr_assert_eq(page_send_flush(&ps), 0);
	cr_assert_eq(ps.pages, 8);
	cr_assert_eq(ps.zero_pages, 1);
	page_sender_free(&ps);

	cr_assert_eq(mig_read_header(&rx), 0, "%s", rx.err);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(mig_read_record(&rx, &h, &buf, &cap), 0, "%s", rx.err);
		cr_assert(h.type == MIG_PAGES || h.type == MIG_ZEROS);
		cr_assert_eq(page_receive(&dst, h.type, buf, h.len, err, sizeof(err)), 0, "%s", err);
	}
	cr_assert_eq(memcmp(guest_ptr(&src, 0x100000, 8 * 4096), guest_ptr(&dst, 0x100000, 8 * 4096),
			    8 * 4096), 0);
	cr_assert_eq(*(uint8_t *)guest_ptr(&dst, 0x200000 + 100, 1), 0);
	cr_assert_eq(tx.bytes, rx.bytes);
	free(buf);
}

Test(migrate_stream, damaged_record_fails_its_checksum)
{
	struct mig_rec_hdr h = { .type = MIG_STATE, .crc = 0x12345678, .len = 4 };
	void *buf = NULL;
	size_t cap = 0;

	cr_assert_eq(write(sv[0], &h, sizeof(h)), sizeof(h));
	cr_assert_eq(write(sv[0], "abcd", 4), 4);
	cr_assert_eq(mig_read_record(&rx, &h, &buf, &cap), -EPROTO);
	cr_assert(strstr(rx.err, "STATE record at byte 0 fails its checksum"), "%s", rx.err);
	free(buf);
}

Test(migrate_stream, truncated_record_is_refused)
{
	struct mig_rec_hdr h;
	void *buf = NULL;
	size_t cap = 0;

	cr_assert_eq(mig_write_record(&tx, MIG_STATE, "0123456789", 10), 0);
	/* Keep the header and half the payload, as if the source died. */
	{
		char all[64];
		ssize_t n = read(sv[1], all, sizeof(all));

		cr_assert_eq(n, 16 + 10);
		close(sv[0]);
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		cr_assert_eq(write(sv[0], all, 16 + 5), 16 + 5);
		close(sv[0]);
		rx.fd = sv[1];
	}
	cr_assert_eq(mig_read_record(&rx, &h, &buf, &cap), -EPROTO);
	cr_assert(strstr(rx.err, "ended inside a STATE record"), "%s", rx.err);
	free(buf);
}

Test(migrate_stream, foreign_and_newer_streams_are_refused)
{
	char junk[24] = "GET / HTTP/1.1\r\n\r\n";
	uint32_t hdr[6];

	cr_assert_eq(write(sv[0], junk, sizeof(junk)), sizeof(junk));
	cr_assert_eq(mig_read_header(&rx), -EPROTO);
	cr_assert(strstr(rx.err, "not a kvmini migration stream"), "%s", rx.err);

	memcpy(hdr, MIG_MAGIC, 16);
	hdr[4] = MIG_VERSION + 1;
	hdr[5] = 4096;
	cr_assert_eq(write(sv[0], hdr, sizeof(hdr)), sizeof(hdr));
	cr_assert_eq(mig_read_header(&rx), -EPROTO);
	cr_assert(strstr(rx.err, "stream version 2"), "%s", rx.err);

	close(sv[0]);
	cr_assert_eq(mig_read_header(&rx), -EPROTO);
	cr_assert(strstr(rx.err, "ended before its header"), "%s", rx.err);
}

Test(migrate_stream, oversized_and_unknown_records_are_refused)
{
	struct mig_rec_hdr h = { .type = MIG_PAGES, .len = MIG_MAX_RECORD + 1 };
	void *buf = NULL;
	size_t cap = 0;

	cr_assert_eq(write(sv[0], &h, sizeof(h)), sizeof(h));
	cr_assert_eq(mig_read_record(&rx, &h, &buf, &cap), -EPROTO);
	cr_assert(strstr(rx.err, "bad record"), "%s", rx.err);
	h = (struct mig_rec_hdr){ .type = 99, .len = 0 };
	cr_assert_eq(write(sv[0], &h, sizeof(h)), sizeof(h));
	cr_assert_eq(mig_read_record(&rx, &h, &buf, &cap), -EPROTO);
	cr_assert_null(buf, "nothing allocated for a refused record");
}

Test(migrate_stream, pages_outside_ram_or_miscounted_are_refused)
{
	uint8_t rec[8 + 8 + 4096] = { 0 };
	uint64_t count = 1, gpa;
	char err[256];

	memcpy(rec, &count, 8);
	gpa = 0xc0000000; /* the MMIO hole */
	memcpy(rec + 8, &gpa, 8);
	cr_assert_eq(page_receive(&dst, MIG_PAGES, rec, sizeof(rec), err, sizeof(err)), -EPROTO);
	cr_assert(strstr(err, "0xc0000000 is not guest RAM"), "%s", err);
	gpa = 0x100800; /* not page-aligned */
	memcpy(rec + 8, &gpa, 8);
	cr_assert_eq(page_receive(&dst, MIG_PAGES, rec, sizeof(rec), err, sizeof(err)), -EPROTO);
	gpa = (16 << 20) - 4096; /* the last page: fine */
	memcpy(rec + 8, &gpa, 8);
	cr_assert_eq(page_receive(&dst, MIG_PAGES, rec, sizeof(rec), err, sizeof(err)), 0, "%s", err);
	count = 2; /* says two, carries one */
	memcpy(rec, &count, 8);
	cr_assert_eq(page_receive(&dst, MIG_PAGES, rec, sizeof(rec), err, sizeof(err)), -EPROTO);
	count = 1ULL << 60; /* overflow bait */
	memcpy(rec, &count, 8);
	cr_assert_eq(page_receive(&dst, MIG_ZEROS, rec, 16, err, sizeof(err)), -EPROTO);
}
