// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "memory.h"
#include "migrate_stream.h"

struct mig_header {
	char magic[16];
	uint32_t version;
	uint32_t page_size;
};

const char *mig_record_name(uint32_t type)
{
	static const char *const names[] = {
		[MIG_CONFIG] = "CONFIG", [MIG_PAGES] = "PAGES",	  [MIG_ZEROS] = "ZEROS",
		[MIG_ROUND] = "ROUND",	 [MIG_STATE] = "STATE",	  [MIG_READY] = "READY",
		[MIG_COMMIT] = "COMMIT", [MIG_RUNNING] = "RUNNING",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "unknown";
}

static int stream_fail(struct mig_stream *s, int ret, const char *what)
{
	snprintf(s->err, sizeof(s->err), "%s: %s", what, strerror(-ret));
	return ret;
}

/* Write every byte of iov, resuming after short writes and EINTR. */
static int write_full(struct mig_stream *s, struct iovec *iov, int iovcnt)
{
	while (iovcnt > 0) {
		ssize_t n = writev(s->fd, iov, iovcnt > IOV_MAX ? IOV_MAX : iovcnt);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s->bytes += n;
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= n;
		}
	}
	return 0;
}

/* 0 with len bytes read, -EPIPE at end of stream before the first byte, -EPROTO after it. */
static int read_full(struct mig_stream *s, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(s->fd, (uint8_t *)buf + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return got ? -EPROTO : -EPIPE;
		got += n;
		s->bytes += n;
	}
	return 0;
}

int mig_write_header(struct mig_stream *s)
{
	struct mig_header h = { .version = MIG_VERSION, .page_size = GUEST_PAGE_SIZE };
	struct iovec iov = { &h, sizeof(h) };
	int ret;

	memcpy(h.magic, MIG_MAGIC, sizeof(h.magic));
	ret = write_full(s, &iov, 1);
	return ret ? stream_fail(s, ret, "sending the stream header") : 0;
}

int mig_read_header(struct mig_stream *s)
{
	struct mig_header h;
	int ret = read_full(s, &h, sizeof(h));

	if (ret == -EPIPE || ret == -EPROTO) {
		snprintf(s->err, sizeof(s->err), "the stream ended before its header");
		return -EPROTO;
	}
	if (ret)
		return stream_fail(s, ret, "reading the stream header");
	if (memcmp(h.magic, MIG_MAGIC, sizeof(h.magic))) {
		snprintf(s->err, sizeof(s->err), "not a kvmini migration stream or snapshot");
		return -EPROTO;
	}
	if (h.version != MIG_VERSION) {
		snprintf(s->err, sizeof(s->err),
			 "stream version %u, this kvmini reads version %u only", h.version,
			 MIG_VERSION);
		return -EPROTO;
	}
	if (h.page_size != GUEST_PAGE_SIZE) {
		snprintf(s->err, sizeof(s->err), "stream page size %u, expected %llu",
			 h.page_size, GUEST_PAGE_SIZE);
		return -EPROTO;
	}
	return 0;
}

int mig_write_recordv(struct mig_stream *s, uint32_t type, const struct iovec *iov, int iovcnt)
{
	struct iovec v[MIG_BATCH + 4];
	struct mig_rec_hdr h = { .type = type };
	uLong crc = crc32(0L, Z_NULL, 0);
	int i, ret;

	if (iovcnt > MIG_BATCH + 3)
		return stream_fail(s, -E2BIG, "building a record");
	for (i = 0; i < iovcnt; i++) {
		crc = crc32(crc, iov[i].iov_base, iov[i].iov_len);
		h.len += iov[i].iov_len;
		v[i + 1] = iov[i];
	}
	h.crc = (uint32_t)crc;
	v[0] = (struct iovec){ &h, sizeof(h) };
	ret = write_full(s, v, iovcnt + 1);
	if (ret) {
		char what[64];

		snprintf(what, sizeof(what), "sending %s", mig_record_name(type));
		return stream_fail(s, ret, what);
	}
	return 0;
}

int mig_write_record(struct mig_stream *s, uint32_t type, const void *payload, uint64_t len)
{
	struct iovec iov = { (void *)payload, len };

	return mig_write_recordv(s, type, &iov, len ? 1 : 0);
}

int mig_read_record(struct mig_stream *s, struct mig_rec_hdr *h, void **buf, size_t *cap)
{
	int ret = read_full(s, h, sizeof(*h));

	if (ret == -EPIPE) {
		snprintf(s->err, sizeof(s->err), "the stream ended");
		return ret;
	}
	if (ret == -EPROTO) {
		snprintf(s->err, sizeof(s->err), "the stream ended inside a record header");
		return ret;
	}
	if (ret)
		return stream_fail(s, ret, "reading the stream");
	if (h->type < MIG_CONFIG || h->type > MIG_RUNNING || h->len > MIG_MAX_RECORD) {
		snprintf(s->err, sizeof(s->err), "bad record (type %u, %llu bytes) at byte %llu",
			 h->type, (unsigned long long)h->len,
			 (unsigned long long)(s->bytes - sizeof(*h)));
		return -EPROTO;
	}
	if (h->len > *cap) {
		void *nb = realloc(*buf, h->len);

		if (!nb)
			return stream_fail(s, -ENOMEM, "receiving a record");
		*buf = nb;
		*cap = h->len;
	}
	ret = read_full(s, *buf, h->len);
	if (ret == -EPIPE || ret == -EPROTO) {
		snprintf(s->err, sizeof(s->err), "the stream ended inside a %s record (truncated)",
			 mig_record_name(h->type));
		return -EPROTO;
	}
	if (ret)
		return stream_fail(s, ret, "reading the stream");
	if ((uint32_t)crc32(crc32(0L, Z_NULL, 0), *buf, h->len) != h->crc) {
		snprintf(s->err, sizeof(s->err), "%s record at byte %llu fails its checksum",
			 mig_record_name(h->type),
			 (unsigned long long)(s->bytes - h->len - sizeof(*h)));
		return -EPROTO;
	}
	return 0;
}
