/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal bzImage around the test guest payload (Documentation/arch/x86/boot.rst):
 * setup sectors with the "HdrS" header, then the payload the loader puts at 1 MiB.
 * 64-bit loaders (kvmini) enter the payload at +0x200 in long mode. Loaders that run
 * the real-mode setup (QEMU -kernel) land on rm_start below, which fetches the E820
 * map from the BIOS, switches to protected mode and jumps to code32_start with
 * ESI = boot_params, as the 32-bit boot protocol describes.
 */
#define SETUP_SECTS 3
#define LOADED_HIGH 0x01
#define XLF_KERNEL_64 0x01
#define E820_MAX 128
#define SMAP 0x534d4150
/* boot_params, from the setup segment: past the setup sectors, below the stack. */
#define BP_OFF 0x1000

	.code16
	.text
	.globl _start
_start:
	.org 0x1f1
setup_sects:		.byte SETUP_SECTS
root_flags:		.word 0
syssize:		.long (payload_end - payload + 15) / 16
ram_size:		.word 0
vid_mode:		.word 0xffff
root_dev:		.word 0
boot_flag:		.word 0xaa55
	/* 0x200: where the real-mode setup is entered, CS = setup segment + 0x20. */
jump:			.byte 0xeb, rm_start - 1f
1:
header:			.ascii "HdrS"
version:		.word 0x020c
realmode_swtch:		.long 0
start_sys_seg:		.word 0x1000
kernel_version:		.word 0
type_of_loader:		.byte 0
loadflags:		.byte LOADED_HIGH
setup_move_size:	.word 0x8000
code32_start:		.long 0x100000
ramdisk_image:		.long 0
ramdisk_size:		.long 0
bootsect_kludge:	.long 0
heap_end_ptr:		.word 0
ext_loader_ver:		.byte 0
ext_loader_type:	.byte 0
cmd_line_ptr:		.long 0
initrd_addr_max:	.long 0x7fffffff
kernel_alignment:	.long 0x100000
relocatable_kernel:	.byte 0
min_alignment:		.byte 12
xloadflags:		.word XLF_KERNEL_64
cmdline_size:		.long 4095
hardware_subarch:	.long 0
hardware_subarch_data:	.quad 0
payload_offset:		.long 0
payload_length:		.long 0
setup_data:		.quad 0
pref_address:		.quad 0x100000
init_size:		.long INIT_SIZE
handover_offset:	.long 0

	/* Offsets below are from _start: DS = the setup segment = boot_params. */
rm_start:
	cli
	cld
	movw %cs, %ax
	subw $0x20, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw $0xe000, %sp

	/* Fast A20 gate (port 0x92 bit 1); the payload lives above 1 MiB. */
	inb $0x92, %al
	orb $0x02, %al
	andb $0xfe, %al
	outb %al, $0x92

	/* boot_params goes in a zeroed page after the setup code, with a copy of the
	 * header; the E820 table would overwrite this code if filled in place. */
	movw $BP_OFF, %di
	movw $2048, %cx
	xorw %ax, %ax
	rep stosw
	movw $0x1f1, %si
	movw $BP_OFF + 0x1f1, %di
	movw $(rm_start - setup_sects), %cx
	rep movsb

	/* BIOS INT 15h, AX=E820h into boot_params.e820_table (0x2d0), count at 0x1e8. */
	xorl %ebx, %ebx
	movw $BP_OFF + 0x2d0, %di
	xorw %bp, %bp
2:	movl $0xe820, %eax
	movl $20, %ecx
	movl $SMAP, %edx
	int $0x15
	jc 3f
	cmpl $SMAP, %eax
	jne 3f
	addw $20, %di
	incw %bp
	cmpw $E820_MAX, %bp
	jae 3f
	testl %ebx, %ebx
	jnz 2b
3:	movw %bp, %ax
	movb %al, BP_OFF + 0x1e8

	xorl %esi, %esi
	movw %ds, %si
	shll $4, %esi
	leal (rm_gdt - _start)(%esi), %eax
	addl $BP_OFF, %esi
	movl %eax, (rm_gdt_ptr - _start + 2)
	lgdtl (rm_gdt_ptr - _start)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	/* ESI = boot_params (linear); code32_start of this header. */
	ljmpl $0x08, $0x100000

	.balign 8
rm_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08 flat 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10 flat data */
rm_gdt_ptr:
	.word rm_gdt_ptr - rm_gdt - 1
	.long 0

	.org (SETUP_SECTS + 1) * 512
payload:
	.incbin "payload.bin"
payload_end:
