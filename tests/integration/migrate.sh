#!/usr/bin/env bash
# Live migration and snapshots with the test guest's workloads as oracles:
# every page verified on the destination (scenario=dirty), a snapshot
# restored, each failure the source and the destination must survive, and
# one negative test per dirty log (leave it out: the oracle must fail).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

TG_ELF=${TESTGUEST_ELF:-$GUEST_OUT/testguest/testguest.elf}
PASS_STATUS=33
FAIL_STATUS=35
# Rings 0 and 3 both write: pages=2048 is 8 MiB rewritten every round.
DIRTY="scenario=dirty pages=2048 rounds=0 every=20${MIG_GUEST_RING:+ ring=$MIG_GUEST_RING}"

# vm_start NAME [kvmini run options...]: kvmini in the background, its console
# input a fifo the test writes with vm_input; output in NAME.out / NAME.err.
vm_start() {
	local name=$1 fd seccomp=
	shift
	# The vhost-net model's worker thread lives in kvmini: no filter allows its calls.
	case "${VM_ENV:-}" in *LD_PRELOAD=*) seccomp=--seccomp=off ;; esac
	trap vm_kill_all EXIT
	rm -f "$TEST_TMP/$name.in" "$TEST_TMP/$name.out" "$TEST_TMP/$name.err"
	mkfifo "$TEST_TMP/$name.in"
	${VM_NS:+ip netns exec "$VM_NS"} env ${VM_ENV:-} timeout 300 "$KVMINI" run -v $seccomp "$@" \
		<"$TEST_TMP/$name.in" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err" &
	eval "PID_$name=$!"
	exec {fd}>"$TEST_TMP/$name.in"
	eval "FD_$name=$fd"
}

# Whatever a test leaves running goes with it.
vm_kill_all() {
	local p
	# Each PID is timeout(1)'s: its kvmini child goes first.
	for p in ${!PID_*}; do
		pkill -KILL -P "${!p}" 2>/dev/null || true
		kill -9 "${!p}" 2>/dev/null || true
	done
	rm -f "$TEST_TMP"/*.sock
	net_cleanup
}

vm_input() {
	local fd
	eval "fd=\$FD_$1"
	# In a subshell: a guest already gone must not take the test down by SIGPIPE.
	(printf '%s' "$2" >&"$fd") 2>/dev/null || true
}

# vm_wait NAME: its exit status (and its output in the test log).
vm_wait() {
	local pid fd rc=0
	eval "pid=\$PID_$1 fd=\$FD_$1"
	wait "$pid" || rc=$?
	exec {fd}>&-
	echo "--- $1: exit $rc" >&2
	sed "s/^/$1> /" "$TEST_TMP/$1.out" "$TEST_TMP/$1.err" >&2
	return $rc
}

ctl() { timeout 120 "$KVMINI" ctl "$@"; }

src_dirty() {
	vm_start src --kernel "$TG_ELF" --debug-exit --cmdline "$DIRTY" --memory 64M \
		--api-socket "$TEST_TMP/src.sock" "$@"
	wait_for "$TEST_TMP/src.out" "DIRTY round=20"
}

# The destination verifies: it must print the rounds it ran after the switch.
verify_on() {
	local name=$1 want=$2 rc=0 before
	before=$(count_in "$TEST_TMP/$name.out" "DIRTY round=")
	wait_for "$TEST_TMP/$name.out" "DIRTY round=" 60
	vm_input "$name" x
	vm_wait "$name" || rc=$?
	expect_status "$want" "$rc" "$name verifying the pages"
}

t_snapshot_then_restore_verifies_every_page() {
	local rc=0
	src_dirty
	ctl "$TEST_TMP/src.sock" snapshot "$TEST_TMP/snap" >"$TEST_TMP/ctl.out"
	cat "$TEST_TMP/ctl.out"
	expect_in "$TEST_TMP/ctl.out" '"ok":true'
	[ ! -e "$TEST_TMP/snap.tmp" ] || { echo "the temporary file stayed"; return 1; }
	# The source goes on after a snapshot, and its own pages still check out.
	verify_on src $PASS_STATUS
	expect_in "$TEST_TMP/src.out" "DIRTY verify ok"
	vm_start dst --restore "$TEST_TMP/snap"
	verify_on dst $PASS_STATUS
	expect_in "$TEST_TMP/dst.out" "DIRTY verify ok"
	# The restored guest continued from the snapshot's round, not from 1.
	! grep -Eq "DIRTY round=20 " "$TEST_TMP/dst.out"
	grep -q "DIRTY start" "$TEST_TMP/dst.out" && { echo "the guest booted again"; return 1; }
	return 0
}

# Pause and resume over the control socket (the main thread, under its
# seccomp filter): no round passes while paused, the guest goes on after.
t_pause_and_resume_keep_every_page() {
	local before after
	src_dirty
	ctl "$TEST_TMP/src.sock" pause >"$TEST_TMP/ctl.out"
	expect_in "$TEST_TMP/ctl.out" '"ok":true,"state":"paused"'
	ctl "$TEST_TMP/src.sock" status >"$TEST_TMP/ctl.out"
	expect_in "$TEST_TMP/ctl.out" '"state":"paused"'
	before=$(count_in "$TEST_TMP/src.out" "DIRTY round=")
	sleep 3
	after=$(count_in "$TEST_TMP/src.out" "DIRTY round=")
	[ "$before" -eq "$after" ] || { echo "rounds ran while paused: $before, then $after"; return 1; }
	ctl "$TEST_TMP/src.sock" resume >"$TEST_TMP/ctl.out"
	expect_in "$TEST_TMP/ctl.out" '"ok":true,"state":"running"'
	# every=20: the count-th line says round=count*20.
	wait_for "$TEST_TMP/src.out" "DIRTY round=$(((before + 1) * 20)) " 60
	verify_on src $PASS_STATUS
	expect_in "$TEST_TMP/src.out" "DIRTY verify ok"
}

t_live_unix_verifies_every_page_on_the_destination() {
	src_dirty
	vm_start dst --incoming "unix:$TEST_TMP/mig.sock"
	wait_for "$TEST_TMP/dst.err" "waiting for a migration" 10 || sleep 1
	ctl "$TEST_TMP/src.sock" migrate "unix:$TEST_TMP/mig.sock" >"$TEST_TMP/ctl.out"
	cat "$TEST_TMP/ctl.out"
	expect_in "$TEST_TMP/ctl.out" '"ok":true.*"rounds":[0-9]+.*"downtime_ms":[0-9.]+.*"round_pages":\[[0-9]+(,[0-9]+)+\].*"harvest_ms_per_gib":[0-9.]+'
	vm_wait src
	expect_in "$TEST_TMP/src.err" "guest migrated to unix:"
	verify_on dst $PASS_STATUS
	expect_in "$TEST_TMP/dst.out" "DIRTY verify ok"
}

t_live_tcp_two_vcpus() {
	local port=$((30000 + $$ % 20000))
	src_dirty --cpus 2
	vm_start dst --incoming "tcp:127.0.0.1:$port"
	wait_for "$TEST_TMP/dst.err" "waiting for a migration" 10 || sleep 1
	ctl "$TEST_TMP/src.sock" migrate "tcp:127.0.0.1:$port" downtime=50 >"$TEST_TMP/ctl.out"
	cat "$TEST_TMP/ctl.out"
	expect_in "$TEST_TMP/ctl.out" '"ok":true'
	vm_wait src
	verify_on dst $PASS_STATUS
}

# Prove the oracle can fail: without KVM's log the vCPU's last writes stay behind.
t_without_kvm_log_the_oracle_fails() {
	VM_ENV="KVMINI_TEST_SKIP_DIRTY_LOG=kvm" src_dirty
	vm_start dst --incoming "unix:$TEST_TMP/mig.sock"
	wait_for "$TEST_TMP/dst.err" "waiting for a migration" 10 || sleep 1
	ctl "$TEST_TMP/src.sock" migrate "unix:$TEST_TMP/mig.sock" >/dev/null
	vm_wait src
	NET_RC=0
	verify_on_rc dst
	expect_broken "$NET_RC" "a destination missing the vCPU's pages"
	[ "$NET_RC" -eq 124 ] || expect_in "$TEST_TMP/dst.out" "FAIL dirty: "
}

t_destination_gone_source_keeps_the_guest() {
	src_dirty
	# A "destination" that takes the connection and the first bytes, then dies.
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept(); c.recv(65536); c.close()' "$TEST_TMP/mig.sock" &
	for _ in $(seq 50); do [ -S "$TEST_TMP/mig.sock" ] && break; sleep 0.1; done
	! ctl "$TEST_TMP/src.sock" migrate "unix:$TEST_TMP/mig.sock" >"$TEST_TMP/ctl.out"
	cat "$TEST_TMP/ctl.out"
	expect_in "$TEST_TMP/ctl.out" '"ok":false'
	ctl "$TEST_TMP/src.sock" status >"$TEST_TMP/st.out"
	expect_in "$TEST_TMP/st.out" '"state":"running"'
	verify_on src $PASS_STATUS
	expect_in "$TEST_TMP/src.err" "migration to unix:.* failed"
}

t_nobody_listening_is_a_clear_error() {
	src_dirty
	! ctl "$TEST_TMP/src.sock" migrate "unix:$TEST_TMP/nobody.sock" >"$TEST_TMP/ctl.out"
	expect_in "$TEST_TMP/ctl.out" '"ok":false,"error":".*nobody.sock'
	verify_on src $PASS_STATUS
}

t_destination_refuses_the_guest_source_resumes() {
	local rc=0
	src_dirty
	# Two NICs on the destination for a guest that has none.
	vm_start dst --incoming "unix:$TEST_TMP/mig.sock" --net user --net user
	wait_for "$TEST_TMP/dst.err" "waiting for a migration" 10 || sleep 1
	! ctl "$TEST_TMP/src.sock" migrate "unix:$TEST_TMP/mig.sock" >"$TEST_TMP/ctl.out"
	cat "$TEST_TMP/ctl.out"
	vm_wait dst || rc=$?
	expect_status 1 "$rc" "a destination that cannot run the guest"
	expect_in "$TEST_TMP/dst.err" "2 NICs given, the guest has 0"
	[ ! -s "$TEST_TMP/dst.out" ] || { echo "the destination ran guest code"; return 1; }
	verify_on src $PASS_STATUS
}

t_source_killed_mid_stream_destination_runs_nothing() {
	local rc=0
	VM_ENV=KVMINI_TEST_PRECOPY_FOREVER=1 vm_start src --kernel "$TG_ELF" --debug-exit \
		--cmdline "$DIRTY" --memory 256M --api-socket "$TEST_TMP/src.sock"
	wait_for "$TEST_TMP/src.out" "DIRTY round=20"
	vm_start dst --incoming "unix:$TEST_TMP/mig.sock"
	wait_for "$TEST_TMP/dst.err" "waiting for a migration" 10 || sleep 1
	# Rounds without end keep the source in pre-copy until it is killed
	# there (KVMINI_TEST_PRECOPY_FOREVER, given to the source at start).
	ctl "$TEST_TMP/src.sock" migrate "unix:$TEST_TMP/mig.sock" max-rounds=100000 \
		>/dev/null &
	# The destination has the guest's configuration: the stream is flowing.
	wait_for "$TEST_TMP/dst.err" "a guest of" 30
	sleep 0.5
	# kvmini itself, not the timeout(1) that started it.
	eval "pkill -KILL -P \$PID_src"
	vm_wait src || true
	vm_wait dst || rc=$?
	expect_status 1 "$rc" "a destination whose source died"
	expect_in "$TEST_TMP/dst.err" "stream ended|truncated|Connection reset"
	[ ! -s "$TEST_TMP/dst.out" ] || { echo "the destination ran guest code"; return 1; }
}

# A snapshot from the first test's kind, then damaged in three ways.
make_snapshot() {
	src_dirty
	ctl "$TEST_TMP/src.sock" snapshot "$TEST_TMP/snap" >/dev/null
	ctl "$TEST_TMP/src.sock" stop >/dev/null || true
	vm_wait src || true
}

restore_must_fail() {
	local file=$1 pattern=$2 rc=0
	timeout 60 "$KVMINI" run --restore "$file" </dev/null >"$TEST_TMP/r.out" 2>"$TEST_TMP/r.err" || rc=$?
	cat "$TEST_TMP/r.err"
	expect_status 1 "$rc" "restoring $file"
	expect_in "$TEST_TMP/r.err" "$pattern"
	# One error line (a warning about this host's KVM may come before it).
	[ "$(grep -vc '^kvmini: warning: ' "$TEST_TMP/r.err")" -eq 1 ] ||
		{ echo "not exactly one error line"; return 1; }
	[ ! -s "$TEST_TMP/r.out" ] || { echo "guest code ran"; return 1; }
}

t_damaged_snapshots_are_refused() {
	local size
	make_snapshot
	size=$(stat -c %s "$TEST_TMP/snap")
	head -c $((size / 2)) "$TEST_TMP/snap" >"$TEST_TMP/half"
	restore_must_fail "$TEST_TMP/half" "truncated|stream ended"
	cp "$TEST_TMP/snap" "$TEST_TMP/flipped"
	printf '\x5a' | dd of="$TEST_TMP/flipped" bs=1 seek=$((size / 3)) conv=notrunc status=none
	restore_must_fail "$TEST_TMP/flipped" "fails its checksum|bad record"
	cp "$TEST_TMP/snap" "$TEST_TMP/newer"
	printf '\x63' | dd of="$TEST_TMP/newer" bs=1 seek=16 conv=notrunc status=none
	restore_must_fail "$TEST_TMP/newer" "stream version 99"
	restore_must_fail "$TG_ELF" "not a kvmini migration stream"
	restore_must_fail "$TEST_TMP/no-such-file" "No such file"
}

t_state_show_prints_the_machine() {
	make_snapshot
	"$KVMINI" state show "$TEST_TMP/snap" >"$TEST_TMP/show.out"
	expect_in "$TEST_TMP/show.out" "^configuration"
	expect_in "$TEST_TMP/show.out" "^  memory = 67108864"
	expect_in "$TEST_TMP/show.out" "^  cpu@0 \{"
	expect_in "$TEST_TMP/show.out" "^  uart \{"
	expect_in "$TEST_TMP/show.out" "pages with data"
	"$KVMINI" state dtb "$TEST_TMP/snap" state >"$TEST_TMP/state.dtb"
	dtc -I dtb -O dts -o "$TEST_TMP/state.dts" "$TEST_TMP/state.dtb" 2>"$TEST_TMP/dtc.err"
	expect_in "$TEST_TMP/state.dts" "cpu@0 \{"
}

# --- The network oracle: frames echoed through a tap while the guest moves. ---
#
# One single-queue tap takes one attached queue at a time, so the source and
# the destination each get their own tap in one namespace, each with an echo
# peer: after the switch the guest's frames go out of the destination's tap
# and come back through it. The guest checks every used entry it gets
# (scenario=dirty net=1, guest/testguest/README.md), so pages the backend
# wrote (received frames, used rings) that the migration missed fail it.
MODEL=${VHOST_MODEL_SO:-$TOP/build/tests/vhost-model/libvhost-model.so}
NS=kvmini-mig-$$
NETDIRTY="$DIRTY net=1 net-burst=4"

net_cleanup() {
	local p
	for p in ${ECHO_PIDS:-}; do kill "$p" 2>/dev/null || true; done
	ip netns del "$NS" 2>/dev/null || true
}

# setup_taps: taps kma (source) and kmb (destination) in $NS, an echo peer on each.
setup_taps() {
	local t
	ip netns add "$NS"
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n "$NS" link set lo up
	ECHO_PIDS=
	for t in kma kmb; do
		ip -n "$NS" tuntap add dev $t mode tap vnet_hdr
		ip -n "$NS" link set $t up
		rm -f "$TEST_TMP/echo-$t.ready"
		ip netns exec "$NS" python3 "$TOP/tests/integration/frame_echo.py" $t \
			"$TEST_TMP/echo-$t.ready" &
		ECHO_PIDS="$ECHO_PIDS $!"
	done
	for _ in $(seq 50); do
		[ -f "$TEST_TMP/echo-kma.ready" ] && [ -f "$TEST_TMP/echo-kmb.ready" ] && return 0
		sleep 0.1
	done
	echo "the echo peers did not start"
	return 1
}

# The vhost data path: the kernel's where there is one, else the model.
vhost_env() {
	if [ -c /dev/vhost-net ] && (exec 3<>/dev/vhost-net) 2>/dev/null; then
		echo ""
	else
		echo "LD_PRELOAD=$MODEL"
	fi
}

# migrate_net VHOST SRC_ENV [DST_VHOST DST_ENV]: the guest with net=1 from kma
# to kmb (the destination's vhost= and environment default to the source's);
# sets the destination's exit status in NET_RC.
migrate_net() {
	local vhost=$1 src_env=$2 env dvhost denv
	env=$([ "$vhost" = on ] && vhost_env || true)
	dvhost=${3:-$vhost}
	denv=${4-$env}
	setup_taps
	VM_NS=$NS VM_ENV="$env $src_env" vm_start src --kernel "$TG_ELF" --debug-exit \
		--cmdline "$NETDIRTY" --memory 64M --api-socket "$TEST_TMP/src.sock" \
		--net tap,ifname=kma,vhost=$vhost
	wait_for "$TEST_TMP/src.out" "NET round=20 .*rx=[1-9]"
	VM_NS=$NS VM_ENV="$denv" vm_start dst --incoming "unix:$TEST_TMP/mig.sock" \
		--net tap,ifname=kmb,vhost=$dvhost
	wait_for "$TEST_TMP/dst.err" "waiting for a migration" 10 || sleep 1
	ctl "$TEST_TMP/src.sock" migrate "unix:$TEST_TMP/mig.sock" >"$TEST_TMP/ctl.out" || true
	cat "$TEST_TMP/ctl.out"
	expect_in "$TEST_TMP/ctl.out" '"ok":true'
	vm_wait src
	NET_RC=0
	verify_on_rc dst
}

# verify_on_rc NAME: like verify_on, the status in NET_RC. A guest that the
# migration broke may never reach a verdict: after 90 s it is killed and
# NET_RC is 124 ("no verdict"), which a negative test counts as failing.
verify_on_rc() {
	local i pid
	eval "pid=\$PID_$1"
	wait_for "$TEST_TMP/$1.out" "DIRTY round=" 60 || true
	# Some rounds on the destination first: frames must flow there too.
	sleep 2
	vm_input "$1" x
	for i in $(seq 900); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "$1: no verdict 90 s after asking for one: killing it"
		pkill -KILL -P "$pid" 2>/dev/null || true
		vm_wait "$1" || true
		NET_RC=124
		return 0
	fi
	vm_wait "$1" || NET_RC=$?
}

# expect_broken RC WHAT: a negative test's destination must not pass.
expect_broken() {
	if [ "$1" -eq $PASS_STATUS ]; then
		echo "$2: the destination passed its checks: the oracle cannot fail"
		return 1
	fi
	if [ "$1" -eq 124 ]; then
		echo "$2: the destination never reached a verdict (counted as a failure)"
	else
		expect_status $FAIL_STATUS "$1" "$2"
	fi
}

t_net_userspace_tap_frames_survive() {
	migrate_net off ""
	expect_status $PASS_STATUS "$NET_RC" "the destination checking pages and frames"
	expect_in "$TEST_TMP/dst.out" "NET verify ok tx=[0-9]+ rx=[1-9]"
	expect_in "$TEST_TMP/dst.err" "net0 \(userspace\)"
}

t_net_vhost_frames_survive() {
	migrate_net on ""
	expect_status $PASS_STATUS "$NET_RC" "the destination checking pages and frames"
	expect_in "$TEST_TMP/dst.out" "NET verify ok tx=[0-9]+ rx=[1-9]"
	expect_in "$TEST_TMP/dst.err" "net0 \(vhost-net\)"
}

# A destination without vhost-net (the model refuses the open) and the
# default vhost=auto: the guest's rings move from the kernel's data path to
# kvmini's userspace one where vhost stopped, and every frame still checks.
t_net_vhost_to_a_host_without_vhost_net() {
	migrate_net on "" auto "LD_PRELOAD=$MODEL VHOST_MODEL_FAIL=OPEN:ENOENT"
	expect_status $PASS_STATUS "$NET_RC" "the destination checking pages and frames"
	expect_in "$TEST_TMP/dst.err" "userspace backend \(vhost=auto, vhost-net unavailable"
	expect_in "$TEST_TMP/dst.out" "NET verify ok tx=[0-9]+ rx=[1-9]"
	expect_in "$TEST_TMP/src.err" "net0 \(vhost-net\)"
}

# Prove the oracle can fail: each backend's log left out loses its pages.
# What the guest trips over first varies (a frame, a used entry, a page
# check, or no verdict at all when the guest's own state is lost).
t_net_without_vmm_log_userspace_frames_fail() {
	migrate_net off KVMINI_TEST_SKIP_DIRTY_LOG=vmm
	expect_broken "$NET_RC" "a destination missing the NIC's pages"
	[ "$NET_RC" -eq 124 ] || expect_in "$TEST_TMP/dst.out" "FAIL (net|dirty): "
}

t_net_without_vhost_log_vhost_frames_fail() {
	migrate_net on KVMINI_TEST_SKIP_DIRTY_LOG=vhost
	expect_broken "$NET_RC" "a destination missing vhost's pages"
	[ "$NET_RC" -eq 124 ] || expect_in "$TEST_TMP/dst.out" "FAIL (net|dirty): "
}

# tools/migrate-demo with the test guest: the demo's verdict is the guest's
# own checks on the destination, and a broken migration must turn it to 1.
demo() {
	DEMO_RC=0
	env KVMINI="$KVMINI" GUEST_OUT="$GUEST_OUT" TMPDIR="$TEST_TMP" "$@" timeout 400 "$TOP/tools/migrate-demo" \
		--guest testguest --before 1 --after 2 >"$TEST_TMP/demo.out" 2>&1 || DEMO_RC=$?
	cat "$TEST_TMP/demo.out"
}

t_demo_testguest_moves_and_checks() {
	demo
	expect_status 0 "$DEMO_RC" "tools/migrate-demo --guest testguest"
	expect_in "$TEST_TMP/demo.out" "^  rounds +[1-9]"
	expect_in "$TEST_TMP/demo.out" "^  pages per round +[0-9]+ [0-9]+"
	expect_in "$TEST_TMP/demo.out" "^  downtime +[0-9.]+ ms"
	expect_in "$TEST_TMP/demo.out" "destination> DIRTY verify ok"
	expect_in "$TEST_TMP/demo.out" "destination> NET verify ok tx=[0-9]+ rx=[1-9]"
	expect_in "$TEST_TMP/demo.out" "^migrate-demo: OK: every page"
}

t_demo_without_kvm_log_fails() {
	demo KVMINI_TEST_SKIP_DIRTY_LOG=kvm
	expect_status 1 "$DEMO_RC" "the demo with KVM's dirty log left out"
	expect_in "$TEST_TMP/demo.out" "^migrate-demo: the guest('s checks failed| gave no verdict)"
}

NEEDS_KVM=1
run_all_tests
summary
