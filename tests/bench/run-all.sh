#!/bin/bash
# Runs every benchmark in tests/bench/, one after the other, then writes
# tests/bench/results.md (report.py). No pass/fail: a benchmark that cannot
# run says why in its rows. BENCH_ONLY="start memory" picks some.
# Usage: tests/bench/run-all.sh   (BENCH_RUNS, BENCH_BOOT_RUNS, BENCH_OUT, ...)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ONLY=${BENCH_ONLY:-start memory net boot}
export BENCH_OUT=${BENCH_OUT:-$HERE/out}

if [[ $(id -u) -ne 0 ]]; then
	echo "bench: the network and memory benchmarks need root (network namespace, tap)" >&2
fi
mkdir -p "$BENCH_OUT"
for b in $ONLY; do
	rm -f "$BENCH_OUT/$b.json"
	start=$(date +%s)
	if ! python3 "$HERE/bench_$b.py"; then
		echo "bench: bench_$b.py failed; its rows are missing from the report" >&2
	fi
	echo "bench: $b took $(($(date +%s) - start)) s" >&2
done
python3 "$HERE/report.py" "${BENCH_RESULTS:-$HERE/results.md}"
