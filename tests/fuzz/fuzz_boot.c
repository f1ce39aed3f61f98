// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the kernel loader (boot_load_kernel()). The input is the
 * kernel file, written to a memfd and opened through /proc/self/fd/N, loaded
 * into 64 MiB of guest RAM. Checked:
 *   - the result is 0 or a negative errno, with one non-empty line in err
 *     on failure;
 *   - a loaded image has a known kind, ends inside guest RAM above 1 MiB,
 *     and its setup header (bzImage) fits; the zero page builds from it;
 *   - loading never faults reading past the file's mapping or writing past
 *     guest RAM (both are mmap()ed, so ASan does not see them: a stray
 *     access that leaves the mapping is a SEGV), nor hits UB (UBSan).
 * A violation is __builtin_trap().
 *
 *   make fuzz-build && build/fuzz/fuzz_boot -max_total_time=60 tests/fuzz/corpus/fuzz_boot
 */
#include <asm/bootparam.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "firmware/firmware.h"
#include "vmm/boot.h"
#include "vmm/layout.h"
#include "vmm/memory.h"

#define CHECK(cond)                        \
	do {                               \
		if (!(cond))               \
			__builtin_trap();  \
	} while (0)

#define MEM_SIZE (64ULL << 20)
#define ERR_LEN 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_memory mem;
	struct fw_machine m = { .nr_cpus = 1, .ram = { { 0, MEM_SIZE } }, .nr_ram = 1 };
	struct boot_image img;
	struct boot_params *bp;
	char path[64], err[ERR_LEN];
	size_t len;
	int fd, ret;

	/* Guest RAM is the machine, not state: the loader only writes into it. */
	if (!mem.nr_regions)
		CHECK(!guest_memory_init(&mem, MEM_SIZE, false));
	fd = memfd_create("fuzz-kernel", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

	memset(err, 0, sizeof(err));
	ret = boot_load_kernel(&mem, path, &img, err, sizeof(err));
	close(fd);
	if (ret) {
		CHECK(ret < 0 && ret > -4096);
		len = strnlen(err, sizeof(err));
		CHECK(len > 0 && len < sizeof(err) && !memchr(err, '\n', len));
		return 0;
	}
	CHECK(size > 0);
	CHECK(img.kind == BOOT_BZIMAGE || img.kind == BOOT_ELF_PVH || img.kind == BOOT_ELF_64);
	CHECK(img.kernel_end > LEGACY_END && img.kernel_end <= MEM_SIZE);
	CHECK(img.setup_hdr_len <= sizeof(img.setup_hdr));
	CHECK(img.cmdline_max > 0 || img.kind == BOOT_BZIMAGE);
	if (img.kind != BOOT_BZIMAGE) {
		CHECK(img.setup_hdr_len == 0 && img.cmdline_max == BOOT_CMDLINE_MAX - 1);
		return 0;
	}
	CHECK(img.entry == KERNEL_LOAD_GPA + 0x200);
	bp = calloc(1, sizeof(*bp));
	CHECK(bp);
	ret = fw_zeropage_build(bp, &m, img.setup_hdr, img.setup_hdr_len, BOOT_CMDLINE_GPA, 16,
				0, 0);
	CHECK(ret == 0 || (ret < 0 && ret > -4096));
	free(bp);
	return 0;
}
