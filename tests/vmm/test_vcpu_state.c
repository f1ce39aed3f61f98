// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU and in-kernel state across a save and a restore into a second VM,
 * damaged blobs, and pausing real vCPU threads.
 *
 * The guest counts in RBX and in memory and exits on a port every turn, so
 * the test steps it exit by exit: after a restore both counts must go on
 * from the saved values, with the same RIP, RSP, RFLAGS, CR3 and EFER.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <libfdt.h>

#include "vmm/cpu_mode.h"
#include "vmm/kvm_state.h"
#include "vmm/state.h"
#include "vmm/vcpu_state.h"
#include "vmm/vm.h"

#define CODE 0x100000ULL
#define COUNTER 0x200000ULL
#define LAST_IN 0x200008ULL
#define STACK 0x80000ULL
#define PORT 0x80
#define BUF_SIZE (1 << 20)

/* inc rbx; inc qword [COUNTER]; out 0x80, al; jmp 0 */
static const uint8_t count_out[] = { 0x48, 0xff, 0xc3, 0x48, 0xff, 0x04, 0x25, 0x00, 0x00, 0x20,
				     0x00, 0xe6, PORT, 0xeb, 0xf1 };
/* inc qword [COUNTER]; in al, 0x80; mov [LAST_IN], al; jmp 0 */
static const uint8_t count_in[] = { 0x48, 0xff, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0xe4, PORT,
				    0x88, 0x04, 0x25, 0x08, 0x00, 0x20, 0x00, 0xeb, 0xed };

struct machine {
	struct vm_config cfg;
	struct vm vm;
};

static void need_kvm(void)
{
	if (access("/dev/kvm", R_OK | W_OK))
		cr_skip_test("no usable /dev/kvm on this host: %s", strerror(errno));
}

static struct vcpu *vcpu0(struct machine *m)
{
	return &m->vm.vcpus[0];
}

static void machine_init(struct machine *m, const uint8_t *code, size_t len)
{
	struct vm *vm = &m->vm;
	char err[256];

	memset(m, 0, sizeof(*m));
	vm->cfg = &m->cfg;
	vm->exit_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_geq(vm->exit_efd, 0);
	cr_assert_eq(kvm_open(&vm->kvm, err, sizeof(err)), 0, "%s", err);
	/* With irqchip and PIT, as vm.c builds every machine. */
	cr_assert_eq(kvm_create_vm(&vm->kvm, true, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(guest_memory_init(&vm->mem, 16 << 20, false), 0);
	cr_assert_eq(kvm_map_memory(&vm->kvm, &vm->mem), 0);
	cr_assert_eq(bus_init(&vm->pio, "pio"), 0);
	cr_assert_eq(bus_init(&vm->mmio, "mmio"), 0);
	vm_pause_init(vm);
	vm->nr_vcpus = 1;
	vm->vcpus = calloc(1, sizeof(*vm->vcpus));
	cr_assert_not_null(vm->vcpus);
	cr_assert_eq(vcpu_create(vm, vcpu0(m), 0), 0);
	if (code) {
		cr_assert_eq(cpu_write_boot_tables(&vm->mem, false), 0);
		cr_assert_eq(guest_write(&vm->mem, CODE, code, len), 0);
		cr_assert_eq(cpu_enter_long_mode(vcpu0(m)->fd, CODE, 0, STACK), 0);
	}
}

static void machine_free(struct machine *m)
{
	struct vm *vm = &m->vm;

	vcpu_destroy(vcpu0(m));
	free(vm->vcpus);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	kvm_close(&vm->kvm);
	guest_memory_free(&vm->mem);
	close(vm->exit_efd);
}

static volatile uint64_t *guest_u64(struct machine *m, uint64_t gpa)
{
	return guest_ptr(&m->vm.mem, gpa, 8);
}

static void run_exits(struct vcpu *v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		cr_assert_eq(ioctl(v->fd, KVM_RUN, 0), 0, "KVM_RUN: %s", strerror(errno));
		cr_assert_eq(v->run->exit_reason, KVM_EXIT_IO, "exit reason %u",
			     v->run->exit_reason);
		cr_assert_eq(v->run->io.port, PORT);
	}
}

/* What vcpu.c does before parking: finish the exit, come back with -EINTR. */
static void complete_exit(struct vcpu *v)
{
	v->run->immediate_exit = 1;
	cr_assert_eq(ioctl(v->fd, KVM_RUN, 0), -1);
	cr_assert_eq(errno, EINTR);
	v->run->immediate_exit = 0;
}

static void save(struct machine *m, void *buf)
{
	cr_assert_eq(state_begin(buf, BUF_SIZE), 0);
	cr_assert_eq(state_node_begin(buf, "kvm"), 0);
	cr_assert_eq(kvm_state_save(&m->vm, buf), 0);
	cr_assert_eq(state_node_end(buf), 0);
	cr_assert_eq(state_node_begin(buf, "cpu@0"), 0);
	cr_assert_eq(vcpu_state_save(vcpu0(m), buf), 0);
	cr_assert_eq(state_node_end(buf), 0);
	cr_assert_eq(state_finish(buf), 0);
	cr_assert_eq(state_check(buf, fdt_totalsize(buf)), 0, "%s", state_error());
}

static uint64_t saved_msr(const void *fdt, int node, uint32_t index)
{
	size_t len, i;
	const uint8_t *p = state_get_var(fdt, node, "msrs", &len);
	struct kvm_msr_entry e;

	cr_assert_not_null(p);
	for (i = 0; i + sizeof(e) <= len; i += sizeof(e)) {
		memcpy(&e, p + i, sizeof(e));
		if (e.index == index)
			return e.data;
	}
	cr_assert_fail("MSR %#x not saved", index);
	return 0;
}

/* A kvm_msrs with room for one entry (entries[] is a flexible array). */
union one_msr {
	struct kvm_msrs hdr;
	uint8_t room[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
};

static uint64_t read_msr(struct vcpu *v, uint32_t index)
{
	union one_msr m = { .hdr.nmsrs = 1 };

	m.hdr.entries[0].index = index;
	cr_assert_eq(ioctl(v->fd, KVM_GET_MSRS, &m), 1);
	return m.hdr.entries[0].data;
}

static void write_msr(struct vcpu *v, uint32_t index, uint64_t data)
{
	union one_msr m = { .hdr.nmsrs = 1 };

	m.hdr.entries[0].index = index;
	m.hdr.entries[0].data = data;

	cr_assert_eq(ioctl(v->fd, KVM_SET_MSRS, &m), 1);
}

/*
 * Far from any fresh VM's TSC: before Linux 6.7 KVM took a host TSC write
 * within a second of the VM's own as a "sync" and ignored its value.
 */
#define TSC_START (1ULL << 42)

Test(vcpu_state, counting_guest_goes_on_in_a_second_vm, .timeout = 120)
{
	struct machine a, b;
	struct kvm_regs ra, rb;
	struct kvm_sregs sa, sb;
	void *buf = calloc(1, BUF_SIZE);
	uint64_t count, tsc;
	int knode, cnode;

	need_kvm();
	machine_init(&a, count_out, sizeof(count_out));
	write_msr(vcpu0(&a), 0x10, TSC_START);
	run_exits(vcpu0(&a), 300);
	complete_exit(vcpu0(&a));
	count = *guest_u64(&a, COUNTER);
	cr_assert_eq(count, 300);
	save(&a, buf);
	cr_assert_eq(ioctl(vcpu0(&a)->fd, KVM_GET_REGS, &ra), 0);
	cr_assert_eq(ioctl(vcpu0(&a)->fd, KVM_GET_SREGS, &sa), 0);
	cr_assert_eq(ra.rbx, 300);

	/* The destination: memory copied as migration would, no code loaded, no registers set. */
	machine_init(&b, NULL, 0);
	memcpy(b.vm.mem.region[0].hva, a.vm.mem.region[0].hva, a.vm.mem.region[0].size);
	knode = state_node(buf, 0, "kvm");
	cnode = state_node(buf, 0, "cpu@0");
	cr_assert_geq(knode, 0);
	cr_assert_geq(cnode, 0);
	cr_assert_eq(kvm_state_check(&b.vm, buf, knode), 0, "%s", state_error());
	cr_assert_eq(vcpu_state_check(vcpu0(&b), buf, cnode), 0, "%s", state_error());
	cr_assert_eq(kvm_state_restore(&b.vm, buf, knode), 0, "%s", state_error());
	cr_assert_eq(vcpu_state_restore(vcpu0(&b), buf, cnode), 0, "%s", state_error());
	cr_assert_eq(kvm_state_restore_clock(&b.vm, buf, knode), 0, "%s", state_error());

	cr_assert_eq(ioctl(vcpu0(&b)->fd, KVM_GET_REGS, &rb), 0);
	cr_assert_eq(ioctl(vcpu0(&b)->fd, KVM_GET_SREGS, &sb), 0);
	cr_assert_eq(rb.rip, ra.rip);
	cr_assert_eq(rb.rsp, ra.rsp);
	cr_assert_eq(rb.rflags, ra.rflags);
	cr_assert_eq(rb.rbx, ra.rbx);
	cr_assert_eq(sb.cr3, sa.cr3);
	cr_assert_eq(sb.efer, sa.efer);
	cr_assert_eq(sb.cs.selector, sa.cs.selector);
	/* A fresh VM's TSC starts near 0; the restored one goes on from the source's. */
	tsc = saved_msr(buf, cnode, 0x10);
	cr_assert_geq(tsc, TSC_START);
	cr_assert_geq(read_msr(vcpu0(&b), 0x10), tsc);

	run_exits(vcpu0(&b), 50);
	complete_exit(vcpu0(&b));
	cr_assert_eq(*guest_u64(&b, COUNTER), count + 50, "counter %lu",
		     (unsigned long)*guest_u64(&b, COUNTER));
	cr_assert_eq(ioctl(vcpu0(&b)->fd, KVM_GET_REGS, &rb), 0);
	cr_assert_eq(rb.rbx, 350, "rbx %llu", (unsigned long long)rb.rbx);
	/* The source is untouched by all this. */
	cr_assert_eq(*guest_u64(&a, COUNTER), count);

	machine_free(&a);
	machine_free(&b);
	free(buf);
}

Test(vcpu_state, cpuid_feature_the_host_lacks_is_refused, .timeout = 60)
{
	struct machine a;
	struct kvm_cpuid_entry2 e;
	void *buf = calloc(1, BUF_SIZE);
	uint8_t *p;
	int node, len, i;
	uint32_t bit = 0;

	need_kvm();
	machine_init(&a, count_out, sizeof(count_out));
	save(&a, buf);
	node = state_node(buf, 0, "cpu@0");
	cr_assert_eq(vcpu_state_check(vcpu0(&a), buf, node), 0, "%s", state_error());

	/* Claim a leaf 7 EBX feature this very vCPU does not have. */
	p = fdt_getprop_w(buf, node, "cpuid", &len);
	cr_assert_not_null(p);
	for (i = 0; i + (int)sizeof(e) <= len; i += sizeof(e)) {
		memcpy(&e, p + i, sizeof(e));
		if (e.function != 7 || e.index != 0)
			continue;
		cr_assert_neq(~e.ebx, 0);
		bit = 1U << __builtin_ctz(~e.ebx);
		e.ebx |= bit;
		memcpy(p + i, &e, sizeof(e));
		break;
	}
	cr_assert_neq(bit, 0, "no leaf 7 in the saved CPUID");
	cr_assert_eq(vcpu_state_check(vcpu0(&a), buf, node), -EINVAL);
	cr_assert(strstr(state_error(), "leaf 0x7.0 EBX"), "%s", state_error());
	machine_free(&a);
	free(buf);
}

/* A blob with every property at its right size, all zeros: the shape a parser checks. */
static const struct prop {
	const char *node, *name;
	size_t len;
} props[] = {
	{ "kvm", "pic-master", sizeof(struct kvm_pic_state) },
	{ "kvm", "pic-slave", sizeof(struct kvm_pic_state) },
	{ "kvm", "ioapic", sizeof(struct kvm_ioapic_state) },
	{ "kvm", "clock", sizeof(struct kvm_clock_data) },
	{ "kvm", "tsc-khz", 4 },
	{ "cpu@0", "cpuid", sizeof(struct kvm_cpuid_entry2) },
	{ "cpu@0", "regs", sizeof(struct kvm_regs) },
	{ "cpu@0", "sregs", sizeof(struct kvm_sregs) },
	{ "cpu@0", "xsave", sizeof(struct kvm_xsave) },
	{ "cpu@0", "lapic", sizeof(struct kvm_lapic_state) },
	{ "cpu@0", "msrs", sizeof(struct kvm_msr_entry) },
	{ "cpu@0", "events", sizeof(struct kvm_vcpu_events) },
	{ "cpu@0", "mp-state", sizeof(struct kvm_mp_state) },
	{ "cpu@0", "debugregs", sizeof(struct kvm_debugregs) },
};
#define NR_PROPS (sizeof(props) / sizeof(props[0]))

static void damaged_blob(void *buf, unsigned int victim, bool drop)
{
	static const uint8_t zeros[sizeof(struct kvm_xsave)];
	const char *node = NULL;
	unsigned int i;

	cr_assert_eq(state_begin(buf, BUF_SIZE), 0);
	for (i = 0; i < NR_PROPS; i++) {
		if (!node || strcmp(node, props[i].node)) {
			if (node)
				cr_assert_eq(state_node_end(buf), 0);
			node = props[i].node;
			cr_assert_eq(state_node_begin(buf, node), 0);
		}
		if (i == victim && drop)
			continue;
		cr_assert_eq(state_put_blob(buf, props[i].name, zeros,
					    props[i].len - (i == victim)), 0);
	}
	cr_assert_eq(state_node_end(buf), 0);
	cr_assert_eq(state_finish(buf), 0);
}

/* No KVM needed: every property is parsed before anything reaches KVM. */
Test(vcpu_state, damaged_blob_is_refused_naming_the_property)
{
	struct vm vm = { .kvm = { .sys_fd = -1, .vm_fd = -1 }, .nr_vcpus = 0 };
	struct vcpu v = { .vm = &vm, .id = 0, .fd = -1 };
	void *buf = calloc(1, BUF_SIZE);
	unsigned int i, drop;

	for (i = 0; i < NR_PROPS; i++) {
		for (drop = 0; drop < 2; drop++) {
			int node;

			damaged_blob(buf, i, drop);
			node = state_node(buf, 0, props[i].node);
			cr_assert_geq(node, 0);
			if (!strcmp(props[i].node, "kvm")) {
				cr_assert_eq(kvm_state_check(&vm, buf, node), -EINVAL, "%s",
					     props[i].name);
				cr_assert(strstr(state_error(), props[i].name), "%s: %s",
					  props[i].name, state_error());
				cr_assert_eq(kvm_state_restore(&vm, buf, node), -EINVAL);
				cr_assert(strstr(state_error(), props[i].name), "%s: %s",
					  props[i].name, state_error());
			} else {
				cr_assert_eq(vcpu_state_check(&v, buf, node), -EINVAL, "%s",
					     props[i].name);
				cr_assert(strstr(state_error(), props[i].name), "%s: %s",
					  props[i].name, state_error());
				cr_assert_eq(vcpu_state_restore(&v, buf, node), -EINVAL);
				cr_assert(strstr(state_error(), props[i].name), "%s: %s",
					  props[i].name, state_error());
			}
		}
	}
	/* Too many entries for KVM is as bad as too few bytes. */
	cr_assert_eq(state_begin(buf, BUF_SIZE), 0);
	cr_assert_eq(state_node_begin(buf, "cpu@0"), 0);
	{
		size_t len = 257 * sizeof(struct kvm_cpuid_entry2);
		void *big = calloc(1, len);

		cr_assert_eq(state_put_blob(buf, "cpuid", big, len), 0);
		free(big);
	}
	cr_assert_eq(state_node_end(buf), 0);
	cr_assert_eq(state_finish(buf), 0);
	cr_assert_eq(vcpu_state_restore(&v, buf, state_node(buf, 0, "cpu@0")), -EINVAL);
	cr_assert(strstr(state_error(), "cpuid"), "%s", state_error());
	free(buf);
}

struct port80 {
	uint64_t reads;
};

/* Every IN returns the next byte, so a completed IN is visible in AL. */
static void port80_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct port80 *p = opaque;

	if (!is_write)
		data[0] = (uint8_t)__atomic_add_fetch(&p->reads, 1, __ATOMIC_SEQ_CST);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait up to 5 s for the guest's counter to move past from. */
static bool counter_moves(struct machine *m, uint64_t from)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (*guest_u64(m, COUNTER) != from)
			return true;
		sleep_ms(10);
	}
	return false;
}

Test(vcpu_state, pause_parks_vcpu_threads_with_the_exit_completed, .timeout = 120)
{
	struct machine m;
	struct port80 dev = { 0 };
	struct kvm_regs regs;
	uint64_t before;
	int round;

	need_kvm();
	machine_init(&m, count_in, sizeof(count_in));
	cr_assert_eq(bus_register(&m.vm.pio, PORT, 1, port80_io, &dev, "test"), 0);
	vcpu_signals_init();
	cr_assert_eq(vcpu_start(vcpu0(&m)), 0);
	cr_assert(counter_moves(&m, 0), "the guest does not run");

	for (round = 0; round < 10; round++) {
		cr_assert_eq(vm_pause(&m.vm), 0);
		cr_assert(vm_paused(&m.vm));
		cr_assert_eq(m.vm.nr_parked, 1);
		before = *guest_u64(&m, COUNTER);
		sleep_ms(100);
		cr_assert_eq(*guest_u64(&m, COUNTER), before,
			     "round %d: the guest ran while paused", round);
		/* The IN the vCPU was in when paused has landed in AL. */
		cr_assert_eq(ioctl(vcpu0(&m)->fd, KVM_GET_REGS, &regs), 0);
		cr_assert_eq(regs.rax & 0xff, __atomic_load_n(&dev.reads, __ATOMIC_SEQ_CST) & 0xff,
			     "round %d: AL %#llx, last IN returned %#lx", round,
			     (unsigned long long)regs.rax & 0xff, (unsigned long)dev.reads & 0xff);
		vm_resume(&m.vm);
		cr_assert_not(vm_paused(&m.vm));
		cr_assert(counter_moves(&m, before), "round %d: the guest did not resume", round);
	}

	/* Stopping wakes a parked vCPU thread, and a pause then reports the stop. */
	cr_assert_eq(vm_pause(&m.vm), 0);
	vm_request_exit(&m.vm, 0);
	cr_assert_eq(vm_pause(&m.vm), -ESHUTDOWN);
	vcpu_kick(vcpu0(&m));
	cr_assert_eq(pthread_join(vcpu0(&m)->thread, NULL), 0);
	vcpu0(&m)->started = false;
	machine_free(&m);
}
