#!/usr/bin/env bash
# The virtio-net data path in vhost-net: the test guest's network scenarios
# again with vhost=on. Data-path tests use /dev/vhost-net where it exists (in
# make check: inside tests/in-kvm's VM, whose kernel has a real vhost_net);
# elsewhere tests/vhost-model provides it to the unmodified kvmini binary
# through LD_PRELOAD, with the kernel's checks and a worker thread. Tests that
# need fault injection or the ioctl log always use the model: it interposes
# open() of the path, so it replaces the real device where there is one.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

TG_ELF=${TESTGUEST_ELF:-$GUEST_OUT/testguest/testguest.elf}
MODEL=${VHOST_MODEL_SO:-$TOP/build/tests/vhost-model/libvhost-model.so}
PASS_STATUS=33
NS=kvmini-vh-$$
TAP=kvh$$
TAPNET="--net tap,ifname=$TAP,vhost=on"
MQTAP=kvm$$

cleanup() {
	[ -n "${ECHO_PID:-}" ] && kill "$ECHO_PID" 2>/dev/null
	[ -n "${MQ_ECHO_PID:-}" ] && kill "$MQ_ECHO_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT

# use_model WHY: this test runs kvmini under tests/vhost-model even where the
# host has a real /dev/vhost-net, and says so.
use_model() {
	PRELOAD=$MODEL_PRELOAD
	echo "uses tests/vhost-model (LD_PRELOAD), not the host's device: $1"
}

# expect_model_served: the model, not the real device, answered kvmini.
expect_model_served() {
	expect_in "$TEST_TMP/model.log" "open /dev/vhost-net = [0-9]+" "the model's open in its log"
}

# A second tap, made with multi_queue, with its own echo peer (started once).
setup_mq_tap_echo() {
	[ -f "$TEST_TMP/mqecho.ready" ] && return 0
	ip -n "$NS" tuntap add dev "$MQTAP" mode tap vnet_hdr multi_queue
	ip -n "$NS" link set "$MQTAP" up
	ip netns exec "$NS" python3 "$TOP/tests/integration/frame_echo.py" "$MQTAP" \
		"$TEST_TMP/mqecho.ready" &
	MQ_ECHO_PID=$!
	for _ in $(seq 50); do
		[ -f "$TEST_TMP/mqecho.ready" ] && return 0
		sleep 0.1
	done
	echo "the echo peer on $MQTAP did not start"
	return 1
}

# kv CMDLINE [kvmini options...] (env: PRELOAD, empty for the host's device;
# EXTRA_ENV for the model's knobs)
kv() {
	local cmdline=$1 rc=0
	shift
	rm -f "$TEST_TMP/model.log"
	timeout 180 ip netns exec "$NS" env $PRELOAD VHOST_MODEL_LOG="$TEST_TMP/model.log" \
		${EXTRA_ENV:-} "$KVMINI" run -v ${PRELOAD:+--seccomp=off} --kernel "$TG_ELF" \
		--debug-exit --cmdline "$cmdline" "$@" </dev/null >"$TEST_TMP/tg.out" 2>"$TEST_TMP/tg.err" || rc=$?
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

# Reset (status 0) right after kicking the transmit queue, with frames in
# flight in the kernel's worker and the echo peer, twice: kvmini detaches the
# backend and takes the rings back (VHOST_NET_SET_BACKEND -1), and the third
# start must move every frame through vhost-net again.
t_reset_in_flight_then_frames_flow() {
	local rc=0
	kv "scenario=virtio-net frames=60 restarts=2 reset-in-flight=1 timeout-ms=90000" $TAPNET || rc=$?
	expect_status $PASS_STATUS $rc "reset with frames in flight, vhost-net"
	expect_in "$TEST_TMP/tg.err" "vhost-net data path, 1 queue pair"
	expect_in "$TEST_TMP/tg.out" "VIRTIO-NET reset-in-flight run=1 sent=[0-9]+"
	expect_in "$TEST_TMP/tg.out" "VIRTIO-NET run=2 tx=60 rx=60"
	expect_in "$TEST_TMP/tg.err" "net0 \(vhost-net\): 0 frames out, 0 in"
}

# MSI-X masking while vhost-net moves frames: the guest masks the receive
# queue's entry, the whole function, or masks and moves it to another vector.
# kvmini unbinds the irqfd while masked, so vhost's call events reach its
# watcher, which sets the pending bit; on unmask the pending interrupt goes
# out and the irqfd is bound again (to the new route for mask=move).
t_msix_mask_under_traffic() {
	local k rc
	for k in vector function move; do
		rc=0
		kv "scenario=virtio-net frames=64 restarts=0 mask=$k timeout-ms=90000" $TAPNET || rc=$?
		expect_status $PASS_STATUS $rc "mask=$k, vhost-net"
		expect_in "$TEST_TMP/tg.err" "vhost-net data path"
		expect_in "$TEST_TMP/tg.out" "VIRTIO-NET mask=$k masked-rx=[0-9]+ irq-while-masked=0 pending=1"
		expect_in "$TEST_TMP/tg.out" "VIRTIO-NET run=0 tx=64 rx=64"
	done
	expect_in "$TEST_TMP/tg.out" "irq-after-unmask=vector-0x63"
}

# One vCPU and queues=2 on a multi-queue tap, with a driver that uses one
# pair (the test guest does not negotiate VIRTIO_NET_F_MQ): every frame must
# come back through pair 0, across a reset. On the host's device, then on
# the model. kvmini refuses queues>1 with vhost=off (bad_input covers it).
# Note: tun steers these frames (no L3 header) by one flow hash, so this does
# not by itself prove that the idle pair's tap queue is detached.
t_one_cpu_queues2_one_pair_driver() {
	setup_mq_tap_echo
	local rc=0 where
	for where in data model; do
		if [ $where = model ]; then
			use_model "the same with the model's worker"
		elif [ -n "$DATA_PRELOAD" ]; then
			continue
		fi
		rc=0
		kv "scenario=virtio-net frames=100 restarts=1 timeout-ms=90000" --cpus 1 \
			--net "tap,ifname=$MQTAP,vhost=on,queues=2" || rc=$?
		expect_status $PASS_STATUS $rc "queues=2, one pair in use ($where)"
		expect_in "$TEST_TMP/tg.err" "vhost-net data path, 2 queue pairs"
		expect_in "$TEST_TMP/tg.out" "VIRTIO-NET run=1 tx=100 rx=100"
		[ $where = data ] || expect_model_served
	done
}

# The number of tap queues attached: tun keeps real_num_tx_queues at that
# count (tun.c tun_attach() and __tun_detach()), and sysfs lists that many.
attached_tap_queues() {
	ip netns exec "$NS" ls "/sys/class/net/$MQTAP/queues" | grep -c '^tx-'
}

# go_frame: the frame (ethertype 0x88b6) that lets a holding guest go on. The
# echo peer sees it as PACKET_OUTGOING and leaves it alone.
go_frame() {
	ip netns exec "$NS" python3 -c 'import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
s.send(bytes.fromhex("ffffffffffff" "525400123456" "88b6") + bytes(50))' "$MQTAP"
}

# A driver that negotiates VIRTIO_NET_F_MQ and switches 1 -> 2 -> 1 pairs
# with VQ_PAIRS_SET, frames on every active pair at each count. While the
# guest holds, the tap must have exactly as many queues attached as there
# are active pairs: an idle pair's queue is detached (TUNSETQUEUE with
# IFF_DETACH_QUEUE), else tun would steer flows to a queue nobody reads.
# Echoes alone cannot show that (tun's flow table returns each frame to the
# queue that sent it), so the host counts the queues in sysfs. On the
# host's device, then on the model.
t_queue_pairs_switch_detaches_idle_tap_queues() {
	setup_mq_tap_echo
	local rc where pid want n i holds
	for where in data model; do
		if [ $where = model ]; then
			use_model "the same with the model's worker"
		elif [ -n "$DATA_PRELOAD" ]; then
			continue
		fi
		rm -f "$TEST_TMP/tg.out"
		kv "scenario=virtio-net-mq pairs=2,1 frames=48 hold=1 timeout-ms=120000" \
			--cpus 2 --net "tap,ifname=$MQTAP,vhost=on,queues=2" >"$TEST_TMP/run.log" &
		pid=$!
		i=0
		for want in 1 2 1; do
			i=$((i + 1))
			holds=0
			for _ in $(seq 1800); do
				[ -f "$TEST_TMP/tg.out" ] &&
					holds=$(grep -c 'VIRTIO-NET-MQ hold pairs=' "$TEST_TMP/tg.out" || true)
				[ "$holds" -ge $i ] && break
				kill -0 $pid 2>/dev/null || break
				sleep 0.1
			done
			if [ "$holds" -lt $i ]; then
				kill $pid 2>/dev/null || true
				wait $pid || true
				cat "$TEST_TMP/run.log"
				echo "the guest never held at $want pairs ($where)"
				return 1
			fi
			n=$(attached_tap_queues)
			echo "$where: $want pairs active, $n tap queues attached"
			if [ "$n" -ne $want ]; then
				kill $pid 2>/dev/null || true
				wait $pid || true
				echo "expected $want tap queues attached with $want pairs ($where)"
				return 1
			fi
			go_frame
		done
		rc=0
		wait $pid || rc=$?
		cat "$TEST_TMP/run.log"
		expect_status $PASS_STATUS $rc "VQ_PAIRS_SET 1 -> 2 -> 1 ($where)"
		expect_in "$TEST_TMP/tg.err" "vhost-net data path, 2 queue pairs"
		expect_in "$TEST_TMP/tg.out" "VIRTIO-NET-MQ refused pairs=0 pairs=3"
		expect_in "$TEST_TMP/tg.out" "VIRTIO-NET-MQ step=1 pairs=2 tx=48 rx=48"
		expect_in "$TEST_TMP/tg.out" "VIRTIO-NET-MQ step=2 pairs=1 tx=48 rx=48 rx-per-queue=48/0"
		[ $where = data ] || expect_model_served
	done
}

# kvmini's own counters: with vhost=off they count the frames it moved, with
# vhost=on they do not move with traffic (no kick or interrupt through kvmini).
# Userspace kick and interrupt counts are not a function of the frame count:
# an eventfd folds several guest notifications into one read, and the NIC
# thread sets VRING_USED_F_NO_NOTIFY while it works (virtio 1.2, 2.7.10), so
# only the frame counts are exact there; kicks and interrupts must be nonzero,
# which shows the counters count. With vhost=on, kicks and interrupts must be
# equal for 20 and 80 frames (whatever setup at DRIVER_OK adds is the same
# for both) and no frame may pass through kvmini.
t_kvmini_counters_stay_flat_with_vhost() {
	local n off20 off80 on20 on80
	for n in 20 80; do
		kv_pass "scenario=virtio-net frames=$n restarts=0 timeout-ms=90000" \
			--net "tap,ifname=$TAP,vhost=off" || return 1
		eval "off$n='$(counters)'"
		kv_pass "scenario=virtio-net frames=$n restarts=0 timeout-ms=90000" $TAPNET || return 1
		expect_in "$TEST_TMP/tg.err" "net0 \(vhost-net\):" "the vhost-net stats line"
		eval "on$n='$(counters)'"
	done
	echo "vhost=off: 20 frames: $off20 / 80 frames: $off80"
	echo "vhost=on:  20 frames: $on20 / 80 frames: $on80"
	read -r o1f o1i o1k o1q <<<"$off20"
	read -r o2f o2i o2k o2q <<<"$off80"
	read -r v1f v1i v1k v1q <<<"$on20"
	read -r v2f v2i v2k v2q <<<"$on80"
	[ "$o1f $o1i $o2f $o2i" = "20 20 80 80" ] || { echo "userspace frame counts wrong"; return 1; }
	[ "$o1k" -gt 0 ] && [ "$o2k" -gt 0 ] && [ "$o1q" -gt 0 ] && [ "$o2q" -gt 0 ] ||
		{ echo "userspace: kicks or interrupts not counted"; return 1; }
	[ "$v1f $v1i $v2f $v2i" = "0 0 0 0" ] || { echo "vhost=on: frames went through kvmini"; return 1; }
	[ "$v1k $v1q" = "$v2k $v2q" ] ||
		{ echo "vhost=on: kvmini's kicks/interrupts moved with traffic"; return 1; }
}

# The kernel's ordering rules, checked on the model's log (not one order):
# SET_OWNER first; features and mem table before a backend; for each vq
# NUM, BASE, ADDR, KICK and CALL before its SET_BACKEND; never NUM or BASE
# while a backend is attached; after a reset, GET_VRING_BASE follows the
# detach. The kick and call fds are those KVM got (checked with strace).
t_ioctl_order_and_fds() {
	use_model "the kernel keeps no log of the ioctls it was given"
	local rc=0
	kv "scenario=virtio-net frames=10 restarts=1 timeout-ms=90000" $TAPNET || rc=$?
	expect_status $PASS_STATUS $rc "short run"
	expect_model_served
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
	use_model "the kick and call fds are read from its log"
	local rc=0
	rm -f "$TEST_TMP/model.log"
	timeout 180 ip netns exec "$NS" env $PRELOAD VHOST_MODEL_LOG="$TEST_TMP/model.log" \
		strace -f -qq -e trace=ioctl -e signal=none -o "$TEST_TMP/strace.log" -X raw \
		"$KVMINI" run -q ${PRELOAD:+--seccomp=off} --kernel "$TG_ELF" --debug-exit \
		--cmdline "scenario=virtio-net frames=4 restarts=0 timeout-ms=90000" $TAPNET \
		</dev/null >"$TEST_TMP/s.out" 2>&1 || rc=$?
	expect_status $PASS_STATUS $rc "run under strace" || { tail -n 20 "$TEST_TMP/s.out"; return 1; }
	expect_model_served
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
	use_model "its fault injection makes the open fail"
	local rc=0
	EXTRA_ENV="VHOST_MODEL_FAIL=OPEN:ENOENT" kv "scenario=hello" $TAPNET || rc=$?
	expect_in "$TEST_TMP/model.log" "open /dev/vhost-net .*ENOENT" "the injected open failure"
	expect_status 1 $rc "vhost=on without /dev/vhost-net"
	expect_in "$TEST_TMP/tg.err" "^kvmini: error: .*vhost=on: .*(/dev/vhost-net|No such file)"
}

t_vhost_auto_falls_back() {
	use_model "its fault injection makes the open fail"
	local rc=0
	EXTRA_ENV="VHOST_MODEL_FAIL=OPEN:ENOENT" kv "scenario=virtio-net frames=20 restarts=0 timeout-ms=90000" \
		--net "tap,ifname=$TAP" || rc=$?
	expect_status $PASS_STATUS $rc "vhost=auto without vhost-net"
	expect_in "$TEST_TMP/tg.err" "userspace backend \(vhost=auto, vhost-net unavailable"
	# Then with the data-path device: the host's where there is one.
	PRELOAD=$DATA_PRELOAD
	rc=0
	kv "scenario=virtio-net frames=20 restarts=0 timeout-ms=90000" --net "tap,ifname=$TAP" || rc=$?
	expect_status $PASS_STATUS $rc "vhost=auto with vhost-net"
	expect_in "$TEST_TMP/tg.err" "vhost-net data path"
}

t_refused_ioctl_fails_the_device_not_kvmini() {
	use_model "its fault injection refuses an ioctl"
	local rc=0
	EXTRA_ENV="VHOST_MODEL_FAIL=SET_VRING_CALL:EINVAL" \
		kv "scenario=virtio-net frames=4 restarts=0 timeout-ms=8000" $TAPNET || rc=$?
	# The guest's driver sees the device fail; kvmini names the ioctl and stays up.
	expect_status 35 $rc "a refused VHOST_SET_VRING_CALL"
	expect_in "$TEST_TMP/tg.err" "VHOST_SET_VRING_CALL: Invalid argument"
	expect_in "$TEST_TMP/model.log" "VHOST_SET_VRING_CALL .*EINVAL \(injected\)" "the injected failure"
}

# A descriptor outside guest RAM: vhost reports it on the ERR eventfd and
# stops the queue; kvmini fails the device so the driver resets it, and the
# same device moves frames again afterwards.
t_ring_error_fails_the_device() {
	use_model "the test checks its vq_err report and must not depend on the kernel version"
	local rc=0
	kv "scenario=virtio-net frames=16 restarts=0 bad-ring=desc-oob timeout-ms=30000" $TAPNET || rc=$?
	expect_status $PASS_STATUS $rc "bad ring through vhost-net"
	expect_in "$TEST_TMP/tg.out" "BAD-RING kind=desc-oob needs_reset=1"
	expect_in "$TEST_TMP/tg.out" "VIRTIO-NET run=1 tx=16 rx=16"
	expect_in "$TEST_TMP/tg.err" "the kernel reported a ring error"
	expect_in "$TEST_TMP/model.log" "vq_err" "the model's ring error report"
}

# The same recovery on the host's own vhost-net: its vhost_get_vq_desc()
# fails to translate the descriptor, vq_err() signals the ERR eventfd, and
# kvmini sets DEVICE_NEEDS_RESET; after the driver's reset frames flow again.
t_ring_error_recovery_on_the_hosts_vhost() {
	if [ -n "$DATA_PRELOAD" ]; then
		echo "no /dev/vhost-net on this host (ring_error_fails_the_device covers the model)"
		return 77
	fi
	local rc=0
	kv "scenario=virtio-net frames=16 restarts=0 bad-ring=desc-oob timeout-ms=30000" $TAPNET || rc=$?
	expect_status $PASS_STATUS $rc "bad ring through the host's vhost-net"
	[ ! -s "$TEST_TMP/model.log" ] || { echo "the model answered, not the host's device"; return 1; }
	expect_in "$TEST_TMP/tg.out" "BAD-RING kind=desc-oob needs_reset=1"
	expect_in "$TEST_TMP/tg.out" "VIRTIO-NET run=1 tx=16 rx=16"
	expect_in "$TEST_TMP/tg.err" "the kernel reported a ring error"
}

skip_suite_unless_root "for network namespaces and taps"
[ -f "$MODEL" ] || { echo "FAIL net_vhost: $MODEL is missing (make vhost-model)"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
MODEL_PRELOAD="LD_PRELOAD=$MODEL"
if [ -c /dev/vhost-net ] && exec 3<>/dev/vhost-net 2>/dev/null; then
	exec 3>&-
	DATA_PRELOAD=
	echo "vhost-net: data-path tests use this host's /dev/vhost-net; fault and ioctl-log tests use tests/vhost-model"
else
	DATA_PRELOAD=$MODEL_PRELOAD
	echo "vhost-net: no usable /dev/vhost-net on this host; every test uses tests/vhost-model (LD_PRELOAD)"
fi
PRELOAD=$DATA_PRELOAD
setup_tap_echo
NEEDS_KVM=1
run_all_tests
summary
