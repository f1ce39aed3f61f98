// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtq.h"
#include "vmm/memory.h"

#define QSZ 16
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define TABLE 0x4000
#define BUF 0x10000
#define MEM (1 << 20)

static struct guest_memory mem;
static struct virtq vq;
static struct virtq_chain *chain;
static int call_fd;
static uint16_t avail_idx;

static uint8_t *gp(uint64_t gpa)
{
	return guest_ptr(&mem, gpa, 1);
}

static void set_desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t *d = gp(table + 16ULL * i);

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void avail_add(uint16_t head)
{
	uint16_t *ring = (uint16_t *)gp(AVAIL + 4);

	ring[avail_idx % QSZ] = head;
	avail_idx++;
	*(uint16_t *)gp(AVAIL + 2) = avail_idx;
}

static uint16_t used_idx(void)
{
	return *(uint16_t *)gp(USED + 2);
}

static uint16_t *used_event_p(void)
{
	return (uint16_t *)gp(AVAIL + 4 + 2 * QSZ);
}

static uint16_t avail_event_v(void)
{
	return *(uint16_t *)gp(USED + 4 + 8 * QSZ);
}

static void setup_features(uint64_t features)
{
	struct virtio_queue_info q = {
		.size = QSZ,
		.enabled = true,
		.desc = DESC,
		.avail = AVAIL,
		.used = USED,
		.kick_fd = -1,
		.call_fd = call_fd,
	};

	cr_assert_eq(virtq_init(&vq, &mem, &q, features), 0);
}

static void setup(void)
{
	cr_assert_eq(guest_memory_init(&mem, MEM, false), 0);
	chain = calloc(1, sizeof(*chain));
	call_fd = eventfd(0, EFD_NONBLOCK);
	avail_idx = 0;
	setup_features((1ULL << VIRTIO_F_INDIRECT_DESC) | (1ULL << VIRTIO_F_VERSION_1));
}

static void teardown(void)
{
	close(call_fd);
	free(chain);
	guest_memory_free(&mem);
}

static uint64_t calls(void)
{
	uint64_t v = 0;

	if (read(call_fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static void expect_broken(const char *what)
{
	cr_assert_eq(virtq_pop(&vq, chain), -EIO, "%s must fail", what);
	cr_assert_not_null(virtq_error(&vq));
	/* Once broken, the queue stays quiet. */
	cr_assert_eq(virtq_pop(&vq, chain), -EIO);
	cr_assert_eq(virtq_avail_count(&vq), 0);
	cr_assert_not(virtq_flush(&vq));
}

TestSuite(virtq, .init = setup, .fini = teardown);

Test(virtq, empty_ring_pops_nothing)
{
	cr_assert_eq(virtq_pop(&vq, chain), 0);
	cr_assert_null(virtq_error(&vq));
}

Test(virtq, readable_then_writable_chain)
{
	set_desc(DESC, 3, BUF, 10, VIRTQ_DESC_F_NEXT, 7);
	set_desc(DESC, 7, BUF + 0x100, 20, VIRTQ_DESC_F_NEXT, 1);
	set_desc(DESC, 1, BUF + 0x200, 30, VIRTQ_DESC_F_WRITE, 0);
	memcpy(gp(BUF), "0123456789", 10);
	avail_add(3);

	cr_assert_eq(virtq_pop(&vq, chain), 1);
	cr_assert_eq(chain->head, 3);
	cr_assert_eq(chain->nr_out, 2);
	cr_assert_eq(chain->nr_in, 1);
	cr_assert_eq(chain->out_bytes, 30);
	cr_assert_eq(chain->in_bytes, 30);
	cr_assert_eq(chain->buf[0].addr, gp(BUF));
	cr_assert_eq(chain->buf[2].gpa, BUF + 0x200);
	cr_assert_eq(virtq_pop(&vq, chain), 0, "only one chain was made available");

	char tmp[4];
	cr_assert_eq(virtq_chain_read(chain, 8, tmp, 4), 4);
	cr_assert_eq(memcmp(tmp, "89", 2), 0);
	cr_assert_eq(virtq_chain_write(&vq, chain, 28, "abcd", 4), 2, "only 2 bytes of room left");
	cr_assert_eq(memcmp(gp(BUF + 0x200 + 28), "ab", 2), 0);

	virtq_push(&vq, 3, 30);
	cr_assert_eq(used_idx(), 0, "invisible before the flush");
	cr_assert(virtq_flush(&vq));
	cr_assert_eq(used_idx(), 1);
	cr_assert_eq(*(uint32_t *)gp(USED + 4), 3);
	cr_assert_eq(*(uint32_t *)gp(USED + 8), 30);
	cr_assert_eq(calls(), 1);
	/* Used ring page and the written buffer page are dirty. */
	cr_assert(mem.region[0].vmm_dirty[0] & (1UL << (USED >> 12)));
	cr_assert(mem.region[0].vmm_dirty[0] & (1UL << ((BUF + 0x200) >> 12)));
}

Test(virtq, batch_of_pushes_interrupts_once)
{
	for (int i = 0; i < 5; i++) {
		set_desc(DESC, i, BUF + 0x100 * i, 64, VIRTQ_DESC_F_WRITE, 0);
		avail_add(i);
	}
	cr_assert_eq(virtq_avail_count(&vq), 5);
	while (virtq_pop(&vq, chain) > 0)
		virtq_push(&vq, chain->head, 1);
	cr_assert(virtq_flush(&vq));
	cr_assert_eq(used_idx(), 5);
	cr_assert_eq(calls(), 1);
	cr_assert_not(virtq_flush(&vq), "nothing new: no interrupt");
}

Test(virtq, unpop_gives_chains_back)
{
	set_desc(DESC, 0, BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	set_desc(DESC, 1, BUF + 64, 64, VIRTQ_DESC_F_WRITE, 0);
	avail_add(0);
	avail_add(1);
	cr_assert_eq(virtq_pop(&vq, chain), 1);
	cr_assert_eq(virtq_pop(&vq, chain), 1);
	virtq_unpop(&vq, 2);
	cr_assert_eq(virtq_pop(&vq, chain), 1);
	cr_assert_eq(chain->head, 0);
}

Test(virtq, no_interrupt_flag_is_honoured_without_event_idx)
{
	set_desc(DESC, 0, BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	avail_add(0);
	*(uint16_t *)gp(AVAIL) = VIRTQ_AVAIL_F_NO_INTERRUPT;
	cr_assert_eq(virtq_pop(&vq, chain), 1);
	virtq_push(&vq, 0, 0);
	cr_assert_not(virtq_flush(&vq));
	cr_assert_eq(used_idx(), 1, "published even without an interrupt");
	cr_assert_eq(calls(), 0);
}

Test(virtq, kick_suppression_without_event_idx)
{
	virtq_disable_notify(&vq);
	cr_assert_eq(*(uint16_t *)gp(USED), VIRTQ_USED_F_NO_NOTIFY);
	cr_assert_not(virtq_enable_notify(&vq), "ring empty: nothing to redo");
	cr_assert_eq(*(uint16_t *)gp(USED), 0);
	virtq_disable_notify(&vq);
	set_desc(DESC, 0, BUF, 64, 0, 0);
	avail_add(0);
	cr_assert(virtq_enable_notify(&vq), "a chain arrived while kicks were off");
}

Test(virtq, event_idx_used_event_decides_interrupts)
{
	setup_features((1ULL << VIRTIO_F_EVENT_IDX) | (1ULL << VIRTIO_F_VERSION_1));
	for (int i = 0; i < 8; i++) {
		set_desc(DESC, i, BUF + 0x100 * i, 64, VIRTQ_DESC_F_WRITE, 0);
		avail_add(i);
	}
	/* First flush always interrupts (nothing signalled yet). */
	cr_assert_eq(virtq_pop(&vq, chain), 1);
	virtq_push(&vq, chain->head, 0);
	cr_assert(virtq_flush(&vq));
	cr_assert_eq(calls(), 1);

	/* Driver wants an interrupt only once used->idx passes 3 (used_event = 3). */
	*used_event_p() = 3;
	cr_assert_eq(virtq_pop(&vq, chain), 1);
	virtq_push(&vq, chain->head, 0);
	cr_assert_not(virtq_flush(&vq), "idx 2 has not passed used_event 3");
	cr_assert_eq(virtq_pop(&vq, chain), 1);
	virtq_push(&vq, chain->head, 0);
	cr_assert_not(virtq_flush(&vq), "idx 3 has not passed used_event 3");
	cr_assert_eq(virtq_pop(&vq, chain), 1);
	virtq_push(&vq, chain->head, 0);
	cr_assert(virtq_flush(&vq), "idx 4 passed used_event 3");
	cr_assert_eq(calls(), 1);
	/* AVAIL_F_NO_INTERRUPT is ignored with EVENT_IDX: used_event rules. */
	*(uint16_t *)gp(AVAIL) = VIRTQ_AVAIL_F_NO_INTERRUPT;
	*used_event_p() = 4;
	cr_assert_eq(virtq_pop(&vq, chain), 1);
	virtq_push(&vq, chain->head, 0);
	cr_assert(virtq_flush(&vq));
}

Test(virtq, event_idx_avail_event_written_on_enable)
{
	setup_features((1ULL << VIRTIO_F_EVENT_IDX) | (1ULL << VIRTIO_F_VERSION_1));
	set_desc(DESC, 0, BUF, 64, 0, 0);
	avail_add(0);
	avail_add(0);
	virtq_disable_notify(&vq);
	cr_assert_eq(*(uint16_t *)gp(USED), 0, "EVENT_IDX never uses the NO_NOTIFY flag");
	cr_assert_eq(virtq_pop(&vq, chain), 1);
	cr_assert_eq(virtq_pop(&vq, chain), 1);
	cr_assert_not(virtq_enable_notify(&vq));
	cr_assert_eq(avail_event_v(), 2);
	cr_assert_eq(virtq_need_event(avail_event_v(), 3, 2), true, "the driver's next add kicks");
}

Test(virtq, need_event_semantics)
{
	cr_assert(virtq_need_event(0, 1, 0));
	cr_assert_not(virtq_need_event(1, 1, 0));
	cr_assert(virtq_need_event(5, 10, 2));
	cr_assert_not(virtq_need_event(12, 10, 2));
	cr_assert(virtq_need_event(0xffff, 0, 0xfffe), "wraps");
}

Test(virtq, indirect_table)
{
	set_desc(TABLE, 0, BUF, 12, VIRTQ_DESC_F_NEXT, 2);
	set_desc(TABLE, 2, BUF + 0x100, 100, VIRTQ_DESC_F_NEXT, 1);
	set_desc(TABLE, 1, BUF + 0x200, 50, VIRTQ_DESC_F_WRITE, 0);
	set_desc(DESC, 5, TABLE, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(5);
	cr_assert_eq(virtq_pop(&vq, chain), 1);
	cr_assert_eq(chain->head, 5);
	cr_assert_eq(chain->nr_out, 2);
	cr_assert_eq(chain->nr_in, 1);
	cr_assert_eq(chain->out_bytes, 112);
	cr_assert_eq(chain->buf[2].gpa, BUF + 0x200);
}

Test(virtq, indirect_without_feature_is_refused)
{
	setup_features(1ULL << VIRTIO_F_VERSION_1);
	set_desc(TABLE, 0, BUF, 12, 0, 0);
	set_desc(DESC, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken("indirect without the feature");
}

Test(virtq, nested_indirect_is_refused)
{
	set_desc(TABLE, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(DESC, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken("nested indirect");
}

Test(virtq, indirect_table_over_the_descriptor_ring_is_refused)
{
	/* Found by fuzz_virtq: the table is the ring, its entry 0 is indirect again. */
	set_desc(DESC, 0, DESC, 16 * QSZ, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken("an indirect table aliasing the ring");
}

Test(virtq, indirect_with_next_is_refused)
{
	set_desc(TABLE, 0, BUF, 12, 0, 0);
	set_desc(DESC, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	set_desc(DESC, 1, BUF, 12, 0, 0);
	avail_add(0);
	expect_broken("INDIRECT|NEXT");
}

Test(virtq, indirect_table_of_bad_size_is_refused)
{
	set_desc(DESC, 0, TABLE, 24, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken("table of 24 bytes");
}

Test(virtq, empty_indirect_table_is_refused)
{
	set_desc(DESC, 0, TABLE, 0, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken("table of 0 bytes");
}

Test(virtq, huge_indirect_table_is_refused)
{
	set_desc(DESC, 0, TABLE, 16 * (VIRTQ_MAX_CHAIN + 1), VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken("table over the limit");
}

Test(virtq, indirect_table_outside_ram_is_refused)
{
	set_desc(DESC, 0, MEM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken("table past the end of RAM");
}

Test(virtq, loop_in_indirect_table_is_refused)
{
	set_desc(TABLE, 0, BUF, 12, VIRTQ_DESC_F_NEXT, 1);
	set_desc(TABLE, 1, BUF, 12, VIRTQ_DESC_F_NEXT, 0);
	set_desc(DESC, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken("loop in an indirect table");
}

Test(virtq, indirect_next_past_table_is_refused)
{
	set_desc(TABLE, 0, BUF, 12, VIRTQ_DESC_F_NEXT, 1);
	set_desc(DESC, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken("next beyond the indirect table");
}

Test(virtq, buffer_outside_ram_is_refused)
{
	set_desc(DESC, 0, MEM - 8, 16, 0, 0);
	avail_add(0);
	expect_broken("buffer running past RAM");
}

Test(virtq, buffer_with_wrapping_address_is_refused)
{
	set_desc(DESC, 0, UINT64_MAX - 4, 16, 0, 0);
	avail_add(0);
	expect_broken("address that wraps");
}

Test(virtq, self_loop_is_refused)
{
	set_desc(DESC, 4, BUF, 16, VIRTQ_DESC_F_NEXT, 4);
	avail_add(4);
	expect_broken("a descriptor pointing at itself");
}

Test(virtq, long_loop_is_refused)
{
	for (int i = 0; i < QSZ; i++)
		set_desc(DESC, i, BUF, 16, VIRTQ_DESC_F_NEXT, (i + 1) % QSZ);
	avail_add(0);
	expect_broken("a loop through every descriptor");
}

Test(virtq, chain_of_exactly_queue_size_is_fine)
{
	for (int i = 0; i < QSZ; i++)
		set_desc(DESC, i, BUF, 16, i < QSZ - 1 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	avail_add(0);
	cr_assert_eq(virtq_pop(&vq, chain), 1);
	cr_assert_eq(chain->nr_out, QSZ);
}

Test(virtq, next_out_of_range_is_refused)
{
	set_desc(DESC, 0, BUF, 16, VIRTQ_DESC_F_NEXT, QSZ);
	avail_add(0);
	expect_broken("next == queue size");
}

Test(virtq, head_out_of_range_is_refused)
{
	avail_add(QSZ + 3);
	expect_broken("avail entry beyond the table");
}

Test(virtq, avail_index_jump_is_refused)
{
	*(uint16_t *)gp(AVAIL + 2) = QSZ + 1;
	expect_broken("avail index moved by size + 1");
}

Test(virtq, avail_index_backwards_is_refused)
{
	*(uint16_t *)gp(AVAIL + 2) = 0xffff;
	expect_broken("avail index moved backwards");
}

Test(virtq, readable_after_writable_is_refused)
{
	set_desc(DESC, 0, BUF, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(DESC, 1, BUF, 16, 0, 0);
	avail_add(0);
	expect_broken("readable after writable");
}

Test(virtq, zero_length_descriptors_are_skipped)
{
	set_desc(DESC, 0, 0xdeadbeef000ULL, 0, VIRTQ_DESC_F_NEXT, 1);
	set_desc(DESC, 1, BUF, 16, 0, 0);
	avail_add(0);
	cr_assert_eq(virtq_pop(&vq, chain), 1);
	cr_assert_eq(chain->nr_out, 1);
}

Test(virtq, bad_ring_addresses_fail_init)
{
	struct virtio_queue_info q = {
		.size = QSZ,
		.desc = DESC,
		.avail = AVAIL,
		.used = MEM - 8,
		.call_fd = -1,
	};

	cr_assert_eq(virtq_init(&vq, &mem, &q, 0), -EINVAL, "used ring past RAM");
	q.used = USED + 2;
	cr_assert_eq(virtq_init(&vq, &mem, &q, 0), -EINVAL, "used ring misaligned");
	q.used = USED;
	q.desc = DESC + 8;
	cr_assert_eq(virtq_init(&vq, &mem, &q, 0), -EINVAL, "desc misaligned");
	q.desc = DESC;
	q.size = 12;
	cr_assert_eq(virtq_init(&vq, &mem, &q, 0), -EINVAL, "size not a power of 2");
	q.size = 0;
	cr_assert_eq(virtq_init(&vq, &mem, &q, 0), -EINVAL, "size 0");
	q.size = QSZ;
	cr_assert_eq(virtq_init(&vq, &mem, &q, 0), 0);
}

Test(virtq, out_iov_skips_the_header)
{
	struct iovec iov[4];

	set_desc(DESC, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(DESC, 1, BUF + 0x100, 20, 0, 0);
	avail_add(0);
	cr_assert_eq(virtq_pop(&vq, chain), 1);
	cr_assert_eq(virtq_chain_out_iov(chain, 12, iov, 4), 1);
	cr_assert_eq(iov[0].iov_base, gp(BUF + 0x104));
	cr_assert_eq(iov[0].iov_len, 16);
}
