#!/usr/bin/env bash
# Long variants (make check-full): the compressed Linux bzImage through the
# 64-bit boot protocol (its decompressor is emulated guest kernel code on a
# host like the CI machine: many minutes there), and a guest with RAM on both
# sides of the PCI hole below 4 GiB.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

BZIMAGE=${GUEST_BZIMAGE:-$GUEST_OUT/bzImage}
VMLINUX=${GUEST_VMLINUX:-$GUEST_OUT/vmlinux}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-2400}

t_bzimage_kernel_alone() {
	local rc=0
	timeout "$BOOT_TIMEOUT" "$KVMINI" run -v --kernel "$BZIMAGE" --memory 128M \
		--cmdline "panic=-1" </dev/null >"$TEST_TMP/bz.con" 2>"$TEST_TMP/bz.err" || rc=$?
	cat "$TEST_TMP/bz.err"
	expect_status 3 $rc "bzImage boot ending in a panic reboot"
	expect_in "$TEST_TMP/bz.err" "bzImage, entry 0x100200"
	expect_in "$TEST_TMP/bz.con" "Command line: console=ttyS0"
	expect_in "$TEST_TMP/bz.con" "Kernel panic - not syncing"
}

t_memory_above_4g() {
	# 4 GiB of RAM: 3 GiB below the hole, 1 GiB from 4 GiB up.
	local rc=0
	timeout "$BOOT_TIMEOUT" "$KVMINI" run -v --kernel "$VMLINUX" --memory 4G \
		--cmdline "panic=-1" </dev/null >"$TEST_TMP/m.con" 2>"$TEST_TMP/m.err" || rc=$?
	expect_status 3 $rc "4 GiB guest"
	expect_in "$TEST_TMP/m.con" "BIOS-e820: \[mem 0x0000000100000000-0x000000013fffffff\] usable"
	expect_in "$TEST_TMP/m.con" "BIOS-e820: \[mem 0x00000000e0000000-0x00000000e00fffff\] reserved"
	expect_in "$TEST_TMP/m.con" "Memory: [0-9]+K/419[0-9]{4}K available"
}

NEEDS_KVM=1
run_all_tests
summary
