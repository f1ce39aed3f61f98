// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/boot.h"
#include "vmm/layout.h"
#include "vmm/memory.h"

static struct guest_memory mem;
static char path[] = "/tmp/kvmini-test-boot-XXXXXX";

static void setup(void)
{
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(guest_memory_init(&mem, 64 << 20, false), 0);
}

static void teardown(void)
{
	unlink(path);
	guest_memory_free(&mem);
}

static void write_file(const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* An ELF64 with one PT_LOAD of 16 bytes at paddr and optionally a PVH note. */
static size_t make_elf(uint8_t *buf, uint64_t paddr, bool pvh, uint32_t pvh_entry)
{
	Elf64_Ehdr *eh = (void *)buf;
	Elf64_Phdr *ph = (void *)(buf + sizeof(*eh));
	uint8_t *note = buf + 0x200;
	uint8_t *code = buf + 0x300;

	memset(buf, 0, 0x400);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_entry = 0xffffffff81000000ULL + 0x40;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = pvh ? 2 : 1;
	ph[0].p_type = PT_LOAD;
	ph[0].p_offset = 0x300;
	ph[0].p_paddr = paddr;
	ph[0].p_filesz = 16;
	ph[0].p_memsz = 4096;	/* the rest is bss: must be zeroed */
	memset(code, 0x90, 16);
	if (pvh) {
		Elf64_Nhdr *n = (void *)note;

		n->n_namesz = 4;
		n->n_descsz = 4;
		n->n_type = 18;	/* XEN_ELFNOTE_PHYS32_ENTRY */
		memcpy(note + sizeof(*n), "Xen", 4);
		memcpy(note + sizeof(*n) + 4, &pvh_entry, 4);
		ph[1].p_type = PT_NOTE;
		ph[1].p_offset = 0x200;
		ph[1].p_filesz = sizeof(*n) + 8;
	}
	return 0x400;
}

TestSuite(boot, .init = setup, .fini = teardown);

Test(boot, elf_with_pvh_note_uses_pvh_entry)
{
	uint8_t buf[0x400];
	struct boot_image img;
	char err[256] = "";
	uint8_t *dst;

	write_file(buf, make_elf(buf, 0x1000000, true, 0x1000123));
	dst = guest_ptr(&mem, 0x1000000, 4096);
	memset(dst, 0xee, 4096);
	cr_assert_eq(boot_load_kernel(&mem, path, &img, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(img.kind, BOOT_ELF_PVH);
	cr_assert_eq(img.entry, 0x1000123);
	cr_assert_eq(img.kernel_end, 0x1001000);
	cr_assert_eq(dst[0], 0x90, "segment not copied");
	cr_assert_eq(dst[16], 0, "bss not cleared");
}

Test(boot, elf_without_note_uses_64bit_entry)
{
	uint8_t buf[0x400];
	struct boot_image img;
	char err[256] = "";

	write_file(buf, make_elf(buf, 0x1000000, false, 0));
	cr_assert_eq(boot_load_kernel(&mem, path, &img, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(img.kind, BOOT_ELF_64);
	cr_assert_eq(img.entry, 0x01000040, "virtual e_entry not turned into physical");
}

static void expect_refused(const void *buf, size_t len, const char *needle)
{
	struct boot_image img;
	char err[256] = "";

	write_file(buf, len);
	cr_assert_lt(boot_load_kernel(&mem, path, &img, err, sizeof(err)), 0, "accepted");
	cr_assert(strstr(err, needle), "error '%s' lacks '%s'", err, needle);
}

Test(boot, elf_segment_outside_memory_or_file_is_refused)
{
	uint8_t buf[0x400];
	Elf64_Phdr *ph = (void *)(buf + sizeof(Elf64_Ehdr));

	make_elf(buf, 0x1000000, false, 0);
	ph[0].p_paddr = 63ULL << 20;	/* runs past the end of 64 MiB */
	ph[0].p_memsz = 2 << 20;
	expect_refused(buf, sizeof(buf), "does not fit");

	make_elf(buf, 0x1000000, false, 0);
	ph[0].p_paddr = 0x7000;		/* would overwrite the zero page and tables */
	expect_refused(buf, sizeof(buf), "does not fit");

	make_elf(buf, 0x1000000, false, 0);
	ph[0].p_filesz = 1ULL << 40;
	ph[0].p_memsz = 1ULL << 40;
	expect_refused(buf, sizeof(buf), "outside the file");

	make_elf(buf, 0x1000000, false, 0);
	ph[0].p_offset = UINT64_MAX - 4;	/* offset + size wraps */
	expect_refused(buf, sizeof(buf), "outside the file");

	make_elf(buf, 0x1000000, false, 0);
	((Elf64_Ehdr *)buf)->e_phnum = 0xffff;	/* header table past the end */
	expect_refused(buf, sizeof(buf), "not a valid x86-64");

	make_elf(buf, 0x1000000, false, 0);
	((Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr)))[0].p_type = PT_NULL;
	expect_refused(buf, sizeof(buf), "no loadable segment");
}

Test(boot, bzimage_header_checks)
{
	uint8_t *buf = calloc(1, 64 << 10);

	buf[0x1f1] = 4;	/* setup_sects */
	memcpy(buf + 0x202, "HdrS", 4);
	*(uint16_t *)(buf + 0x206) = 0x020f;
	/* no XLF_KERNEL_64 */
	expect_refused(buf, 64 << 10, "without a 64-bit entry");

	buf[0x236] = 1;	/* xloadflags: XLF_KERNEL_64 */
	buf[0x1f1] = 200;	/* setup larger than the file */
	expect_refused(buf, 64 << 10, "truncated");

	buf[0x1f1] = 4;
	*(uint32_t *)(buf + 0x260) = 128 << 20;	/* init_size beyond guest RAM */
	expect_refused(buf, 64 << 10, "not enough guest memory");
	free(buf);
}

Test(boot, bzimage_loads_at_1m_with_entry_at_0x200)
{
	uint8_t *buf = calloc(1, 64 << 10);
	struct boot_image img;
	char err[256] = "";

	buf[0x1f1] = 4;
	memcpy(buf + 0x202, "HdrS", 4);
	*(uint16_t *)(buf + 0x206) = 0x020f;
	buf[0x201] = 0x6a;	/* header ends at 0x26c */
	buf[0x236] = 1;
	*(uint32_t *)(buf + 0x238) = 2047;	/* cmdline_size */
	*(uint32_t *)(buf + 0x22c) = 0x37ffffff;	/* initrd_addr_max */
	*(uint32_t *)(buf + 0x260) = 1 << 20;	/* init_size */
	buf[5 * 512] = 0xab;	/* first byte of the protected-mode kernel */
	write_file(buf, 64 << 10);
	cr_assert_eq(boot_load_kernel(&mem, path, &img, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(img.kind, BOOT_BZIMAGE);
	cr_assert_eq(img.entry, KERNEL_LOAD_GPA + 0x200);
	cr_assert_eq(*(uint8_t *)guest_ptr(&mem, KERNEL_LOAD_GPA, 1), 0xab);
	cr_assert_eq(img.cmdline_max, 2047);
	cr_assert_eq(img.initrd_max, 0x38000000ULL);
	cr_assert_eq(img.setup_hdr_len, 0x26c - 0x1f1);
	free(buf);
}
