// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: MSI-X (devices/msix.c) against a reference model of
 * PCI 3.0, 6.8.2. The input chooses the number of vectors and where the
 * table and the PBA sit, then makes random table and PBA accesses (any
 * width, offset and alignment, in range or not), configuration writes
 * around the capability (enable, function mask), interrupts on random
 * vectors and function resets. The model says, after each step, which
 * messages must have been sent (vector, address, data, in order) and what
 * every table word, PBA bit and accessor returns:
 *   - a vector fires only while MSI-X is enabled; unmasked it is sent at
 *     once, masked its pending bit is set;
 *   - a pending vector is sent exactly once, when it becomes deliverable
 *     (vector unmasked, function unmasked, MSI-X enabled), and its pending
 *     bit clears; a deliverable vector is never left pending;
 *   - reserved bits read 0 (address bits 1:0, vector control bits 31:1).
 * A violation is __builtin_trap().
 *
 *   make fuzz-build && build/fuzz/fuzz_msix -max_total_time=60 tests/fuzz/corpus/fuzz_msix
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/msix.h"
#include "devices/pci.h"
#include "vmm/bus.h"

#define CHECK(cond)                        \
	do {                               \
		if (!(cond))               \
			__builtin_trap();  \
	} while (0)

#define SLOT 3
/* A function unmask can flush every vector at once. */
#define MAX_SENDS MSIX_MAX_VECTORS

struct sent {
	unsigned int vector;
	uint64_t addr;
	uint32_t data;
};

struct state {
	struct bus pio, mmio;
	struct pci_bus pb;
	struct pci_device pdev;
	struct msix m;
	unsigned int nr;
	/* The model. */
	uint32_t (*table)[4];
	bool *pending;
	bool enabled, fmask;
	/* What the ops saw since the last check. */
	struct sent sent[MAX_SENDS];
	unsigned int nr_sent;
	unsigned long changed;
	/* What the model expects. */
	struct sent expect[MAX_SENDS];
	unsigned int nr_expect;
};

static void m_send(void *opaque, unsigned int vector, uint64_t addr, uint32_t data)
{
	struct state *s = opaque;

	CHECK(vector < s->nr);
	CHECK(s->nr_sent < MAX_SENDS);
	s->sent[s->nr_sent++] = (struct sent){ vector, addr, data };
}

static void m_changed(void *opaque, unsigned int vector)
{
	struct state *s = opaque;

	CHECK(vector < s->nr || vector == MSIX_ALL_VECTORS);
	s->changed++;
}

static const struct msix_ops ops = { m_send, m_changed };

static void cfg_write_cb(struct pci_device *pdev, uint32_t off, uint32_t len)
{
	struct state *s = pdev->opaque;

	msix_config_write(&s->m, off, len);
}

static const struct pci_device_ops pdev_ops = { .config_write = cfg_write_cb };

static bool model_masked(const struct state *s, unsigned int v)
{
	return s->fmask || (s->table[v][3] & 1);
}

static void model_msg(const struct state *s, unsigned int v, struct sent *out)
{
	*out = (struct sent){ v, s->table[v][0] | (uint64_t)s->table[v][1] << 32, s->table[v][2] };
}

static void expect_send(struct state *s, unsigned int v)
{
	CHECK(s->nr_expect < MAX_SENDS);
	model_msg(s, v, &s->expect[s->nr_expect++]);
}

/* Deliver what became deliverable, in vector order. */
static void model_flush(struct state *s, unsigned int first, unsigned int end)
{
	unsigned int v;

	for (v = first; v < end; v++) {
		if (s->enabled && !model_masked(s, v) && s->pending[v]) {
			s->pending[v] = false;
			expect_send(s, v);
		}
	}
}

/* Compare what was sent with what the model expected, and reset both. */
static void check_sent(struct state *s)
{
	unsigned int i;

	CHECK(s->nr_sent == s->nr_expect);
	for (i = 0; i < s->nr_sent; i++) {
		CHECK(s->sent[i].vector == s->expect[i].vector);
		CHECK(s->sent[i].addr == s->expect[i].addr);
		CHECK(s->sent[i].data == s->expect[i].data);
	}
	s->nr_sent = s->nr_expect = 0;
}

static void check_vector(struct state *s, unsigned int v)
{
	uint64_t addr;
	uint32_t data;
	struct sent want;

	CHECK(msix_vector_masked(&s->m, v) == (v >= s->nr || model_masked(s, v)));
	CHECK(msix_pending(&s->m, v) == (v < s->nr && s->pending[v]));
	msix_vector_msg(&s->m, v, &addr, &data);
	if (v >= s->nr) {
		CHECK(!addr && !data);
		return;
	}
	model_msg(s, v, &want);
	CHECK(addr == want.addr && data == want.data);
	/* Never deliverable and pending at once. */
	CHECK(!(s->enabled && !model_masked(s, v) && s->pending[v]));
}

static void table_access(struct state *s, uint64_t off, uint8_t *buf, uint32_t len, bool wr)
{
	bool valid = (len == 4 || len == 8) && !(off & (len - 1)) &&
		     off < msix_table_size(s->nr);
	unsigned int v = off / 16, w = off % 16 / 4, i;
	uint32_t words[2];
	bool was_deliverable;

	pthread_mutex_lock(&s->pdev.lock);
	msix_table_io(&s->m, off, buf, len, wr);
	pthread_mutex_unlock(&s->pdev.lock);
	if (!valid) {
		if (!wr)
			for (i = 0; i < len; i++)
				CHECK(buf[i] == 0);
		return;
	}
	if (!wr) {
		memcpy(words, buf, len);
		for (i = 0; i < len / 4; i++)
			CHECK(words[i] == s->table[v][w + i]);
		return;
	}
	memcpy(words, buf, len);
	was_deliverable = s->enabled && !model_masked(s, v);
	for (i = 0; i < len / 4; i++) {
		uint32_t x = words[i];

		if (w + i == 0)
			x &= ~3u;
		else if (w + i == 3)
			x &= 1;
		s->table[v][w + i] = x;
	}
	if (!was_deliverable)
		model_flush(s, v, v + 1);
}

static void pba_access(struct state *s, uint64_t off, uint8_t *buf, uint32_t len, bool wr)
{
	bool valid = (len == 4 || len == 8) && !(off & (len - 1)) && off < msix_pba_size(s->nr);
	uint8_t before[8];
	unsigned int i;

	memcpy(before, buf, len);
	pthread_mutex_lock(&s->pdev.lock);
	msix_pba_io(&s->m, off, buf, len, wr);
	pthread_mutex_unlock(&s->pdev.lock);
	if (wr) {
		CHECK(!memcmp(before, buf, len)); /* read-only: nothing changes */
		return;
	}
	for (i = 0; i < 8 * len; i++) {
		unsigned int v = off * 8 + i;
		bool bit = buf[i / 8] >> (i % 8) & 1;

		CHECK(bit == (valid && v < s->nr && s->pending[v]));
	}
}

static void config_write(struct state *s, uint32_t off, uint8_t *buf, uint32_t len)
{
	uint16_t flags;

	pci_config_access(&s->pb, 0, SLOT, 0, off, buf, len, true, PCI_CFG_SIZE);
	flags = pci_cfg_get(&s->pdev, s->m.cap + 2, 2);
	/* Table size is read-only. */
	CHECK((flags & 0x7ff) == s->nr - 1);
	if (!!(flags & 0x8000) != s->enabled || !!(flags & 0x4000) != s->fmask) {
		s->enabled = flags & 0x8000;
		s->fmask = flags & 0x4000;
		model_flush(s, 0, s->nr);
	}
}

static void reset(struct state *s)
{
	unsigned int v;

	pthread_mutex_lock(&s->pdev.lock);
	msix_reset(&s->m);
	pthread_mutex_unlock(&s->pdev.lock);
	for (v = 0; v < s->nr; v++) {
		memset(s->table[v], 0, sizeof(s->table[v]));
		s->table[v][3] = 1;
		s->pending[v] = false;
	}
	s->enabled = s->fmask = false;
	CHECK(pci_cfg_get(&s->pdev, s->m.cap + 2, 2) == s->nr - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pci_id id = { .vendor = 0x1af4, .device = 0x1041 };
	struct state s;
	unsigned int v;
	uint32_t table_off, pba_off;

	if (size < 4)
		return 0;
	memset(&s, 0, sizeof(s));
	/* Mostly few vectors (interesting interactions), sometimes up to the maximum. */
	s.nr = data[0] & 0x80 ? 1 + ((data[0] << 8 | data[1]) & 0x7ff) : 1 + (data[0] & 0x1f);
	table_off = (data[2] & 0xf) * 0x800;
	pba_off = (data[3] & 0xf) * 0x800 + 8 * (data[3] >> 4);
	data += 4;
	size -= 4;

	CHECK(!bus_init(&s.pio, "pio") && !bus_init(&s.mmio, "mmio"));
	CHECK(!pci_bus_init(&s.pb, &s.pio, &s.mmio, NULL, NULL));
	pci_device_init(&s.pdev, "msix", &id, &pdev_ops, &s);
	CHECK(!msix_init(&s.m, &s.pdev, s.nr, 0, table_off, 1 + (data[-1] & 1), pba_off, &ops,
			 &s));
	CHECK(pci_bus_add(&s.pb, &s.pdev, SLOT) == SLOT);
	CHECK(pci_find_capability(&s.pdev, 0x11) == s.m.cap);
	CHECK(pci_cfg_get(&s.pdev, s.m.cap + 4, 4) == table_off);
	s.table = calloc(s.nr, sizeof(*s.table));
	s.pending = calloc(s.nr, sizeof(*s.pending));
	CHECK(s.table && s.pending);
	for (v = 0; v < s.nr; v++)
		s.table[v][3] = 1;

	/* Each step: an op byte, 2 offset bytes, 8 value bytes. */
	while (size >= 11) {
		uint8_t op = data[0], buf[8];
		uint32_t off = data[1] | data[2] << 8, len = 1u << ((op >> 4) & 3);
		bool wr = op & 0x80;

		memcpy(buf, data + 3, 8);
		data += 11;
		size -= 11;
		switch (op & 7) {
		case 0: /* the table, mostly within it */
		case 1:
			if (op & 0x40)
				off = off % (msix_table_size(s.nr) + 16);
			table_access(&s, off, buf, len, wr);
			break;
		case 2: /* the PBA */
			pba_access(&s, op & 0x40 ? off % (msix_pba_size(s.nr) + 8) : off, buf, len,
				   wr);
			break;
		case 3: /* configuration space around the capability, or anywhere */
			if (len > 4)
				len = 4;
			if (op & 0x40)
				off = s.m.cap + off % 12;
			config_write(&s, off & 0xff, buf, len);
			break;
		case 4: /* a vector fires */
		case 5: {
			bool ret;

			v = op & 0x40 ? off % (s.nr + 2) : off;
			pthread_mutex_lock(&s.pdev.lock);
			ret = msix_notify(&s.m, v);
			pthread_mutex_unlock(&s.pdev.lock);
			CHECK(ret == (s.enabled && v < s.nr));
			if (ret && model_masked(&s, v))
				s.pending[v] = true;
			else if (ret)
				expect_send(&s, v);
			break;
		}
		case 6:
			reset(&s);
			break;
		default:
			for (v = 0; v < s.nr + 1 && v < 64; v++)
				check_vector(&s, v);
			break;
		}
		check_sent(&s);
		check_vector(&s, off % (s.nr + 1));
	}
	for (v = 0; v <= s.nr; v++)
		check_vector(&s, v);
	pci_bus_destroy(&s.pb);
	msix_destroy(&s.m);
	pci_device_destroy(&s.pdev);
	bus_destroy(&s.pio);
	bus_destroy(&s.mmio);
	free(s.table);
	free(s.pending);
	return 0;
}
