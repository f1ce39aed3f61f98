/* SPDX-License-Identifier: GPL-2.0 */
/* What migrate.c and migrate_send.c share: one outgoing migration or snapshot. */
#ifndef KVMINI_MIGRATE_PRIV_H
#define KVMINI_MIGRATE_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "dirty_log.h"
#include "migrate.h"
#include "migrate_stream.h"

struct vm;

#define MIGRATE_REPORTED_ROUNDS 16

struct migration {
	struct vm *vm;
	struct migrate_params p;
	char uri[512];
	char path[512];			/* file: snapshots */
	char tmp_path[520];
	bool is_file;
	migrate_done_fn done;
	void *opaque;
	pthread_t thread;
	int done_efd;			/* the thread's end, seen by the event loop */

	struct mig_stream stream;
	struct dirty_log log;
	bool logging;
	bool nic_logging[CONFIG_MAX_NICS];
	unsigned int nics_paused;
	bool was_paused;		/* paused by the user before it started */
	bool paused_here;
	bool committed;
	bool cancel;			/* the machine is stopping: give up */
	bool precopy_forever;		/* tests: never converge, stay mid-stream */
	void *rbuf;
	size_t rcap;

	/* Progress, read by status from the main thread. */
	unsigned int round;
	uint64_t remaining;
	double bandwidth;		/* bytes per microsecond */
	uint64_t t_start, t_pause, downtime_us, last_round_pages;
	/* For the summary: pages of the first rounds, time spent reading the three logs. */
	uint64_t round_pages[MIGRATE_REPORTED_ROUNDS];
	uint64_t harvest_us, harvest_max_us;
	unsigned int harvests;

	int err;
	char why[256];
	char summary[1024];
};

/* The thread body (migrate_send.c). */
void *migration_thread(void *arg);

#endif
