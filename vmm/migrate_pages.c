// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "migrate_pages.h"

int page_sender_init(struct page_sender *ps, struct mig_stream *s,
		     const struct guest_memory *mem)
{
	memset(ps, 0, sizeof(*ps));
	ps->s = s;
	ps->mem = mem;
	ps->data = malloc(MIG_BATCH * GUEST_PAGE_SIZE);
	return ps->data ? 0 : -ENOMEM;
}

void page_sender_free(struct page_sender *ps)
{
	free(ps->data);
	ps->data = NULL;
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	size_t i;

	for (i = 0; i < GUEST_PAGE_SIZE / 8; i++)
		if (w[i])
			return false;
	return true;
}

static int flush_data(struct page_sender *ps)
{
	uint64_t count = ps->n;
	struct iovec iov[3] = {
		{ &count, sizeof(count) },
		{ ps->gpa, ps->n * sizeof(uint64_t) },
		{ ps->data, ps->n * GUEST_PAGE_SIZE },
	};
	int ret;

	if (!ps->n)
		return 0;
	ret = mig_write_recordv(ps->s, MIG_PAGES, iov, 3);
	ps->pages += ps->n;
	ps->n = 0;
	return ret;
}

static int flush_zeros(struct page_sender *ps)
{
	uint64_t count = ps->nzero;
	struct iovec iov[2] = {
		{ &count, sizeof(count) },
		{ ps->zero_gpa, ps->nzero * sizeof(uint64_t) },
	};
	int ret;

	if (!ps->nzero)
		return 0;
	ret = mig_write_recordv(ps->s, MIG_ZEROS, iov, 2);
	ps->zero_pages += ps->nzero;
	ps->nzero = 0;
	return ret;
}

int page_send(struct page_sender *ps, uint64_t gpa)
{
	const uint8_t *src = guest_ptr(ps->mem, gpa, GUEST_PAGE_SIZE);
	uint8_t *dst = ps->data + ps->n * GUEST_PAGE_SIZE;

	if (!src)
		return -EFAULT;
	/* Copy first: the checksum must cover the bytes that go out, not a moving page. */
	memcpy(dst, src, GUEST_PAGE_SIZE);
	if (page_is_zero(dst)) {
		ps->zero_gpa[ps->nzero++] = gpa;
		return ps->nzero == MIG_BATCH ? flush_zeros(ps) : 0;
	}
	ps->gpa[ps->n++] = gpa;
	return ps->n == MIG_BATCH ? flush_data(ps) : 0;
}

int page_send_flush(struct page_sender *ps)
{
	int ret = flush_data(ps);

	return ret ? ret : flush_zeros(ps);
}

int page_receive(const struct guest_memory *mem, uint32_t type, const void *payload,
		 uint64_t len, char *err, size_t errlen)
{
	const uint8_t *p = payload;
	uint64_t count, i, per = type == MIG_PAGES ? 8 + GUEST_PAGE_SIZE : 8;

	if (len < 8) {
		snprintf(err, errlen, "%s record of %llu bytes is too short",
			 mig_record_name(type), (unsigned long long)len);
		return -EPROTO;
	}
	memcpy(&count, p, 8);
	if (count > MIG_BATCH || len != 8 + count * per) {
		snprintf(err, errlen, "%s record: %llu pages do not fit %llu bytes",
			 mig_record_name(type), (unsigned long long)count,
			 (unsigned long long)len);
		return -EPROTO;
	}
	for (i = 0; i < count; i++) {
		uint64_t gpa;
		uint8_t *dst;

		memcpy(&gpa, p + 8 + i * 8, 8);
		dst = gpa & (GUEST_PAGE_SIZE - 1) ? NULL : guest_ptr(mem, gpa, GUEST_PAGE_SIZE);
		if (!dst) {
			snprintf(err, errlen, "page at %#llx is not guest RAM of this machine",
				 (unsigned long long)gpa);
			return -EPROTO;
		}
		if (type == MIG_PAGES)
			memcpy(dst, p + 8 + count * 8 + i * GUEST_PAGE_SIZE, GUEST_PAGE_SIZE);
		else
			memset(dst, 0, GUEST_PAGE_SIZE);
	}
	return 0;
}
