#!/usr/bin/env bash
# Boot the project's Linux guest under kvmini: busybox with 1 and 2 vCPUs
# (ready marker, CPU count, memory size, command line, poweroff and reboot
# statuses) and the kernel alone (its boot log, the reboot after panic=-1).
# A Linux boot takes most of a minute on a host whose KVM emulates guest
# kernel code, so each boot checks many things at once.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

VMLINUX=${GUEST_VMLINUX:-$GUEST_OUT/vmlinux}
INITRD=${GUEST_INITRAMFS:-$GUEST_OUT/initramfs.cpio.gz}
TG_ELF=${TESTGUEST_ELF:-$GUEST_OUT/testguest/testguest.elf}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-400}

# boot NAME EXPECTED_STATUS [kvmini run options...]: console in $TEST_TMP/NAME.con
boot() {
	local name=$1 want=$2 rc=0 start end
	shift 2
	start=$(date +%s)
	timeout "$BOOT_TIMEOUT" "$KVMINI" run --kernel "$VMLINUX" "$@" </dev/null \
		>"$TEST_TMP/$name.con" 2>"$TEST_TMP/$name.err" || rc=$?
	end=$(date +%s)
	echo "boot $name: exit $rc after $((end - start)) s"
	cat "$TEST_TMP/$name.err"
	[ "$rc" -ne 124 ] || { echo "timed out after $BOOT_TIMEOUT s; console tail:"; tail -n 20 "$TEST_TMP/$name.con"; return 1; }
	expect_status "$want" "$rc" "boot $name"
}

b64() { printf '%s' "$1" | base64 -w0; }

# Can this host's KVM run guest user space, and with which kernel? The test
# guest's ring-3 SYSCALL check answers: the project's kernel carries the
# change that handles "pf-at-lstar".
userspace_verdict() {
	local out
	out=$(timeout 60 "$KVMINI" run -q --kernel "$TG_ELF" --debug-exit --cmdline scenario=usermode \
		</dev/null 2>/dev/null | grep '^USERMODE' || true)
	case $out in
	"USERMODE syscall=handler"*) echo ok ;;
	"USERMODE syscall=pf-at-lstar"*) echo patched ;;
	*) echo "no: the test guest saw '${out:-nothing}'" ;;
	esac
}

CMD='echo CMDLINE-SEEN $(cat /proc/cmdline); echo UNAME $(uname -sr); cat /proc/cpuinfo | grep -c ^processor | sed "s/^/CPUINFO-COUNT /"'

t_busybox_1cpu_poweroff() {
	[ "$USERSPACE" = ok ] || [ "$USERSPACE" = patched ] || { echo "guest user space cannot run here ($USERSPACE)"; return 77; }
	boot bb1 0 --initrd "$INITRD" --memory 256M --cpus 1 \
		--cmdline "kvmini.test=token-1234 kvmini.cmd=$(b64 "$CMD")"
	local con=$TEST_TMP/bb1.con
	expect_in "$con" "KVMINI-READY"
	expect_in "$con" "KVMINI-INFO cpus=1 "
	# 256 MiB of RAM: the kernel keeps some; MemTotal lands between 200 and 256 MiB.
	local kb
	kb=$(sed -n 's/.*KVMINI-INFO .*memtotal_kb=\([0-9]*\).*/\1/p' "$con" | head -n1)
	[ -n "$kb" ] && [ "$kb" -gt 200000 ] && [ "$kb" -le 262144 ] || { echo "MemTotal $kb kB"; return 1; }
	expect_in "$con" "CMDLINE-SEEN .*console=ttyS0.*kvmini.test=token-1234"
	expect_in "$con" "UNAME Linux 6\.1"
	expect_in "$con" "CPUINFO-COUNT 1"
	expect_in "$con" "KVMINI-CMD-EXIT 0"
	# The kernel's own log: memory seen and one CPU.
	expect_in "$con" "Memory: [0-9]+K/2[0-9]{5}K available"
	expect_in "$con" "smp: Brought up 1 node, 1 CPU"
}

t_busybox_2cpu_reboot() {
	[ "$USERSPACE" = ok ] || [ "$USERSPACE" = patched ] || { echo "guest user space cannot run here ($USERSPACE)"; return 77; }
	boot bb2 3 --initrd "$INITRD" --memory 256M --cpus 2 \
		--cmdline "kvmini.end=reboot kvmini.cmd=$(b64 "$CMD")"
	local con=$TEST_TMP/bb2.con
	expect_in "$con" "KVMINI-READY"
	expect_in "$con" "KVMINI-INFO cpus=2 "
	expect_in "$con" "CPUINFO-COUNT 2"
	expect_in "$con" "smp: Brought up 1 node, 2 CPUs"
	expect_in "$con" "reboot: Restarting system"
}

t_kernel_alone_1cpu_panic_reboots() {
	boot k1 3 --memory 128M --cpus 1 --cmdline "panic=-1"
	local con=$TEST_TMP/k1.con
	expect_in "$con" "Command line: console=ttyS0 .*panic=-1"
	expect_in "$con" "Memory: [0-9]+K/1[0-9]{5}K available"
	expect_in "$con" "smp: Brought up 1 node, 1 CPU"
	expect_in "$con" "Kernel panic - not syncing"
	expect_in "$con" "Rebooting in 1 seconds|Rebooting immediately"
}

t_kernel_alone_2cpu_log() {
	boot k2 3 --memory 128M --cpus 2 --cmdline "panic=-1"
	local con=$TEST_TMP/k2.con
	expect_in "$con" "ACPI: .*MADT|ACPI: APIC"
	expect_in "$con" "smpboot: Allowing 2 CPUs|Allowing 2 present CPUs"
	expect_in "$con" "smp: Brought up 1 node, 2 CPUs"
	expect_in "$con" "Kernel panic - not syncing"
}

for f in "$VMLINUX" "$INITRD" "$TG_ELF"; do
	if [ ! -f "$f" ]; then
		echo "FAIL linux_boot: $f is missing (make guest)"
		echo "0 passed, 1 failed, 0 skipped"
		exit 1
	fi
done
USERSPACE=$(userspace_verdict)
echo "guest user space on this host: $USERSPACE"
for t in $(declare -F | awk '$3 ~ /^t_/ { print $3 }'); do
	run_test "${t#t_}" "$t"
done
summary
