#!/usr/bin/env bash
# Host faults under a running guest: the tap deleted (userspace and vhost-net
# data paths), the control socket's peers misbehaving, SIGTERM and SIGINT,
# guest memory the host cannot give, and no file descriptor left open after
# teardown (KVMINI_CHECK_FDS=1). Each fault gets one clear line, and kvmini
# neither spins nor dies half-way.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

TG_ELF=${TESTGUEST_ELF:-$GUEST_OUT/testguest/testguest.elf}
MODEL=${VHOST_MODEL_SO:-$TOP/build/tests/vhost-model/libvhost-model.so}
NS=kvmini-hf-$$
TAP=khf$$
# A guest that sends 32 frames through the first NIC, takes them back from
# the echo peer and resets the NIC, over and over (a line per run); when
# frames stop coming back it reports how far it got after its timeout and
# ends (status 35). It sleeps (hlt) while it waits for its frames.
NETGUEST="scenario=virtio-net frames=32 restarts=100000 timeout-ms=60000"
# A guest that sleeps until its console gets a newline.
IDLEGUEST="scenario=wait-input timeout-ms=600000 every-ms=600000"

cleanup() {
	if [ -n "${VM_PID:-}" ]; then kill -9 "$VM_PID" 2>/dev/null || true; fi
	if [ -n "${ECHO_PID:-}" ]; then kill "$ECHO_PID" 2>/dev/null || true; fi
	ip netns del "$NS" 2>/dev/null || true
	ECHO_PID= VM_PID=
}
trap cleanup EXIT

# vm_start [kvmini run options...]: kvmini in the background in $NS (no
# timeout wrapper: VM_PID is kvmini itself, for /proc and signals); its
# console input is a fifo held open in VM_IN.
vm_start() {
	rm -f "$TEST_TMP/vm.in" "$TEST_TMP/vm.out" "$TEST_TMP/vm.err"
	mkfifo "$TEST_TMP/vm.in"
	ip netns exec "$NS" env ${VM_ENV:-} "$KVMINI" run -v --kernel "$TG_ELF" --debug-exit \
		--memory 64M "$@" <"$TEST_TMP/vm.in" >"$TEST_TMP/vm.out" 2>"$TEST_TMP/vm.err" &
	VM_PID=$!
	exec {VM_IN}>"$TEST_TMP/vm.in"
}

# vm_wait: kvmini's exit status (at most 180 s), its output into the log.
vm_wait() {
	local rc=0 i
	for i in $(seq 1800); do
		kill -0 "$VM_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$VM_PID" 2>/dev/null; then
		echo "kvmini did not exit within 180 s"
		return 1
	fi
	wait "$VM_PID" || rc=$?
	VM_PID=
	exec {VM_IN}>&-
	sed 's/^/vm> /' "$TEST_TMP/vm.out" "$TEST_TMP/vm.err"
	return $rc
}

# CPU time (clock ticks) of kvmini's threads other than the vCPUs: the main
# loop and the NIC threads, which must sleep while nothing happens.
host_ticks() {
	local t sum=0 f
	for t in /proc/"$VM_PID"/task/*; do
		grep -q '^vcpu' "$t/comm" 2>/dev/null && continue
		# Fields 14 and 15 (utime, stime) after the ")" that ends comm.
		f=$(sed 's/.*) //' "$t/stat" 2>/dev/null) || continue
		sum=$((sum + $(echo "$f" | awk '{ print $12 + $13 }')))
	done
	echo $sum
}

# The vhost data path: the kernel's where there is one, else the model.
vhost_env() {
	if [ -c /dev/vhost-net ] && (exec 3<>/dev/vhost-net) 2>/dev/null; then
		echo ""
	else
		echo "LD_PRELOAD=$MODEL"
	fi
}

# tap_deleted VHOST: frames flow, the tap goes, kvmini says so once and
# idles, the guest runs on (it reports its frames stopped coming back, and
# its verdict is kvmini's exit status) and the NIC shows link down.
tap_deleted() {
	local vhost=$1 t0 t1 hz rc=0
	setup_tap_echo
	VM_ENV="$([ "$vhost" = on ] && vhost_env || true) KVMINI_CHECK_FDS=1" \
		vm_start --cmdline "$NETGUEST" --net tap,ifname=$TAP,vhost=$vhost \
		--api-socket "$TEST_TMP/vm.sock"
	wait_for "$TEST_TMP/vm.out" "VIRTIO-NET run=2 " 120
	ip -n "$NS" link del "$TAP"
	wait_for "$TEST_TMP/vm.err" "net0: tap $TAP is gone" 10
	timeout 30 "$KVMINI" ctl "$TEST_TMP/vm.sock" status >"$TEST_TMP/status.out"
	cat "$TEST_TMP/status.out"
	expect_in "$TEST_TMP/status.out" '"link":"down"'
	# A NIC thread spinning on the dead fd would burn the whole window.
	hz=$(getconf CLK_TCK)
	t0=$(host_ticks)
	sleep 2
	t1=$(host_ticks)
	kill -0 "$VM_PID" || { echo "kvmini ended during the measurement"; return 1; }
	echo "kvmini's non-vCPU threads: $((t1 - t0)) ticks in 2 s (CLK_TCK $hz)"
	[ $((t1 - t0)) -le $((hz * 2 / 10)) ] || { echo "kvmini spins after the tap went"; return 1; }
	vm_wait || rc=$?
	expect_in "$TEST_TMP/vm.out" "TESTGUEST RESULT FAIL virtio-net: run [0-9]+ sent .* before the timeout"
	expect_status 35 $rc "the guest's verdict after the tap went"
	[ "$(count_in "$TEST_TMP/vm.err" "is gone")" -eq 1 ] || { echo "the message is not there once"; return 1; }
	expect_in "$TEST_TMP/vm.err" "^kvmini: error: net0: tap $TAP is gone \((read|write|check|TUNSETOFFLOAD): File descriptor in bad state\)"
	expect_in "$TEST_TMP/vm.err" "no fd left open after teardown"
}

t_tap_deleted_under_userspace_backend() {
	tap_deleted off
}

t_tap_deleted_under_vhost_net() {
	tap_deleted on
	expect_in "$TEST_TMP/vm.err" "vhost-net data path"
}

# A vhost ioctl that fails while the guest runs (the model's fault
# injection: always the model, even where the kernel's vhost-net exists):
# the second DRIVER_OK cannot set the ring base. kvmini names the ioctl and
# errno, fails the device (DEVICE_NEEDS_RESET) and runs on until the guest
# ends: its status is the guest's verdict, not kvmini's error.
t_vhost_ioctl_failing_mid_run() {
	local rc=0
	[ -f "$MODEL" ] || { echo "no vhost model at $MODEL (make vhost-model)"; return 77; }
	setup_tap_echo
	VM_ENV="LD_PRELOAD=$MODEL VHOST_MODEL_FAIL=SET_VRING_BASE:EIO@3" \
		vm_start --seccomp=off --cmdline "scenario=virtio-net frames=8 restarts=1 timeout-ms=20000" \
		--net tap,ifname=$TAP,vhost=on
	vm_wait || rc=$?
	expect_in "$TEST_TMP/vm.out" "VIRTIO-NET run=0 tx=8 rx=8"
	expect_in "$TEST_TMP/vm.err" "^kvmini: error: net $TAP: vhost-net pair 0: VHOST_SET_VRING_BASE: Input/output error$"
	expect_in "$TEST_TMP/vm.err" "the device failed to start"
	# 35: the test guest's FAIL through the debug-exit port; kvmini itself stayed up.
	expect_status 35 $rc "the guest after its NIC failed"
}

# sig_stop SIGNAL STATUS: SIGNAL ends a running guest with STATUS and one line.
sig_stop() {
	local rc=0
	wait_for "$TEST_TMP/vm.out" "WAIT-INPUT ready" 120
	kill -"$1" "$VM_PID"
	vm_wait || rc=$?
	expect_status "$2" $rc "kvmini after SIG$1"
	expect_in "$TEST_TMP/vm.err" "^kvmini: warning: .*: stopping the guest"
	[ "$(count_in "$TEST_TMP/vm.err" "stopping the guest")" -eq 1 ]
	[ ! -e "$TEST_TMP/vm.sock" ] || { echo "the api socket was left behind"; return 1; }
}

t_sigterm_removes_the_tap_kvmini_made() {
	ip netns add "$NS"
	VM_ENV=KVMINI_CHECK_FDS=1 vm_start --cmdline "$IDLEGUEST" \
		--net tap,ifname=$TAP,vhost=off --api-socket "$TEST_TMP/vm.sock"
	wait_for "$TEST_TMP/vm.out" "WAIT-INPUT ready" 120
	ip -n "$NS" link show "$TAP" >/dev/null
	sig_stop TERM 143
	expect_in "$TEST_TMP/vm.err" "Terminated: stopping the guest"
	expect_in "$TEST_TMP/vm.err" "no fd left open after teardown"
	if ip -n "$NS" link show "$TAP" >/dev/null 2>&1; then
		echo "the tap kvmini created survived it"
		return 1
	fi
}

t_sigint_leaves_an_existing_tap() {
	setup_tap_echo
	VM_ENV="$(vhost_env)" vm_start --cmdline "$IDLEGUEST" --net tap,ifname=$TAP,vhost=on \
		--api-socket "$TEST_TMP/vm.sock"
	sig_stop INT 130
	expect_in "$TEST_TMP/vm.err" "Interrupt: stopping the guest"
	ip -n "$NS" link show "$TAP" >/dev/null || { echo "kvmini removed a tap it did not make"; return 1; }
}

# Clients that go away mid-request: half a line, a request whose reply
# nobody reads (a snapshot, which takes a while), connections dropped in
# bulk. kvmini serves the next client and holds no more fds than before.
t_api_socket_peers_that_vanish() {
	local before after rc=0
	ip netns add "$NS"
	VM_ENV=KVMINI_CHECK_FDS=1 vm_start --cmdline "$IDLEGUEST" --api-socket "$TEST_TMP/vm.sock"
	wait_for "$TEST_TMP/vm.out" "WAIT-INPUT ready" 120
	timeout 30 "$KVMINI" ctl "$TEST_TMP/vm.sock" status >/dev/null
	before=$(ls /proc/"$VM_PID"/fd | wc -l)
	python3 - "$TEST_TMP/vm.sock" "$TEST_TMP/snap" <<'EOF'
import socket, sys, time
path, snap = sys.argv[1], sys.argv[2]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s
s = conn(); s.sendall(b"sta"); s.close()                          # half a line
s = conn(); s.sendall(b"status\n"); s.close()                     # reply unread
s = conn(); s.sendall(("snapshot %s\n" % snap).encode()); s.close()  # long request
time.sleep(0.5)
socks = [conn() for _ in range(50)]                               # many at once
for s in socks: s.close()
for _ in range(200):                                              # and one by one
    s = conn(); s.sendall(b"status\n"); s.shutdown(socket.SHUT_WR); s.close()
s = conn(); s.sendall(b"x" * 70000); s.close()                    # a line too long
EOF
	# The snapshot finishes even though its client left.
	for _ in $(seq 300); do [ -e "$TEST_TMP/snap" ] && break; sleep 0.1; done
	timeout 30 "$KVMINI" ctl "$TEST_TMP/vm.sock" status >"$TEST_TMP/status.out"
	expect_in "$TEST_TMP/status.out" '"ok":true,"state":"running"'
	after=$(ls /proc/"$VM_PID"/fd | wc -l)
	echo "kvmini's fds: $before before, $after after"
	[ "$after" -eq "$before" ] || { ls -l /proc/"$VM_PID"/fd; return 1; }
	[ -s "$TEST_TMP/snap" ] || { echo "the snapshot did not complete"; return 1; }
	kill -TERM "$VM_PID"
	vm_wait || rc=$?
	expect_status 143 $rc "kvmini after the clients"
	expect_in "$TEST_TMP/vm.err" "no fd left open after teardown"
}

# Guest RAM the host will not map: one line naming the size and the errno,
# the setup-failure status, nothing created on the host.
t_memory_the_host_cannot_give() {
	need_kvm || return
	local rc=0
	ip netns add "$NS"
	( ulimit -v 2000000
	  exec ip netns exec "$NS" "$KVMINI" run --kernel "$TG_ELF" --memory 64G \
		--net tap,ifname=$TAP --api-socket "$TEST_TMP/vm.sock" --quirks off ) \
		</dev/null >"$TEST_TMP/mem.out" 2>"$TEST_TMP/mem.err" || rc=$?
	cat "$TEST_TMP/mem.err"
	expect_status 1 $rc "--memory 64G under ulimit -v"
	[ "$(wc -l <"$TEST_TMP/mem.err")" -eq 1 ] || { echo "expected one line"; return 1; }
	expect_in "$TEST_TMP/mem.err" "^kvmini: error: cannot allocate 65536 MiB of guest memory: Cannot allocate memory$"
	[ ! -e "$TEST_TMP/vm.sock" ] || { echo "an api socket was left behind"; return 1; }
	if ip -n "$NS" link show "$TAP" >/dev/null 2>&1; then
		echo "a tap was left behind"
		return 1
	fi
}

# Every kind of device, a snapshot, then teardown: no fd may stay open.
t_no_fd_left_open_with_every_device() {
	local rc=0
	setup_tap_echo
	ip -n "$NS" tuntap add dev "${TAP}v" mode tap vnet_hdr
	VM_ENV="$(vhost_env) KVMINI_CHECK_FDS=1" vm_start --cmdline "$IDLEGUEST" \
		--net user --net tap,ifname=$TAP,vhost=off --net tap,ifname=${TAP}v,vhost=on \
		--net tap,ifname=${TAP}n --api-socket "$TEST_TMP/vm.sock"
	wait_for "$TEST_TMP/vm.out" "WAIT-INPUT ready" 120
	timeout 120 "$KVMINI" ctl "$TEST_TMP/vm.sock" snapshot "$TEST_TMP/snap" >"$TEST_TMP/ctl.out"
	expect_in "$TEST_TMP/ctl.out" '"ok":true'
	timeout 30 "$KVMINI" ctl "$TEST_TMP/vm.sock" stop >/dev/null || true
	vm_wait || rc=$?
	expect_status 6 $rc "kvmini after stop"
	expect_in "$TEST_TMP/vm.err" "net2: .*vhost-net data path"
	expect_in "$TEST_TMP/vm.err" "no fd left open after teardown"
	! grep -Eq "fd [0-9]+ left open" "$TEST_TMP/vm.err"
}

skip_suite_unless_root "for network namespaces and taps"
NEEDS_KVM=1
# run_test runs each test in a subshell, where the EXIT trap starts afresh.
run_test_clean() {
	ip netns del "$NS" 2>/dev/null || true
	trap cleanup EXIT
	"$@"
}
for t in $(declare -F | awk '$3 ~ /^t_/ { print $3 }'); do
	[[ ${t#t_} =~ ${TEST_FILTER:-.} ]] || continue
	run_test "${t#t_}" run_test_clean "$t"
done
summary
