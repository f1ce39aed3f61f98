// SPDX-License-Identifier: GPL-2.0
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <asm/bootparam.h>

#include "boot.h"
#include "cpu_mode.h"
#include "firmware/firmware.h"
#include "layout.h"
#include "log.h"
#include "memory.h"

/* Xen's ELF note carrying the 32-bit PVH entry point (xen/include/public/elfnote.h). */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define SETUP_HDR_START 0x1f1
#define XLF_KERNEL_64_BIT (1 << 0)

struct file_map {
	const uint8_t *data;
	size_t size;
};

static int map_file(const char *path, const char *what, struct file_map *f, char *err,
		    size_t errlen)
{
	struct stat st;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "cannot open %s '%s': %s", what, path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "%s '%s' is not a regular file", what, path);
		return -EINVAL;
	}
	f->size = st.st_size;
	if (!f->size) {
		close(fd);
		snprintf(err, errlen, "%s '%s' is empty", what, path);
		return -EINVAL;
	}
	f->data = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
	e = errno;
	close(fd);
	if (f->data == MAP_FAILED) {
		snprintf(err, errlen, "cannot read %s '%s': %s", what, path, strerror(e));
		return -e;
	}
	return 0;
}

static void unmap_file(struct file_map *f)
{
	munmap((void *)f->data, f->size);
}

static int load_bzimage(const struct guest_memory *mem, const struct file_map *f,
			struct boot_image *img, char *err, size_t errlen)
{
	const struct setup_header *hdr = (const void *)(f->data + SETUP_HDR_START);
	size_t setup_size, kernel_size, hdr_len;
	void *dst;

	if (hdr->version < 0x020c || !(hdr->xloadflags & XLF_KERNEL_64_BIT)) {
		snprintf(err, errlen, "bzImage boot protocol %u.%02u without a 64-bit entry "
			 "(kvmini needs 2.12+ with XLF_KERNEL_64)", hdr->version >> 8,
			 hdr->version & 0xff);
		return -ENOEXEC;
	}
	setup_size = ((size_t)(hdr->setup_sects ? hdr->setup_sects : 4) + 1) * 512;
	if (setup_size >= f->size) {
		snprintf(err, errlen, "bzImage is truncated (setup of %zu bytes, file of %zu)",
			 setup_size, f->size);
		return -ENOEXEC;
	}
	kernel_size = f->size - setup_size;
	/* The kernel decompresses in place and needs init_size bytes from its load address. */
	img->kernel_end = KERNEL_LOAD_GPA + (hdr->init_size > kernel_size ? hdr->init_size :
					     kernel_size);
	dst = guest_ptr(mem, KERNEL_LOAD_GPA, img->kernel_end - KERNEL_LOAD_GPA);
	if (!dst) {
		snprintf(err, errlen, "kernel needs %llu MiB from 1 MiB up: not enough guest memory",
			 (unsigned long long)((img->kernel_end - KERNEL_LOAD_GPA) >> 20) + 1);
		return -ENOMEM;
	}
	memcpy(dst, f->data + setup_size, kernel_size);

	/* The header is 0x202 + the byte at 0x201 long (Documentation/x86/boot.rst). */
	hdr_len = 0x202 + f->data[0x201] - SETUP_HDR_START;
	if (hdr_len > sizeof(img->setup_hdr))
		hdr_len = sizeof(img->setup_hdr);
	memcpy(img->setup_hdr, f->data + SETUP_HDR_START, hdr_len);
	img->setup_hdr_len = hdr_len;
	img->kind = BOOT_BZIMAGE;
	/* startup_64 sits 0x200 past the start of the protected-mode kernel. */
	img->entry = KERNEL_LOAD_GPA + 0x200;
	img->cmdline_max = hdr->version >= 0x0206 ? hdr->cmdline_size : 255;
	img->initrd_max = (uint64_t)hdr->initrd_addr_max + 1;
	if (hdr->version >= 0x020c && (hdr->xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G))
		img->initrd_max = UINT64_MAX;
	return 0;
}

static bool elf_range_ok(const struct file_map *f, uint64_t off, uint64_t len)
{
	return off <= f->size && len <= f->size - off;
}

static uint64_t elf_pvh_entry(const struct file_map *f, const Elf64_Phdr *ph)
{
	uint64_t off = ph->p_offset, end;

	if (!elf_range_ok(f, ph->p_offset, ph->p_filesz))
		return 0;
	end = ph->p_offset + ph->p_filesz;
	while (off + sizeof(Elf64_Nhdr) <= end) {
		Elf64_Nhdr nh, *n = &nh;
		uint64_t name_off, desc_off, next;

		memcpy(&nh, f->data + off, sizeof(nh));
		name_off = off + sizeof(*n);
		desc_off = name_off + ((n->n_namesz + 3) & ~3ULL);
		next = desc_off + ((n->n_descsz + 3) & ~3ULL);
		if (next > end || next <= off)
			break;
		if (n->n_type == XEN_ELFNOTE_PHYS32_ENTRY && n->n_namesz == 4 &&
		    !memcmp(f->data + name_off, "Xen", 4)) {
			uint32_t e32;
			uint64_t e64;

			if (n->n_descsz == 4) {
				memcpy(&e32, f->data + desc_off, 4);
				return e32;
			}
			if (n->n_descsz == 8) {
				memcpy(&e64, f->data + desc_off, 8);
				return e64;
			}
		}
		off = next;
	}
	return 0;
}

static int load_elf(const struct guest_memory *mem, const struct file_map *f,
		    struct boot_image *img, char *err, size_t errlen)
{
	const Elf64_Ehdr *eh = (const void *)f->data;
	uint64_t pvh = 0;
	unsigned int i, loaded = 0;

	if (f->size < sizeof(*eh) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_machine != EM_X86_64 || eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    !elf_range_ok(f, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr))) {
		snprintf(err, errlen, "ELF kernel is not a valid x86-64 ELF64 image");
		return -ENOEXEC;
	}
	img->kernel_end = 0;
	for (i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr phdr, *ph = &phdr;
		uint8_t *dst;

		memcpy(&phdr, f->data + eh->e_phoff + i * sizeof(phdr), sizeof(phdr));
		if (ph->p_type == PT_NOTE && !pvh)
			pvh = elf_pvh_entry(f, ph);
		if (ph->p_type != PT_LOAD || !ph->p_memsz)
			continue;
		if (ph->p_filesz > ph->p_memsz || !elf_range_ok(f, ph->p_offset, ph->p_filesz)) {
			snprintf(err, errlen, "ELF segment %u lies outside the file", i);
			return -ENOEXEC;
		}
		dst = guest_ptr(mem, ph->p_paddr, ph->p_memsz);
		if (!dst || ph->p_paddr < LEGACY_END) {
			snprintf(err, errlen, "ELF segment %u (%#llx+%#llx) does not fit in guest "
				 "memory above 1 MiB", i, (unsigned long long)ph->p_paddr,
				 (unsigned long long)ph->p_memsz);
			return -ENOMEM;
		}
		memcpy(dst, f->data + ph->p_offset, ph->p_filesz);
		memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
		if (ph->p_paddr + ph->p_memsz > img->kernel_end)
			img->kernel_end = ph->p_paddr + ph->p_memsz;
		loaded++;
	}
	if (!loaded) {
		snprintf(err, errlen, "ELF kernel has no loadable segment");
		return -ENOEXEC;
	}
	img->setup_hdr_len = 0;
	img->cmdline_max = BOOT_CMDLINE_MAX - 1;
	img->initrd_max = GUEST_MEM_HOLE_START;
	if (pvh) {
		img->kind = BOOT_ELF_PVH;
		img->entry = pvh;
	} else {
		/* A vmlinux without PVH: its e_entry is startup_64's physical address. */
		img->kind = BOOT_ELF_64;
		img->entry = eh->e_entry & 0x7fffffffULL;
	}
	return 0;
}

int boot_load_kernel(const struct guest_memory *mem, const char *path, struct boot_image *img,
		     char *err, size_t errlen)
{
	struct file_map f;
	int ret;

	memset(img, 0, sizeof(*img));
	ret = map_file(path, "kernel", &f, err, errlen);
	if (ret)
		return ret;
	if (f.size >= 0x250 && !memcmp(f.data + 0x202, "HdrS", 4))
		ret = load_bzimage(mem, &f, img, err, errlen);
	else if (f.size >= SELFMAG && !memcmp(f.data, ELFMAG, SELFMAG))
		ret = load_elf(mem, &f, img, err, errlen);
	else {
		snprintf(err, errlen, "kernel '%s' is neither a bzImage nor an ELF file", path);
		ret = -ENOEXEC;
	}
	unmap_file(&f);
	return ret;
}

static int load_initrd(const struct guest_memory *mem, const struct boot_image *img,
		       const char *path, uint64_t *gpa, uint64_t *size, char *err, size_t errlen)
{
	const struct mem_region *low = &mem->region[0];
	uint64_t top = low->gpa + low->size, addr;
	struct file_map f;
	int ret;

	*gpa = *size = 0;
	if (!path)
		return 0;
	ret = map_file(path, "initrd", &f, err, errlen);
	if (ret)
		return ret;
	/* Place it as high as allowed below 4 GiB, page aligned, above the kernel. */
	if (top > img->initrd_max)
		top = img->initrd_max;
	addr = f.size <= top ? (top - f.size) & ~(GUEST_PAGE_SIZE - 1) : 0;
	if (f.size > top || addr < img->kernel_end || !guest_ptr(mem, addr, f.size)) {
		snprintf(err, errlen, "initrd '%s' (%zu MiB) does not fit in guest memory above "
			 "the kernel: give the guest more --memory", path, (f.size >> 20) + 1);
		unmap_file(&f);
		return -ENOMEM;
	}
	memcpy(guest_ptr(mem, addr, f.size), f.data, f.size);
	*gpa = addr;
	*size = f.size;
	unmap_file(&f);
	return 0;
}

int boot_setup(const struct guest_memory *mem, const struct boot_image *img,
	       const struct fw_machine *m, const char *initrd_path, const char *cmdline,
	       int bsp_fd, char *err, size_t errlen)
{
	size_t cmdline_len = strlen(cmdline);
	uint64_t initrd_gpa, initrd_size;
	uint8_t *acpi;
	long n;
	int ret;

	if (cmdline_len > img->cmdline_max) {
		snprintf(err, errlen, "kernel command line is %zu bytes; this kernel takes %u",
			 cmdline_len, img->cmdline_max);
		return -E2BIG;
	}
	if (guest_write(mem, BOOT_CMDLINE_GPA, cmdline, cmdline_len + 1))
		return -EFAULT;
	ret = load_initrd(mem, img, initrd_path, &initrd_gpa, &initrd_size, err, errlen);
	if (ret)
		return ret;

	acpi = guest_ptr(mem, ACPI_TABLES_GPA, ACPI_TABLES_SIZE);
	if (!acpi)
		return -EFAULT;
	n = fw_acpi_build(m, acpi, ACPI_TABLES_SIZE);
	if (n < 0) {
		snprintf(err, errlen, "building ACPI tables: %s", strerror(-n));
		return n;
	}
	ret = cpu_write_boot_tables(mem, false);
	if (ret)
		return ret;

	if (img->kind == BOOT_ELF_PVH) {
		uint8_t *info = guest_ptr(mem, BOOT_PVH_INFO_GPA, 0x1000);

		n = fw_pvh_build(m, info, 0x1000, BOOT_PVH_INFO_GPA, BOOT_CMDLINE_GPA, initrd_gpa,
				 initrd_size);
		if (n < 0) {
			snprintf(err, errlen, "building the PVH start info: %s", strerror(-n));
			return n;
		}
		ret = cpu_enter_protected_mode(bsp_fd, img->entry, BOOT_PVH_INFO_GPA);
	} else {
		struct boot_params *bp = guest_ptr(mem, BOOT_ZEROPAGE_GPA, sizeof(*bp));

		ret = fw_zeropage_build(bp, m, img->setup_hdr_len ? img->setup_hdr : NULL,
					img->setup_hdr_len, BOOT_CMDLINE_GPA, cmdline_len,
					initrd_gpa, initrd_size);
		if (ret) {
			snprintf(err, errlen, "building the zero page: %s", strerror(-ret));
			return ret;
		}
		ret = cpu_enter_long_mode(bsp_fd, img->entry, BOOT_ZEROPAGE_GPA, BOOT_STACK_GPA);
	}
	if (ret)
		snprintf(err, errlen, "setting up the boot vCPU: %s", strerror(-ret));
	return ret;
}

const char *boot_kind_name(enum boot_kind kind)
{
	switch (kind) {
	case BOOT_BZIMAGE:
		return "bzImage";
	case BOOT_ELF_PVH:
		return "ELF (PVH entry)";
	case BOOT_ELF_64:
		return "ELF (64-bit entry)";
	}
	return "?";
}
