// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "cpu_mode.h"
#include "layout.h"
#include "memory.h"

#define TSS_LIMIT 0x67

#define CR0_PE (1ULL << 0)
#define CR0_ET (1ULL << 4)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_US (1ULL << 2)
#define PTE_PS (1ULL << 7)

/* Descriptor: base 0, limit 0xfffff pages; access byte and flags nibble vary. */
#define GDT_FLAT(access, flags) (0x000000000000ffffULL | ((uint64_t)(access) << 40) | \
				 (0xfULL << 48) | ((uint64_t)(flags) << 52))

int cpu_write_boot_tables(const struct guest_memory *mem, bool user_pages)
{
	uint64_t gdt[10] = {
		[SEL_CODE64 >> 3] = GDT_FLAT(0x9b, 0xa),	/* L=1, G=1 */
		[SEL_DATA >> 3] = GDT_FLAT(0x93, 0xc),		/* D/B=1, G=1 */
		[SEL_CODE32 >> 3] = GDT_FLAT(0x9b, 0xc),
		[SEL_USER_DATA >> 3] = GDT_FLAT(0xf3, 0xc),
		[SEL_USER_CODE64 >> 3] = GDT_FLAT(0xfb, 0xa),
	};
	uint64_t *pml4, *pdpt, *pd;
	uint64_t flags = PTE_P | PTE_RW | (user_pages ? PTE_US : 0);
	unsigned int i;

	/* 64-bit TSS descriptor (busy, type 0xb) spans two slots. */
	gdt[SEL_TSS >> 3] = TSS_LIMIT | ((BOOT_TSS_GPA & 0xffffff) << 16) | (0x8bULL << 40) |
			    ((BOOT_TSS_GPA >> 24) << 56);
	gdt[(SEL_TSS >> 3) + 1] = BOOT_TSS_GPA >> 32;
	if (guest_write(mem, BOOT_GDT_GPA, gdt, sizeof(gdt)))
		return -EFAULT;

	pml4 = guest_ptr(mem, BOOT_PML4_GPA, 4096);
	pdpt = guest_ptr(mem, BOOT_PDPT_GPA, 4096);
	pd = guest_ptr(mem, BOOT_PD_GPA, 4 * 4096);
	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_GPA | flags;
	for (i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_GPA + i * 4096) | flags;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | flags | PTE_PS;
	return 0;
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64, bool db)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->s = 1;
	s->l = code64;
	s->db = db;
	s->g = 1;
}

static void set_tss(struct kvm_segment *s)
{
	memset(s, 0, sizeof(*s));
	s->selector = SEL_TSS;
	s->base = BOOT_TSS_GPA;
	s->limit = TSS_LIMIT;
	s->type = 11;	/* busy 32/64-bit TSS: VM entry checks insist on a busy TSS */
	s->present = 1;
}

static int set_common(int vcpu_fd, struct kvm_sregs *sregs, struct kvm_regs *regs)
{
	sregs->gdt.base = BOOT_GDT_GPA;
	sregs->gdt.limit = 10 * 8 - 1;
	sregs->idt.base = 0;
	sregs->idt.limit = 0;
	set_tss(&sregs->tr);
	memset(&sregs->ldt, 0, sizeof(sregs->ldt));
	sregs->ldt.unusable = 1;
	sregs->ldt.type = 2;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, sregs) < 0)
		return -errno;
	if (ioctl(vcpu_fd, KVM_SET_REGS, regs) < 0)
		return -errno;
	return 0;
}

int cpu_enter_long_mode(int vcpu_fd, uint64_t rip, uint64_t rsi, uint64_t rsp)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = rip, .rsi = rsi, .rsp = rsp, .rflags = 2 };

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	set_seg(&sregs.cs, SEL_CODE64, 0xb, true, false);
	set_seg(&sregs.ds, SEL_DATA, 0x3, false, true);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
	sregs.cr3 = BOOT_PML4_GPA;
	sregs.cr4 = CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA;
	return set_common(vcpu_fd, &sregs, &regs);
}

int cpu_enter_protected_mode(int vcpu_fd, uint32_t eip, uint32_t ebx)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = eip, .rbx = ebx, .rflags = 2 };

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	set_seg(&sregs.cs, SEL_CODE32, 0xb, false, true);
	set_seg(&sregs.ds, SEL_DATA, 0x3, false, true);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	/* PVH ABI: CR0 has PE and ET only, CR4 is clear, paging off. */
	sregs.cr0 = CR0_PE | CR0_ET;
	sregs.cr3 = 0;
	sregs.cr4 = 0;
	sregs.efer = 0;
	return set_common(vcpu_fd, &sregs, &regs);
}
