#!/usr/bin/env bash
# virtio-net under kvmini, driven by the freestanding test guest: PCI
# enumeration, MSI-X and INTx delivery, frames both ways through a tap in a
# network namespace (an echo peer sends every frame back), EVENT_IDX and
# indirect descriptors, device reset between runs, and libslirp.
# The userspace tap backend is asked for explicitly (vhost=off).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

TG_ELF=${TESTGUEST_ELF:-$GUEST_OUT/testguest/testguest.elf}
PASS_STATUS=33
NS=kvmini-net-$$
TAP=kvt$$

cleanup() {
	[ -n "${ECHO_PID:-}" ] && kill "$ECHO_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT

# tg_ns CMDLINE [kvmini options...]: the test guest inside the namespace.
tg_ns() {
	local cmdline=$1 rc=0
	shift
	timeout 180 ip netns exec "$NS" "$KVMINI" run -v --kernel "$TG_ELF" --debug-exit \
		--cmdline "$cmdline" "$@" </dev/null >"$TEST_TMP/tg.out" 2>"$TEST_TMP/tg.err" || rc=$?
	cat "$TEST_TMP/tg.out" "$TEST_TMP/tg.err"
	return $rc
}

tg() {
	local cmdline=$1 rc=0
	shift
	timeout 180 "$KVMINI" run -v --kernel "$TG_ELF" --debug-exit --cmdline "$cmdline" "$@" \
		</dev/null >"$TEST_TMP/tg.out" 2>"$TEST_TMP/tg.err" || rc=$?
	cat "$TEST_TMP/tg.out" "$TEST_TMP/tg.err"
	return $rc
}

TAPNET="--net tap,ifname=$TAP,vhost=off"

t_pci_two_nics() {
	local rc=0
	tg_ns "scenario=pci expect=1af4:1041@00:01.0 expect=1af4:1041@00:02.0 expect=1b36:0008@00:00.0" \
		--net user $TAPNET || rc=$?
	expect_status $PASS_STATUS $rc "pci scenario with two NICs"
	expect_in "$TEST_TMP/tg.out" "PCI 00:01.0 1af4:1041 class=020000 .*caps=11,09,09,09,09,09"
}

t_tap_loop_msix() {
	local rc=0
	tg_ns "scenario=virtio-net frames=200 len=1400 irq=msix restarts=2 timeout-ms=90000" $TAPNET || rc=$?
	expect_status $PASS_STATUS $rc "frames through the tap, MSI-X"
	expect_in "$TEST_TMP/tg.out" "VIRTIO-NET run=1 tx=200 rx=200"
	# Interrupts arrived per vector, and kvmini counted the frames itself.
	expect_in "$TEST_TMP/tg.out" "irq-rx=[1-9]"
	expect_in "$TEST_TMP/tg.err" "net0 \(userspace\): 600 frames out, 600 in"  # restarts=2: three runs
}

# The driver resets the device (status 0) right after kicking the transmit
# queue, with frames on their way out and back, twice; the third start must
# move every frame. Frames of a cut run that the echo returns later are
# counted as stale by the guest, not as errors.
t_tap_reset_in_flight() {
	local rc=0
	tg_ns "scenario=virtio-net frames=60 restarts=2 reset-in-flight=1 timeout-ms=90000" $TAPNET || rc=$?
	expect_status $PASS_STATUS $rc "reset with frames in flight, userspace tap"
	expect_in "$TEST_TMP/tg.out" "VIRTIO-NET reset-in-flight run=1 sent=[0-9]+"
	expect_in "$TEST_TMP/tg.out" "VIRTIO-NET run=2 tx=60 rx=60"
}

# The guest masks the receive queue's MSI-X entry (mask=vector), the whole
# function (mask=function), or masks it and moves it to another vector
# (mask=move) while frames flow: no interrupt may arrive while masked, the
# pending bit must be set, and unmasking must deliver the interrupt at once;
# every frame still arrives. kvmini's I/O thread writes the call eventfd, its
# watcher turns it into the pending bit while the irqfd is unbound.
t_tap_msix_mask_under_traffic() {
	local k rc
	for k in vector function move; do
		rc=0
		tg_ns "scenario=virtio-net frames=64 restarts=0 mask=$k timeout-ms=90000" $TAPNET || rc=$?
		expect_status $PASS_STATUS $rc "mask=$k, userspace tap"
		expect_in "$TEST_TMP/tg.out" "VIRTIO-NET mask=$k masked-rx=[0-9]+ irq-while-masked=0 pending=1"
		expect_in "$TEST_TMP/tg.out" "VIRTIO-NET run=0 tx=64 rx=64"
	done
	expect_in "$TEST_TMP/tg.out" "irq-after-unmask=vector-0x63"
}

t_tap_loop_intx() {
	local rc=0
	tg_ns "scenario=virtio-net frames=50 irq=intx timeout-ms=90000" $TAPNET || rc=$?
	expect_status $PASS_STATUS $rc "frames through the tap, INTx"
	expect_in "$TEST_TMP/tg.out" "intx=[1-9]"
}

t_tap_loop_event_idx_indirect() {
	local rc=0
	tg_ns "scenario=virtio-net frames=300 event-idx=1 indirect=1 qsize=16 restarts=3 timeout-ms=90000" $TAPNET || rc=$?
	expect_status $PASS_STATUS $rc "EVENT_IDX and indirect descriptors"
	expect_in "$TEST_TMP/tg.out" "VIRTIO-NET run=2 tx=300 rx=300"
}

t_tap_created_and_removed() {
	local rc=0 name=kvn$$
	timeout 60 ip netns exec "$NS" "$KVMINI" run -v --kernel "$TG_ELF" --debug-exit \
		--cmdline "scenario=hello" --net "tap,ifname=$name,vhost=off" </dev/null \
		>"$TEST_TMP/c.out" 2>"$TEST_TMP/c.err" || rc=$?
	cat "$TEST_TMP/c.err"
	expect_status $PASS_STATUS $rc "kvmini with a tap of its own"
	expect_in "$TEST_TMP/c.err" "tap $name \(created by kvmini, removed on exit\)"
	if ip -n "$NS" link show "$name" >/dev/null 2>&1; then
		echo "tap $name still exists after kvmini exited"
		return 1
	fi
	# The persistent tap of the other tests is not kvmini's: it stays.
	ip -n "$NS" link show "$TAP" >/dev/null
}

t_tap_busy_is_a_clear_error() {
	# A single-queue tap takes one attached fd: a second kvmini must say so.
	local rc=0
	ip netns exec "$NS" "$KVMINI" run -q --kernel "$TG_ELF" --debug-exit \
		--cmdline "scenario=wait-input timeout-ms=20000" $TAPNET </dev/null >/dev/null 2>&1 &
	local first=$!
	sleep 2
	timeout 30 ip netns exec "$NS" "$KVMINI" run --kernel "$TG_ELF" --debug-exit $TAPNET </dev/null \
		>/dev/null 2>"$TEST_TMP/busy.err" || rc=$?
	kill "$first" 2>/dev/null || true
	wait "$first" 2>/dev/null || true
	cat "$TEST_TMP/busy.err"
	expect_status 1 $rc "second kvmini on a busy tap"
	expect_in "$TEST_TMP/busy.err" "^kvmini: error: .*$TAP"
}

t_tap_without_cap_net_admin() {
	# Root without CAP_NET_ADMIN still opens /dev/kvm but may not create a tap.
	command -v setpriv >/dev/null || { echo "setpriv (util-linux) is missing"; return 77; }
	local rc=0
	timeout 30 ip netns exec "$NS" setpriv --inh-caps=-net_admin --bounding-set=-net_admin \
		"$KVMINI" run --kernel "$TG_ELF" --net "tap,ifname=nocap$$,vhost=off" </dev/null \
		>/dev/null 2>"$TEST_TMP/nocap.err" || rc=$?
	cat "$TEST_TMP/nocap.err"
	expect_status 1 $rc "tap without CAP_NET_ADMIN"
	expect_in "$TEST_TMP/nocap.err" "^kvmini: error: .*nocap$$.*(CAP_NET_ADMIN|permission|Operation not permitted)"
	[ "$(grep -c . "$TEST_TMP/nocap.err")" -le 2 ] || { echo "more than one error line"; return 1; }
}

t_tap_bad_options() {
	local rc=0
	timeout 20 "$KVMINI" run --kernel "$TG_ELF" --net "tap,ifname=x,mac=01:00:00:00:00:01" \
		</dev/null 2>"$TEST_TMP/e" || rc=$?
	cat "$TEST_TMP/e"
	expect_status 2 $rc "multicast MAC"
	expect_in "$TEST_TMP/e" "^kvmini: error: --net .*mac"
	rc=0
	timeout 20 "$KVMINI" run --kernel "$TG_ELF" --net "user,hostfwd=tcp::99999-:22" \
		</dev/null 2>"$TEST_TMP/e" || rc=$?
	cat "$TEST_TMP/e"
	expect_status 2 $rc "hostfwd port out of range"
	expect_in "$TEST_TMP/e" "^kvmini: error: --net .*hostfwd"
	rc=0
	timeout 20 "$KVMINI" run --kernel "$TG_ELF" --net "bridge,br=br0" </dev/null 2>"$TEST_TMP/e" || rc=$?
	expect_status 2 $rc "unknown backend"
}

t_slirp_tx_and_reset() {
	local rc=0
	tg "scenario=virtio-net frames=64 loop=0 restarts=2" --net user || rc=$?
	expect_status $PASS_STATUS $rc "frames out through libslirp"
	expect_in "$TEST_TMP/tg.err" "net0 \(userspace\): 192 frames out"  # three runs of 64
}

t_slirp_arp_and_ping() {
	local rc=0
	tg "scenario=virtio-net loop=0 arp=10.0.2.2 ping=10.0.2.2 pings=3 scenario=virtio-net loop=0 ping=10.0.2.3 pings=2 irq=intx" \
		--net user || rc=$?
	expect_status $PASS_STATUS $rc "ARP and ping through libslirp"
	expect_in "$TEST_TMP/tg.out" "ARP reply from 10.0.2.2 is-at"
	expect_in "$TEST_TMP/tg.out" "PING reply seq=3"
}

# A malformed ring fails the device (DEVICE_NEEDS_RESET, one log line), not
# kvmini; after a reset the same device moves frames again.
t_malformed_rings_slirp() {
	local kind rc
	for kind in desc-oob len-oob loop avail-jump; do
		rc=0
		tg "scenario=virtio-net loop=0 restarts=0 bad-ring=$kind timeout-ms=10000" --net user || rc=$?
		expect_status $PASS_STATUS $rc "bad ring $kind"
		expect_in "$TEST_TMP/tg.out" "BAD-RING kind=$kind needs_reset=1"
	done
}

t_malformed_rings_tap() {
	local kind rc
	for kind in desc-oob loop; do
		rc=0
		tg_ns "scenario=virtio-net frames=32 restarts=0 bad-ring=$kind timeout-ms=20000" $TAPNET || rc=$?
		expect_status $PASS_STATUS $rc "bad ring $kind over the tap"
		expect_in "$TEST_TMP/tg.out" "BAD-RING kind=$kind needs_reset=1"
		expect_in "$TEST_TMP/tg.out" "VIRTIO-NET run=1 tx=32 rx=32"
	done
}

skip_suite_unless_root "for network namespaces and taps"
setup_tap_echo
NEEDS_KVM=1
run_all_tests
summary
