// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the destination's reader of a migration stream
 * (incoming_read_config() and incoming_receive_records(): the header,
 * checksummed records, CONFIG, page records into guest RAM, STATE, READY,
 * COMMIT). The input is the source's bytes, written into one end of a
 * socketpair whose other end the real reader reads; the guest RAM is 64 KiB
 * between two PROT_NONE guard pages. The STATE blob goes to a stand-in for
 * vm_state_restore() (which needs KVM; fuzz_state covers what it reads) that
 * accepts what state_check() accepts. Checked, against a reference walk of
 * the input:
 *   - the result is 0 or a negative errno, with one non-empty line in err;
 *   - 0 only when the records read are CONFIG, pages and rounds, one STATE,
 *     then COMMIT as the last record read, every one with a good checksum,
 *     STATE handed over exactly once and READY sent exactly once after it;
 *   - a well-formed stream (every record intact, pages inside RAM, a CONFIG
 *     vm_config_load() accepts, a STATE state_check() accepts) is accepted;
 *   - no page record writes outside guest RAM (a guard page faults), and no
 *     page changes that no intact record before the first damaged one
 *     names; on success RAM holds exactly what the records say.
 * A violation is __builtin_trap(). A custom mutator repairs the checksums
 * of most mutated inputs (see LLVMFuzzerCustomMutator() below).
 *
 *   make fuzz-build && build/fuzz/fuzz_migrate_stream -max_total_time=60 \
 *	tests/fuzz/corpus/fuzz_migrate_stream
 * Seeds: FUZZ_WRITE_SEEDS=DIR build/fuzz/fuzz_migrate_stream writes them
 * with the real writer (tests/fuzz/make-seeds).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>
#include <libfdt.h>

#include "vmm/incoming.h"
#include "vmm/memory.h"
#include "vmm/migrate_pages.h"
#include "vmm/migrate_stream.h"
#include "vmm/state.h"
#include "vmm/vm.h"
#include "vmm/vm_state.h"

#define CHECK(cond)                       \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

#define RAM_PAGES 16
#define RAM_SIZE (RAM_PAGES * GUEST_PAGE_SIZE)
#define POISON 0xa5
#define ERR_LEN 256
#define HDR_LEN 24 /* magic, version, page size */
#define REC_LEN 16 /* type, crc, length */
/* What the socket buffers take without a reader thread. */
#define INPUT_MAX (160 << 10)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed);

static struct guest_memory mem;
static uint8_t *ram;
static unsigned int restores;

static void ram_init(void)
{
	uint8_t *p = mmap(NULL, RAM_SIZE + 2 * GUEST_PAGE_SIZE, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	ram = p + GUEST_PAGE_SIZE;
	CHECK(!mprotect(ram, RAM_SIZE, PROT_READ | PROT_WRITE));
	mem.nr_regions = 1;
	mem.ram_size = RAM_SIZE;
	mem.region[0] = (struct mem_region){.gpa = 0, .size = RAM_SIZE, .hva = ram, .fd = -1};
}

static int restore_stub(void *opaque, const void *blob, size_t len, char *err, size_t errlen)
{
	restores++;
	if (state_check(blob, len)) {
		snprintf(err, errlen, "cannot restore the machine: %s", state_error());
		return -EINVAL;
	}
	return 0;
}

/* The reference walk: what an intact stream of the input says. */
struct ref {
	bool pages_ok; /* every page record well formed and inside RAM */
	bool config_ok;
	bool state_ok;
	bool order_ok;	       /* CONFIG, pages/rounds, STATE, rounds, COMMIT */
	bool complete;	       /* reached that COMMIT, every record intact */
	size_t commit_end;     /* offset after COMMIT */
	bool named[RAM_PAGES]; /* pages an intact record before any damage names */
	uint8_t shadow[RAM_SIZE];
};

static struct ref ref;

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void ref_pages(uint32_t type, const uint8_t *p, uint64_t len)
{
	uint64_t count, i, per = type == MIG_PAGES ? 8 + GUEST_PAGE_SIZE : 8;

	if (len < 8 || (count = rd64(p)) > MIG_BATCH || len != 8 + count * per) {
		ref.pages_ok = false;
		return;
	}
	for (i = 0; i < count; i++) {
		uint64_t gpa = rd64(p + 8 + i * 8);

		if (gpa % GUEST_PAGE_SIZE || gpa >= RAM_SIZE) {
			ref.pages_ok = false;
			return;
		}
		ref.named[gpa / GUEST_PAGE_SIZE] = true;
		if (type == MIG_PAGES)
			memcpy(ref.shadow + gpa, p + 8 + count * 8 + i * GUEST_PAGE_SIZE,
			       GUEST_PAGE_SIZE);
		else
			memset(ref.shadow + gpa, 0, GUEST_PAGE_SIZE);
	}
}

/* Blobs arrive in a malloc()ed buffer, aligned as libfdt's header accessors need. */
static bool blob_ok(const uint8_t *p, uint64_t len, bool config)
{
	static const struct vm_config host;
	struct vm_config out;
	char err[ERR_LEN];
	void *copy = malloc(len ? len : 1);
	bool ok;

	CHECK(copy);
	memcpy(copy, p, len);
	ok = config ? !vm_config_load(copy, len, &host, &out, err, sizeof(err))
		    : !state_check(copy, len);
	free(copy);
	return ok;
}

static void ref_walk(const uint8_t *d, size_t size)
{
	unsigned int n = 0, states = 0;
	size_t off = HDR_LEN;

	memset(&ref, 0, sizeof(ref));
	memset(ref.shadow, POISON, sizeof(ref.shadow));
	ref.pages_ok = ref.order_ok = true;
	if (size < HDR_LEN || memcmp(d, MIG_MAGIC, 16) || rd32(d + 16) != MIG_VERSION ||
	    rd32(d + 20) != GUEST_PAGE_SIZE)
		return;
	while (size - off >= REC_LEN) {
		uint32_t type = rd32(d + off), crc = rd32(d + off + 4);
		uint64_t len = rd64(d + off + 8);
		const uint8_t *p = d + off + REC_LEN;

		if (type < MIG_CONFIG || type > MIG_RUNNING || len > size - off - REC_LEN ||
		    (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, len) != crc)
			return;
		off += REC_LEN + len;
		if (n++ == 0) {
			ref.order_ok = type == MIG_CONFIG;
			ref.config_ok = type == MIG_CONFIG && blob_ok(p, len, true);
			continue;
		}
		if (type == MIG_PAGES || type == MIG_ZEROS) {
			ref.order_ok &= !states;
			if (ref.order_ok && ref.pages_ok)
				ref_pages(type, p, len);
		} else if (type == MIG_STATE) {
			ref.order_ok &= !states++;
			ref.state_ok = blob_ok(p, len, false);
		} else if (type == MIG_COMMIT) {
			ref.order_ok &= states == 1;
			ref.complete = true;
			ref.commit_end = off;
			return;
		} else if (type != MIG_ROUND) {
			ref.order_ok = false;
		}
		if (!ref.order_ok || !ref.pages_ok || (states && !ref.state_ok))
			return;
	}
}

static bool one_line(const char *err)
{
	size_t len = strnlen(err, ERR_LEN);

	return len > 0 && len < ERR_LEN && !memchr(err, '\n', len);
}

/* Whatever the reader sent back: the number of READY records. */
static unsigned int readies(int fd)
{
	uint8_t b[REC_LEN];
	unsigned int n = 0;

	while (read(fd, b, sizeof(b)) == REC_LEN) {
		CHECK(rd32(b) == MIG_READY && rd64(b + 8) == 0);
		n++;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct vm_config host;
	struct vm_config out;
	struct incoming in;
	char err[ERR_LEN] = "";
	int sv[2], sz = INPUT_MAX * 2, ret;
	unsigned int i;

	if (size > INPUT_MAX)
		return 0;
	if (!ram)
		ram_init();
	memset(ram, POISON, RAM_SIZE);
	restores = 0;
	ref_walk(data, size);

	CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	CHECK(write(sv[0], data, size) == (ssize_t)size || !size);
	CHECK(!shutdown(sv[0], SHUT_WR));

	memset(&in, 0, sizeof(in));
	in.s.fd = sv[1];
	ret = incoming_read_config(&in, &host, &out, err, sizeof(err));
	if (!ret)
		ret = incoming_receive_records(&in, &mem, restore_stub, NULL, err, sizeof(err));
	shutdown(sv[1], SHUT_WR);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);

	if (ret) {
		CHECK(ret < 0 && ret > -4096);
		CHECK(one_line(err));
		CHECK(!(ref.complete && ref.order_ok && ref.config_ok && ref.state_ok &&
			ref.pages_ok));
		CHECK(readies(sv[0]) == (restores == 1 && ref.state_ok ? 1u : 0u));
	} else {
		CHECK(ref.complete && ref.order_ok && ref.config_ok && ref.state_ok &&
		      ref.pages_ok);
		/* s.bytes counts both ways: the input up to COMMIT, and the READY sent. */
		CHECK(in.s.bytes == ref.commit_end + REC_LEN);
		CHECK(restores == 1 && readies(sv[0]) == 1);
		CHECK(!memcmp(ram, ref.shadow, RAM_SIZE));
	}
	for (i = 0; i < RAM_PAGES; i++) {
		const uint8_t *pg = ram + i * GUEST_PAGE_SIZE;

		if (!ref.named[i])
			CHECK(pg[0] == POISON && !memcmp(pg, pg + 1, GUEST_PAGE_SIZE - 1));
	}
	free(in.buf);
	close(sv[0]);
	close(sv[1]);
	return 0;
}

/*
 * A mutation almost always breaks a checksum, and the reader then stops
 * before the code the checksums protect. Three mutations in four get every
 * record's checksum set right afterwards; the fourth keeps what it broke.
 */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed)
{
	size_t off = HDR_LEN;

	size = LLVMFuzzerMutate(data, size, max);
	if (!(seed % 4))
		return size;
	while (size >= off + REC_LEN) {
		uint64_t len = rd64(data + off + 8);
		uint32_t crc;

		if (len > size - off - REC_LEN)
			break;
		crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), data + off + REC_LEN, len);
		memcpy(data + off + 4, &crc, 4);
		off += REC_LEN + len;
	}
	return size;
}

/* Seeds, written with the real writer (mig_write_*, page_send, vm_config_save). */
static void write_seed(const char *dir, const char *name, int variant)
{
	struct vm_config cfg = {.mem_size = 64ULL << 20, .nr_cpus = 1, .nr_nics = 1};
	struct guest_memory src = {0};
	struct mig_stream s = {0};
	struct page_sender ps;
	struct vm vm;
	void *blob, *state = malloc(4096);
	size_t len;
	uint32_t round[4] = {1, 0, 3, 0};
	char path[512];
	int i;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	s.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(s.fd >= 0 && state);
	memset(&vm, 0, sizeof(vm));
	cfg.nics[0].kind = NET_KIND_USER;
	cfg.nics[0].queues = 1;
	vm.cfg = &cfg;
	vm.nr_vcpus = 1;
	vm.nr_nics = 1;
	memcpy(vm.nics[0].mac, "\x52\x54\x00\x12\x34\x56", 6);
	CHECK(!vm_config_save(&vm, &blob, &len));
	CHECK(!guest_memory_init(&src, 16 << 20, false));
	memset(guest_ptr(&src, 0x1000, 4096), 0x11, 4096);
	memcpy(guest_ptr(&src, 0x3000, 8), "page 3 \n", 8);

	CHECK(!mig_write_header(&s));
	CHECK(!mig_write_record(&s, MIG_CONFIG, blob, len));
	CHECK(!page_sender_init(&ps, &s, &src));
	for (i = 0; i < 4; i++)
		CHECK(!page_send(&ps, i * 0x1000));
	if (variant == 2)
		CHECK(!page_send(&ps, RAM_SIZE)); /* beyond this machine's RAM */
	CHECK(!page_send_flush(&ps));
	page_sender_free(&ps);
	CHECK(!mig_write_record(&s, MIG_ROUND, round, sizeof(round)));
	if (variant == 1) {
		/* A record that fails its checksum, then pages that must not land. */
		uint32_t h[4] = {MIG_PAGES, 0xdeadbeef, 8, 0};
		uint64_t zero = 0;

		CHECK(write(s.fd, h, sizeof(h)) == sizeof(h));
		CHECK(write(s.fd, &zero, 8) == 8);
	}
	CHECK(!state_begin(state, 4096) && !state_put_u32(state, "version", STATE_VERSION) &&
	      !state_finish(state));
	if (variant != 3)
		CHECK(!mig_write_record(&s, MIG_STATE, state, fdt_totalsize(state)));
	CHECK(!mig_write_record(&s, MIG_COMMIT, NULL, 0));
	close(s.fd);
	guest_memory_free(&src);
	free(blob);
	free(state);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_WRITE_SEEDS");

	if (!dir)
		return 0;
	write_seed(dir, "snapshot", 0);
	write_seed(dir, "bad-checksum", 1);
	write_seed(dir, "page-outside-ram", 2);
	write_seed(dir, "commit-without-state", 3);
	exit(0);
}
