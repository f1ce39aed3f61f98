/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest pages on the migration stream: the sender batches them into PAGES
 * records (copied out first, so the checksum matches what is sent even
 * while a vCPU writes the page) and ZEROS records; the receiver checks every
 * address against guest RAM before it writes.
 */
#ifndef KVMINI_MIGRATE_PAGES_H
#define KVMINI_MIGRATE_PAGES_H

#include <stdint.h>

#include "memory.h"
#include "migrate_stream.h"

struct page_sender {
	struct mig_stream *s;
	const struct guest_memory *mem;
	uint64_t gpa[MIG_BATCH];
	uint8_t *data;			/* MIG_BATCH pages */
	unsigned int n;
	uint64_t zero_gpa[MIG_BATCH];
	unsigned int nzero;
	uint64_t pages, zero_pages;	/* sent so far */
};

int page_sender_init(struct page_sender *ps, struct mig_stream *s,
		     const struct guest_memory *mem);
void page_sender_free(struct page_sender *ps);
/* Queue one page (gpa inside RAM, page-aligned); sends a record when a batch is full. */
int page_send(struct page_sender *ps, uint64_t gpa);
int page_send_flush(struct page_sender *ps);

/* Apply a PAGES or ZEROS payload to guest RAM: 0, or -EPROTO with why in err. */
int page_receive(const struct guest_memory *mem, uint32_t type, const void *payload,
		 uint64_t len, char *err, size_t errlen);

#endif
