// SPDX-License-Identifier: GPL-2.0
/*
 * Starting, watching and ending an outgoing migration or snapshot. The work
 * runs on a thread of its own (migrate_send.c); the main thread learns that
 * it ended through an eventfd in its event loop, joins it and reports.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api.h"
#include "exitcode.h"
#include "log.h"
#include "migrate_priv.h"
#include "migrate_uri.h"
#include "vm.h"

static void finish(struct vm *vm, struct migration *m, bool stopping)
{
	loop_del(&vm->loop, m->done_efd);
	pthread_join(m->thread, NULL);
	close(m->done_efd);
	/*
	 * Closed only after the join: migrate_cancel() may shutdown() it from
	 * this thread meanwhile, and must never hit a number reused elsewhere.
	 */
	if (m->stream.fd >= 0)
		close(m->stream.fd);
	vm->migration = NULL;
	if (m->err) {
		pr_err("%s to %s failed: %s", m->p.snapshot ? "snapshot" : "migration", m->uri,
		       m->why);
	} else if (m->p.snapshot) {
		pr_info("snapshot written to %s: %s", m->path, m->summary);
	} else {
		pr_info("guest migrated to %s: %s", m->uri, m->summary);
		/* The guest lives on at the destination: this process is done. */
		if (!stopping)
			vm_request_exit(vm, EXIT_POWEROFF);
	}
	if (m->done)
		m->done(m->opaque, m->err, m->why, m->summary);
	free(m->rbuf);
	free(m);
}

static void on_done(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct migration *m = vm->migration;
	uint64_t v;

	if (!m || read(m->done_efd, &v, sizeof(v)) != sizeof(v))
		return;
	finish(vm, m, false);
}

int migrate_start(struct vm *vm, const struct migrate_params *p, migrate_done_fn done,
		  void *opaque, char *err, size_t errlen)
{
	struct migrate_uri u;
	struct migration *m;
	int ret;

	if (vm->migration) {
		snprintf(err, errlen, "a migration or snapshot is already running");
		return -EBUSY;
	}
	if (!p->snapshot && migrate_parse_uri(p->uri, &u, err, errlen))
		return -EINVAL;
	if (p->snapshot && (!p->uri[0] || strlen(p->uri) >= sizeof(m->path))) {
		snprintf(err, errlen, "snapshot: a file name of 1 to %zu bytes",
			 sizeof(m->path) - 1);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->vm = vm;
	m->p = *p;
	m->p.downtime_ms = p->downtime_ms ?: MIGRATE_DEFAULT_DOWNTIME_MS;
	m->p.max_rounds = p->max_rounds ?: MIGRATE_DEFAULT_MAX_ROUNDS;
	snprintf(m->uri, sizeof(m->uri), "%s", p->uri);
	m->p.uri = m->uri;
	m->is_file = p->snapshot;
	if (m->is_file) {
		snprintf(m->path, sizeof(m->path), "%s", p->uri);
		snprintf(m->tmp_path, sizeof(m->tmp_path), "%s.tmp", m->path);
	}
	m->done = done;
	m->opaque = opaque;
	/*
	 * Tests that kill or cut the source mid-stream need it to stay there:
	 * a slow guest may otherwise converge before they strike.
	 */
	if (!m->is_file && getenv("KVMINI_TEST_PRECOPY_FOREVER")) {
		m->precopy_forever = true;
		pr_warn("KVMINI_TEST_PRECOPY_FOREVER: pre-copy ends only at max-rounds (tests only)");
	}
	m->stream.fd = -1;
	m->done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->done_efd < 0) {
		ret = -errno;
		goto err_free;
	}
	ret = loop_add(&vm->loop, m->done_efd, EPOLLIN, on_done, vm);
	if (ret)
		goto err_close;
	vm->migration = m;
	ret = -pthread_create(&m->thread, NULL, migration_thread, m);
	if (ret) {
		vm->migration = NULL;
		loop_del(&vm->loop, m->done_efd);
		goto err_close;
	}
	return 0;
err_close:
	close(m->done_efd);
err_free:
	free(m);
	snprintf(err, errlen, "cannot start: %s", strerror(-ret));
	return ret;
}

void migrate_cancel(struct vm *vm)
{
	struct migration *m = vm->migration;

	if (!m)
		return;
	__atomic_store_n(&m->cancel, true, __ATOMIC_SEQ_CST);
	/* A thread inside vm_pause() waits on pause_cond for the vCPUs or the stop. */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	/* Unblocks a thread waiting on the peer; vm_pause() already sees the stop. */
	if (__atomic_load_n(&m->stream.fd, __ATOMIC_SEQ_CST) >= 0)
		shutdown(m->stream.fd, SHUT_RDWR);
	finish(vm, m, true);
}

void migrate_progress(struct vm *vm, char *buf, size_t len)
{
	struct migration *m = vm->migration;
	struct jbuf j;

	jbuf_init(&j, buf, len);
	if (!m)
		return;
	jbuf_printf(&j, "\"migration\":{\"kind\":\"%s\",\"to\":", m->p.snapshot ? "snapshot" :
		    "migration");
	jbuf_str(&j, m->uri);
	jbuf_printf(&j, ",\"round\":%u,\"remaining_pages\":%llu,\"bytes\":%llu,"
		    "\"bandwidth_mbps\":%.1f}", __atomic_load_n(&m->round, __ATOMIC_RELAXED),
		    (unsigned long long)__atomic_load_n(&m->remaining, __ATOMIC_RELAXED),
		    (unsigned long long)__atomic_load_n(&m->stream.bytes, __ATOMIC_RELAXED),
		    m->bandwidth * 8);
}
