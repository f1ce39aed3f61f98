# Benchmarks: kvmini against QEMU on the same guests (tests/bench/README.md).
# Not part of make check; nothing passes or fails. Writes tests/bench/results.md.
#   make bench BENCH_RUNS=5 BENCH_BOOT_RUNS=1 BENCH_ONLY="start memory net boot migrate"
BENCH_RUNS ?= 5
BENCH_BOOT_RUNS ?= 1
BENCH_ONLY ?= start memory net boot migrate

.PHONY: bench
bench: kvmini testguest $(if $(filter boot,$(BENCH_ONLY)),guest)
	BENCH_RUNS=$(BENCH_RUNS) BENCH_BOOT_RUNS=$(BENCH_BOOT_RUNS) BENCH_ONLY="$(BENCH_ONLY)" \
		tests/bench/run-all.sh
