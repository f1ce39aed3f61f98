// SPDX-License-Identifier: GPL-2.0
/*
 * The union of the three dirty logs: a real vCPU writes pages (KVM's log),
 * kvmini's device code marks pages (its bitmap), a backend sets bits in the
 * shared log (vhost's). Each must appear in a harvest, once, and leaving one
 * log out must lose exactly its pages.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/cpu_mode.h"
#include "vmm/dirty_log.h"
#include "vmm/kvm.h"
#include "vmm/memory.h"

#define CODE 0x100000ULL
#define PAGE_A 0x300000ULL	/* the vCPU writes A and A + 2 pages */
#define PAGE_VMM 0x401000ULL	/* kvmini's device code */
#define PAGE_BACKEND 0x502000ULL	/* a backend (vhost) */

struct box {
	struct kvm kvm;
	struct guest_memory mem;
	int vcpu;
	struct kvm_run *run;
};

static void box_init(struct box *b)
{
	char err[256];

	/* Said, not hidden: run-unit prints the reason on a SKIP line. */
	if (access("/dev/kvm", R_OK | W_OK))
		cr_skip_test("no usable /dev/kvm on this host: %s", strerror(errno));
	/* mov rdi, PAGE_A; mov byte [rdi], 0xaa; mov byte [rdi + 0x2000], 0xbb; hlt */
	static const uint8_t code[] = { 0x48, 0xc7, 0xc7, 0x00, 0x00, 0x30, 0x00, 0xc6, 0x07, 0xaa,
					0xc6, 0x87, 0x00, 0x20, 0x00, 0x00, 0xbb, 0xf4 };

	cr_assert_eq(kvm_open(&b->kvm, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(kvm_create_vm(&b->kvm, false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(guest_memory_init(&b->mem, 16 << 20, false), 0);
	cr_assert_eq(kvm_map_memory(&b->kvm, &b->mem), 0);
	cr_assert_eq(cpu_write_boot_tables(&b->mem, false), 0);
	cr_assert_eq(guest_write(&b->mem, CODE, code, sizeof(code)), 0);
	b->vcpu = ioctl(b->kvm.vm_fd, KVM_CREATE_VCPU, 0);
	cr_assert_geq(b->vcpu, 0);
	b->run = mmap(NULL, b->kvm.vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, b->vcpu, 0);
	cr_assert_neq(b->run, MAP_FAILED);
}

static void box_run(struct box *b)
{
	cr_assert_eq(cpu_enter_long_mode(b->vcpu, CODE, 0, 0x80000), 0);
	cr_assert_eq(ioctl(b->vcpu, KVM_RUN, 0), 0, "KVM_RUN: %s", strerror(errno));
	cr_assert_eq(b->run->exit_reason, KVM_EXIT_HLT, "exit reason %u", b->run->exit_reason);
}

static void box_free(struct box *b)
{
	munmap(b->run, b->kvm.vcpu_mmap_size);
	close(b->vcpu);
	kvm_close(&b->kvm);
	guest_memory_free(&b->mem);
}

static bool dirty(const struct dirty_log *d, uint64_t gpa)
{
	return dirty_log_test(d->dirty[0], gpa >> GUEST_PAGE_SHIFT);
}

static void write_all_three(struct box *b, struct dirty_log *d)
{
	box_run(b);
	guest_mark_dirty(&b->mem, PAGE_VMM + 10, 1);
	__atomic_fetch_or(&d->backend[(PAGE_BACKEND >> 12) / 64], 1ULL << ((PAGE_BACKEND >> 12) % 64),
			  __ATOMIC_RELAXED);
}

Test(dirty_log, union_of_kvm_vmm_and_backend_logs)
{
	struct dirty_log d;
	struct box b;
	int64_t n;

	box_init(&b);
	/* Written before logging starts: not part of the first harvest. */
	guest_mark_dirty(&b.mem, 0x600000, 1);
	cr_assert_eq(dirty_log_start(&d, b.kvm.vm_fd, &b.mem, DIRTY_LOG_ALL), 0);
	cr_assert_geq(d.backend_bytes, (16 << 20) / GUEST_PAGE_SIZE / 8);
	write_all_three(&b, &d);
	n = dirty_log_harvest(&d);
	cr_assert_geq(n, 4);
	cr_assert(dirty(&d, PAGE_A), "the vCPU's first write");
	cr_assert(dirty(&d, PAGE_A + 0x2000), "the vCPU's second write");
	cr_assert_not(dirty(&d, PAGE_A + 0x1000), "a page nobody wrote");
	cr_assert(dirty(&d, PAGE_VMM), "kvmini's own write");
	cr_assert(dirty(&d, PAGE_BACKEND), "the backend's write");
	cr_assert_not(dirty(&d, 0x600000), "a write from before logging started");

	/* Harvesting consumed them: the next round is empty. */
	n = dirty_log_harvest(&d);
	cr_assert_not(dirty(&d, PAGE_A));
	cr_assert_not(dirty(&d, PAGE_VMM));
	cr_assert_not(dirty(&d, PAGE_BACKEND));
	/* And KVM re-protected the pages: the vCPU writing again is seen again. */
	box_run(&b);
	n = dirty_log_harvest(&d);
	cr_assert(dirty(&d, PAGE_A), "a second write to a harvested page");
	dirty_log_stop(&d);
	box_free(&b);
}

/* The negative tests of the migration suite rely on this: leave a log out, lose its pages. */
Test(dirty_log, each_log_left_out_loses_exactly_its_pages)
{
	static const struct {
		unsigned int use;
		uint64_t lost;
	} cases[] = {
		{ DIRTY_LOG_ALL & ~DIRTY_LOG_KVM, PAGE_A },
		{ DIRTY_LOG_ALL & ~DIRTY_LOG_VMM, PAGE_VMM },
		{ DIRTY_LOG_ALL & ~DIRTY_LOG_BACKEND, PAGE_BACKEND },
	};
	static const uint64_t pages[] = { PAGE_A, PAGE_VMM, PAGE_BACKEND };
	unsigned int c, p;

	for (c = 0; c < 3; c++) {
		struct dirty_log d;
		struct box b;

		box_init(&b);
		cr_assert_eq(dirty_log_start(&d, b.kvm.vm_fd, &b.mem, cases[c].use), 0);
		write_all_three(&b, &d);
		cr_assert_geq(dirty_log_harvest(&d), 1);
		for (p = 0; p < 3; p++)
			cr_assert_eq(dirty(&d, pages[p]), pages[p] != cases[c].lost,
				     "case %u page %#lx", c, (unsigned long)pages[p]);
		dirty_log_stop(&d);
		box_free(&b);
	}
}
