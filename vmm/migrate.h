/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Live migration and snapshots (README, "Migration and snapshots").
 *
 * The source sends a stream: a header, the guest configuration, rounds of
 * page records (pre-copy: KVM's dirty log | kvmini's bitmap | vhost's log),
 * then with the vCPUs paused and the data paths stopped the last pages and
 * the machine state (state.h), then a COMMIT record. The destination runs
 * the guest only after COMMIT; the source resumes only if it never sent
 * it. A snapshot file holds the same stream.
 */
#ifndef KVMINI_MIGRATE_H
#define KVMINI_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

struct vm;

#define MIGRATE_DEFAULT_DOWNTIME_MS 300
#define MIGRATE_DEFAULT_MAX_ROUNDS 30

struct migrate_params {
	const char *uri;		/* tcp:HOST:PORT, unix:PATH, or file:PATH (snapshot) */
	unsigned int downtime_ms;	/* 0: MIGRATE_DEFAULT_DOWNTIME_MS */
	unsigned int max_rounds;	/* 0: MIGRATE_DEFAULT_MAX_ROUNDS */
	bool snapshot;			/* write a snapshot to uri, then resume the guest */
};

/*
 * Called on the main thread when a migration or snapshot ends: err 0 when
 * it completed (after a migration the machine is stopping), else a negative
 * errno with why (one line) and the guest running again. summary is a
 * JSON object's members (rounds, pages, bytes, downtime_ms, total_ms).
 */
typedef void (*migrate_done_fn)(void *opaque, int err, const char *why, const char *summary);

/* Start on a thread of its own. -EBUSY when one is running, -EINVAL for a bad uri. */
int migrate_start(struct vm *vm, const struct migrate_params *p, migrate_done_fn done,
		  void *opaque, char *err, size_t errlen);

/* The machine is stopping: abandon a running migration (the guest is not resumed) and join it. */
void migrate_cancel(struct vm *vm);

/* The destination's side (--incoming, --restore) is incoming.h. */

/* Progress so far as JSON members ("" when none runs), for the status reply. */
void migrate_progress(struct vm *vm, char *buf, size_t len);

#endif
