// SPDX-License-Identifier: GPL-2.0
/*
 * The destination of a migration, and --restore: read the stream the
 * source (migrate_send.c) or a snapshot file holds into a machine that
 * vm_run() builds from its CONFIG record.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "incoming.h"
#include "log.h"
#include "migrate_pages.h"
#include "vm.h"
#include "vm_state.h"

static int accept_source(const struct vm_config *host, int *fd)
{
	char err[256];
	int lfd;

	lfd = mig_listen(host->incoming, err, sizeof(err));
	if (lfd < 0) {
		pr_err("--incoming %s", err);
		return lfd;
	}
	pr_info("waiting for a migration on %s", host->incoming);
	do {
		*fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	} while (*fd < 0 && errno == EINTR);
	if (*fd < 0)
		pr_err("--incoming %s: accept: %s", host->incoming, strerror(errno));
	close(lfd);
	/* One source per run: the socket file has done its job. */
	if (host->incoming_uri.kind == MIGRATE_URI_UNIX)
		unlink(host->incoming_uri.path);
	return *fd < 0 ? -EIO : 0;
}

int incoming_read_config(struct incoming *in, const struct vm_config *host, struct vm_config *out,
			 char *err, size_t errlen)
{
	struct mig_rec_hdr h;
	int ret;

	ret = mig_read_header(&in->s);
	ret = ret ?: mig_read_record(&in->s, &h, &in->buf, &in->cap);
	if (ret) {
		snprintf(err, errlen, "%s", in->s.err[0] ? in->s.err : strerror(-ret));
		return ret;
	}
	if (h.type != MIG_CONFIG) {
		snprintf(err, errlen, "the stream starts with %s, not CONFIG",
			 mig_record_name(h.type));
		return -EPROTO;
	}
	return vm_config_load(in->buf, h.len, host, out, err, errlen);
}

int incoming_open(struct incoming *in, const struct vm_config *host, struct vm_config *out)
{
	const char *what = host->restore ? host->restore : host->incoming;
	char err[256];
	int ret;

	memset(in, 0, sizeof(*in));
	in->s.fd = -1;
	in->is_file = host->restore;
	if (in->is_file) {
		in->s.fd = open(host->restore, O_RDONLY | O_CLOEXEC);
		if (in->s.fd < 0) {
			pr_err("--restore %s: %s", host->restore, strerror(errno));
			return -errno;
		}
	} else {
		ret = accept_source(host, &in->s.fd);
		if (ret)
			return ret;
	}
	ret = incoming_read_config(in, host, out, err, sizeof(err));
	if (ret) {
		pr_err("%s: %s", what, err);
		return ret;
	}
	pr_info("%s: a guest of %llu MiB, %u vCPUs, %u NICs", what,
		(unsigned long long)(out->mem_size >> 20), out->nr_cpus, out->nr_nics);
	return 0;
}

int incoming_receive_records(struct incoming *in, const struct guest_memory *mem,
			     incoming_restore_fn restore, void *opaque, char *err, size_t errlen)
{
	bool restored = false;
	struct mig_rec_hdr h;
	int ret;

	for (;;) {
		ret = mig_read_record(&in->s, &h, &in->buf, &in->cap);
		if (ret) {
			snprintf(err, errlen, "%s", in->s.err[0] ? in->s.err : strerror(-ret));
			return ret;
		}
		switch (h.type) {
		case MIG_PAGES:
		case MIG_ZEROS:
			if (restored)
				goto unexpected;
			ret = page_receive(mem, h.type, in->buf, h.len, err, errlen);
			if (ret)
				return ret;
			break;
		case MIG_ROUND:
			in->rounds++;
			break;
		case MIG_STATE:
			if (restored)
				goto unexpected;
			ret = restore(opaque, in->buf, h.len, err, errlen);
			if (ret)
				return ret;
			restored = true;
			if (in->is_file)
				break;
			ret = mig_write_record(&in->s, MIG_READY, NULL, 0);
			if (ret) {
				snprintf(err, errlen, "%s", in->s.err);
				return ret;
			}
			break;
		case MIG_COMMIT:
			if (!restored)
				goto unexpected;
			return 0;
		default:
			goto unexpected;
		}
	}
unexpected:
	snprintf(err, errlen, "unexpected %s record", mig_record_name(h.type));
	return -EPROTO;
}

static int restore_vm(void *opaque, const void *blob, size_t len, char *err, size_t errlen)
{
	int ret = vm_state_restore(opaque, blob, len);

	if (ret)
		snprintf(err, errlen, "cannot restore the machine: %s", vm_state_error());
	return ret;
}

int incoming_receive(struct incoming *in, struct vm *vm)
{
	const char *what = vm->cfg->restore ? vm->cfg->restore : vm->cfg->incoming;
	char err[256];
	int ret;

	ret = incoming_receive_records(in, &vm->mem, restore_vm, vm, err, sizeof(err));
	if (ret)
		pr_err("%s: %s", what, err);
	return ret;
}

void incoming_close(struct incoming *in, bool running)
{
	/* Ends the source's downtime; its failure changes nothing here. */
	if (running && !in->is_file && in->s.fd >= 0 &&
	    mig_write_record(&in->s, MIG_RUNNING, NULL, 0))
		pr_warn("the source did not hear that the guest runs: %s", in->s.err);
	if (in->s.fd >= 0)
		close(in->s.fd);
	in->s.fd = -1;
	free(in->buf);
	in->buf = NULL;
}
