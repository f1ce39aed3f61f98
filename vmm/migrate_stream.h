/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The migration stream, also the snapshot file format (README, "The
 * migration stream"). Little-endian throughout:
 *
 *   header:  "KVMINI-MIGRATION" (16 bytes), u32 version, u32 page size
 *   record:  u32 type, u32 crc32 of the payload (zlib's), u64 payload length, payload
 *
 * Records, in the order a stream carries them:
 *   CONFIG    the guest configuration (state.h blob): the destination builds the machine from it
 *   PAGES     u64 count, count u64 guest addresses, count pages of data
 *   ZEROS     u64 count, count u64 guest addresses of pages that are all zero
 *   ROUND     u32 round, u32 0, u64 pages sent in it (progress only)
 *   STATE     the machine state (state.h blob): vCPUs, irqchip, clock, devices
 *   READY     destination to source: restored, waiting for COMMIT (sockets only)
 *   COMMIT    source to destination: run the guest (the one commit point)
 *   RUNNING   destination to source: vCPUs running (the downtime ends here)
 *
 * Every payload is checked against its crc32 before it is used, so a damaged
 * stream is refused rather than restored.
 */
#ifndef KVMINI_MIGRATE_STREAM_H
#define KVMINI_MIGRATE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIG_MAGIC "KVMINI-MIGRATION"
#define MIG_VERSION 1
/* Pages per PAGES record: 1 MiB of data. */
#define MIG_BATCH 256
/* Nothing kvmini sends is larger: a state blob, or a full PAGES record. */
#define MIG_MAX_RECORD (64ULL << 20)

enum mig_record {
	MIG_CONFIG = 1,
	MIG_PAGES,
	MIG_ZEROS,
	MIG_ROUND,
	MIG_STATE,
	MIG_READY,
	MIG_COMMIT,
	MIG_RUNNING,
};

struct mig_stream {
	int fd;
	uint64_t bytes;		/* sent or received so far */
	char err[256];		/* why the last call failed */
};

struct mig_rec_hdr {
	uint32_t type;
	uint32_t crc;
	uint64_t len;
};

const char *mig_record_name(uint32_t type);

int mig_write_header(struct mig_stream *s);
/* 0, or -EPROTO with why in s->err (not kvmini's, another version, another page size). */
int mig_read_header(struct mig_stream *s);

/* One record from a buffer, or from an iovec (the payload is its concatenation). */
int mig_write_record(struct mig_stream *s, uint32_t type, const void *payload, uint64_t len);
int mig_write_recordv(struct mig_stream *s, uint32_t type, const struct iovec *iov, int iovcnt);

/*
 * The next record: its header, and its payload in *buf (grown with realloc
 * as needed; the caller frees it). -EPIPE at a clean end of stream before
 * any byte of a record, -EPROTO for a short, oversized or damaged record.
 */
int mig_read_record(struct mig_stream *s, struct mig_rec_hdr *h, void **buf, size_t *cap);

/* Parse tcp:HOST:PORT, tcp::PORT, unix:PATH: a connected (or listening) socket fd or -errno. */
int mig_connect(const char *uri, char *err, size_t errlen);
int mig_listen(const char *uri, char *err, size_t errlen);

#endif
