// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the state reader. The input is one state blob (a
 * flattened device tree, as a snapshot's CONFIG and STATE records carry it),
 * read by everything that reads those blobs:
 *   - state_check(), which must accept it before anything else reads it;
 *   - vm_config_load() (the guest configuration);
 *   - the restore of the UART, i8042, ACPI PM and RTC nodes, each into a
 *     device made for this input and put into a state other than reset,
 *     and of nic@0 into a fresh virtio-net NIC on virtio-pci (a frames
 *     backend that carries nothing, a fake KVM, 4 MiB of guest RAM);
 *   - the parse steps of the kvm and cpu@N nodes (kvm_state_parse(),
 *     vcpu_state_parse(): what runs before any ioctl);
 *   - `kvmini state show` and `state dtb` on a snapshot file holding the
 *     blob as its CONFIG and STATE.
 * Checked:
 *   - every result is 0 or a negative errno; a refusal has one non-empty
 *     line in state_error() (or err);
 *   - nothing reads the blob before state_check() accepted it (the readers
 *     run only then; ASan sees any read past the blob's copy);
 *   - validate, then apply: a device that refuses the node saves exactly
 *     the same state as before; a device that takes it saves a node that a
 *     fresh device takes and saves identically (the round trip is stable);
 *   - a configuration vm_config_load() takes is within its limits;
 *   - state show and dtb succeed on a blob state_check() accepts.
 * A violation is __builtin_trap(). A custom mutator changes one property of
 * a valid tree in most mutations (fdt_mutator.h).
 *
 *   make fuzz-build && build/fuzz/fuzz_state -max_total_time=60 tests/fuzz/corpus/fuzz_state
 * Seeds: FUZZ_WRITE_SEEDS=DIR build/fuzz/fuzz_state writes them with the
 * real save code (tests/fuzz/make-seeds).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <libfdt.h>

#include "devices/acpi_pm.h"
#include "devices/i8042.h"
#include "devices/rtc.h"
#include "devices/uart.h"
#include "vmm/bus.h"
#include "vmm/config.h"
#include "vmm/kvm_state.h"
#include "vmm/layout.h"
#include "vmm/migrate_stream.h"
#include "vmm/state.h"
#include "vmm/state_show.h"
#include "vmm/vcpu_state.h"
#include "vmm/vm.h"
#include "vmm/vm_state.h"

#define CHECK(cond)                       \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

/* After CHECK(): they use it. */
#include "fdt_mutator.h"
#include "nic_harness.h"

#define ERR_LEN 256
#define SAVE_SIZE (16 << 10) /* a UART with a full input ring (8 KiB) fits */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed);

/* ---- the devices, behind one interface ---- */

static void no_irq(void *opaque, uint32_t gsi, int level)
{
}

static void no_tx(void *opaque, const uint8_t *buf, size_t len)
{
}

static void no_exit(void *opaque, enum kvmini_exit why)
{
}

struct dev {
	const char *node;
	void *(*create)(struct bus *pio);
	void (*destroy)(void *d);
	int (*save)(void *d, void *fdt);
	int (*restore)(void *d, const void *fdt, int node);
};

/* Each is made through its ports into a state that is not the reset state. */
static void pio_write(struct bus *pio, uint16_t port, uint8_t v)
{
	CHECK(bus_access(pio, port, &v, 1, true));
}

static void *uart_new(struct bus *pio)
{
	struct irq_line irq = {.set_level = no_irq, .gsi = 4};
	struct uart *u = uart_create(irq, no_tx, NULL);

	CHECK(u && !uart_register(u, pio, PORT_COM1));
	pio_write(pio, PORT_COM1 + 3, 0x83); /* DLAB */
	pio_write(pio, PORT_COM1 + 0, 0x0c); /* 9600 baud */
	pio_write(pio, PORT_COM1 + 3, 0x03);
	pio_write(pio, PORT_COM1 + 2, 0xc7); /* FIFO, trigger 14 */
	pio_write(pio, PORT_COM1 + 1, 0x05);
	pio_write(pio, PORT_COM1 + 4, 0x0b);
	pio_write(pio, PORT_COM1 + 7, 0x5a);
	CHECK(uart_receive(u, (const uint8_t *)"abc", 3) == 3);
	return u;
}

static void *i8042_new(struct bus *pio)
{
	struct machine_ctl ctl = {.request_exit = no_exit};
	struct i8042 *k = i8042_create(ctl);

	CHECK(k && !i8042_register(k, pio));
	pio_write(pio, PORT_I8042_CMD, 0x60); /* write the command byte */
	pio_write(pio, PORT_I8042_DATA, 0x45);
	pio_write(pio, PORT_I8042_CMD, 0xd2); /* a byte to read back as from the keyboard */
	pio_write(pio, PORT_I8042_DATA, 0x1c);
	return k;
}

static void *acpi_pm_new(struct bus *pio)
{
	struct machine_ctl ctl = {.request_exit = no_exit};
	struct acpi_pm *pm = acpi_pm_create(ctl);

	CHECK(pm && !acpi_pm_register(pm, pio));
	pio_write(pio, PORT_PM1A_EVT + 2, 0x01); /* PM1 enable: timer */
	pio_write(pio, PORT_PM1A_CNT, 0x01);	 /* SCI_EN */
	acpi_pm_power_button(pm);
	return pm;
}

static void *rtc_new(struct bus *pio)
{
	struct rtc *r = rtc_create();

	CHECK(r && !rtc_register(r, pio));
	CHECK(!rtc_cmos_set(r, 0x38, 0x42));
	pio_write(pio, PORT_RTC, 0x0b);
	pio_write(pio, PORT_RTC + 1, 0x42); /* 24 hour, periodic interrupt */
	return r;
}

static void uart_del(void *d)
{
	uart_destroy(d);
}
static void i8042_del(void *d)
{
	i8042_destroy(d);
}
static void acpi_pm_del(void *d)
{
	acpi_pm_destroy(d);
}
static void rtc_del(void *d)
{
	rtc_destroy(d);
}
static int uart_sv(void *d, void *fdt)
{
	return uart_save(d, fdt);
}
static int i8042_sv(void *d, void *fdt)
{
	return i8042_save(d, fdt);
}
static int acpi_pm_sv(void *d, void *fdt)
{
	return acpi_pm_save(d, fdt);
}
static int rtc_sv(void *d, void *fdt)
{
	return rtc_save(d, fdt);
}
static int uart_rs(void *d, const void *f, int n)
{
	return uart_restore(d, f, n);
}
static int i8042_rs(void *d, const void *f, int n)
{
	return i8042_restore(d, f, n);
}
static int acpi_pm_rs(void *d, const void *f, int n)
{
	return acpi_pm_restore(d, f, n);
}
static int rtc_rs(void *d, const void *f, int n)
{
	return rtc_restore(d, f, n);
}

static const struct dev devs[] = {
	{"uart", uart_new, uart_del, uart_sv, uart_rs},
	{"i8042", i8042_new, i8042_del, i8042_sv, i8042_rs},
	{"acpi-pm", acpi_pm_new, acpi_pm_del, acpi_pm_sv, acpi_pm_rs},
	{"rtc", rtc_new, rtc_del, rtc_sv, rtc_rs},
	{"nic@0", nic_new, nic_del, nic_sv, nic_rs},
};

/* The device's state as a blob of one node, named as vm_state_save() names it. */
static void *save_one(const struct dev *dv, void *d)
{
	void *fdt = malloc(SAVE_SIZE);

	CHECK(fdt);
	CHECK(!state_begin(fdt, SAVE_SIZE) && !state_node_begin(fdt, dv->node) &&
	      !dv->save(d, fdt) && !state_node_end(fdt) && !state_finish(fdt));
	return fdt;
}

static bool same(const void *a, const void *b)
{
	return fdt_totalsize(a) == fdt_totalsize(b) && !memcmp(a, b, fdt_totalsize(a));
}

static bool one_line(const char *err)
{
	size_t len = strnlen(err, ERR_LEN);

	return len > 0 && len < ERR_LEN && !memchr(err, '\n', len);
}

static void check_refusal(int ret)
{
	CHECK(ret < 0 && ret > -4096);
	CHECK(one_line(state_error()));
}

static void restore_device(const struct dev *dv, const void *blob, int node)
{
	struct bus pio, pio2;
	void *d, *d2, *before, *after, *again;
	int ret;

	CHECK(!bus_init(&pio, "pio"));
	d = dv->create(&pio);
	before = save_one(dv, d);
	ret = dv->restore(d, blob, node);
	after = save_one(dv, d);
	if (ret) {
		check_refusal(ret);
		CHECK(same(before, after));
	} else {
		/* What it took, a fresh device takes too, and keeps as it is. */
		CHECK(!bus_init(&pio2, "pio"));
		d2 = dv->create(&pio2);
		CHECK(!dv->restore(d2, after, fdt_subnode_offset(after, 0, dv->node)));
		again = save_one(dv, d2);
		CHECK(same(after, again));
		free(again);
		dv->destroy(d2);
		bus_destroy(&pio2);
	}
	free(before);
	free(after);
	dv->destroy(d);
	bus_destroy(&pio);
}

static void load_config(const void *blob, size_t len)
{
	struct vm_config host = {0}, out;
	char err[ERR_LEN] = "";
	unsigned int i;
	int ret = vm_config_load(blob, len, &host, &out, err, sizeof(err));

	if (ret) {
		CHECK(ret < 0 && ret > -4096 && one_line(err));
		return;
	}
	CHECK(out.mem_size >= CONFIG_MIN_MEM && out.mem_size <= CONFIG_MAX_MEM);
	CHECK(out.nr_cpus >= 1 && out.nr_cpus <= 4096 && out.nr_nics <= CONFIG_MAX_NICS);
	for (i = 0; i < out.nr_nics; i++) {
		CHECK(out.nics[i].queues >= 1 && out.nics[i].queues <= NET_MAX_QUEUES);
		CHECK(out.nics[i].kind == NET_KIND_USER ||
		      (out.nics[i].kind == NET_KIND_TAP && out.nics[i].ifname[0] &&
		       strnlen(out.nics[i].ifname, IFNAMSIZ) < IFNAMSIZ));
	}
}

static void parse_machine(const void *blob)
{
	int node, ret;
	unsigned int id = 0;

	node = fdt_subnode_offset(blob, 0, "kvm");
	if (node >= 0 && (ret = kvm_state_parse(blob, node)))
		check_refusal(ret);
	fdt_for_each_subnode(node, blob, 0)
	{
		const char *name = fdt_get_name(blob, node, NULL);

		if (!name || strncmp(name, "cpu@", 4))
			continue;
		ret = vcpu_state_parse(blob, node, id++);
		if (ret)
			check_refusal(ret);
	}
}

/* A snapshot file of the blob as CONFIG and STATE, through kvmini state show and dtb. */
static void show(const void *blob, size_t len)
{
	struct mig_stream s = {.fd = memfd_create("fuzz-snapshot", MFD_CLOEXEC)};
	char path[64], *show_argv[] = {"state", "show", path, NULL},
		       *dtb_argv[] = {"state", "dtb", path, "config", NULL};

	CHECK(s.fd >= 0);
	CHECK(!mig_write_header(&s) && !mig_write_record(&s, MIG_CONFIG, blob, len) &&
	      !mig_write_record(&s, MIG_STATE, blob, len) &&
	      !mig_write_record(&s, MIG_COMMIT, NULL, 0));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", s.fd);
	CHECK(cmd_state(3, show_argv) == 0);
	CHECK(cmd_state(4, dtb_argv) == 0);
	close(s.fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *blob;
	unsigned int i;
	int ret;

	if (size > (1 << 20))
		return 0;
	/* A record's payload arrives in a malloc()ed buffer of exactly its length. */
	blob = malloc(size ? size : 1);
	CHECK(blob);
	memcpy(blob, data, size);
	ret = state_check(blob, size);
	if (ret) {
		check_refusal(ret);
		load_config(blob, size); /* checks again, and must refuse too */
		free(blob);
		return 0;
	}
	load_config(blob, size);
	for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		int node = fdt_subnode_offset(blob, 0, devs[i].node);

		if (node >= 0)
			restore_device(&devs[i], blob, node);
	}
	parse_machine(blob);
	show(blob, size);
	free(blob);
	return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed)
{
	return fdt_mutate(data, size, max, seed);
}

/* ---- seeds: the real save code, and vCPU nodes laid out as vcpu_state.c saves them ---- */

static void put_cpu(void *fdt, bool sregs2)
{
	static struct kvm_cpuid_entry2 cpuid[2] = {{.function = 0, .eax = 0xd},
						   {.function = 1, .ecx = 1U << 31}};
	static struct kvm_msr_entry msrs[2] = {{.index = 0x10}, {.index = 0xc0000080}};
	static uint8_t zero[sizeof(struct kvm_xsave)];
	static struct kvm_regs regs = {.rip = 0x100000};
	static struct kvm_sregs sr;
	static struct kvm_sregs2 sr2;
	static struct kvm_lapic_state lapic;
	static struct kvm_vcpu_events ev;
	static struct kvm_mp_state mp;
	static struct kvm_debugregs dr;
	static struct kvm_xcrs xcrs = {.nr_xcrs = 1};

	CHECK(!state_put_blob(fdt, "cpuid", cpuid, sizeof(cpuid)) &&
	      !state_put_blob(fdt, "msrs", msrs, sizeof(msrs)) &&
	      !state_put_blob(fdt, "regs", &regs, sizeof(regs)) &&
	      !(sregs2 ? state_put_blob(fdt, "sregs2", &sr2, sizeof(sr2))
		       : state_put_blob(fdt, "sregs", &sr, sizeof(sr))) &&
	      !state_put_blob(fdt, "xsave", zero, sizeof(zero)) &&
	      !state_put_blob(fdt, "xcrs", &xcrs, sizeof(xcrs)) &&
	      !state_put_blob(fdt, "lapic", &lapic, sizeof(lapic)) &&
	      !state_put_blob(fdt, "events", &ev, sizeof(ev)) &&
	      !state_put_blob(fdt, "mp-state", &mp, sizeof(mp)) &&
	      !state_put_blob(fdt, "debugregs", &dr, sizeof(dr)));
}

static void put_kvm(void *fdt)
{
	static struct kvm_pic_state pic;
	static struct kvm_ioapic_state ioapic;
	static struct kvm_pit_state2 pit;
	static struct kvm_clock_data clock;

	CHECK(!state_put_blob(fdt, "pic-master", &pic, sizeof(pic)) &&
	      !state_put_blob(fdt, "pic-slave", &pic, sizeof(pic)) &&
	      !state_put_blob(fdt, "ioapic", &ioapic, sizeof(ioapic)) &&
	      !state_put_blob(fdt, "pit", &pit, sizeof(pit)) &&
	      !state_put_blob(fdt, "clock", &clock, sizeof(clock)) &&
	      !state_put_u32(fdt, "tsc-khz", 2000000));
}

static void write_file(const char *dir, const char *name, const void *p, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CHECK(f && fwrite(p, 1, len, f) == len && !fclose(f));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_WRITE_SEEDS");
	struct vm_config cfg = {.mem_size = 64ULL << 20, .nr_cpus = 1, .nr_nics = 1};
	struct vm vm;
	void *fdt, *cfg_blob;
	size_t len;
	unsigned int i;
	int fd;

	/* state show prints to stdout: keep the fuzzer's output readable. */
	fd = open("/dev/null", O_WRONLY);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	if (!dir)
		return 0;
	/* The machine state as vm_state_save() lays it out, devices saved by their own code. */
	fdt = malloc(1 << 20);
	CHECK(fdt && !state_begin(fdt, 1 << 20) && !state_put_u32(fdt, "version", STATE_VERSION));
	CHECK(!state_node_begin(fdt, "kvm"));
	put_kvm(fdt);
	CHECK(!state_node_end(fdt) && !state_node_begin(fdt, "cpu@0"));
	put_cpu(fdt, true);
	CHECK(!state_node_end(fdt) && !state_node_begin(fdt, "cpu@1"));
	put_cpu(fdt, false);
	CHECK(!state_node_end(fdt));
	for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		struct bus pio;
		void *d;

		CHECK(!bus_init(&pio, "pio"));
		d = devs[i].create(&pio);
		if (devs[i].create == nic_new)
			nic_bring_up(d);
		CHECK(!state_node_begin(fdt, devs[i].node) && !devs[i].save(d, fdt) &&
		      !state_node_end(fdt));
		devs[i].destroy(d);
		bus_destroy(&pio);
	}
	CHECK(!state_finish(fdt));
	write_file(dir, "machine-state", fdt, fdt_totalsize(fdt));
	free(fdt);

	/* The guest configuration, by vm_config_save(): a tap with 2 queue pairs, slirp. */
	memset(&vm, 0, sizeof(vm));
	cfg.nr_nics = 2;
	cfg.nics[0].kind = NET_KIND_TAP;
	strcpy(cfg.nics[0].ifname, "tap0");
	cfg.nics[0].queues = 2;
	cfg.nics[1].kind = NET_KIND_USER;
	cfg.nics[1].queues = 1;
	vm.cfg = &cfg;
	vm.nr_vcpus = 2;
	vm.nr_nics = 2;
	memcpy(vm.nics[0].mac, "\x52\x54\x00\x12\x34\x56", 6);
	CHECK(!vm_config_save(&vm, &cfg_blob, &len));
	write_file(dir, "config", cfg_blob, len);
	free(cfg_blob);
	exit(0);
}
