#!/usr/bin/env bash
# kvmini as a user without privileges: uid and gid 65534, no capabilities,
# access to /dev/kvm, /dev/net/tun and /dev/vhost-net through supplementary
# groups only, and taps made for that uid by tools/mktap. The test guest
# moves frames through libslirp, a tap (userspace and vhost-net) and a
# multi-queue tap; a foreign tap, a single-queue tap for queues=2 and no
# access to /dev/kvm or /dev/vhost-net each give one error line and status 1.
# /proc shows the running kvmini had uid 65534 and no capabilities.
#
# The suite runs as root (CI does) to set this up; it changes the group and
# mode of the device nodes only where they are not group-accessible, and puts
# them back on exit. Numeric ids only: inside tests/in-kvm the root file
# system is read-only, so no user can be added.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

TG_ELF=${TESTGUEST_ELF:-$GUEST_OUT/testguest/testguest.elf}
PASS_STATUS=33
USER_ID=65534
OTHER_ID=65533
# Given to device nodes without group access, one each, so that each can be
# withheld alone.
DEV_GID_BASE=64990
NS=kvmini-unpriv-$$
TAP=kvu$$
MQTAP=kvm$$
FOREIGN=kvf$$
SINGLE=kvs$$
ECHO_PIDS=()
RESTORE=()
DEV_GIDS=()

cleanup() {
	local r
	for p in "${ECHO_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	ip netns del "$NS" 2>/dev/null || true
	for r in "${RESTORE[@]}"; do
		# r is "DEV UID:GID MODE"
		set -- $r
		chown "$2" "$1" && chmod "$3" "$1" || echo "could not restore $1 to $2 $3" >&2
	done
}
trap cleanup EXIT

# grant DEV GID: make DEV read-write for a group other than root's (GID
# unless it has one) that the unprivileged kvmini is then given, and
# remember what to restore.
grant() {
	local dev=$1 gid mode
	[ -c "$dev" ] || return 0
	read -r gid mode <<<"$(stat -c '%g %a' "$dev")"
	if [ "$gid" = 0 ] || [ $((0$mode & 060)) != $((060)) ]; then
		RESTORE+=("$dev $(stat -c '%u:%g %a' "$dev")")
		chgrp "$2" "$dev"
		chmod g+rw "$dev"
		gid=$2
	fi
	case " ${DEV_GIDS[*]} " in *" $gid "*) ;; *) DEV_GIDS+=("$gid") ;; esac
}

# A network namespace holding the taps, made by tools/mktap, with an echo
# peer on each tap that carries frames (it returns every frame it gets).
setup() {
	ip netns add "$NS"
	# No IPv6: router solicitations would reach the guest among its frames.
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n "$NS" link set lo up
	ip netns exec "$NS" "$TOP/tools/mktap" "$TAP" --user "$USER_ID" >>"$TEST_TMP/mktap.log"
	ip netns exec "$NS" "$TOP/tools/mktap" "$MQTAP" --user "$USER_ID" --queues 2 >>"$TEST_TMP/mktap.log"
	ip netns exec "$NS" "$TOP/tools/mktap" "$FOREIGN" --user "$OTHER_ID" >>"$TEST_TMP/mktap.log"
	ip netns exec "$NS" "$TOP/tools/mktap" "$SINGLE" --user "$USER_ID" >>"$TEST_TMP/mktap.log"
	for t in "$TAP" "$MQTAP"; do
		rm -f "$TEST_TMP/echo-$t.ready"
		ip netns exec "$NS" /usr/bin/python3 "$TOP/tests/integration/frame_echo.py" "$t" \
			"$TEST_TMP/echo-$t.ready" &
		ECHO_PIDS+=($!)
	done
	for t in "$TAP" "$MQTAP"; do
		for _ in $(seq 100); do
			[ -f "$TEST_TMP/echo-$t.ready" ] && continue 2
			sleep 0.1
		done
		echo "the echo peer on $t did not start"
		return 1
	done
	grant /dev/kvm $DEV_GID_BASE
	grant /dev/net/tun $((DEV_GID_BASE + 1))
	grant /dev/vhost-net $((DEV_GID_BASE + 2))
}

groups_csv() { local IFS=,; echo "${DEV_GIDS[*]}"; }

# unpriv PREFIX GROUPS CMDLINE [kvmini options...]: kvmini as uid 65534 with
# supplementary GROUPS ("" for none) in the namespace. The guest ends its
# scenarios with wait-input: while it waits, /proc/PID/status is saved to
# PREFIX.proc, then a newline lets it finish. Returns kvmini's status.
unpriv() {
	local p=$TEST_TMP/$1 groups=$2 cmdline=$3 pid rc=0 i gopt
	shift 3
	if [ -n "$groups" ]; then gopt=--groups=$groups; else gopt=--clear-groups; fi
	rm -f "$p.in" "$p.proc"
	mkfifo "$p.in"
	# ip netns exec and setpriv exec, so $! is kvmini's own pid.
	ip netns exec "$NS" setpriv --reuid="$USER_ID" --regid="$USER_ID" "$gopt" \
		--inh-caps=-all "$KVMINI" run -v --kernel "$TG_ELF" --debug-exit \
		--cmdline "$cmdline scenario=wait-input timeout-ms=300000" "$@" \
		<"$p.in" >"$p.out" 2>"$p.err" &
	pid=$!
	exec 5>"$p.in"
	for i in $(seq 3000); do
		grep -q "^WAIT-INPUT ready" "$p.out" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		grep -E '^(Name|Uid|Gid|Groups|Cap(Inh|Prm|Eff|Amb)):' "/proc/$pid/status" >"$p.proc" || true
		echo >&5
	fi
	exec 5>&-
	# The guest is past its scenarios or stuck: give it a minute to finish.
	for i in $(seq 600); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$pid" 2>/dev/null || true
	wait "$pid" || rc=$?
	cat "$p.proc" "$p.out" "$p.err" 2>/dev/null
	return $rc
}

# expect_unprivileged PREFIX: the kvmini that ran had uid and gid 65534,
# only the device groups, and no capability in any set.
expect_unprivileged() {
	local p=$TEST_TMP/$1
	[ -s "$p.proc" ] || { echo "no /proc status was taken while kvmini ran"; return 1; }
	expect_in "$p.proc" "^Name:[[:space:]]+kvmini"
	expect_in "$p.proc" "^Uid:[[:space:]]+$USER_ID[[:space:]]+$USER_ID[[:space:]]+$USER_ID[[:space:]]+$USER_ID\$"
	expect_in "$p.proc" "^Gid:[[:space:]]+$USER_ID[[:space:]]+$USER_ID[[:space:]]+$USER_ID[[:space:]]+$USER_ID\$"
	for c in CapPrm CapEff CapAmb CapInh; do
		expect_in "$p.proc" "^$c:[[:space:]]+0+\$" "$c all zero"
	done
	if grep -Eq "^Groups:.*\b0\b" "$p.proc"; then
		echo "kvmini ran in group 0"
		return 1
	fi
}

# expect_one_error PREFIX REGEX: status 1 and exactly one line, an error.
expect_one_error() {
	local p=$TEST_TMP/$1 rc=$2
	expect_status 1 "$rc" "$1"
	expect_in "$p.err" "^kvmini: error: $3"
	[ "$(grep -c . "$p.err")" -eq 1 ] || { echo "$p.err has more than one line"; return 1; }
}

need_vhost() {
	[ -c /dev/vhost-net ] || { echo "no /dev/vhost-net on this host (modprobe vhost_net)"; return 77; }
}

t_user_networking() {
	local rc=0
	unpriv user "$(groups_csv)" \
		"scenario=virtio-net frames=32 loop=0 restarts=0 arp=10.0.2.2 ping=10.0.2.2 pings=2" \
		--net user || rc=$?
	expect_status $PASS_STATUS $rc "test guest over libslirp as uid $USER_ID"
	expect_in "$TEST_TMP/user.out" "PING reply seq=2 from 10.0.2.2"
	expect_unprivileged user
}

t_tap_userspace() {
	local rc=0
	unpriv tap "$(groups_csv)" "scenario=virtio-net frames=100 len=1400 restarts=0 timeout-ms=90000" \
		--net "tap,ifname=$TAP,vhost=off" || rc=$?
	expect_status $PASS_STATUS $rc "frames through a tap from tools/mktap"
	expect_in "$TEST_TMP/tap.err" "tap $TAP \(existing\), userspace"
	expect_in "$TEST_TMP/tap.out" "VIRTIO-NET run=0 tx=100 rx=100"
	expect_in "$TEST_TMP/tap.err" "net0 \(userspace\): 100 frames out, 100 in"
	expect_unprivileged tap
}

t_tap_vhost_net() {
	need_vhost || return
	local rc=0
	unpriv vhost "$(groups_csv)" "scenario=virtio-net frames=100 len=1400 restarts=1 timeout-ms=90000" \
		--net "tap,ifname=$TAP,vhost=on" || rc=$?
	expect_status $PASS_STATUS $rc "frames through vhost-net"
	expect_in "$TEST_TMP/vhost.err" "tap $TAP \(existing\), vhost-net data path"
	expect_in "$TEST_TMP/vhost.out" "VIRTIO-NET run=1 tx=100 rx=100"
	# The kernel carried them: kvmini itself moved no frame.
	expect_in "$TEST_TMP/vhost.err" "net0 \(vhost-net\): 0 frames out, 0 in"
	expect_unprivileged vhost
}

t_multi_queue_tap_vhost_queues2() {
	need_vhost || return
	local rc=0
	unpriv mq "$(groups_csv)" "scenario=virtio-net frames=100 restarts=0 timeout-ms=90000" \
		--net "tap,ifname=$MQTAP,vhost=on,queues=2" || rc=$?
	expect_status $PASS_STATUS $rc "queues=2 on a multi_queue tap"
	expect_in "$TEST_TMP/mq.err" "tap $MQTAP \(existing\), vhost-net data path, 2 queue pairs"
	expect_in "$TEST_TMP/mq.out" "VIRTIO-NET run=0 tx=100 rx=100"
	expect_unprivileged mq
}

t_foreign_tap_is_one_clear_error() {
	local rc=0
	unpriv foreign "$(groups_csv)" "scenario=hello" --net "tap,ifname=$FOREIGN,vhost=off" || rc=$?
	expect_one_error foreign $rc \
		"tap $FOREIGN: permission denied: it belongs to uid $OTHER_ID, not to uid $USER_ID .*tools/mktap $FOREIGN --user"
}

t_single_queue_tap_for_queues2_is_one_clear_error() {
	need_vhost || return
	local rc=0
	unpriv single "$(groups_csv)" "scenario=hello" --net "tap,ifname=$SINGLE,vhost=on,queues=2" || rc=$?
	expect_one_error single $rc "tap $SINGLE: .*not a multi-queue tap.*tools/mktap $SINGLE --user .* --queues 2"
}

t_missing_tap_is_one_clear_error() {
	local rc=0
	unpriv missing "$(groups_csv)" "scenario=hello" --net "tap,ifname=kvnone$$,vhost=off" || rc=$?
	expect_one_error missing $rc "tap kvnone$$ does not exist and creating one needs CAP_NET_ADMIN: .*tools/mktap kvnone$$"
	if ip -n "$NS" link show "kvnone$$" >/dev/null 2>&1; then
		echo "a tap was created without privileges"
		return 1
	fi
}

t_no_access_to_dev_kvm_is_one_clear_error() {
	local rc=0
	if [ $((0$(stat -c %a /dev/kvm) & 06)) = 6 ]; then
		echo "/dev/kvm is read-write for everyone here: there is no way to be refused"
		return 77
	fi
	unpriv nokvm "" "scenario=hello" || rc=$?
	expect_one_error nokvm $rc "/dev/kvm: permission denied"
}

t_no_access_to_vhost_net_is_one_clear_error() {
	need_vhost || return
	if [ $((0$(stat -c %a /dev/vhost-net) & 06)) = 6 ]; then
		echo "/dev/vhost-net is read-write for everyone here: there is no way to be refused"
		return 77
	fi
	local rc=0 kvm_gid tun_gid
	# Only the groups of /dev/kvm and /dev/net/tun.
	kvm_gid=$(stat -c %g /dev/kvm)
	tun_gid=$(stat -c %g /dev/net/tun)
	if [ "$(stat -c %g /dev/vhost-net)" = "$kvm_gid" ] || [ "$(stat -c %g /dev/vhost-net)" = "$tun_gid" ]; then
		echo "/dev/vhost-net shares a group with /dev/kvm or /dev/net/tun here"
		return 77
	fi
	unpriv novhost "$kvm_gid,$tun_gid" "scenario=hello" --net "tap,ifname=$TAP,vhost=on" || rc=$?
	expect_one_error novhost $rc ".*/dev/vhost-net: permission denied"
}

skip_suite_unless_root "to make taps for another uid and to drop to it"
command -v setpriv >/dev/null || {
	echo "SKIP unprivileged: setpriv (util-linux) is missing"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
}
NEEDS_KVM=1
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	setup
fi
run_all_tests
summary
