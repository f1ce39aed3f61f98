#!/usr/bin/env bash
# Boot the project's Linux guest under kvmini: busybox with 1 and 2 vCPUs
# (ready marker, CPU count, memory size, command line, poweroff and reboot
# statuses) and the kernel alone (its boot log, the reboot after panic=-1).
# A Linux boot takes most of a minute on a host whose KVM emulates guest
# kernel code, so each boot checks many things at once.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

VMLINUX=${GUEST_VMLINUX:-$GUEST_OUT/vmlinux}
# The uncompressed archive: an emulating host unpacks it in 45 s instead of 60 s.
INITRD=${GUEST_INITRAMFS:-$GUEST_OUT/initramfs.cpio}
TG_ELF=${TESTGUEST_ELF:-$GUEST_OUT/testguest/testguest.elf}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-900}

# boot NAME EXPECTED_STATUS [kvmini run options...]: console in $TEST_TMP/NAME.con
boot() {
	local name=$1 want=$2 rc=0 start end
	shift 2
	start=$(date +%s)
	${BOOT_NS:+ip netns exec "$BOOT_NS"} env ${BOOT_ENV:-} timeout "$BOOT_TIMEOUT" "$KVMINI" run -v \
		--kernel "$VMLINUX" "$@" </dev/null >"$TEST_TMP/$name.con" 2>"$TEST_TMP/$name.err" || rc=$?
	end=$(date +%s)
	echo "boot $name: exit $rc after $((end - start)) s"
	cat "$TEST_TMP/$name.err"
	[ "$rc" -ne 124 ] || { echo "timed out after $BOOT_TIMEOUT s; console tail:"; tail -n 20 "$TEST_TMP/$name.con"; return 1; }
	expect_status "$want" "$rc" "boot $name"
}

b64() { printf '%s' "$1" | base64 -w0; }

# Can this host's KVM run guest user space, and with which kernel? The test
# guest's ring-3 SYSCALL check answers: the project's kernel carries the
# change that handles "pf-at-lstar".
userspace_verdict() {
	local out
	out=$(timeout 60 "$KVMINI" run -q --kernel "$TG_ELF" --debug-exit --cmdline scenario=usermode \
		</dev/null 2>/dev/null | grep '^USERMODE' || true)
	case $out in
	"USERMODE syscall=handler"*) echo ok ;;
	"USERMODE syscall=pf-at-lstar"*) echo patched ;;
	*) echo "no: the test guest saw '${out:-nothing}'" ;;
	esac
}

CMD='echo CMDLINE-SEEN $(cat /proc/cmdline); echo UNAME $(uname -sr); cat /proc/cpuinfo | grep -c ^processor | sed "s/^/CPUINFO-COUNT /"'
NS=kvmini-lb-$$
TAP=kvl$$
HTTP_PORT=$((20000 + $$ % 10000))
FWD_PORT=$((HTTP_PORT + 1))
LISTEN_PORT=5555

# Each test runs in a subshell of its own (run_test): it installs this trap
# so that its servers and its namespace go away with it.
cleanup() {
	for p in ${BG_PIDS:-}; do kill "$p" 2>/dev/null || true; done
	ip netns del "$NS" 2>/dev/null || true
}

have_userspace() {
	[ "$USERSPACE" = ok ] || [ "$USERSPACE" = patched ] && return 0
	echo "guest user space cannot run on this host ($USERSPACE)"
	return 77
}

# A namespace with a persistent tap at 192.168.77.1/24, no IPv6 noise.
setup_ns() {
	trap cleanup EXIT
	ip netns add "$NS"
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n "$NS" link set lo up
	ip -n "$NS" tuntap add dev "$TAP" mode tap vnet_hdr
	ip -n "$NS" addr add 192.168.77.1/24 dev "$TAP"
	ip -n "$NS" link set "$TAP" up
}

# bb1: busybox, 1 vCPU, user-mode networking. The kernel's DHCP client
# configures eth0; the guest fetches a file from an HTTP server on the host's
# loopback (10.0.2.2 through slirp) and serves one through hostfwd.
t_busybox_1cpu_net_user_poweroff() {
	have_userspace || return $?
	trap cleanup EXIT
	local www=$TEST_TMP/www
	mkdir -p "$www"
	head -c 300000 /dev/urandom >"$www/blob"
	python3 -m http.server --bind 127.0.0.1 --directory "$www" "$HTTP_PORT" \
		>"$TEST_TMP/http.log" 2>&1 &
	BG_PIDS="${BG_PIDS:-} $!"
	local cmd="$CMD
ip -4 addr show eth0 | sed -n 's/.*inet \\([0-9.]*\\).*/IPADDR \\1/p'
wget -q -O /tmp/blob http://10.0.2.2:$HTTP_PORT/blob && echo FETCHED \$(md5sum </tmp/blob)
mkdir -p /www && head -c 200000 /dev/urandom >/www/g && echo SERVED \$(md5sum </www/g)
httpd -p 8080 -h /www && echo HTTPD-UP
sleep 30"
	# The host polls the console for HTTPD-UP each second and fetches at once;
	# the guest's 30 s leave room for a slow, emulated guest kernel to serve.
	# The guest waits for the host's fetch: the host side runs while it boots.
	(
		for _ in $(seq "$BOOT_TIMEOUT"); do
			grep -q HTTPD-UP "$TEST_TMP/bb1.con" 2>/dev/null && break
			sleep 1
		done
		python3 -c "import urllib.request,sys; sys.stdout.buffer.write(urllib.request.urlopen('http://127.0.0.1:$FWD_PORT/g', timeout=60).read())" \
			>"$TEST_TMP/fetched" 2>"$TEST_TMP/fetch.err"
	) &
	local fetcher=$!
	boot bb1 0 --initrd "$INITRD" --memory 256M --cpus 1 \
		--net "user,hostfwd=tcp:127.0.0.1:$FWD_PORT-:8080" \
		--cmdline "ip=dhcp kvmini.test=token-1234 kvmini.cmd=$(b64 "$cmd")"
	wait "$fetcher" || true
	local con=$TEST_TMP/bb1.con
	expect_in "$con" "KVMINI-READY"
	expect_in "$con" "KVMINI-INFO cpus=1 "
	# 256 MiB of RAM: the kernel keeps some; MemTotal lands between 200 and 256 MiB.
	local kb
	kb=$(sed -n 's/.*KVMINI-INFO .*memtotal_kb=\([0-9]*\).*/\1/p' "$con" | head -n1)
	[ -n "$kb" ] && [ "$kb" -gt 200000 ] && [ "$kb" -le 262144 ] || { echo "MemTotal $kb kB"; return 1; }
	expect_in "$con" "CMDLINE-SEEN .*console=ttyS0.*kvmini.test=token-1234"
	expect_in "$con" "UNAME Linux 6\\.1"
	expect_in "$con" "CPUINFO-COUNT 1"
	expect_in "$con" "Memory: [0-9]+K/2[0-9]{5}K available"
	expect_in "$con" "smp: Brought up 1 node, 1 CPU"
	# Networking: DHCP lease, a fetch from the host, a fetch into the guest.
	expect_in "$con" "IP-Config: Complete"
	expect_in "$con" "IPADDR 10\\.0\\.2\\.15"
	expect_in "$con" "FETCHED $(md5sum <"$www/blob" | cut -d' ' -f1)"
	local served
	served=$(sed -n 's/.*SERVED \([0-9a-f]*\).*/\1/p' "$con" | head -n1)
	[ -n "$served" ] || { echo "the guest did not serve its file"; return 1; }
	[ "$(md5sum <"$TEST_TMP/fetched" | cut -d' ' -f1)" = "$served" ] || {
		echo "hostfwd fetch differs from what the guest served"; cat "$TEST_TMP/fetch.err"; return 1; }
	expect_in "$con" "KVMINI-CMD-EXIT 0"
}

# bb2: busybox, 2 vCPUs, a tap (userspace backend) in a namespace: ping and a
# TCP transfer whose bytes are compared on both ends; then reboot.
t_busybox_2cpu_net_tap_reboot() {
	have_userspace || return $?
	setup_ns
	ip netns exec "$NS" python3 -c "
import socket, hashlib
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('192.168.77.1', $LISTEN_PORT)); s.listen(1); c, _ = s.accept(); h = hashlib.md5(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b); n += len(b)
open('$TEST_TMP/received', 'w').write('%s %d\\n' % (h.hexdigest(), n))
" &
	BG_PIDS="${BG_PIDS:-} $!"
	local cmd="$CMD
ping -c 3 -W 5 192.168.77.1 | grep -E 'packets transmitted'
head -c 1000000 /dev/urandom >/tmp/f && echo SENT \$(md5sum </tmp/f)
nc 192.168.77.1 $LISTEN_PORT </tmp/f && echo NC-DONE"
	BOOT_NS=$NS boot bb2 3 --initrd "$INITRD" --memory 256M --cpus 2 \
		--net "tap,ifname=$TAP,vhost=off" \
		--cmdline "ip=192.168.77.2::192.168.77.1:255.255.255.0::eth0:off kvmini.end=reboot kvmini.cmd=$(b64 "$cmd")"
	local con=$TEST_TMP/bb2.con
	expect_in "$con" "KVMINI-READY"
	expect_in "$con" "KVMINI-INFO cpus=2 "
	expect_in "$con" "CPUINFO-COUNT 2"
	expect_in "$con" "smp: Brought up 1 node, 2 CPUs"
	expect_in "$con" "3 packets transmitted, 3 (packets )?received"
	expect_in "$con" "NC-DONE"
	local sent
	sent=$(sed -n 's/.*SENT \([0-9a-f]*\).*/\1/p' "$con" | head -n1)
	[ "$(cat "$TEST_TMP/received" 2>/dev/null)" = "$sent 1000000" ] || {
		echo "received '$(cat "$TEST_TMP/received" 2>/dev/null)', the guest sent $sent"; return 1; }
	expect_in "$con" "reboot: Restarting system"
}

# k1: the kernel alone, 1 vCPU, DHCP from dnsmasq over a tap; no root, so
# panic=-1 reboots it.
t_kernel_alone_1cpu_dhcp_tap_panic_reboots() {
	setup_ns
	ip netns exec "$NS" dnsmasq --no-daemon --conf-file=/dev/null --port=0 \
		--interface="$TAP" --bind-interfaces --dhcp-range=192.168.77.50,192.168.77.60,1h \
		--dhcp-leasefile="$TEST_TMP/leases" >"$TEST_TMP/dnsmasq.log" 2>&1 &
	BG_PIDS="${BG_PIDS:-} $!"
	BOOT_NS=$NS boot k1 3 --memory 128M --cpus 1 --net "tap,ifname=$TAP,vhost=off" \
		--cmdline "panic=-1 ip=dhcp"
	local con=$TEST_TMP/k1.con
	expect_in "$con" "Command line: console=ttyS0 .*panic=-1"
	expect_in "$con" "Memory: [0-9]+K/1[0-9]{5}K available"
	expect_in "$con" "smp: Brought up 1 node, 1 CPU"
	expect_in "$con" "IP-Config: Complete"
	expect_in "$con" "addr=192\\.168\\.77\\.5[0-9]|addr=192\\.168\\.77\\.60"
	# With panic=-1 the kernel restarts at once through emergency_restart()
	# and prints nothing more (kernel/panic.c): exit status 3 is the proof.
	expect_in "$con" "Kernel panic - not syncing: No working init found"
}

# kv: the kernel alone, 1 vCPU, vhost-net with queues=2 (the host's
# /dev/vhost-net, or the model): multiqueue negotiated with the control
# queue, Linux enables min(vCPUs, 2) = 1 pair, and DHCP through the kernel's
# data path gets a lease from dnsmasq.
t_kernel_alone_1cpu_vhost_queues2_dhcp() {
	local model=${VHOST_MODEL_SO:-$TOP/build/tests/vhost-model/libvhost-model.so} env=
	if ! { [ -c /dev/vhost-net ] && exec 3<>/dev/vhost-net; } 2>/dev/null; then
		[ -f "$model" ] || { echo "no /dev/vhost-net and no $model (make vhost-model)"; return 1; }
		env="LD_PRELOAD=$model VHOST_MODEL_LOG=$TEST_TMP/kv-model.log"
		echo "no usable /dev/vhost-net: using tests/vhost-model"
	fi
	exec 3>&- 2>/dev/null || true
	setup_ns
	ip -n "$NS" link del "$TAP"
	ip -n "$NS" tuntap add dev "$TAP" mode tap vnet_hdr multi_queue
	ip -n "$NS" addr add 192.168.77.1/24 dev "$TAP"
	ip -n "$NS" link set "$TAP" up
	ip netns exec "$NS" dnsmasq --no-daemon --conf-file=/dev/null --port=0 \
		--interface="$TAP" --bind-interfaces --dhcp-range=192.168.77.50,192.168.77.60,1h \
		--dhcp-leasefile="$TEST_TMP/leases-kv" >"$TEST_TMP/dnsmasq-kv.log" 2>&1 &
	BG_PIDS="${BG_PIDS:-} $!"
	BOOT_NS=$NS BOOT_ENV=$env boot kv 3 --memory 128M --cpus 1 \
		--net "tap,ifname=$TAP,vhost=on,queues=2" --cmdline "panic=-1 ip=dhcp"
	local con=$TEST_TMP/kv.con
	expect_in "$TEST_TMP/kv.err" "vhost-net data path, 2 queue pairs"
	expect_in "$con" "IP-Config: Complete"
	expect_in "$con" "addr=192\\.168\\.77\\.(5[0-9]|60)"
	expect_in "$TEST_TMP/kv.err" "net0 \\(vhost-net\\): 0 frames out, 0 in"
	if [ -n "$env" ]; then
		# Both pairs were set up; the second had no backend while Linux used one pair.
		grep -q "VHOST_NET_SET_BACKEND" "$TEST_TMP/kv-model.log"
		[ "$(grep -c "open /dev/vhost-net" "$TEST_TMP/kv-model.log")" -eq 2 ] || {
			echo "expected one vhost-net fd per queue pair"; return 1; }
	fi
}

# k2: the kernel alone, 2 vCPUs, DHCP over user-mode networking.
t_kernel_alone_2cpu_dhcp_user() {
	boot k2 3 --memory 128M --cpus 2 --net user --cmdline "panic=-1 ip=dhcp"
	local con=$TEST_TMP/k2.con
	expect_in "$con" "ACPI: .*(APIC|MADT)"
	expect_in "$con" "smp: Brought up 1 node, 2 CPUs"
	expect_in "$con" "PCI: Using configuration type 1|PCI: MMCONFIG"
	expect_in "$con" "virtio-pci|virtio_net|eth0"
	expect_in "$con" "IP-Config: Complete"
	expect_in "$con" "addr=10\\.0\\.2\\.15"
	expect_in "$con" "Kernel panic - not syncing"
}

for f in "$VMLINUX" "$INITRD" "$TG_ELF"; do
	if [ ! -f "$f" ]; then
		echo "FAIL linux_boot: $f is missing (make guest)"
		echo "0 passed, 1 failed, 0 skipped"
		exit 1
	fi
done
NEEDS_KVM=1
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	USERSPACE=$(userspace_verdict)
	echo "guest user space on this host: $USERSPACE"
fi
run_all_tests
summary
