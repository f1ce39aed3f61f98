// SPDX-License-Identifier: GPL-2.0
/* What the control socket (api.h) does to a running machine. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "devices/virtio_net.h"
#include "devices/virtio_pci.h"
#include "log.h"
#include "migrate.h"
#include "vm.h"
#include "vm_api.h"

static uint64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static const char *state_name(struct vm *vm)
{
	if (__atomic_load_n(&vm->stopping, __ATOMIC_SEQ_CST))
		return "stopping";
	if (vm->migration)
		return "migrating";
	return vm_paused(vm) ? "paused" : "running";
}

static int vm_status(void *opaque, char *buf, size_t len)
{
	struct vm *vm = opaque;
	char progress[1024];
	struct jbuf j;
	unsigned int i;

	jbuf_init(&j, buf, len);
	jbuf_printf(&j, "\"state\":\"%s\",\"vcpus\":%u,\"memory\":%llu,\"uptime\":%llu,\"nics\":[",
		    state_name(vm), vm->nr_vcpus, (unsigned long long)vm->mem.ram_size,
		    (unsigned long long)(now_s() - vm->started_s));
	for (i = 0; i < vm->nr_nics; i++) {
		const struct net_config *nc = &vm->cfg->nics[i];
		const uint8_t *mac = vm->nics[i].mac;
		struct virtio_net_stats st;

		virtio_net_get_stats(vm->nics[i].net, &st);
		jbuf_printf(&j, "%s{\"name\":\"net%u\",\"backend\":\"%s\",", i ? "," : "", i,
			    nc->kind == NET_KIND_TAP ? "tap" : "user");
		if (nc->kind == NET_KIND_TAP) {
			jbuf_printf(&j, "\"ifname\":");
			jbuf_str(&j, nc->ifname);
			jbuf_printf(&j, ",");
		}
		jbuf_printf(&j, "\"link\":\"%s\",", st.link_lost ? "down" : "up");
		jbuf_printf(&j, "\"mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\",\"vhost\":%s,"
			    "\"rx_frames\":%llu,\"rx_bytes\":%llu,\"rx_dropped\":%llu,"
			    "\"tx_frames\":%llu,\"tx_bytes\":%llu,\"tx_dropped\":%llu,"
			    "\"kicks\":%llu,\"interrupts\":%llu,\"ring_errors\":%llu}",
			    mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], st.vhost ? "true" : "false",
			    (unsigned long long)st.rx_frames, (unsigned long long)st.rx_bytes,
			    (unsigned long long)st.rx_dropped, (unsigned long long)st.tx_frames,
			    (unsigned long long)st.tx_bytes, (unsigned long long)st.tx_dropped,
			    (unsigned long long)st.kicks, (unsigned long long)st.interrupts,
			    (unsigned long long)st.ring_errors);
	}
	jbuf_printf(&j, "]");
	migrate_progress(vm, progress, sizeof(progress));
	if (progress[0])
		jbuf_printf(&j, ",%s", progress);
	return j.truncated ? -ENOSPC : 0;
}

static int vm_api_pause(void *opaque, char *err, size_t errlen)
{
	struct vm *vm = opaque;
	int ret;

	if (vm->migration) {
		snprintf(err, errlen, "a migration or snapshot is running");
		return -EBUSY;
	}
	ret = vm_pause(vm);
	if (ret)
		snprintf(err, errlen, "the machine is stopping");
	return ret;
}

static int vm_api_resume(void *opaque, char *err, size_t errlen)
{
	struct vm *vm = opaque;
	unsigned int i;

	if (vm->migration) {
		snprintf(err, errlen, "a migration or snapshot is running");
		return -EBUSY;
	}
	/* After a migration that committed but was never confirmed the NICs are stopped too. */
	for (i = 0; i < vm->nr_nics; i++)
		if (virtio_pci_resume(vm->nics[i].pci))
			pr_err("net%u: cannot restart the data path", i);
	vm_resume(vm);
	return 0;
}

static int vm_api_stop(void *opaque, char *err, size_t errlen)
{
	vm_request_exit(opaque, EXIT_USER_QUIT);
	return 0;
}

static int vm_api_migrate(void *opaque, const struct migrate_params *p,
			  struct api_pending *token, char *err, size_t errlen)
{
	return migrate_start(opaque, p, api_reply_done, token, err, errlen);
}

static const struct api_ops vm_api_ops = {
	.status = vm_status,
	.pause = vm_api_pause,
	.resume = vm_api_resume,
	.stop = vm_api_stop,
	.migrate = vm_api_migrate,
};

int vm_api_open(struct vm *vm, char *err, size_t errlen)
{
	vm->started_s = now_s();
	if (!vm->cfg->api_socket)
		return 0;
	return api_open(&vm->api, vm->cfg->api_socket, &vm->loop, &vm_api_ops, vm, err, errlen);
}

void vm_api_close(struct vm *vm)
{
	api_close(vm->api);
	vm->api = NULL;
}
