#!/usr/bin/env bash
# Build vhost-model and run its tests with the model preloaded: once as the
# kernel behaves, once with VHOST_MODEL_STRICT=1. One line per test, then
# "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
make -s -f tests/vhost-model/vhost-model.mk BUILD="$BUILD" vhost-model >&2 || {
	echo "FAIL vhost-model/build"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
so=$PWD/$BUILD/tests/vhost-model/libvhost-model.so
bin=$BUILD/tests/vhost-model/test_vhost_model
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 skip=0
run() {
	local out rc
	out=$(timeout 120 env "$@" 2>&1)
	rc=$?
	while IFS= read -r line; do
		case $line in
		PASS*|FAIL*|SKIP*) echo "$line" ;;
		*" passed, "*" failed, "*" skipped")
			read -r p _ f _ s _ <<<"$line"
			pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s)) ;;
		*) echo "    $line" ;;
		esac
	done <<<"$out"
	if [ $rc -ne 0 ] && ! grep -q "^FAIL" <<<"$out"; then
		echo "FAIL vhost-model: exited $rc without reporting a failed test"
		fail=$((fail + 1))
	fi
}
run VHOST_MODEL_LOG="$tmp/log" LD_PRELOAD="$so" "$bin"
run VHOST_MODEL_STRICT=1 LD_PRELOAD="$so" "$bin" strict
# kvmini's own vhost backend logging under the model: the criterion test
# that needs /dev/vhost-net (built by `make unit-tests`; skipped if absent).
crit=$BUILD/tests/devices/test_net_log
name=vhost-model/kvmini/a_vhost_worker_logs_what_it_writes
if [ ! -x "$crit" ]; then
	echo "SKIP $name: $crit not built (make unit-tests)"; skip=$((skip + 1))
else
	out=$(timeout 120 env LD_PRELOAD="$so" "$crit" --filter 'net_log/a_vhost_worker*' 2>&1)
	if [ $? -ne 0 ]; then
		echo "FAIL $name"; sed 's/^/    /' <<<"$out"; fail=$((fail + 1))
	elif grep -q "Tested: 1 | Passing: 1 " <<<"$out"; then
		echo "PASS $name"; pass=$((pass + 1))
	else
		echo "SKIP $name: $(grep -m1 -i skip <<<"$out")"; skip=$((skip + 1))
	fi
fi
[ -n "${VHOST_MODEL_KEEP_LOG:-}" ] && cp "$tmp/log" "$VHOST_MODEL_KEEP_LOG"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
