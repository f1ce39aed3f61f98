#!/usr/bin/env bash
# The freestanding test guest under kvmini: both boot paths (ELF/PVH and
# bzImage), the instructions kvmini completes for a KVM that cannot
# (int3, fwait), and the ring-3 SYSCALL check that decides which guest
# kernels can run user space on this host.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

TG_ELF=${TESTGUEST_ELF:-$GUEST_OUT/testguest/testguest.elf}
TG_BZ=${TESTGUEST_BZIMAGE:-$GUEST_OUT/testguest/testguest.bzImage}
PASS_STATUS=33	# the test guest writes 0x10 to isa-debug-exit: (0x10 << 1) | 1

# tg KERNEL CMDLINE [kvmini options...]: run the test guest, output in $TEST_TMP/tg.out
tg() {
	local kernel=$1 cmdline=$2 rc=0
	shift 2
	timeout 120 "$KVMINI" run --kernel "$kernel" --debug-exit --console stdio \
		--cmdline "$cmdline" "$@" </dev/null >"$TEST_TMP/tg.out" 2>"$TEST_TMP/tg.err" || rc=$?
	cat "$TEST_TMP/tg.out" "$TEST_TMP/tg.err"
	return $rc
}

t_pvh_hello() {
	local rc=0
	tg "$TG_ELF" "scenario=hello" || rc=$?
	expect_status $PASS_STATUS $rc "test guest (PVH)"
	expect_in "$TEST_TMP/tg.out" "TESTGUEST RESULT PASS"
}

t_bzimage_hello() {
	local rc=0
	tg "$TG_BZ" "scenario=hello" || rc=$?
	expect_status $PASS_STATUS $rc "test guest (bzImage, 64-bit boot protocol)"
	expect_in "$TEST_TMP/tg.out" "TESTGUEST RESULT PASS"
}

t_cmdline_reaches_guest() {
	local rc=0
	# An unknown scenario must fail in the guest: proves the words arrived intact.
	tg "$TG_ELF" "scenario=no-such-scenario" || rc=$?
	expect_status 35 $rc "test guest with an unknown scenario"
	expect_in "$TEST_TMP/tg.out" "no-such-scenario"
}

t_int3_completed_by_kvmini() {
	local rc=0
	tg "$TG_ELF" "scenario=int3" || rc=$?
	expect_status $PASS_STATUS $rc "int3 scenario"
}

t_fwait_completed_by_kvmini() {
	local rc=0
	tg "$TG_ELF" "scenario=fwait" || rc=$?
	expect_status $PASS_STATUS $rc "fwait scenario"
}

t_usermode_syscall_classified() {
	local rc=0
	tg "$TG_ELF" "scenario=usermode" || rc=$?
	expect_status $PASS_STATUS $rc "usermode scenario"
	expect_in "$TEST_TMP/tg.out" "^USERMODE syscall=(handler|pf-at-lstar rcx_ok=1 r11_ok=1)"
	# kvmini's own probe must agree with what the guest saw.
	if grep -q "syscall=pf-at-lstar" "$TEST_TMP/tg.out"; then
		"$KVMINI" probe | grep -q "user_syscall=1"
	else
		"$KVMINI" probe | grep -q "user_syscall=0"
	fi
}

t_quirks_off_int3_stops_guest() {
	# The oracle can fail: without kvmini's help, a host that cannot emulate
	# int3 stops the guest (exit 5). On hardware KVM int3 just works.
	local rc=0
	if ! "$KVMINI" probe | grep -q "int3=1"; then
		echo "this host's KVM runs int3 itself: nothing to disable"
		return 77
	fi
	tg "$TG_ELF" "scenario=int3" --quirks off || rc=$?
	expect_status 5 $rc "int3 with --quirks off"
	expect_in "$TEST_TMP/tg.err" "could not emulate the instruction .*: cc"
}

t_smp_guest_boots() {
	local rc=0
	tg "$TG_ELF" "scenario=hello" --cpus 2 || rc=$?
	expect_status $PASS_STATUS $rc "test guest with 2 vCPUs"
}

t_console_file() {
	local rc=0
	timeout 60 "$KVMINI" run --kernel "$TG_ELF" --debug-exit --console "file:$TEST_TMP/con.log" \
		--cmdline scenario=hello </dev/null >"$TEST_TMP/stdout" 2>&1 || rc=$?
	expect_status $PASS_STATUS $rc "console to a file"
	expect_in "$TEST_TMP/con.log" "TESTGUEST RESULT PASS"
	if grep -q "TESTGUEST" "$TEST_TMP/stdout"; then
		echo "guest output leaked to stdout"
		return 1
	fi
}

# Exit statuses: every way a guest can end maps to the documented status.
t_exit_triple_fault() {
	local rc=0
	tg "$TG_ELF" "scenario=triple-fault via=ud2" || rc=$?
	expect_status 4 $rc "triple fault"
	expect_in "$TEST_TMP/tg.out" "TRIPLE-FAULT now"
}

t_exit_reboot_i8042() {
	local rc=0
	tg "$TG_ELF" "scenario=reboot via=kbd" || rc=$?
	expect_status 3 $rc "reset through the i8042"
}

t_exit_reboot_cf9() {
	local rc=0
	tg "$TG_ELF" "scenario=reboot via=cf9" || rc=$?
	expect_status 3 $rc "reset through port 0xcf9"
}

t_exit_acpi_poweroff() {
	local rc=0
	tg "$TG_ELF" "scenario=poweroff port=0x604 slp-typ=5" || rc=$?
	expect_status 0 $rc "ACPI S5"
	# Another sleep type is not a power-off: the guest notices it still runs.
	rc=0
	tg "$TG_ELF" "scenario=poweroff port=0x604 slp-typ=3 wait-ms=1000" || rc=$?
	expect_status 35 $rc "ACPI S3 (ignored)"
}

# Console input reaches the guest through the UART's receive interrupt.
t_console_input_reaches_guest() {
	local rc=0
	{ sleep 3; printf 'ok\n'; } | timeout 60 "$KVMINI" run -q --kernel "$TG_ELF" --debug-exit \
		--cmdline "scenario=wait-input timeout-ms=30000" >"$TEST_TMP/in.out" 2>&1 || rc=$?
	cat "$TEST_TMP/in.out"
	expect_status $PASS_STATUS $rc "wait-input with input"
	expect_in "$TEST_TMP/in.out" "INPUT byte=0x6f"
	expect_in "$TEST_TMP/in.out" "INPUT byte=0x6b"
}

t_ctrl_a_x_quits() {
	local rc=0
	{ sleep 3; printf '\001x'; } | timeout 60 "$KVMINI" run -q --kernel "$TG_ELF" \
		--debug-exit --cmdline "scenario=wait-input timeout-ms=40000" >"$TEST_TMP/q.out" 2>&1 || rc=$?
	cat "$TEST_TMP/q.out"
	expect_status 6 $rc "Ctrl-A x"
	# The guest never saw the escape: it was still waiting for input.
	if grep -q "INPUT byte" "$TEST_TMP/q.out"; then
		echo "the escape reached the guest"
		return 1
	fi
}

t_sigterm_stops_cleanly() {
	local rc=0 pid
	"$KVMINI" run --kernel "$TG_ELF" --debug-exit --cmdline "scenario=wait-input timeout-ms=60000" \
		</dev/null >"$TEST_TMP/t.out" 2>"$TEST_TMP/t.err" &
	pid=$!
	sleep 3
	kill -TERM $pid
	wait $pid || rc=$?
	cat "$TEST_TMP/t.err"
	expect_status 143 $rc "SIGTERM"
	expect_in "$TEST_TMP/t.err" "Terminated: stopping the guest"
}

# seccomp_modes PID: the Seccomp: mode of each of its threads, as "comm=mode ...".
seccomp_modes() {
	local t
	for t in /proc/$1/task/*; do
		printf '%s=%s ' "$(cat "$t/comm")" "$(awk '$1 == "Seccomp:" { print $2 }' "$t/status")"
	done
}

# run_waiting OPTS...: kvmini with a guest waiting for input; sets PID once it waits.
run_waiting() {
	"$KVMINI" run -q --kernel "$TG_ELF" --debug-exit \
		--cmdline "scenario=wait-input timeout-ms=60000" "$@" \
		</dev/null >"$TEST_TMP/sc.out" 2>&1 &
	PID=$!
	for _ in $(seq 300); do
		grep -q "WAIT-INPUT ready" "$TEST_TMP/sc.out" && return 0
		sleep 0.1
	done
	echo "the guest did not start waiting"
	cat "$TEST_TMP/sc.out"
	return 1
}

# Every thread runs under a filter (mode 2); --seccomp=off leaves them all at 0.
t_seccomp_filters_on_every_thread() {
	local on off
	# check-asan sets this: its build defaults to --seccomp=off because the
	# sanitizer runtimes make calls no allow-list expects.
	if [ -n "${KVMINI_SANITIZED:-}" ]; then
		echo "skip: sanitizer build, whose default is --seccomp=off"
		return 77
	fi
	run_waiting || return 1
	on=$(seccomp_modes $PID)
	kill -TERM $PID
	wait $PID || true
	run_waiting --seccomp=off || return 1
	off=$(seccomp_modes $PID)
	kill -TERM $PID
	wait $PID || true
	echo "on: $on"
	echo "off: $off"
	[[ $on == *vcpu0=2* ]] || { echo "no filter on vcpu0"; return 1; }
	[[ $on =~ =[013]\  ]] && { echo "a thread without a filter"; return 1; }
	[[ $off =~ =[123]\  ]] && { echo "a filter with --seccomp=off"; return 1; }
	return 0
}

if [ ! -f "$TG_ELF" ]; then
	echo "FAIL testguest_boot: $TG_ELF is missing (make testguest)"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
NEEDS_KVM=1
run_all_tests
summary
