#!/usr/bin/env bash
# Every bad input to `kvmini run` gets one clear line on stderr and a
# documented non-zero exit status: never a crash, never a hang.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

# run_bad WANT_STATUS PATTERN ARGS...: kvmini must exit WANT_STATUS within 20 s
# and say PATTERN on stderr in an "error:" line.
run_bad() {
	local want=$1 pattern=$2 rc=0
	shift 2
	timeout 20 "$KVMINI" "$@" </dev/null >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
	cat "$TEST_TMP/err"
	[ "$rc" -ne 124 ] || { echo "kvmini hung: $*"; return 1; }
	[ "$rc" -lt 128 ] || { echo "kvmini died of signal $((rc - 128)): $*"; return 1; }
	expect_status "$want" "$rc" "kvmini $*"
	expect_in "$TEST_TMP/err" "^kvmini: error: .*$pattern" "error line matching '$pattern'"
}

junk=$TEST_TMP/junk.bin
head -c 4096 /dev/urandom >"$junk"
printf 'hello\n' >"$TEST_TMP/text"
: >"$TEST_TMP/empty"
# An ELF header for another machine (32-bit ARM): not an x86-64 kernel.
printf '\177ELF\001\001\001\000\000\000\000\000\000\000\000\000\002\000\050\000' >"$TEST_TMP/arm.elf"
head -c 100 /dev/zero >>"$TEST_TMP/arm.elf"
# A bzImage header claiming boot protocol 2.04 (no 64-bit entry).
python3 - "$TEST_TMP/old.bzImage" <<'PY'
import sys, struct
b = bytearray(8192)
b[0x1f1] = 4
b[0x202:0x206] = b"HdrS"
struct.pack_into("<H", b, 0x206, 0x0204)
open(sys.argv[1], "wb").write(b)
PY
TG=${TESTGUEST_ELF:-$GUEST_OUT/testguest/testguest.elf}

t_no_kernel()        { run_bad 2 "--kernel PATH is required" run; }
t_missing_kernel()   { need_kvm || return; run_bad 1 "cannot open kernel '/nonexistent/vmlinux'" run --kernel /nonexistent/vmlinux; }
t_unreadable_kernel() { need_kvm || return;
	chmod 000 "$TEST_TMP/text"
	if [ "$(id -u)" -eq 0 ]; then
		# root reads anything: use a directory instead, which is not a file.
		run_bad 1 "is not a regular file" run --kernel "$TEST_TMP"
	else
		run_bad 1 "cannot open kernel .*Permission denied" run --kernel "$TEST_TMP/text"
	fi
}
t_empty_kernel()     { need_kvm || return; run_bad 1 "kernel '.*' is empty" run --kernel "$TEST_TMP/empty"; }
t_junk_kernel()      { need_kvm || return; run_bad 1 "neither a bzImage nor an ELF" run --kernel "$junk"; }
t_text_kernel()      { need_kvm || return; run_bad 1 "neither a bzImage nor an ELF" run --kernel "$TEST_TMP/text"; }
t_foreign_elf()      { need_kvm || return; run_bad 1 "not a valid x86-64 ELF64" run --kernel "$TEST_TMP/arm.elf"; }
t_old_bzimage()      { need_kvm || return; run_bad 1 "boot protocol 2.04 without a 64-bit entry" run --kernel "$TEST_TMP/old.bzImage"; }
t_missing_initrd()   { need_kvm || return; run_bad 1 "cannot open initrd '/nonexistent/initrd'" run --kernel "$TG" --initrd /nonexistent/initrd; }
t_initrd_too_big() { need_kvm || return;
	truncate -s 40M "$TEST_TMP/big.initrd"
	run_bad 1 "initrd '.*' .* does not fit" run --kernel "$TG" --initrd "$TEST_TMP/big.initrd" --memory 32M
}
t_bad_memory()       { run_bad 2 "--memory: cannot parse 'lots'" run --kernel "$TG" --memory lots; }
t_too_little_memory() { run_bad 2 "--memory: 4M is outside" run --kernel "$TG" --memory 4M; }
t_bad_cpus()         { run_bad 2 "--cpus: 'x'" run --kernel "$TG" --cpus x; }
t_too_many_cpus() { need_kvm || return;
	run_bad 1 "--cpus 4096: this host's KVM allows at most [0-9]+ vCPUs" run --kernel "$TG" --cpus 4096
}
t_unknown_option()   { run_bad 2 "unknown option '--bogus'" run --kernel "$TG" --bogus; }
t_unknown_command()  { run_bad 2 "unknown command 'frobnicate'" frobnicate; }
t_console_bad_path() { need_kvm || return; run_bad 1 "--console: cannot open '/nonexistent/dir/log'" run --kernel "$TG" --console file:/nonexistent/dir/log; }
t_no_kvm() {
	# Without /dev/kvm: an unshared mount namespace hides it from this kvmini only.
	if ! command -v unshare >/dev/null || [ "$(id -u)" -ne 0 ]; then
		echo "needs root and unshare to hide /dev/kvm"
		return 77
	fi
	local rc=0
	timeout 20 unshare -m sh -c "mount -t tmpfs none /dev && exec '$KVMINI' run --kernel '$TG'" \
		</dev/null >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
	cat "$TEST_TMP/err"
	expect_status 1 "$rc" "kvmini without /dev/kvm"
	expect_in "$TEST_TMP/err" "^kvmini: error: /dev/kvm does not exist"
}
# Migration destinations: the guest comes from the stream or the snapshot.
t_incoming_bad_uri()  { run_bad 2 "--incoming: 'tcp:host': expected tcp:HOST:PORT" run --incoming tcp:host; }
t_incoming_bad_port() { run_bad 2 "--incoming: 'tcp::0': port '0' is not a number" run --incoming tcp::0; }
t_incoming_file()     { run_bad 2 "--incoming: for a snapshot file use --restore FILE" run --incoming file:/tmp/x; }
t_incoming_memory()   { run_bad 2 "--memory comes from the migration stream" run --incoming tcp::4444 --memory 1G; }
t_incoming_cpus()     { run_bad 2 "--cpus comes from the migration stream" run --cpus 2 --incoming unix:/tmp/m.sock; }
t_incoming_kernel()   { run_bad 2 "--kernel: not with --incoming" run --kernel "$TG" --incoming tcp::4444; }
t_restore_cmdline()   { run_bad 2 "--cmdline: not with --restore, the guest comes from the snapshot" run --restore /tmp/s --cmdline quiet; }
t_incoming_restore()  { run_bad 2 "--incoming and --restore exclude each other" run --incoming tcp::4444 --restore /tmp/s; }
t_api_socket_long()   { run_bad 2 "--api-socket: path longer than 107 bytes" run --kernel "$TG" --api-socket "/tmp/$(printf '%0120d' 0)"; }

# kvmini ctl: usage errors (2), no socket or nobody there (1), the reply's ok (0 or 1).
t_ctl_usage()         { run_bad 2 "ctl: missing the socket PATH" ctl; }
t_ctl_no_command()    { run_bad 2 "ctl: missing the COMMAND" ctl "$TEST_TMP/api.sock"; }
t_ctl_bad_timeout()   { run_bad 2 "ctl: --timeout: 'soon' is not a number of seconds" ctl --timeout soon "$TEST_TMP/api.sock" status; }
t_ctl_bad_option()    { run_bad 2 "ctl: unknown option '--bogus'" ctl --bogus "$TEST_TMP/api.sock" status; }
t_ctl_newline()       { run_bad 2 "ctl: argument 1 holds control characters" ctl "$TEST_TMP/api.sock" "$(printf 'status\nstop')"; }
t_ctl_no_socket()     { run_bad 1 "/nonexistent/api.sock: no such socket" ctl /nonexistent/api.sock status; }
t_ctl_stale_socket() {
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$TEST_TMP/stale.sock"
	run_bad 1 "stale.sock: nobody listens on it" ctl "$TEST_TMP/stale.sock" status
}
# A stand-in server: answers the first request with $2 after $1 seconds.
FAKE_API_PID=
fake_api() {
	rm -f "$TEST_TMP/fake.sock"
	timeout 10 python3 - "$TEST_TMP/fake.sock" "$1" "$2" >"$TEST_TMP/fake.req" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)
c, _ = s.accept()
req = c.makefile("rb").readline()
print(req.decode(errors="replace"), end="", flush=True)
time.sleep(float(sys.argv[2]))
c.sendall(sys.argv[3].encode() + b"\n")
time.sleep(0.2)
PY
	FAKE_API_PID=$!
	for _ in $(seq 50); do [ -S "$TEST_TMP/fake.sock" ] && return 0; sleep 0.1; done
	return 1
}
# Its end (after 10 s at most, should the client never come).
fake_api_end() { wait "$FAKE_API_PID" || true; }
t_ctl_reply_ok() {
	fake_api 0 '{"ok":true,"state":"running"}'
	local rc=0
	local kvmini
	kvmini=$(realpath "$KVMINI")
	(cd "$TEST_TMP" && timeout 20 "$kvmini" ctl fake.sock snapshot "my snap") >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
	fake_api_end
	cat "$TEST_TMP/err"
	expect_status 0 "$rc" "ctl with an ok reply"
	expect_in "$TEST_TMP/out" '^\{"ok":true,"state":"running"\}$'
	# A relative file name reaches kvmini as an absolute one.
	expect_in "$TEST_TMP/fake.req" "^snapshot $TEST_TMP/my snap\$"
}
t_ctl_reply_error() {
	fake_api 0 '{"ok":false,"error":"unknown command \u0027x\u0027 \"q\""}'
	run_bad 1 "unknown command 'x' \"q\"" ctl "$TEST_TMP/fake.sock" x
	fake_api_end
	expect_in "$TEST_TMP/out" '^\{"ok":false,'
}
t_ctl_timeout() {
	fake_api 1 '{"ok":true}'
	run_bad 1 "fake.sock: no reply within 0.300 s" ctl --timeout 0.3 "$TEST_TMP/fake.sock" status
	fake_api_end
}

t_help_and_version() {
	"$KVMINI" --version | grep -Eq '^kvmini [0-9]+\.[0-9]+\.[0-9]+'
	"$KVMINI" run --help | grep -q -- "--kernel PATH"
	"$KVMINI" --help | grep -q "probe"
	"$KVMINI" --help | grep -q "ctl"
	"$KVMINI" run --help | grep -q -- "--incoming URI"
	"$KVMINI" ctl --help | grep -q "migrate URI"
}

run_all_tests
summary
