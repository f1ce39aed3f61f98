// SPDX-License-Identifier: GPL-2.0
/*
 * The source side of a migration, on its own thread: pre-copy rounds
 * through the dirty log while the guest runs, then stop-and-copy with the
 * vCPUs parked and the NIC data paths stopped, then the one commit point.
 *
 * Until COMMIT is sent the guest belongs to this process, and any failure
 * (the peer gone, a refusal, a write error) resumes it here. After COMMIT
 * it belongs to the destination and is never resumed here.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio_net_log.h"
#include "devices/virtio_pci.h"
#include "log.h"
#include "migrate_pages.h"
#include "migrate_priv.h"
#include "seccomp.h"
#include "vm.h"
#include "vm_state.h"

/* How long the destination may take to restore the state and say READY. */
#define READY_TIMEOUT_MS 60000
#define RUNNING_TIMEOUT_MS 10000

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

static __attribute__((format(printf, 3, 4))) int fail(struct migration *m, int err,
							 const char *fmt, ...)
{
	va_list ap;

	if (m->err)
		return m->err;
	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
	m->err = err < 0 ? err : -EIO;
	return m->err;
}

static bool cancelled(struct migration *m)
{
	return __atomic_load_n(&m->cancel, __ATOMIC_SEQ_CST);
}

static int stream_fail(struct migration *m, int ret)
{
	if (cancelled(m))
		return fail(m, -ECANCELED, "the machine is stopping");
	return fail(m, ret, "%s", m->stream.err[0] ? m->stream.err : strerror(-ret));
}

static int open_stream(struct migration *m)
{
	char err[256];
	int fd;

	if (m->is_file) {
		fd = open(m->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			return fail(m, -errno, "%s: %s", m->tmp_path, strerror(errno));
	} else {
		fd = mig_connect(m->uri, err, sizeof(err));
		if (fd < 0)
			return fail(m, fd, "%s", err);
	}
	__atomic_store_n(&m->stream.fd, fd, __ATOMIC_SEQ_CST);
	return 0;
}

/* Wait for one record of type want from the destination. */
static int await(struct migration *m, uint32_t want, int timeout_ms)
{
	struct pollfd pfd = { .fd = m->stream.fd, .events = POLLIN };
	struct mig_rec_hdr h;
	int ret;

	ret = poll(&pfd, 1, timeout_ms);
	if (ret == 0)
		return fail(m, -ETIMEDOUT, "no %s from the destination in %d s",
			    mig_record_name(want), timeout_ms / 1000);
	if (ret < 0)
		return fail(m, -errno, "poll: %s", strerror(errno));
	ret = mig_read_record(&m->stream, &h, &m->rbuf, &m->rcap);
	if (ret == -EPIPE)
		return fail(m, ret, "the destination closed the connection (see its log for why)");
	if (ret)
		return stream_fail(m, ret);
	if (h.type != want)
		return fail(m, -EPROTO, "the destination sent %s, expected %s",
			    mig_record_name(h.type), mig_record_name(want));
	return 0;
}

static int send_blob(struct migration *m, uint32_t type,
		     int (*save)(struct vm *vm, void **out, size_t *len))
{
	size_t len;
	void *blob;
	int ret;

	ret = save(m->vm, &blob, &len);
	if (ret)
		return fail(m, ret, "saving the %s: %s", type == MIG_CONFIG ? "configuration" :
			    "machine state", vm_state_error()[0] ? vm_state_error() : strerror(-ret));
	ret = mig_write_record(&m->stream, type, blob, len);
	free(blob);
	return ret ? stream_fail(m, ret) : 0;
}

/* Every page of RAM (first == true), or those the last harvest found dirty. */
static int send_pages(struct migration *m, struct page_sender *ps, bool all)
{
	const struct guest_memory *mem = &m->vm->mem;
	uint64_t before = ps->pages + ps->zero_pages, p, n;
	unsigned int i;
	uint32_t round[4];
	int ret;

	for (i = 0; i < mem->nr_regions; i++) {
		n = mem->region[i].size >> GUEST_PAGE_SHIFT;
		for (p = 0; p < n; p++) {
			if (!all && !dirty_log_test(m->log.dirty[i], p))
				continue;
			if (cancelled(m))
				return fail(m, -ECANCELED, "the machine is stopping");
			ret = page_send(ps, mem->region[i].gpa + (p << GUEST_PAGE_SHIFT));
			if (ret)
				return stream_fail(m, ret);
		}
	}
	ret = page_send_flush(ps);
	if (ret)
		return stream_fail(m, ret);
	m->last_round_pages = ps->pages + ps->zero_pages - before;
	if (m->round >= 1 && m->round <= MIGRATE_REPORTED_ROUNDS)
		m->round_pages[m->round - 1] = m->last_round_pages;
	round[0] = m->round;
	round[1] = 0;
	memcpy(&round[2], &m->last_round_pages, 8);
	ret = mig_write_record(&m->stream, MIG_ROUND, round, sizeof(round));
	return ret ? stream_fail(m, ret) : 0;
}

static int start_logging(struct migration *m)
{
	struct vm *vm = m->vm;
	unsigned int i;
	int ret;

	ret = dirty_log_start(&m->log, vm->kvm.vm_fd, &vm->mem, dirty_log_use_from_env());
	if (ret)
		return fail(m, ret, "cannot start dirty logging: %s", strerror(-ret));
	m->logging = true;
	for (i = 0; i < vm->nr_nics; i++) {
		ret = virtio_net_log_start(vm->nics[i].net, m->log.backend, m->log.backend_bytes);
		if (ret)
			return fail(m, ret, "net%u: cannot start the backend's dirty log: %s", i,
				    strerror(-ret));
		m->nic_logging[i] = true;
	}
	return 0;
}

static void stop_logging(struct migration *m)
{
	unsigned int i;

	for (i = 0; i < m->vm->nr_nics; i++)
		if (m->nic_logging[i])
			virtio_net_log_stop(m->vm->nics[i].net);
	memset(m->nic_logging, 0, sizeof(m->nic_logging));
	if (m->logging)
		dirty_log_stop(&m->log);
	m->logging = false;
}

/* The union of the three logs, timed for the summary (and `make bench`). */
static int64_t harvest(struct migration *m)
{
	uint64_t t0 = now_us(), dt;
	int64_t dirty = dirty_log_harvest(&m->log);

	dt = now_us() - t0;
	m->harvest_us += dt;
	if (dt > m->harvest_max_us)
		m->harvest_max_us = dt;
	m->harvests++;
	if (dirty < 0)
		fail(m, dirty, "reading the dirty log: %s", strerror(-dirty));
	return dirty;
}

/* Pre-copy: send rounds until what is left fits the downtime, or rounds run out. */
static int precopy(struct migration *m, struct page_sender *ps)
{
	uint64_t t0, bytes0, budget;
	int64_t dirty;
	int ret;

	for (m->round = 1;; m->round++) {
		t0 = now_us();
		bytes0 = m->stream.bytes;
		ret = send_pages(m, ps, m->round == 1);
		if (ret)
			return ret;
		if (now_us() > t0)
			m->bandwidth = (double)(m->stream.bytes - bytes0) / (now_us() - t0);
		dirty = harvest(m);
		if (dirty < 0)
			return dirty;
		__atomic_store_n(&m->remaining, (uint64_t)dirty, __ATOMIC_RELAXED);
		budget = (uint64_t)(m->bandwidth * m->p.downtime_ms * 1000);
		/* A snapshot has no downtime goal: one round, then stop and copy. */
		if (m->is_file || m->round >= m->p.max_rounds ||
		    (!m->precopy_forever && (uint64_t)dirty * GUEST_PAGE_SIZE <= budget))
			return 0;
	}
}

static void resume_nics(struct migration *m)
{
	unsigned int i;

	for (i = 0; i < m->nics_paused; i++)
		if (virtio_pci_resume(m->vm->nics[i].pci))
			pr_err("net%u: cannot restart the data path after the %s", i,
			       m->is_file ? "snapshot" : "migration");
	m->nics_paused = 0;
}

/* The guest stops here; the last pages and the state go out. */
static int stop_and_copy(struct migration *m, struct page_sender *ps)
{
	struct vm *vm = m->vm;
	int64_t dirty;
	int ret;

	m->t_pause = now_us();
	m->was_paused = vm_paused(vm);
	ret = vm_pause(vm);
	if (ret)
		return fail(m, ret, "the machine is stopping");
	m->paused_here = !m->was_paused;
	for (; m->nics_paused < vm->nr_nics; m->nics_paused++) {
		ret = virtio_pci_pause(vm->nics[m->nics_paused].pci);
		if (ret)
			return fail(m, ret, "net%u: cannot stop the data path: %s", m->nics_paused,
				    strerror(-ret));
	}
	/* Nothing writes guest memory now: this harvest is the last. */
	dirty = harvest(m);
	if (dirty < 0)
		return dirty;
	m->round++;
	ret = send_pages(m, ps, false);
	if (ret)
		return ret;
	return send_blob(m, MIG_STATE, vm_state_save);
}

static int commit(struct migration *m)
{
	int ret;

	if (!m->is_file) {
		ret = await(m, MIG_READY, READY_TIMEOUT_MS);
		if (ret)
			return ret;
	}
	ret = mig_write_record(&m->stream, MIG_COMMIT, NULL, 0);
	if (ret)
		return stream_fail(m, ret);
	if (m->is_file) {
		if (fsync(m->stream.fd) || rename(m->tmp_path, m->path))
			return fail(m, -errno, "%s: %s", m->path, strerror(errno));
		return 0;
	}
	/*
	 * The commit point: the destination may run the guest from here on,
	 * so this side never resumes it, whatever happens next.
	 */
	m->committed = true;
	return 0;
}

static void summarize(struct migration *m, const struct page_sender *ps)
{
	uint64_t end = now_us(), ram = 0;
	size_t len = sizeof(m->summary), n;
	char *p = m->summary;
	unsigned int i;

	for (i = 0; i < m->vm->mem.nr_regions; i++)
		ram += m->vm->mem.region[i].size;
	n = snprintf(p, len,
		     "\"rounds\":%u,\"pages\":%llu,\"zero_pages\":%llu,\"bytes\":%llu,"
		     "\"downtime_ms\":%.1f,\"total_ms\":%.1f,\"round_pages\":[", m->round,
		     (unsigned long long)ps->pages, (unsigned long long)ps->zero_pages,
		     (unsigned long long)m->stream.bytes, m->downtime_us / 1000.0,
		     (end - m->t_start) / 1000.0);
	for (i = 0; i < m->round && i < MIGRATE_REPORTED_ROUNDS && n < len; i++)
		n += snprintf(p + n, len - n, "%s%llu", i ? "," : "",
			      (unsigned long long)m->round_pages[i]);
	/* Harvest cost per GiB of guest RAM: the figure `make bench` reports. */
	if (n < len)
		snprintf(p + n, len - n,
			 "],\"harvests\":%u,\"harvest_ms\":%.2f,\"harvest_max_ms\":%.2f,"
			 "\"harvest_ms_per_gib\":%.3f", m->harvests, m->harvest_us / 1000.0,
			 m->harvest_max_us / 1000.0,
			 m->harvests && ram ? (double)m->harvest_us / m->harvests / 1000.0 /
						      ((double)ram / (1ULL << 30)) : 0.0);
}

static int migrate(struct migration *m, struct page_sender *ps)
{
	int ret;

	ret = open_stream(m);
	if (ret)
		return ret;
	ret = mig_write_header(&m->stream);
	if (ret)
		return stream_fail(m, ret);
	ret = send_blob(m, MIG_CONFIG, vm_config_save);
	ret = ret ?: start_logging(m);
	ret = ret ?: precopy(m, ps);
	ret = ret ?: stop_and_copy(m, ps);
	ret = ret ?: commit(m);
	if (ret || m->is_file)
		return ret;
	ret = await(m, MIG_RUNNING, RUNNING_TIMEOUT_MS);
	m->downtime_us = now_us() - m->t_pause;
	return ret;
}

void *migration_thread(void *arg)
{
	struct migration *m = arg;
	struct page_sender ps;
	uint64_t one = 1;

	/* Named here: naming another thread opens /proc/self/task/TID/comm. */
	pthread_setname_np(pthread_self(), "migration");
	seccomp_enter(SECCOMP_MIGRATION);
	m->t_start = now_us();
	if (page_sender_init(&ps, &m->stream, &m->vm->mem)) {
		fail(m, -ENOMEM, "out of memory");
		goto out;
	}
	migrate(m, &ps);
	if (!m->err && m->is_file)
		m->downtime_us = now_us() - m->t_pause;
	summarize(m, &ps);
	page_sender_free(&ps);
out:
	stop_logging(m);
	/* finish() closes the stream once this thread is joined; the peer sees EOF then. */
	if (m->stream.fd >= 0 && !m->is_file)
		shutdown(m->stream.fd, SHUT_RDWR);
	if (m->is_file && m->err)
		unlink(m->tmp_path);
	if (m->committed && m->err) {
		/* Neither side is sure who runs the guest: keep it here, paused, for the user. */
		snprintf(m->why + strlen(m->why), sizeof(m->why) - strlen(m->why),
			 "; the guest is paused here: resume it only if the destination does not "
			 "run it");
	} else if (!m->committed || m->is_file) {
		resume_nics(m);
		if (m->paused_here && !cancelled(m))
			vm_resume(m->vm);
	}
	if (write(m->done_efd, &one, sizeof(one)) < 0)
		pr_err("migration: cannot signal the main loop: %s", strerror(errno));
	return NULL;
}
