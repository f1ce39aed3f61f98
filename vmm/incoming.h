/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The destination side of a migration (kvmini run --incoming URI), and
 * resuming a snapshot (--restore FILE): the same stream, from a socket or a
 * file (migrate_stream.h). The guest is built from the stream's CONFIG,
 * filled from its pages, restored from its STATE, and runs only after the
 * source's COMMIT (a snapshot file ends with one). Any failure before that
 * ends kvmini with one line and nothing started.
 */
#ifndef KVMINI_INCOMING_H
#define KVMINI_INCOMING_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "migrate_stream.h"

struct vm;

struct incoming {
	struct mig_stream s;
	bool is_file;
	void *buf;
	size_t cap;
	unsigned long long pages, zero_pages;
	unsigned int rounds;
};

/* Wait for the source (or open the snapshot), read the header and the guest's configuration. */
int incoming_open(struct incoming *in, const struct vm_config *host, struct vm_config *out);
/* Pages, then the state into vm (built from out, vCPUs not started); READY; COMMIT. */
int incoming_receive(struct incoming *in, struct vm *vm);
/* The guest runs (or will not): tell the source, free everything. */
void incoming_close(struct incoming *in, bool running);

#endif
