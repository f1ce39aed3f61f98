// SPDX-License-Identifier: GPL-2.0
/*
 * boot64: the smallest 64-bit Linux-boot-protocol loader that runs the test guest's
 * bzImage on /dev/kvm, so that the long-mode entry (payload + 0x200, RSI =
 * boot_params) is tested without kvmini. COM1 output goes to stdout; a write of v to
 * port 0xf4 exits with (v << 1) | 1, as isa-debug-exit does.
 * Usage: boot64 testguest.bzImage "command line"
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE (64ULL << 20)
#define GDT 0x500
#define BOOT_PARAMS 0x7000
#define PML4 0x9000
#define PDPT 0xa000
#define PD 0xb000
#define CMDLINE 0x20000
#define LOAD 0x100000

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void add_e820(uint8_t *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	uint8_t *e = bp + 0x2d0 + 20 * bp[0x1e8]++;

	memcpy(e, &addr, 8);
	memcpy(e + 8, &size, 8);
	memcpy(e + 16, &type, 4);
}

static void setup_memory(uint8_t *mem, const char *path, const char *cmdline)
{
	uint8_t *bp = mem + BOOT_PARAMS, hdr[0x400];
	FILE *f = fopen(path, "rb");
	size_t n, setup;
	uint32_t cl = CMDLINE;

	if (!f)
		die(path);
	n = fread(hdr, 1, sizeof(hdr), f);
	if (n < 0x270 || memcmp(hdr + 0x202, "HdrS", 4))
		die("not a bzImage");
	setup = (hdr[0x1f1] + 1) * 512;
	if (fseek(f, setup, SEEK_SET) || !fread(mem + LOAD, 1, MEM_SIZE - LOAD, f))
		die("payload");
	fclose(f);
	/* boot_params: the header as in the file, then what the loader fills in. */
	memcpy(bp + 0x1f1, hdr + 0x1f1, 0x270 - 0x1f1);
	bp[0x210] = 0xff; /* type_of_loader: undefined */
	memcpy(bp + 0x228, &cl, 4);
	strcpy((char *)mem + CMDLINE, cmdline);
	add_e820(bp, 0, 0x9fc00, 1);
	add_e820(bp, LOAD, MEM_SIZE - LOAD, 1);

	/* Identity map of the first 1 GiB with 2 MiB pages; flat 64-bit GDT. */
	uint64_t *pml4 = (void *)(mem + PML4), *pdpt = (void *)(mem + PDPT),
		 *pd = (void *)(mem + PD);
	uint64_t *gdt = (void *)(mem + GDT);

	pml4[0] = PDPT | 3;
	pdpt[0] = PD | 3;
	for (int i = 0; i < 512; i++)
		pd[i] = (uint64_t)i << 21 | 0x83;
	gdt[2] = 0x00af9b000000ffffULL;
	gdt[3] = 0x00cf93000000ffffULL;
}

static void setup_vcpu(int kvm, int vcpu)
{
	struct kvm_segment cs = {.base = 0,
				 .limit = 0xffffffff,
				 .selector = 0x10,
				 .type = 11,
				 .present = 1,
				 .s = 1,
				 .l = 1,
				 .g = 1};
	struct kvm_segment ds = cs;
	struct kvm_sregs sregs;
	struct kvm_regs regs = {.rip = LOAD + 0x200, .rsi = BOOT_PARAMS, .rflags = 2};
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) + 256 * sizeof(cpuid->entries[0]));

	cpuid->nent = 256;
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid) || ioctl(vcpu, KVM_SET_CPUID2, cpuid))
		die("cpuid");
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		die("KVM_GET_SREGS");
	ds.selector = 0x18;
	ds.type = 3;
	ds.l = 0;
	ds.db = 1;
	sregs.cs = cs;
	sregs.ds = sregs.es = sregs.ss = sregs.fs = sregs.gs = ds;
	sregs.gdt.base = GDT;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.cr3 = PML4;
	sregs.cr4 = 1 << 5;		   /* PAE */
	sregs.cr0 = 0x80000001 | 0x10;	   /* PG, PE, ET */
	sregs.efer = (1 << 8) | (1 << 10); /* LME, LMA */
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) || ioctl(vcpu, KVM_SET_REGS, &regs))
		die("registers");
	free(cpuid);
}

int main(int argc, char **argv)
{
	int kvm, vm, vcpu, run_size;
	struct kvm_run *run;
	uint8_t *mem, lcr = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s bzImage cmdline\n", argv[0]);
		return 2;
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0 || ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000) || ioctl(vm, KVM_CREATE_IRQCHIP, 0))
		die("vm");
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	struct kvm_userspace_memory_region region = {.memory_size = MEM_SIZE,
						     .userspace_addr = (uint64_t)mem};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region))
		die("memory");
	setup_memory(mem, argv[1], argv[2]);
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || run_size <= 0)
		die("vcpu");
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap run");
	setup_vcpu(kvm, vcpu);

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			die("KVM_RUN");
		if (run->exit_reason == KVM_EXIT_IO) {
			uint8_t *data = (uint8_t *)run + run->io.data_offset;

			if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == 0x3fb) {
				lcr = data[0];
			} else if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == 0x3f8 &&
				   !(lcr & 0x80)) { /* not the divisor latch */
				fwrite(data, 1, run->io.size * run->io.count, stdout);
				fflush(stdout);
			} else if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == 0xf4) {
				return (data[0] << 1) | 1;
			} else if (run->io.direction == KVM_EXIT_IO_IN) {
				/* LSR: transmitter empty; nothing else is there. */
				memset(data, run->io.port == 0x3fd ? 0x60 : 0xff, run->io.size);
			}
			continue;
		}
		if (run->exit_reason == KVM_EXIT_MMIO)
			continue;
		fprintf(stderr, "boot64: exit reason %u", run->exit_reason);
		if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
			fprintf(stderr, " suberror %u", run->internal.suberror);
		fprintf(stderr, "\n");
		return 3;
	}
}
