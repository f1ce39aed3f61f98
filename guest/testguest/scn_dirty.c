// SPDX-License-Identifier: GPL-2.0
/*
 * scenario=dirty: the migration workload. Each round writes (round << 32 | page)
 * into the first and last word of every page of a range and folds the values into a
 * checksum; when told to stop it checks that every page holds what it last wrote.
 * The writing runs in ring 3 by default: on the CI host ring 0 is emulated and slow,
 * ring 3 runs natively (CI-MACHINE.md). With net=1 the first virtio-net device
 * carries checked traffic between rounds too (scn_dirty_net.c).
 */
#include "scn_dirty_net.h"
#include "testguest.h"
#include "trap.h"

#define DEFAULT_BASE 0x200000ULL /* 2 MiB: above the image (a few tens of KiB at 1 MiB) */

extern char __image_end[];

static uint64_t page_value(uint64_t round, uint64_t page)
{
	return round << 32 | page;
}

/* Runs in ring 3: no privileged instructions, no calls into ring-0 helpers. */
static uint64_t dirty_round(uint64_t base, uint64_t pages, uint64_t round)
{
	uint64_t sum = 0;

	for (uint64_t p = 0; p < pages; p++) {
		volatile uint64_t *w = (volatile uint64_t *)(base + p * 4096);
		uint64_t v = round << 32 | p;

		w[0] = v;
		w[511] = v;
		sum = sum * 31 + v;
	}
	return sum;
}

/* Runs in ring 3 too: returns 1 + the first page that does not hold its value, or 0. */
static uint64_t dirty_check(uint64_t base, uint64_t pages, uint64_t round)
{
	for (uint64_t p = 0; p < pages; p++) {
		volatile uint64_t *w = (volatile uint64_t *)(base + p * 4096);
		uint64_t v = round << 32 | p;

		if (w[0] != v || w[511] != v)
			return p + 1;
	}
	return 0;
}

static void dirty_verify(uint64_t base, uint64_t pages, uint64_t round, uint64_t sum, int ring)
{
	uint64_t bad, check = 0;

	bad = ring == 3 ? user_call(dirty_check, base, pages, round)
			: dirty_check(base, pages, round);
	if (bad) {
		volatile uint64_t *w = (volatile uint64_t *)(base + (bad - 1) * 4096);

		tg_fail("dirty: page %lu at 0x%lx holds 0x%lx/0x%lx, expected 0x%lx", bad - 1,
			base + (bad - 1) * 4096, w[0], w[511], page_value(round, bad - 1));
	}
	for (uint64_t p = 0; p < pages; p++)
		check = check * 31 + page_value(round, p);
	if (check != sum)
		tg_fail("dirty: checksum 0x%lx, last round reported 0x%lx", check, sum);
}

static void dirty(struct scn_ctx *c)
{
	uint64_t pages = scn_opt_u64(c, "pages", 1024);
	uint64_t rounds = scn_opt_u64(c, "rounds", 3);
	uint64_t every = scn_opt_u64(c, "every", 1);
	uint64_t seconds = scn_opt_u64(c, "seconds", 0);
	uint64_t ring = scn_opt_u64(c, "ring", 3);
	uint64_t base = scn_opt_u64(c, "base", DEFAULT_BASE);
	bool net = scn_opt_u64(c, "net", 0);
	uint64_t r, sum = 0, end = seconds ? time_ns() + seconds * 1000000000ULL : 0;

	if (base & 0xfff || base < (uint64_t)__image_end || !pages || !every)
		tg_fail("dirty: bad base=0x%lx, pages=%lu or every=%lu", base, pages, every);
	if (base + pages * 4096 > 0x100000000ULL)
		tg_fail("dirty: range ends above 4 GiB (only the low 4 GiB are mapped)");
	if (boot.nmem && !boot_is_ram(base, pages * 4096))
		tg_fail("dirty: 0x%lx+%lu pages is not RAM in the memory map", base, pages);
	printf("DIRTY start base=0x%lx pages=%lu rounds=%lu ring=%lu net=%u\n", base, pages, rounds,
	       ring, net);
	if (net)
		dnet_start(c, base, pages, rounds, ring);

	for (r = 1;; r++) {
		if (ring == 3)
			sum = user_call(dirty_round, base, pages, r);
		else
			sum = dirty_round(base, pages, r);
		if (sum == USER_FAULTED)
			tg_fail("dirty: ring 3 fault %lu at 0x%lx", last_user_fault.vector,
				last_user_fault.rip);
		/* Back in ring 0 after every round: the NIC is served here, also while
		 * waiting for the stop byte. */
		if (net)
			dnet_service(r);
		if (r % every == 0) {
			printf("DIRTY round=%lu sum=%lx\n", r, sum);
			if (net)
				dnet_print(r);
		}
		if (rounds && r == rounds)
			break;
		if (!rounds && console_has_input()) {
			printf("DIRTY stop byte=0x%x\n", console_getc());
			break;
		}
		if (end && time_ns() >= end)
			break;
	}
	dirty_verify(base, pages, r, sum, ring);
	printf("DIRTY verify ok pages=%lu rounds=%lu sum=%lx\n", pages, r, sum);
	if (net)
		dnet_finish(r);
	printf("ITERATIONS %lu\n", r);
}
SCENARIO("dirty", dirty, "migration workload: dirty pages in rounds, then verify them");
