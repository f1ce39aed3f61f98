#!/usr/bin/env bash
# A hostile guest (the test guest's scenario=hostile): kick floods, random
# values in every register, rings pointing at MMIO and outside RAM, resets
# under traffic, a triple fault. kvmini must stay up (the guest's "alive"
# markers after each phase: UART, LAPIC timer, frames echoed through a tap),
# log a bounded number of error lines (rate limited, with a suppressed count),
# not spin (CPU time of its non-vCPU threads against the wall time), exit
# with the documented status and leave no process behind.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

TG_ELF=${TESTGUEST_ELF:-$GUEST_OUT/testguest/testguest.elf}
PASS_STATUS=33
SHUTDOWN_STATUS=4
NS=kvmini-hostile-$$
TAP=kvh$$
# Far more bad events than this happen in each phase; without rate limiting
# kvmini prints hundreds of lines.
MAX_ERROR_LINES=40
# Share of one CPU kvmini's own threads (not the vCPUs, which run guest loops)
# may use on average; a thread that spins uses all of one.
MAX_IO_CPU_PCT=50
RUN_LIMIT=240

cleanup() {
	[ -n "${ECHO_PID:-}" ] && kill "$ECHO_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT

# CPU ticks of kvmini's threads: "IO VCPU", the vCPU threads being vcpuN.
thread_ticks() {
	awk '{ sub(/^[0-9]+ \(/, ""); comm = $0; sub(/\).*/, "", comm); sub(/^[^)]*\) /, "")
	       t = $12 + $13; if (comm ~ /^vcpu/) v += t; else io += t }
	     END { print io + 0, v + 0 }' /proc/"$1"/task/*/stat 2>/dev/null
}

# hostile CMDLINE [VHOST]: runs kvmini on the test guest in the namespace, sampling its
# threads' CPU time; sets RC, WALL, IO_CPU_PCT; output in hostile.out/.err.
hostile() {
	local pid start ticks="0 0" now hz
	hz=$(getconf CLK_TCK)
	start=$(date +%s.%N)
	ip netns exec "$NS" "$KVMINI" run --kernel "$TG_ELF" --debug-exit --cpus 2 \
		--net "tap,ifname=$TAP,vhost=${2:-off}" --cmdline "$1" </dev/null \
		>"$TEST_TMP/hostile.out" 2>"$TEST_TMP/hostile.err" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		now=$(thread_ticks "$pid") && [ -n "$now" ] && ticks=$now
		if awk -v s="$start" -v e="$(date +%s.%N)" -v l=$RUN_LIMIT 'BEGIN { exit !(e - s > l) }'; then
			echo "kvmini still runs after ${RUN_LIMIT}s: killing it"
			kill -9 "$pid"
		fi
		sleep 0.5
	done
	RC=0
	wait "$pid" || RC=$?
	WALL=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
	IO_CPU_PCT=$(echo "$ticks" | awk -v hz="$hz" -v w="$WALL" '{ printf "%d", 100 * $1 / hz / w }')
	cat "$TEST_TMP/hostile.out" "$TEST_TMP/hostile.err"
	echo "kvmini: status $RC, ${WALL}s, its own threads ${IO_CPU_PCT}% of a CPU (ticks io/vcpu: $ticks)"
}

# What every run must show: bounded error lines, no spinning, nothing left behind.
check_run() {
	local errors
	errors=$(grep -c '^kvmini: error' "$TEST_TMP/hostile.err" || true)
	echo "kvmini printed $errors error lines"
	[ "$errors" -le $MAX_ERROR_LINES ] ||
		{ echo "more than $MAX_ERROR_LINES error lines: not rate limited"; return 1; }
	[ "$IO_CPU_PCT" -le $MAX_IO_CPU_PCT ] ||
		{ echo "kvmini's own threads used ${IO_CPU_PCT}% of a CPU: spinning?"; return 1; }
	# Only the echo peer may remain in the namespace.
	local left
	left=$(ip netns pids "$NS" | grep -vx "$ECHO_PID" || true)
	[ -z "$left" ] || { echo "processes left in the namespace: $left"; return 1; }
}

# phase NAME: one phase alone passes, and the NIC works after it.
phase() {
	hostile "scenario=hostile hostile=$1 need-ap=1"
	expect_status $PASS_STATUS $RC "hostile=$1"
	expect_in "$TEST_TMP/hostile.out" "^HOSTILE alive after=$1 uart=ok ticks=[0-9]+ ap-ticks=[1-9][0-9]* frames=32"
	check_run
}

t_kick_flood() {
	phase kicks
	expect_in "$TEST_TMP/hostile.out" "^HOSTILE kicks queues=[0-9]+ per-queue=2000"
}

t_random_registers() {
	phase regs
	expect_in "$TEST_TMP/hostile.out" "^HOSTILE regs config functions=[2-9] writes=[1-9][0-9]{4,}"
	expect_in "$TEST_TMP/hostile.out" "^HOSTILE regs bars writes=[1-9][0-9]{3,}"
	expect_in "$TEST_TMP/hostile.out" "^HOSTILE regs ports=[0-9]+ writes="
}

t_broken_rings() {
	phase rings
	expect_in "$TEST_TMP/hostile.out" "^HOSTILE rings cases=([0-9]+) flagged=\1"
	# Each case is one ring error: the same error is said once, and past the
	# first few lines the rest are counted, not printed.
	local n
	n=$(grep -c "^kvmini: error: virtio-pci virtio-net: queue rings outside guest RAM" "$TEST_TMP/hostile.err" || true)
	[ "$n" -eq 1 ] || { echo "the same ring error printed $n times"; return 1; }
	expect_in "$TEST_TMP/hostile.err" "^kvmini: error: [0-9]+ more suppressed, the last: virtio-pci "
}

t_broken_rings_vhost() {
	[ -c /dev/vhost-net ] || { echo "no /dev/vhost-net on this host"; return 77; }
	hostile "scenario=hostile hostile=rings need-ap=1" on
	expect_status $PASS_STATUS $RC "hostile=rings with vhost-net"
	# The kernel's data path met the chain errors, and said so once.
	local n
	n=$(grep -c "^kvmini: error: virtio-pci virtio-net: net [^ ]*: vhost-net pair 0: the kernel reported" "$TEST_TMP/hostile.err" || true)
	[ "$n" -eq 1 ] || { echo "the vhost-net ring error printed $n times"; return 1; }
	expect_in "$TEST_TMP/hostile.out" "^HOSTILE rings cases=([0-9]+) flagged=\1"
	expect_in "$TEST_TMP/hostile.out" "^HOSTILE alive after=rings uart=ok ticks=[0-9]+ ap-ticks=[1-9][0-9]* frames=32"
	check_run
}

t_resets_under_traffic() {
	phase resets
	expect_in "$TEST_TMP/hostile.out" "^HOSTILE resets count=20 frames=[1-9]"
}

t_triple_fault() {
	hostile "scenario=hostile hostile=triple need-ap=1"
	expect_status $SHUTDOWN_STATUS $RC "triple fault"
	expect_in "$TEST_TMP/hostile.out" "^HOSTILE triple-fault now"
	expect_in "$TEST_TMP/hostile.err" "^kvmini: warning: vcpu0: triple fault \(KVM_EXIT_SHUTDOWN\).*exit status 4"
	check_run
}

t_all_phases() {
	hostile "scenario=hostile seed=7 need-ap=1"
	expect_status $SHUTDOWN_STATUS $RC "every phase, then a triple fault"
	local p
	for p in kicks regs rings resets; do
		expect_in "$TEST_TMP/hostile.out" "^HOSTILE alive after=$p uart=ok ticks=[0-9]+ ap-ticks=[1-9]"
	done
	expect_in "$TEST_TMP/hostile.out" "^HOSTILE triple-fault now"
	expect_in "$TEST_TMP/hostile.err" "^kvmini: warning: vcpu0: triple fault \(KVM_EXIT_SHUTDOWN\)"
	check_run
}

skip_suite_unless_root "for network namespaces and taps"
setup_tap_echo
NEEDS_KVM=1
run_all_tests
summary
