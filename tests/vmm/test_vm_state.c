// SPDX-License-Identifier: GPL-2.0
/*
 * The guest configuration a migration stream carries (vm_config_save/load):
 * a destination builds the same machine from it, pairs its own --net with
 * the guest's NICs, and refuses a configuration it cannot build with one
 * line, before anything exists.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libfdt.h>

#include "vmm/state.h"
#include "vmm/vm.h"
#include "vmm/vm_state.h"

static const uint8_t MAC0[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t MAC1[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };

/* A source machine as far as vm_config_save() looks: 2 vCPUs, 256 MiB, a tap and slirp. */
static void source(struct vm *vm, struct vm_config *cfg)
{
	memset(vm, 0, sizeof(*vm));
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_size = 256ULL << 20;
	cfg->nr_cpus = 2;
	cfg->debug_exit = true;
	cfg->nr_nics = 2;
	cfg->nics[0].kind = NET_KIND_TAP;
	strcpy(cfg->nics[0].ifname, "tap-src");
	cfg->nics[0].queues = 2;
	cfg->nics[0].vhost = NET_VHOST_ON;
	cfg->nics[1].kind = NET_KIND_USER;
	cfg->nics[1].queues = 1;
	vm->cfg = cfg;
	vm->nr_vcpus = 2;
	vm->nr_nics = 2;
	memcpy(vm->nics[0].mac, MAC0, 6);
	memcpy(vm->nics[1].mac, MAC1, 6);
}

static void *saved(size_t *len)
{
	struct vm_config cfg;
	struct vm vm;
	void *blob;

	source(&vm, &cfg);
	cr_assert_eq(vm_config_save(&vm, &blob, len), 0, "%s", vm_state_error());
	return blob;
}

Test(vm_state, config_round_trip_keeps_the_guest_and_the_host_settings)
{
	struct vm_config host = { 0 }, out;
	char err[256] = "";
	size_t len;
	void *blob = saved(&len);

	host.api_socket = "/tmp/dst.sock";
	host.console = CONSOLE_NONE;
	cr_assert_eq(vm_config_load(blob, len, &host, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out.mem_size, 256ULL << 20);
	cr_assert_eq(out.nr_cpus, 2);
	cr_assert(out.debug_exit);
	cr_assert_str_eq(out.api_socket, "/tmp/dst.sock");
	cr_assert_eq(out.console, CONSOLE_NONE);
	/* No --net on the destination: the guest's own NICs, same tap name, same MACs. */
	cr_assert_eq(out.nr_nics, 2);
	cr_assert_eq(out.nics[0].kind, NET_KIND_TAP);
	cr_assert_str_eq(out.nics[0].ifname, "tap-src");
	cr_assert_eq(out.nics[0].queues, 2);
	cr_assert(out.nics[0].has_mac && !memcmp(out.nics[0].mac, MAC0, 6));
	cr_assert_eq(out.nics[1].kind, NET_KIND_USER);
	cr_assert(out.nics[1].has_mac && !memcmp(out.nics[1].mac, MAC1, 6));
	free(blob);
}

Test(vm_state, destination_net_pairs_by_position_and_keeps_the_guest_macs)
{
	struct vm_config host = { 0 }, out;
	char err[256] = "";
	size_t len;
	void *blob = saved(&len);

	host.nr_nics = 2;
	host.nics[0].kind = NET_KIND_TAP;
	strcpy(host.nics[0].ifname, "tap-dst");
	host.nics[0].queues = 2;
	host.nics[0].vhost = NET_VHOST_OFF;
	host.nics[1].kind = NET_KIND_TAP;	/* user on the source, a tap here */
	strcpy(host.nics[1].ifname, "tap-dst2");
	host.nics[1].queues = 1;
	cr_assert_eq(vm_config_load(blob, len, &host, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(out.nics[0].ifname, "tap-dst");
	cr_assert_eq(out.nics[0].vhost, NET_VHOST_OFF);
	cr_assert_eq(out.nics[1].kind, NET_KIND_TAP);
	cr_assert(!memcmp(out.nics[0].mac, MAC0, 6) && !memcmp(out.nics[1].mac, MAC1, 6));
	free(blob);
}

Test(vm_state, wrong_nic_count_or_queue_pairs_is_one_line)
{
	struct vm_config host = { 0 }, out;
	char err[256] = "";
	size_t len;
	void *blob = saved(&len);

	host.nr_nics = 1;
	host.nics[0].kind = NET_KIND_USER;
	cr_assert_eq(vm_config_load(blob, len, &host, &out, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "--net: 1 NICs given, the guest has 2");

	host.nr_nics = 2;
	host.nics[0].kind = NET_KIND_TAP;
	strcpy(host.nics[0].ifname, "t0");
	host.nics[0].queues = 1;
	host.nics[1].kind = NET_KIND_USER;
	cr_assert_eq(vm_config_load(blob, len, &host, &out, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "2 queue pairs, this one 1"), "%s", err);
	cr_assert(!strchr(err, '\n'));
	free(blob);
}

/* A configuration blob with one property changed or left out. */
static void *config_with(const char *skip, const char *name, uint64_t val, size_t *len)
{
	static const char *const props[] = { "version", "memory", "cpus", "debug-exit" };
	uint64_t vals[] = { STATE_VERSION, 64ULL << 20, 1, 0 };
	void *fdt = malloc(4096);
	unsigned int i;

	cr_assert_eq(state_begin(fdt, 4096), 0);
	for (i = 0; i < 4; i++) {
		uint64_t v = name && !strcmp(name, props[i]) ? val : vals[i];

		if (skip && !strcmp(skip, props[i]))
			continue;
		if (!strcmp(props[i], "memory"))
			cr_assert_eq(state_put_u64(fdt, props[i], v), 0);
		else
			cr_assert_eq(state_put_u32(fdt, props[i], (uint32_t)v), 0);
	}
	cr_assert_eq(state_finish(fdt), 0);
	*len = fdt_totalsize(fdt);
	return fdt;
}

static void refused_blob(void *blob, size_t len, const char *want)
{
	struct vm_config host = { 0 }, out;
	char err[256] = "";

	cr_assert_eq(vm_config_load(blob, len, &host, &out, err, sizeof(err)), -EINVAL,
		     "accepted, wanted: %s", want);
	cr_assert(strstr(err, want), "'%s' does not say '%s'", err, want);
	free(blob);
}

static void refused(const char *skip, const char *name, uint64_t val, const char *want)
{
	size_t len;
	void *blob = config_with(skip, name, val, &len);

	refused_blob(blob, len, want);
}

Test(vm_state, bad_configurations_are_refused_naming_what)
{
	size_t len;
	void *ok = config_with(NULL, NULL, 0, &len);
	struct vm_config host = { 0 }, out;
	char err[256] = "";

	cr_assert_eq(vm_config_load(ok, len, &host, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out.nr_nics, 0);
	free(ok);
	refused("cpus", NULL, 0, "cpus");
	refused("memory", NULL, 0, "memory");
	refused(NULL, "version", 99, "state version 99");
	refused(NULL, "cpus", 0, "0 vCPUs");
	refused(NULL, "memory", 12345, "guest memory of 12345 bytes");
	refused(NULL, "memory", 1ULL << 50, "guest memory");

	ok = config_with(NULL, NULL, 0, &len);
	memset(ok, 0xa5, 16);	/* the FDT header */
	refused_blob(ok, len, "configuration");
}

/* A configuration whose one NIC has the kind and tap name given, as a peer could send. */
static void *config_with_nic(const char *kind, const char *ifname, size_t *len)
{
	void *fdt = malloc(4096);

	cr_assert_eq(state_begin(fdt, 4096), 0);
	cr_assert_eq(state_put_u32(fdt, "version", STATE_VERSION), 0);
	cr_assert_eq(state_put_u64(fdt, "memory", 64ULL << 20), 0);
	cr_assert_eq(state_put_u32(fdt, "cpus", 1), 0);
	cr_assert_eq(state_put_u32(fdt, "debug-exit", 0), 0);
	cr_assert_eq(state_node_begin(fdt, "nic@0"), 0);
	cr_assert_eq(state_put_str(fdt, "kind", kind), 0);
	cr_assert_eq(state_put_blob(fdt, "mac", MAC0, 6), 0);
	cr_assert_eq(state_put_u32(fdt, "queues", 1), 0);
	cr_assert_eq(state_put_str(fdt, "ifname", ifname), 0);
	cr_assert_eq(state_node_end(fdt), 0);
	cr_assert_eq(state_finish(fdt), 0);
	*len = fdt_totalsize(fdt);
	return fdt;
}

/*
 * The peer's strings: a tap name the kernel would refuse is refused here,
 * and an error quoting the peer's bytes is still one printable line.
 */
Test(vm_state, a_peers_nic_strings_are_checked_and_quoted_on_one_line)
{
	static const char *const bad_names[] = { "a/b", "eth 0", "a:1", "..", "t\n0",
						 "tap0123456789abcdef" };
	struct vm_config host = { 0 }, out;
	char err[256] = "";
	unsigned int i;
	size_t len;
	void *blob;

	blob = config_with_nic("tap", "tap-ok.1", &len);
	cr_assert_eq(vm_config_load(blob, len, &host, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(out.nics[0].ifname, "tap-ok.1");
	free(blob);
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		blob = config_with_nic("tap", bad_names[i], &len);
		refused_blob(blob, len, "nic@0 has no usable ifname");
	}
	blob = config_with_nic("ta\np\x1b[2J", "t0", &len);
	refused_blob(blob, len, "nic@0 is of unknown kind 'ta?p?[2J'");
}
