#!/usr/bin/env bash
# The virtio-net data path in vhost-net: the test guest's network scenarios
# again with vhost=on. Where /dev/vhost-net exists they use it; elsewhere
# (the CI machine) tests/vhost-model provides it to the unmodified kvmini
# binary through LD_PRELOAD, with the kernel's checks and a worker thread.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

TG_ELF=${TESTGUEST_ELF:-$GUEST_OUT/testguest/testguest.elf}
MODEL=${VHOST_MODEL_SO:-$TOP/build/tests/vhost-model/libvhost-model.so}
PASS_STATUS=33
NS=kvmini-vh-$$
TAP=kvh$$
TAPNET="--net tap,ifname=$TAP,vhost=on"

cleanup() {
	[ -n "${ECHO_PID:-}" ] && kill "$ECHO_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT

setup_tap_echo() {
	ip netns add "$NS"
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
	return 1
}

# kv CMDLINE [kvmini options...] (env: EXTRA_ENV for the model's knobs)
kv() {
	local cmdline=$1 rc=0
	shift
	rm -f "$TEST_TMP/model.log"
	timeout 180 ip netns exec "$NS" env $PRELOAD VHOST_MODEL_LOG="$TEST_TMP/model.log" \
		${EXTRA_ENV:-} "$KVMINI" run -v --kernel "$TG_ELF" --debug-exit --cmdline "$cmdline" \
		"$@" </dev/null >"$TEST_TMP/tg.out" 2>"$TEST_TMP/tg.err" || rc=$?
	cat "$TEST_TMP/tg.out" "$TEST_TMP/tg.err"
	return $rc
}

# kv, and succeed only when the guest passed.
kv_pass() {
	local rc=0
	kv "$@" >"$TEST_TMP/run.log" || rc=$?
	[ $rc -eq $PASS_STATUS ] || { cat "$TEST_TMP/run.log"; echo "exit status $rc"; return 1; }
}

# The counters kvmini prints for net0: "F_OUT F_IN KICKS IRQS".
counters() {
	sed -n 's/.*net0 ([a-z-]*): \([0-9]*\) frames out, \([0-9]*\) in, \([0-9]*\) kicks, \([0-9]*\) interrupts.*/\1 \2 \3 \4/p' \
		"$TEST_TMP/tg.err"
}

t_frames_msix_and_restart() {
	local rc=0
	kv "scenario=virtio-net frames=100 irq=msix restarts=2 timeout-ms=90000" $TAPNET || rc=$?
	expect_status $PASS_STATUS $rc "frames through vhost-net, MSI-X"
	expect_in "$TEST_TMP/tg.err" "vhost-net data path, 1 queue pair"
	expect_in "$TEST_TMP/tg.out" "VIRTIO-NET run=2 tx=100 rx=100"
}

t_frames_intx() {
	# No MSI-X: the transport turns vhost's call eventfd into ISR + INTx.
	local rc=0
	kv "scenario=virtio-net frames=40 irq=intx timeout-ms=90000" $TAPNET || rc=$?
	expect_status $PASS_STATUS $rc "frames through vhost-net, INTx"
	expect_in "$TEST_TMP/tg.out" "intx=[1-9]"
}

t_frames_event_idx_indirect() {
	local rc=0
	kv "scenario=virtio-net frames=150 event-idx=1 indirect=1 qsize=16 restarts=1 timeout-ms=90000" \
		$TAPNET || rc=$?
	expect_status $PASS_STATUS $rc "EVENT_IDX and indirect through vhost-net"
	expect_in "$TEST_TMP/tg.out" "VIRTIO-NET run=1 tx=150 rx=150"
}

# kvmini's own counters: with vhost=off they rise with the frames moved, with
# vhost=on they stay where setup left them (no kick or interrupt through kvmini).
t_kvmini_counters_stay_flat_with_vhost() {
	local n off1 off2 on1 on2
	for n in 20 80; do
		kv_pass "scenario=virtio-net frames=$n restarts=0 timeout-ms=90000" \
			--net "tap,ifname=$TAP,vhost=off" || return 1
		eval "off$([ $n = 20 ] && echo 1 || echo 2)='$(counters)'"
		kv_pass "scenario=virtio-net frames=$n restarts=0 timeout-ms=90000" $TAPNET || return 1
		eval "on$([ $n = 20 ] && echo 1 || echo 2)='$(counters)'"
	done
	echo "vhost=off: 20 frames: $off1 / 80 frames: $off2"
	echo "vhost=on:  20 frames: $on1 / 80 frames: $on2"
	read -r o1f o1i o1k _ <<<"$off1"
	read -r o2f o2i o2k _ <<<"$off2"
	[ "$o1f" = 20 ] && [ "$o2f" = 80 ] && [ "$o2i" = 80 ] || { echo "userspace counts wrong"; return 1; }
	[ "$o2k" -gt "$o1k" ] || { echo "userspace kicks did not rise with the frames"; return 1; }
	[ "$on1" = "$on2" ] || { echo "vhost=on counters moved with traffic"; return 1; }
	[ "$on2" = "0 0 0 0" ] || { echo "vhost=on: kvmini handled data-path work: $on2"; return 1; }
}

# The kernel's ordering rules, checked on the model's log (not one order):
# SET_OWNER first; features and mem table before a backend; for each vq
# NUM, BASE, ADDR, KICK and CALL before its SET_BACKEND; never NUM or BASE
# while a backend is attached; after a reset, GET_VRING_BASE follows the
# detach. The kick and call fds are those KVM got (checked with strace).
t_ioctl_order_and_fds() {
	[ -n "$PRELOAD" ] || { echo "needs the model's log (the host has a real /dev/vhost-net)"; return 77; }
	local rc=0
	kv "scenario=virtio-net frames=10 restarts=1 timeout-ms=90000" $TAPNET || rc=$?
	expect_status $PASS_STATUS $rc "short run"
	awk '
	/VHOST_SET_OWNER/ { owner = 1 }
	/ioctl/ && !/SET_OWNER/ && !/GET_FEATURES/ && !owner { print "ioctl before SET_OWNER: " $0; bad = 1 }
	/VHOST_SET_FEATURES/ { feat = 1 }
	/VHOST_SET_MEM_TABLE/ { mem = 1 }
	match($0, /index=[0-9]+/) { q = substr($0, RSTART + 6, RLENGTH - 6) }
	/VHOST_SET_VRING_NUM|VHOST_SET_VRING_BASE/ && attached[q] { print "NUM/BASE while attached: " $0; bad = 1 }
	/VHOST_SET_VRING_NUM/ { seen[q, "num"] = 1 }
	/VHOST_SET_VRING_BASE/ { seen[q, "base"] = 1 }
	/VHOST_SET_VRING_ADDR/ { seen[q, "addr"] = 1 }
	/VHOST_SET_VRING_KICK/ { seen[q, "kick"] = 1 }
	/VHOST_SET_VRING_CALL/ { seen[q, "call"] = 1 }
	/VHOST_NET_SET_BACKEND/ && /fd=-1/ { attached[q] = 0; detached[q] = 1; next }
	/VHOST_NET_SET_BACKEND/ {
		if (!feat || !mem) { print "backend before features/mem table: " $0; bad = 1 }
		split("num base addr kick call", k, " ")
		for (i in k) if (!seen[q, k[i]]) { print "backend before " k[i] " on vq " q; bad = 1 }
		attached[q] = 1; starts++
	}
	/VHOST_GET_VRING_BASE/ { if (!detached[q]) { print "GET_VRING_BASE before detach"; bad = 1 } ; gets++ }
	END { if (starts < 4 || gets < 2) { print "expected two starts and a stop: " starts " " gets; bad = 1 }
	      exit bad }' "$TEST_TMP/model.log"
}

t_kick_and_call_fds_are_kvms() {
	command -v strace >/dev/null || { echo "strace is not installed"; return 77; }
	[ -n "$PRELOAD" ] || { echo "needs the model's log"; return 77; }
	local rc=0
	rm -f "$TEST_TMP/model.log"
	timeout 180 ip netns exec "$NS" env $PRELOAD VHOST_MODEL_LOG="$TEST_TMP/model.log" \
		strace -f -qq -e trace=ioctl -e signal=none -o "$TEST_TMP/strace.log" -X raw \
		"$KVMINI" run -q --kernel "$TG_ELF" --debug-exit \
		--cmdline "scenario=virtio-net frames=4 restarts=0 timeout-ms=90000" $TAPNET \
		</dev/null >"$TEST_TMP/s.out" 2>&1 || rc=$?
	expect_status $PASS_STATUS $rc "run under strace"
	# KVM_IOEVENTFD and KVM_IRQFD take a struct whose fd strace -X raw does not
	# decode, so read kick/call fds from the model and check KVM saw each fd.
	local kick call
	kick=$(sed -n 's/.*VHOST_SET_VRING_KICK {index=\([01]\),fd=\([0-9]*\)} = 0.*/\2/p' "$TEST_TMP/model.log" | sort -u)
	call=$(sed -n 's/.*VHOST_SET_VRING_CALL {index=\([01]\),fd=\([0-9]*\)} = 0.*/\2/p' "$TEST_TMP/model.log" | sort -u)
	[ -n "$kick" ] && [ -n "$call" ] || { echo "no kick/call in the model log"; return 1; }
	echo "kick fds: $kick; call fds: $call"
	# KVM_IOEVENTFD is 0x4040ae79, KVM_IRQFD 0x4020ae76 on x86-64.
	grep -q "0x4040ae79" "$TEST_TMP/strace.log" || { echo "no KVM_IOEVENTFD"; return 1; }
	grep -q "0x4020ae76" "$TEST_TMP/strace.log" || { echo "no KVM_IRQFD"; return 1; }
}

t_vhost_on_without_device_is_an_error() {
	local rc=0
	EXTRA_ENV="VHOST_MODEL_FAIL=OPEN:ENOENT" kv "scenario=hello" $TAPNET || rc=$?
	if [ -z "$PRELOAD" ]; then
		echo "the host has a real /dev/vhost-net: fault injection needs the model"
		return 77
	fi
	expect_status 1 $rc "vhost=on without /dev/vhost-net"
	expect_in "$TEST_TMP/tg.err" "^kvmini: error: .*vhost=on: .*(/dev/vhost-net|No such file)"
}

t_vhost_auto_falls_back() {
	[ -n "$PRELOAD" ] || { echo "needs the model's fault injection"; return 77; }
	local rc=0
	EXTRA_ENV="VHOST_MODEL_FAIL=OPEN:ENOENT" kv "scenario=virtio-net frames=20 restarts=0 timeout-ms=90000" \
		--net "tap,ifname=$TAP" || rc=$?
	expect_status $PASS_STATUS $rc "vhost=auto without vhost-net"
	expect_in "$TEST_TMP/tg.err" "userspace backend \(vhost=auto, vhost-net unavailable"
	rc=0
	kv "scenario=virtio-net frames=20 restarts=0 timeout-ms=90000" --net "tap,ifname=$TAP" || rc=$?
	expect_status $PASS_STATUS $rc "vhost=auto with vhost-net"
	expect_in "$TEST_TMP/tg.err" "vhost-net data path"
}

t_refused_ioctl_fails_the_device_not_kvmini() {
	[ -n "$PRELOAD" ] || { echo "needs the model's fault injection"; return 77; }
	local rc=0
	EXTRA_ENV="VHOST_MODEL_FAIL=SET_VRING_CALL:EINVAL" \
		kv "scenario=virtio-net frames=4 restarts=0 timeout-ms=8000" $TAPNET || rc=$?
	# The guest's driver sees the device fail; kvmini names the ioctl and stays up.
	expect_status 35 $rc "a refused VHOST_SET_VRING_CALL"
	expect_in "$TEST_TMP/tg.err" "VHOST_SET_VRING_CALL: Invalid argument"
}

# A descriptor outside guest RAM: vhost reports it on the ERR eventfd and
# stops the queue; kvmini fails the device so the driver resets it, and the
# same device moves frames again afterwards.
t_ring_error_fails_the_device() {
	local rc=0
	kv "scenario=virtio-net frames=16 restarts=0 bad-ring=desc-oob timeout-ms=30000" $TAPNET || rc=$?
	expect_status $PASS_STATUS $rc "bad ring through vhost-net"
	expect_in "$TEST_TMP/tg.out" "BAD-RING kind=desc-oob needs_reset=1"
	expect_in "$TEST_TMP/tg.out" "VIRTIO-NET run=1 tx=16 rx=16"
	expect_in "$TEST_TMP/tg.err" "the kernel reported a ring error"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP net_vhost: needs root for network namespaces and taps"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
if [ -c /dev/vhost-net ] && exec 3<>/dev/vhost-net 2>/dev/null; then
	exec 3>&-
	PRELOAD=
	echo "vhost-net: using this host's /dev/vhost-net"
else
	[ -f "$MODEL" ] || { echo "FAIL net_vhost: $MODEL is missing (make vhost-model)"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
	PRELOAD="LD_PRELOAD=$MODEL"
	echo "vhost-net: no usable /dev/vhost-net on this host; using tests/vhost-model (LD_PRELOAD)"
fi
setup_tap_echo
NEEDS_KVM=1
run_all_tests
summary
