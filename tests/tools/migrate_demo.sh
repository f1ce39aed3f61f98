#!/usr/bin/env bash
# tools/migrate-demo's own handling of what a user types: every mistake is
# one line and status 2 (usage) or 1 (missing pieces), before anything is
# started. The demo's migrations run in tests/integration/migrate.sh
# (demo_*), which needs KVM.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

DEMO=$TOP/tools/migrate-demo

# demo_bad WANT PATTERN ARGS...: status WANT, one line on stderr matching PATTERN.
demo_bad() {
	local want=$1 pattern=$2 rc=0
	shift 2
	timeout 20 "$DEMO" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
	cat "$TEST_TMP/err"
	expect_status "$want" "$rc" "migrate-demo $*"
	[ "$(wc -l <"$TEST_TMP/err")" -eq 1 ] || { echo "not one line on stderr"; return 1; }
	expect_in "$TEST_TMP/err" "^migrate-demo: $pattern"
	[ ! -s "$TEST_TMP/out" ] || { echo "output on stdout for a refused run"; return 1; }
}

t_unknown_option()      { demo_bad 2 "unknown option '--fast'" --fast yes; }
t_option_without_value() { demo_bad 2 "--downtime needs a value" --downtime; }
t_bad_number()          { demo_bad 2 "--after wants a number, not '5s'" --after 5s; }
t_bad_guest()           { demo_bad 2 "--guest is busybox or testguest, not 'alpine'" --guest alpine; }
t_bad_vhost()           { demo_bad 2 "--vhost is on, off or auto, not 'yes'" --vhost yes; }
t_bad_transport()       { demo_bad 2 "--transport is unix or tcp, not 'rdma'" --transport rdma; }
t_no_kvmini_build()     { KVMINI=/nonexistent/kvmini demo_bad 1 "/nonexistent/kvmini is missing: run make first"; }
t_no_busybox_guest()    { GUEST_OUT=$TEST_TMP/none demo_bad 1 "no busybox guest in $TEST_TMP/none: run make guest"; }
t_no_test_guest()       { GUEST_OUT=$TEST_TMP/none demo_bad 1 "no test guest in $TEST_TMP/none/testguest: run make testguest" --guest testguest; }

t_help_is_usage_and_success() {
	local rc=0
	"$DEMO" --help >"$TEST_TMP/out" 2>&1 || rc=$?
	expect_status 0 "$rc" "migrate-demo --help"
	expect_in "$TEST_TMP/out" "^usage: tools/migrate-demo .*--guest busybox\|testguest"
}

run_all_tests
summary
