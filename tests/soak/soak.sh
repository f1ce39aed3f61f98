#!/usr/bin/env bash
# The soak test (make soak; not part of make check): one guest per backend
# (user, tap with vhost=off, tap with vhost=on where /dev/vhost-net exists)
# moves traffic for SOAK_SECONDS while a loop pauses, resumes and snapshots
# it through the control socket. kvmini's memory (Rss of every mapping but
# guest RAM: Firecracker's method, as tests/bench/bench_memory.py) and its
# open fds are sampled after each round of commands. A backend fails when,
# after the warm-up, the Rss rises more than SOAK_RSS_SLACK_KIB above the
# warm-up's peak, or the fd count differs from the warm-up's last sample,
# or a command fails, or the guest stops moving traffic or fails its checks.
#
#   SOAK_GUEST=busybox|testguest  busybox (default): guest/out (make guest),
#                wget in a loop from an HTTP server on the host side;
#                testguest: the test guest's checked traffic (an echo peer
#                returns its frames on a tap; pings through libslirp)
#   SOAK_SECONDS=600   per backend
#   SOAK_PERIOD=6      seconds per round of pause, resume, snapshot, sample
#   SOAK_WARMUP=       seconds of warm-up (default a quarter, at most 60)
#   SOAK_RSS_SLACK_KIB=1024  growth allowed in small pages
#   SOAK_THP_SLACK_KIB=8192  in transparent huge pages (four of them)
#   SOAK_BACKENDS="user tap vhost"
#   SOAK_KEEP=DIR      copy the logs there at the end
#   SOAK_START_TIMEOUT=300  seconds for the guest to boot and move traffic
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
SUITE=soak

SOAK_GUEST=${SOAK_GUEST:-busybox}
SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_PERIOD=${SOAK_PERIOD:-6}
SOAK_RSS_SLACK_KIB=${SOAK_RSS_SLACK_KIB:-1024}
SOAK_THP_SLACK_KIB=${SOAK_THP_SLACK_KIB:-8192}
SOAK_START_TIMEOUT=${SOAK_START_TIMEOUT:-300}
SOAK_BACKENDS=${SOAK_BACKENDS:-user tap vhost}
WARMUP=${SOAK_WARMUP:-$((SOAK_SECONDS / 4 < 60 ? SOAK_SECONDS / 4 : 60))}
TG_ELF=${TESTGUEST_ELF:-$GUEST_OUT/testguest/testguest.elf}
VMLINUX=${GUEST_VMLINUX:-$GUEST_OUT/vmlinux}
INITRD=${GUEST_INITRAMFS:-$GUEST_OUT/initramfs.cpio.gz}
NS=kvmini-soak-$$
TAP=kvsoak$$
SOCK=$TEST_TMP/soak.sock
HTTP_PORT=8099
BG_PIDS=()

cleanup() {
	[ -z "${SOAK_KEEP:-}" ] || cp "$TEST_TMP"/*.log "$TEST_TMP"/*.out "$TEST_TMP"/*.err "$TEST_TMP"/*.table \
		"$SOAK_KEEP/" 2>/dev/null || true
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT

case $SOAK_GUEST in
testguest) MEMORY=64 ;;
busybox) MEMORY=256 ;;
*) echo "soak: SOAK_GUEST=$SOAK_GUEST: expected busybox or testguest" >&2; exit 2 ;;
esac

# vmm_rss_kib PID: "RSS THP" in KiB over every mapping but guest RAM (the one
# mapping of guest RAM's size, up to 8 MiB more for alignment), as
# benchlib.smaps_rss; THP is the part in transparent huge pages
# (AnonHugePages), which a thread stack or malloc arena gains 2 MiB at a
# time when the kernel backs it with one: counted apart, or one such fault
# would read as a leak.
vmm_rss_kib() {
	awk -v lo=$((MEMORY << 10)) -v hi=$(((MEMORY + 8) << 10)) '
		/^[0-9a-f]+-[0-9a-f]+ / { guest = 0; next }
		$1 == "Size:" { guest = $2 >= lo && $2 <= hi }
		$1 == "Rss:" && !guest { kib += $2 }
		$1 == "AnonHugePages:" && !guest { thp += $2 }
		END { print kib + 0, thp + 0 }' "/proc/$1/smaps"
}

fd_count() { ls "/proc/$1/fd" | wc -l; }

# The namespace: lo (libslirp's 10.0.2.2 is its loopback), a tap from
# tools/mktap with 192.168.100.1, and per guest kind the peer: an echo of
# every frame (test guest), or an HTTP server with a 1 MiB file (busybox).
setup_ns() {
	ip netns add "$NS"
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n "$NS" link set lo up
	ip netns exec "$NS" "$TOP/tools/mktap" "$TAP" --user 0 >/dev/null
	if [ "$SOAK_GUEST" = testguest ]; then
		ip netns exec "$NS" /usr/bin/python3 "$TOP/tests/integration/frame_echo.py" "$TAP" \
			"$TEST_TMP/echo.ready" &
		BG_PIDS+=($!)
	else
		ip -n "$NS" addr add 192.168.100.1/24 dev "$TAP"
		mkdir -p "$TEST_TMP/www"
		head -c 1M /dev/urandom >"$TEST_TMP/www/blob"
		ip netns exec "$NS" /usr/bin/python3 -m http.server -d "$TEST_TMP/www" "$HTTP_PORT" \
			>"$TEST_TMP/http.log" 2>&1 &
		BG_PIDS+=($!)
	fi
}

# guest_args BACKEND: kvmini's guest arguments for the traffic on BACKEND,
# into KARGS and GCMD (no process substitution: /dev/fd is missing inside
# tests/in-kvm).
guest_args() {
	local server script ip
	if [ "$SOAK_GUEST" = testguest ]; then
		if [ "$1" = user ]; then
			# Through libslirp: 2000 frames out and 1000 pings (the most
			# one scenario takes) per scenario, 14 times (the test guest
			# takes 1023 bytes of command line), then frames out for hours.
			KARGS="--kernel $TG_ELF --debug-exit --no-default-cmdline"
			GCMD="loop=0 restarts=0 timeout-ms=36000000"
			for _ in $(seq 14); do
				GCMD+=" scenario=virtio-net frames=2000 ping=10.0.2.2 pings=1000"
			done
			GCMD+=" scenario=virtio-net frames=100000000"
		else
			# Frames checked end to end until a byte arrives on the console.
			KARGS="--kernel $TG_ELF --debug-exit --no-default-cmdline"
			GCMD="scenario=dirty net=1 rounds=0 pages=64 ring=0 every=20 net-drain-ms=5000"
		fi
		return
	fi
	if [ "$1" = user ]; then
		server=10.0.2.2
		ip="ip=dhcp"
	else
		server=192.168.100.1
		ip="ip=192.168.100.2::192.168.100.1:255.255.255.0::eth0:off"
	fi
	script="while :; do wget -q -O /dev/null http://$server:$HTTP_PORT/blob && echo SOAK-TICK || echo SOAK-WGET-FAIL; done"
	KARGS="--kernel $VMLINUX --initrd $INITRD"
	GCMD="$ip kvmini.cmd=$(printf '%s' "$script" | base64 -w0)"
}

# progress BACKEND FILE: a count that grows while traffic moves: the guest's
# own count, or with libslirp kvmini's frame counters from the last status.
progress() {
	if [ "$SOAK_GUEST" = busybox ]; then
		grep -c '^SOAK-TICK' "$2" || true
	elif [ "$1" = user ]; then
		[ -s "$TEST_TMP/status" ] || { grep -c '^PING reply' "$2" || true; return; }
		sed 's/.*"rx_frames":\([0-9]*\).*"tx_frames":\([0-9]*\).*/\1 \2/' "$TEST_TMP/status" |
			awk '{ print $1 + $2 }'
	else
		# Complete lines only: the guest may be writing the last one.
		{ grep -E '^NET round=[0-9]+ tx=[0-9]+ rx=[0-9]+ lost=' "$2" || true; } | tail -n 1 |
			sed 's/.* rx=\([0-9]*\) .*/\1/'
	fi
}

ctl() {
	"$KVMINI" ctl --timeout 120 "$SOCK" "$@" >"$TEST_TMP/reply" 2>&1 || {
		echo "kvmini ctl $*: $(cat "$TEST_TMP/reply")"
		return 1
	}
	cat "$TEST_TMP/reply" >>"$TEST_TMP/ctl.log"
}

# soak BACKEND: one guest for SOAK_SECONDS; the table goes to $TEST_TMP/BACKEND.table.
soak() {
	local be=$1 net pid start now t rss fds prog ops=0 round=0 rc=0 table t0 t1 t2 thp
	local out=$TEST_TMP/$be.out err=$TEST_TMP/$be.err
	table=$TEST_TMP/$be.table
	case $be in
	user) net="user" ;;
	tap) net="tap,ifname=$TAP,vhost=off" ;;
	vhost)
		[ -c /dev/vhost-net ] || { echo "no /dev/vhost-net on this host: the vhost=on soak cannot run"; return 77; }
		net="tap,ifname=$TAP,vhost=on" ;;
	esac
	guest_args "$be"
	rm -f "$SOCK" "$TEST_TMP/in" "$TEST_TMP/status"
	mkfifo "$TEST_TMP/in"
	# ip netns exec execs kvmini: $! is its pid.
	ip netns exec "$NS" "$KVMINI" run -v $KARGS --cmdline "$GCMD" --memory "${MEMORY}M" \
		--net "$net" --api-socket "$SOCK" --console stdio <"$TEST_TMP/in" >"$out" 2>"$err" &
	pid=$!
	exec 6>"$TEST_TMP/in"
	prog=0
	for _ in $(seq $((SOAK_START_TIMEOUT * 2))); do
		[ -S "$SOCK" ] && ctl status >/dev/null && cp "$TEST_TMP/reply" "$TEST_TMP/status"
		prog=$(progress "$be" "$out")
		[ "${prog:-0}" -gt 0 ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	if ! [ "${prog:-0}" -gt 0 ]; then
		echo "no traffic within $SOAK_START_TIMEOUT s of the start (SOAK_START_TIMEOUT)"
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		exec 6>&-
		tail -n 20 "$out" "$err"
		return 1
	fi
	start=$(date +%s)
	printf '%-6s %6s %9s %8s %4s %5s %10s %8s %7s\n' backend t/s small/KiB thp/KiB fds ops traffic \
		pause/s snap/s >"$table"
	while now=$(date +%s); [ $((now - start)) -lt "$SOAK_SECONDS" ]; do
		kill -0 "$pid" 2>/dev/null || { echo "kvmini exited during the soak"; break; }
		t0=$(date +%s.%N)
		ctl pause && ctl status || { rc=1; break; }
		grep -q '"state":"paused"' "$TEST_TMP/reply" || { echo "paused, yet: $(cat "$TEST_TMP/reply")"; rc=1; break; }
		ctl resume || { rc=1; break; }
		ops=$((ops + 3))
		t1=$(date +%s.%N)
		# A snapshot every third round: under nested KVM one takes seconds.
		round=$((round + 1))
		if [ $((round % 3)) = 1 ]; then
			ctl snapshot "$TEST_TMP/snap" || { rc=1; break; }
			ops=$((ops + 1))
		fi
		t2=$(date +%s.%N)
		ctl status || { rc=1; break; }
		cp "$TEST_TMP/reply" "$TEST_TMP/status"
		ops=$((ops + 1))
		sleep "$SOAK_PERIOD"
		t=$(($(date +%s) - start))
		read -r rss thp <<<"$(vmm_rss_kib "$pid")" && fds=$(fd_count "$pid") || break
		prog=$(progress "$be" "$out")
		# The last warm-up sample's mappings and the latest, to name what grew.
		if [ "$t" -le "$WARMUP" ]; then
			cp "/proc/$pid/smaps" "$TEST_TMP/$be.smaps0" 2>/dev/null || true
		else
			cp "/proc/$pid/smaps" "$TEST_TMP/$be.smaps1" 2>/dev/null || true
		fi
		printf '%-6s %6d %9d %8d %4d %5d %10d %8.2f %7.2f\n' "$be" "$t" "$((rss - thp))" "$thp" \
			"$fds" "$ops" "$prog" \
			"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
			"$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')" >>"$table"
	done
	# End: the tap test guest verifies everything after a byte; others stop.
	if [ "$SOAK_GUEST" = testguest ] && [ "$be" != user ] && kill -0 "$pid" 2>/dev/null; then
		echo >&6
		for _ in $(seq 240); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
	else
		ctl stop || true
	fi
	exec 6>&-
	kill "$pid" 2>/dev/null || true
	local st=0
	wait "$pid" || st=$?
	cat "$table"
	tail -n 5 "$out"
	grep -E 'net0|error' "$err" || true
	[ "$rc" = 0 ] || return 1
	if [ "$SOAK_GUEST" = testguest ] && [ "$be" != user ]; then
		expect_status 33 "$st" "the test guest after the soak"
		expect_in "$out" "^NET verify ok"
	else
		expect_status 6 "$st" "kvmini stopped through the control socket"
	fi
	[ "$be" != vhost ] || expect_in "$err" "vhost-net data path"
	judge "$table" || { grown "$be"; return 1; }
}

# grown BACKEND: the mappings whose Rss grew most from the warm-up's end.
grown() {
	[ -f "$TEST_TMP/$1.smaps0" ] && [ -f "$TEST_TMP/$1.smaps1" ] || return 0
	echo "mappings whose Rss grew most since the warm-up (KiB, mapping):"
	awk '/^[0-9a-f]+-[0-9a-f]+ / { m = $1 " " $6 } $1 == "Rss:" {
			if (FILENAME ~ /smaps0$/) a[m] = $2; else b[m] = $2 }
		END { for (m in b) if (b[m] - a[m] > 0) printf "%8d %s\n", b[m] - a[m], m }' \
		"$TEST_TMP/$1.smaps0" "$TEST_TMP/$1.smaps1" | sort -rn | head -n 5
}

# judge TABLE: after the warm-up, Rss in small pages within
# SOAK_RSS_SLACK_KIB of the warm-up's peak and in huge pages within
# SOAK_THP_SLACK_KIB of it, fds as at the warm-up's end, traffic moving.
judge() {
	awk -v warm="$WARMUP" -v slack="$SOAK_RSS_SLACK_KIB" -v tslack="$SOAK_THP_SLACK_KIB" '
		NR == 1 { next }
		$2 <= warm { peak = $3 > peak ? $3 : peak; tpeak = $4 > tpeak ? $4 : tpeak; wfd = $5; wprog = $7; nw++; next }
		{
			n++
			if (!nw) { peak = $3; tpeak = $4; wfd = $5; nw = 1 }
			if ($3 > max) max = $3
			if ($4 > tmax) tmax = $4
			if ($3 > peak + slack) { printf "Rss %d KiB in small pages at %d s: more than %d KiB above the warm-up peak %d KiB\n", $3, $2, slack, peak; bad = 1 }
			if ($4 > tpeak + tslack) { printf "Rss %d KiB in huge pages at %d s: more than %d KiB above the warm-up peak %d KiB\n", $4, $2, tslack, tpeak; bad = 1 }
			if ($5 != wfd) { printf "%d fds at %d s, %d after the warm-up\n", $5, $2, wfd; bad = 1 }
			last = $7
		}
		END {
			if (n < 2) { print "fewer than 2 samples after the warm-up: raise SOAK_SECONDS"; exit 1 }
			if (last <= wprog) { printf "no traffic after the warm-up (%d then %d)\n", wprog, last; exit 1 }
			printf "warm-up peak %d KiB small pages + %d KiB huge, later max %d (%+d) + %d (%+d), fds %d, %d samples after %d s\n", peak, tpeak, max, max - peak, tmax, tmax - tpeak, wfd, n, warm
			exit bad
		}' "$1"
}

skip_suite_unless_root "for the network namespace and the tap"
if [ "$SOAK_GUEST" = busybox ] && ! [ -f "$VMLINUX" ] && [ -r /dev/kvm ]; then
	echo "soak: no $VMLINUX: make guest (or SOAK_GUEST=testguest)" >&2
	exit 2
fi
echo "soak: $SOAK_GUEST guest, ${SOAK_SECONDS}s per backend ($SOAK_BACKENDS), a round every ~${SOAK_PERIOD}s, warm-up ${WARMUP}s, Rss slack ${SOAK_RSS_SLACK_KIB} KiB (+${SOAK_THP_SLACK_KIB} KiB in huge pages)"
NEEDS_KVM=1
[ -r /dev/kvm ] && [ -w /dev/kvm ] && setup_ns
for be in $SOAK_BACKENDS; do
	run_test "$be" soak "$be"
	if [ -f "$TEST_TMP/$be.table" ]; then
		sed 's/^/    /' "$TEST_TMP/$be.table"
		grep -E '^(warm-up|Rss|[0-9]+ fds|no traffic|fewer|mappings| +[0-9]+ [0-9a-f]+-)' "$TEST_TMP/$be.log" |
			sed 's/^/    /' || true
	fi
done
summary
