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
t_missing_kernel()   { run_bad 1 "cannot open kernel '/nonexistent/vmlinux'" run --kernel /nonexistent/vmlinux; }
t_unreadable_kernel() {
	chmod 000 "$TEST_TMP/text"
	if [ "$(id -u)" -eq 0 ]; then
		# root reads anything: use a directory instead, which is not a file.
		run_bad 1 "is not a regular file" run --kernel "$TEST_TMP"
	else
		run_bad 1 "cannot open kernel .*Permission denied" run --kernel "$TEST_TMP/text"
	fi
}
t_empty_kernel()     { run_bad 1 "kernel '.*' is empty" run --kernel "$TEST_TMP/empty"; }
t_junk_kernel()      { run_bad 1 "neither a bzImage nor an ELF" run --kernel "$junk"; }
t_text_kernel()      { run_bad 1 "neither a bzImage nor an ELF" run --kernel "$TEST_TMP/text"; }
t_foreign_elf()      { run_bad 1 "not a valid x86-64 ELF64" run --kernel "$TEST_TMP/arm.elf"; }
t_old_bzimage()      { run_bad 1 "boot protocol 2.04 without a 64-bit entry" run --kernel "$TEST_TMP/old.bzImage"; }
t_missing_initrd()   { run_bad 1 "cannot open initrd '/nonexistent/initrd'" run --kernel "$TG" --initrd /nonexistent/initrd; }
t_initrd_too_big() {
	truncate -s 40M "$TEST_TMP/big.initrd"
	run_bad 1 "initrd '.*' .* does not fit" run --kernel "$TG" --initrd "$TEST_TMP/big.initrd" --memory 32M
}
t_bad_memory()       { run_bad 2 "--memory: cannot parse 'lots'" run --kernel "$TG" --memory lots; }
t_too_little_memory() { run_bad 2 "--memory: 4M is outside" run --kernel "$TG" --memory 4M; }
t_bad_cpus()         { run_bad 2 "--cpus: 'x'" run --kernel "$TG" --cpus x; }
t_too_many_cpus() {
	run_bad 1 "--cpus 4096: this host's KVM allows at most [0-9]+ vCPUs" run --kernel "$TG" --cpus 4096
}
t_unknown_option()   { run_bad 2 "unknown option '--bogus'" run --kernel "$TG" --bogus; }
t_unknown_command()  { run_bad 2 "unknown command 'frobnicate'" frobnicate; }
t_console_bad_path() { run_bad 1 "--console: cannot open '/nonexistent/dir/log'" run --kernel "$TG" --console file:/nonexistent/dir/log; }
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
t_help_and_version() {
	"$KVMINI" --version | grep -Eq '^kvmini [0-9]+\.[0-9]+\.[0-9]+'
	"$KVMINI" run --help | grep -q -- "--kernel PATH"
	"$KVMINI" --help | grep -q "probe"
}

run_all_tests
summary
