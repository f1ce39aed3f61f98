#!/bin/bash
# Runs every benchmark in tests/bench/, one after the other, then writes
# tests/bench/results.md (report.py). No pass/fail: a benchmark that cannot
# run says why in its rows. BENCH_ONLY="start memory" picks some.
# Usage: tests/bench/run-all.sh   (BENCH_RUNS, BENCH_BOOT_RUNS, BENCH_OUT, ...)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ONLY=${BENCH_ONLY:-start memory net boot migrate}
TOP=$(cd "$HERE/../.." && pwd)
export BENCH_OUT=${BENCH_OUT:-$HERE/out}

if [[ $(id -u) -ne 0 ]]; then
	echo "bench: the network and memory benchmarks need root (network namespace, tap)" >&2
fi
mkdir -p "$BENCH_OUT"
for b in $ONLY; do
	rm -f "$BENCH_OUT/$b.json"
	start=$(date +%s)
	run=(python3 "$HERE/bench_$b.py")
	if [[ $b == migrate && ! -w /dev/kvm ]]; then
		# Migration needs two VMMs with RAM to spare: the VM gets 6G, its
		# figures are only relative (report.py says so, from BENCH_VM).
		export KVM_IN_QEMU_MEM=${KVM_IN_QEMU_MEM:-6G}
		cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
		export BENCH_VM="a QEMU TCG VM from tests/in-kvm (tools/kvm-in-qemu: -accel tcg -cpu max, nested SVM, 1 vCPU, $KVM_IN_QEMU_MEM) on a $cpu host, which has no /dev/kvm"
		run=("$TOP/tests/in-kvm" "${run[@]}")
	fi
	if ! (cd "$TOP" && "${run[@]}"); then
		echo "bench: bench_$b.py failed; its rows are missing from the report" >&2
	fi
	echo "bench: $b took $(($(date +%s) - start)) s" >&2
done
python3 "$HERE/report.py" "${BENCH_RESULTS:-$HERE/results.md}"
