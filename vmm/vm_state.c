// SPDX-License-Identifier: GPL-2.0
/*
 * The machine as two state blobs (vm_state.h): what the destination needs
 * to build the same machine, and the state of everything in it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libfdt.h>

#include "devices/acpi_pm.h"
#include "devices/i8042.h"
#include "devices/rtc.h"
#include "devices/uart.h"
#include "devices/virtio_pci.h"
#include "kvm_state.h"
#include "state.h"
#include "vcpu_state.h"
#include "vm.h"
#include "vm_state.h"

/* Big enough for any machine kvmini builds; state_begin() fails cleanly otherwise. */
#define CONFIG_BLOB_SIZE (64 << 10)
#define STATE_BLOB_BASE (1 << 20)
#define STATE_BLOB_PER_CPU (64 << 10)

const char *vm_state_error(void)
{
	return state_error();
}

static const char *nic_kind_name(enum net_kind k)
{
	return k == NET_KIND_TAP ? "tap" : "user";
}

int vm_config_save(struct vm *vm, void **out, size_t *len)
{
	const struct vm_config *cfg = vm->cfg;
	void *fdt = malloc(CONFIG_BLOB_SIZE);
	char name[16];
	unsigned int i;
	int ret;

	if (!fdt)
		return -ENOMEM;
	ret = state_begin(fdt, CONFIG_BLOB_SIZE);
	ret = ret ?: state_put_u32(fdt, "version", STATE_VERSION);
	ret = ret ?: state_put_str(fdt, "kvmini", KVMINI_VERSION);
	ret = ret ?: state_put_u64(fdt, "memory", cfg->mem_size);
	ret = ret ?: state_put_u32(fdt, "cpus", vm->nr_vcpus);
	ret = ret ?: state_put_u32(fdt, "debug-exit", cfg->debug_exit);
	for (i = 0; i < vm->nr_nics && !ret; i++) {
		const struct net_config *nc = &cfg->nics[i];

		snprintf(name, sizeof(name), "nic@%u", i);
		ret = state_node_begin(fdt, name);
		ret = ret ?: state_put_str(fdt, "kind", nic_kind_name(nc->kind));
		ret = ret ?: state_put_blob(fdt, "mac", vm->nics[i].mac, 6);
		ret = ret ?: state_put_u32(fdt, "queues", nc->kind == NET_KIND_TAP ? nc->queues : 1);
		if (nc->kind == NET_KIND_TAP)
			ret = ret ?: state_put_str(fdt, "ifname", nc->ifname);
		ret = ret ?: state_node_end(fdt);
	}
	ret = ret ?: state_finish(fdt);
	if (ret) {
		free(fdt);
		return ret;
	}
	*out = fdt;
	*len = fdt_totalsize(fdt);
	return 0;
}

static __attribute__((format(printf, 3, 4))) int fail(char *err, size_t errlen,
							 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	state_printable(err);
	return -EINVAL;
}

/*
 * What the kernel's dev_valid_name() takes, checked here so that a peer's
 * name reaches neither TUNSETIFF nor an error line as anything else.
 */
static bool valid_ifname(const char *name)
{
	size_t len = strlen(name);

	if (!len || len >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (; *name; name++)
		if (*name == '/' || *name == ':' || isspace((unsigned char)*name) ||
		    (unsigned char)*name < 0x20 || *name == 0x7f)
			return false;
	return true;
}

/* The source's NIC as the destination will run it when --net did not say otherwise. */
static int load_nic(const void *fdt, int node, unsigned int i, struct net_config *nc,
		    bool from_host, char *err, size_t errlen)
{
	const char *kind, *ifname;
	uint32_t queues;

	kind = state_get_str(fdt, node, "kind");
	if (!kind || state_get_blob(fdt, node, "mac", nc->mac, 6) ||
	    state_get_u32(fdt, node, "queues", &queues))
		return fail(err, errlen, "configuration: %s", state_error());
	if (queues < 1 || queues > NET_MAX_QUEUES)
		return fail(err, errlen, "configuration: nic@%u has %u queue pairs", i, queues);
	if (strcmp(kind, "tap") && strcmp(kind, "user"))
		return fail(err, errlen, "configuration: nic@%u is of unknown kind '%.32s'", i,
			    kind);
	nc->has_mac = true;
	if (from_host) {
		/* The destination's backend, the guest's MAC and queue count. */
		if ((nc->kind == NET_KIND_TAP ? nc->queues : 1) != queues)
			return fail(err, errlen,
				    "--net %u: the guest's NIC has %u queue pairs, this one %u",
				    i + 1, queues, nc->kind == NET_KIND_TAP ? nc->queues : 1);
		return 0;
	}
	nc->kind = strcmp(kind, "tap") ? NET_KIND_USER : NET_KIND_TAP;
	nc->queues = queues;
	nc->vhost = NET_VHOST_AUTO;
	if (nc->kind == NET_KIND_TAP) {
		ifname = state_get_str(fdt, node, "ifname");
		if (!ifname || !valid_ifname(ifname))
			return fail(err, errlen, "configuration: nic@%u has no usable ifname", i);
		strcpy(nc->ifname, ifname);
	}
	return 0;
}

int vm_config_load(const void *blob, size_t len, const struct vm_config *host,
		   struct vm_config *out, char *err, size_t errlen)
{
	uint32_t version, cpus, debug_exit;
	unsigned int i, nics = 0;
	char name[16];
	uint64_t mem;
	int node;

	if (state_check(blob, len))
		return fail(err, errlen, "configuration: %s", state_error());
	if (state_get_u32(blob, 0, "version", &version))
		return fail(err, errlen, "configuration: %s", state_error());
	if (version != STATE_VERSION)
		return fail(err, errlen, "configuration: state version %u (this kvmini reads %u)",
			    version, STATE_VERSION);
	if (state_get_u64(blob, 0, "memory", &mem) || state_get_u32(blob, 0, "cpus", &cpus) ||
	    state_get_u32(blob, 0, "debug-exit", &debug_exit))
		return fail(err, errlen, "configuration: %s", state_error());
	if (mem < CONFIG_MIN_MEM || mem > CONFIG_MAX_MEM || mem & ((1 << 20) - 1))
		return fail(err, errlen, "configuration: guest memory of %llu bytes",
			    (unsigned long long)mem);
	if (cpus < 1 || cpus > 4096)
		return fail(err, errlen, "configuration: %u vCPUs", cpus);
	for (nics = 0; nics <= CONFIG_MAX_NICS; nics++) {
		snprintf(name, sizeof(name), "nic@%u", nics);
		if (fdt_subnode_offset(blob, 0, name) < 0)
			break;
	}
	if (nics > CONFIG_MAX_NICS)
		return fail(err, errlen, "configuration: more than %u NICs", CONFIG_MAX_NICS);
	if (host->nr_nics && host->nr_nics != nics)
		return fail(err, errlen, "--net: %u NICs given, the guest has %u", host->nr_nics,
			    nics);

	*out = *host;
	out->mem_size = mem;
	out->nr_cpus = cpus;
	out->debug_exit = debug_exit;
	out->nr_nics = nics;
	for (i = 0; i < nics; i++) {
		snprintf(name, sizeof(name), "nic@%u", i);
		node = fdt_subnode_offset(blob, 0, name);
		if (load_nic(blob, node, i, &out->nics[i], host->nr_nics != 0, err, errlen))
			return -EINVAL;
	}
	return 0;
}

static int save_node(void *fdt, const char *name, int (*fn)(void *dev, void *fdt), void *dev)
{
	int ret = state_node_begin(fdt, name);

	ret = ret ?: fn(dev, fdt);
	return ret ?: state_node_end(fdt);
}

/* The devices' savers take their own type; these adapt them to save_node(). */
static int save_uart(void *d, void *fdt) { return uart_save(d, fdt); }
static int save_i8042(void *d, void *fdt) { return i8042_save(d, fdt); }
static int save_acpi_pm(void *d, void *fdt) { return acpi_pm_save(d, fdt); }
static int save_rtc(void *d, void *fdt) { return rtc_save(d, fdt); }
static int save_kvm(void *d, void *fdt) { return kvm_state_save(d, fdt); }
static int save_cpu(void *d, void *fdt) { return vcpu_state_save(d, fdt); }
static int save_nic(void *d, void *fdt) { return virtio_pci_save(d, fdt); }

int vm_state_save(struct vm *vm, void **out, size_t *len)
{
	size_t size = STATE_BLOB_BASE + (size_t)vm->nr_vcpus * STATE_BLOB_PER_CPU;
	void *fdt = malloc(size);
	char name[16];
	unsigned int i;
	int ret;

	if (!fdt)
		return -ENOMEM;
	ret = state_begin(fdt, size);
	ret = ret ?: state_put_u32(fdt, "version", STATE_VERSION);
	ret = ret ?: save_node(fdt, "kvm", save_kvm, vm);
	for (i = 0; i < vm->nr_vcpus && !ret; i++) {
		snprintf(name, sizeof(name), "cpu@%u", i);
		ret = save_node(fdt, name, save_cpu, &vm->vcpus[i]);
	}
	ret = ret ?: save_node(fdt, "uart", save_uart, vm->uart);
	ret = ret ?: save_node(fdt, "i8042", save_i8042, vm->i8042);
	ret = ret ?: save_node(fdt, "acpi-pm", save_acpi_pm, vm->acpi_pm);
	ret = ret ?: save_node(fdt, "rtc", save_rtc, vm->rtc);
	for (i = 0; i < vm->nr_nics && !ret; i++) {
		snprintf(name, sizeof(name), "nic@%u", i);
		ret = save_node(fdt, name, save_nic, vm->nics[i].pci);
	}
	ret = ret ?: state_finish(fdt);
	if (ret) {
		if (!state_error()[0])
			state_fail("saving the machine state: %s", strerror(-ret));
		free(fdt);
		return ret;
	}
	*out = fdt;
	*len = fdt_totalsize(fdt);
	return 0;
}

static int count_nodes(const void *fdt, const char *prefix)
{
	size_t plen = strlen(prefix);
	int node, n = 0;

	fdt_for_each_subnode(node, fdt, 0) {
		const char *name = fdt_get_name(fdt, node, NULL);

		if (name && !strncmp(name, prefix, plen))
			n++;
	}
	return n;
}

int vm_state_restore(struct vm *vm, const void *blob, size_t len)
{
	int kvm_node, node, nodes[4];
	uint32_t version;
	unsigned int i;
	char name[16];
	int ret;

	if (state_check(blob, len) || state_get_u32(blob, 0, "version", &version))
		return -EINVAL;
	if (version != STATE_VERSION)
		return state_fail("machine state version %u (this kvmini reads %u)", version,
				  STATE_VERSION);
	if (count_nodes(blob, "cpu@") != (int)vm->nr_vcpus)
		return state_fail("the machine state has %d vCPUs, the configuration %u",
				  count_nodes(blob, "cpu@"), vm->nr_vcpus);
	if (count_nodes(blob, "nic@") != (int)vm->nr_nics)
		return state_fail("the machine state has %d NICs, the configuration %u",
				  count_nodes(blob, "nic@"), vm->nr_nics);

	/* Everything this host must be able to run, before anything is applied. */
	kvm_node = state_node(blob, 0, "kvm");
	if (kvm_node < 0)
		return -EINVAL;
	ret = kvm_state_check(vm, blob, kvm_node);
	for (i = 0; i < vm->nr_vcpus && !ret; i++) {
		snprintf(name, sizeof(name), "cpu@%u", i);
		node = state_node(blob, 0, name);
		ret = node < 0 ? node : vcpu_state_check(&vm->vcpus[i], blob, node);
	}
	if (ret)
		return ret;
	nodes[0] = state_node(blob, 0, "uart");
	nodes[1] = state_node(blob, 0, "i8042");
	nodes[2] = state_node(blob, 0, "acpi-pm");
	nodes[3] = state_node(blob, 0, "rtc");
	for (i = 0; i < 4; i++)
		if (nodes[i] < 0)
			return -EINVAL;

	ret = uart_restore(vm->uart, blob, nodes[0]);
	ret = ret ?: i8042_restore(vm->i8042, blob, nodes[1]);
	ret = ret ?: acpi_pm_restore(vm->acpi_pm, blob, nodes[2]);
	ret = ret ?: rtc_restore(vm->rtc, blob, nodes[3]);
	for (i = 0; i < vm->nr_nics && !ret; i++) {
		snprintf(name, sizeof(name), "nic@%u", i);
		node = state_node(blob, 0, name);
		ret = node < 0 ? node : virtio_pci_restore(vm->nics[i].pci, blob, node);
	}
	/* The in-kernel irqchip and PIT before the vCPUs (their LAPICs), the clock last. */
	ret = ret ?: kvm_state_restore(vm, blob, kvm_node);
	for (i = 0; i < vm->nr_vcpus && !ret; i++) {
		snprintf(name, sizeof(name), "cpu@%u", i);
		ret = vcpu_state_restore(&vm->vcpus[i], blob, state_node(blob, 0, name));
	}
	return ret ?: kvm_state_restore_clock(vm, blob, kvm_node);
}
