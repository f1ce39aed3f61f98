// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the split-ring walker: random bytes become the
 * descriptor table, the avail ring and the buffers of a queue in a small
 * fake guest; the walker must never crash, read outside guest RAM (ASan
 * watches) or spin.
 *
 *   clang -std=gnu11 -D_GNU_SOURCE -I. -g -O1 -fsanitize=fuzzer,address \
 *	tests/fuzz/fuzz_virtq.c devices/virtq.c vmm/memory.c vmm/log.c -o fuzz_virtq
 *   ./fuzz_virtq -max_total_time=30
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtq.h"
#include "vmm/memory.h"

#define MEM_SIZE (1 << 20)
/* The input (after 4 bytes of geometry) is laid over the first 64 KiB. */
#define WINDOW 0x10000
#define DESC 0x0
#define AVAIL 0x800
#define USED 0xc00

static void take(uint8_t *dst, size_t max, const uint8_t **data, size_t *size)
{
	size_t n = *size < max ? *size : max;

	memcpy(dst, *data, n);
	*data += n;
	*size -= n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_memory mem;
static struct virtq_chain chain;
static const uint8_t pattern[64] = { 0xa5 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t feats[] = {
		0, 1ULL << VIRTIO_F_INDIRECT_DESC, 1ULL << VIRTIO_F_EVENT_IDX,
		(1ULL << VIRTIO_F_INDIRECT_DESC) | (1ULL << VIRTIO_F_EVENT_IDX)};
	struct virtio_queue_info q = {.enabled = true, .kick_fd = -1, .call_fd = -1};
	struct virtq vq;
	uint8_t *ram;
	uint8_t flags;
	int i, r;

	if (!mem.nr_regions && guest_memory_init(&mem, MEM_SIZE, false))
		abort();
	if (size < 4)
		return 0;
	ram = guest_ptr(&mem, 0, MEM_SIZE);
	memset(ram, 0, WINDOW);

	q.size = (uint16_t)(1u << (data[0] % 8));
	if (data[0] & 0x80)
		q.size = data[0] | (data[1] << 8);
	q.desc = DESC + (data[1] & 0x30);
	q.avail = AVAIL + (data[2] & 0x7);
	q.used = USED + (data[2] & 0x18);
	if (data[3] & 0x40)
		q.used = MEM_SIZE - 16;

	/*
	 * The input feeds the avail ring first, then the descriptor table,
	 * then the memory buffers and indirect tables point into, so that
	 * short inputs already exercise the walker.
	 */
	flags = data[3];
	data += 4;
	size -= 4;
	take(ram + AVAIL, 0x40, &data, &size);
	take(ram + DESC, 0x400, &data, &size);
	take(ram + 0x1000, WINDOW - 0x1000, &data, &size);

	if (virtq_init(&vq, &mem, &q, feats[flags & 3]))
		return 0;
	/* Bounded like a device's batch: a broken ring must still return. */
	for (i = 0; i < 2 * VIRTQ_MAX_SIZE; i++) {
		if (i % 7 == 3)
			virtq_disable_notify(&vq);
		r = virtq_pop(&vq, &chain);
		if (r <= 0)
			break;
		if (chain.nr_in)
			virtq_chain_write(&vq, &chain, 0, pattern, sizeof(pattern));
		if (flags & 0x20) {
			virtq_unpop(&vq, 1);
			r = virtq_pop(&vq, &chain);
			if (r <= 0)
				break;
		}
		virtq_push(&vq, chain.head, (uint32_t)chain.in_bytes);
		if (i % 5 == 4)
			virtq_flush(&vq);
	}
	virtq_flush(&vq);
	virtq_enable_notify(&vq);
	return 0;
}
