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

struct guest_memory;
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

/*
 * The two steps above without a machine or a log line, for the fuzz target
 * (tests/fuzz/fuzz_migrate_stream.c) as for kvmini: on in->s.fd, the header
 * and CONFIG; then the records up to COMMIT, pages into mem and the STATE
 * blob to restore(). 0 only after COMMIT; else -errno with one line in err.
 */
typedef int (*incoming_restore_fn)(void *opaque, const void *blob, size_t len, char *err,
				   size_t errlen);
int incoming_read_config(struct incoming *in, const struct vm_config *host, struct vm_config *out,
			 char *err, size_t errlen);
int incoming_receive_records(struct incoming *in, const struct guest_memory *mem,
			     incoming_restore_fn restore, void *opaque, char *err, size_t errlen);
/* The guest runs (or will not): tell the source, free everything. */
void incoming_close(struct incoming *in, bool running);

#endif
