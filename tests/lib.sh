# Shared helpers for kvmini's shell test suites. Source it, define tests as
# functions, call run_test for each, then finish with `summary`.
#
# A test function returns 0 to pass, 77 to skip (after printing the reason
# on its last line of output), anything else to fail. Its output goes to a
# log file; on failure the tail of the log is shown.

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
KVMINI=${KVMINI:-$TOP/build/kvmini}
GUEST_OUT=${GUEST_OUT:-$TOP/guest/out}
TEST_TMP=${TEST_TMP:-$(mktemp -d /tmp/kvmini-test.XXXXXX)}
T_PASS=0
T_FAIL=0
T_SKIP=0
SUITE=${SUITE:-$(basename "$0" .sh)}

# A suite that boots guests sets NEEDS_KVM=1 before run_all_tests: on a host
# without a usable /dev/kvm each of its tests is then skipped, with the reason.
run_test() {
	local name=$1 log rc start secs
	shift
	if [ -n "${NEEDS_KVM:-}" ] && ! [ -r /dev/kvm -a -w /dev/kvm ]; then
		echo "SKIP $SUITE/$name: no usable /dev/kvm on this host, it boots a guest"
		T_SKIP=$((T_SKIP + 1))
		return 0
	fi
	log="$TEST_TMP/$name.log"
	start=$(date +%s.%N)
	set +e
	( set -e; "$@" ) >"$log" 2>&1
	rc=$?
	set -e
	secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
	case $rc in
	0)
		echo "PASS $SUITE/$name (${secs}s)"
		T_PASS=$((T_PASS + 1)) ;;
	77)
		echo "SKIP $SUITE/$name: $(tail -n 1 "$log")"
		T_SKIP=$((T_SKIP + 1)) ;;
	*)
		echo "FAIL $SUITE/$name (exit $rc, ${secs}s); last lines of $log:"
		tail -n 15 "$log" | sed 's/^/    /'
		T_FAIL=$((T_FAIL + 1)) ;;
	esac
}

# The counts line tests/run-all adds up, then the closing line.
summary() {
	echo "$T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	[ "$T_FAIL" -eq 0 ]
}

# expect_in FILE PATTERN [WHAT]: fail unless the extended regex matches a line.
expect_in() {
	if ! grep -Eq -- "$2" "$1"; then
		echo "expected ${3:-/$2/} in $1; it holds:"
		tail -n 30 "$1"
		return 1
	fi
}

# expect_status WANT GOT WHAT
expect_status() {
	if [ "$1" != "$2" ]; then
		echo "$3: exit status $2, expected $1"
		return 1
	fi
}

# wait_for FILE REGEX [SECONDS]: until a line of FILE matches (default 60 s);
# on timeout, say so with the file's tail and fail.
wait_for() {
	local i
	for i in $(seq $((${3:-60} * 10))); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "timed out waiting for /$2/ in $1:"
	tail -n 20 "$1"
	return 1
}

# count_in FILE REGEX: how many lines match (0 when FILE is missing).
count_in() { grep -Ec -- "$2" "$1" 2>/dev/null || true; }

# skip_suite_unless_root WHY: run as another user, the whole suite skips,
# saying it needs root WHY, with the counts line tests/run-all adds up.
skip_suite_unless_root() {
	[ "$(id -u)" -eq 0 ] && return 0
	echo "SKIP $SUITE: needs root $1"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
}

# need_kvm: in a test that runs kvmini past its /dev/kvm check; without one
# the test is skipped, saying why (use as: need_kvm || return).
need_kvm() {
	if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
		echo "no usable /dev/kvm on this host, and kvmini opens it before it gets this far"
		return 77
	fi
}

# setup_tap_echo: namespace $NS with a persistent tap $TAP and an echo peer
# (tests/integration/frame_echo.py) on it, its pid in ECHO_PID; kvmini runs
# inside the namespace.
setup_tap_echo() {
	ip netns add "$NS"
	# No IPv6 on the tap: its router solicitations and MLD reports would
	# reach the guest among the frames it counts.
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n "$NS" link set lo up
	ip -n "$NS" tuntap add dev "$TAP" mode tap vnet_hdr
	ip -n "$NS" link set "$TAP" up
	rm -f "$TEST_TMP/echo.ready"
	ip netns exec "$NS" python3 "$TOP/tests/integration/frame_echo.py" "$TAP" \
		"$TEST_TMP/echo.ready" &
	ECHO_PID=$!
	for _ in $(seq 50); do
		[ -f "$TEST_TMP/echo.ready" ] && return 0
		sleep 0.1
	done
	echo "the echo peer did not start"
	return 1
}

# Run every t_NAME function of the suite as test NAME, in alphabetical order;
# TEST_FILTER (an extended regex) picks some of them.
run_all_tests() {
	local t
	for t in $(declare -F | awk '$3 ~ /^t_/ { print $3 }'); do
		[[ ${t#t_} =~ ${TEST_FILTER:-.} ]] || continue
		run_test "${t#t_}" "$t"
	done
}
