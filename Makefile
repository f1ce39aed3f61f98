# kvmini top-level Makefile. Sources are picked up by wildcard: a new .c file
# in vmm/, devices/ or firmware/ is part of kvmini, a new tests/<dir>/test_*.c
# is a unit-test binary. Fragments for the guests live beside them.

CC ?= gcc
BUILD ?= build
PKG_CONFIG ?= pkg-config

KVMINI_VERSION := 0.1.0
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

WARNINGS := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
	    -Wmissing-prototypes -Wformat=2
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARNINGS) -D_GNU_SOURCE -I. -MMD -MP \
	  -DKVMINI_VERSION='"$(KVMINI_VERSION) ($(GIT_REV))"'
SLIRP_CFLAGS := $(shell $(PKG_CONFIG) --cflags slirp 2>/dev/null)
SLIRP_LIBS := $(shell $(PKG_CONFIG) --libs slirp 2>/dev/null || echo -lslirp)
CFLAGS += $(SLIRP_CFLAGS)
SECCOMP_CFLAGS := $(shell $(PKG_CONFIG) --cflags libseccomp 2>/dev/null)
SECCOMP_LIBS := $(shell $(PKG_CONFIG) --libs libseccomp 2>/dev/null || echo -lseccomp)
CFLAGS += $(SECCOMP_CFLAGS)
LDLIBS += -lpthread -lfdt -lz $(SLIRP_LIBS) $(SECCOMP_LIBS)

SRCS := $(sort $(wildcard vmm/*.c devices/*.c firmware/*.c))
ASMS := $(sort $(wildcard vmm/*.S))
OBJS := $(SRCS:%.c=$(BUILD)/%.o) $(ASMS:%.S=$(BUILD)/%.o)
# Everything but main() goes into a library the unit tests link against.
LIB_OBJS := $(filter-out $(BUILD)/vmm/main.o,$(OBJS))

KVMINI := $(BUILD)/kvmini

.PHONY: all kvmini clean check check-unit check-integration check-full check-migrate soak run deps guest help
all: kvmini

kvmini: $(KVMINI)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libkvmini.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(KVMINI): $(BUILD)/vmm/main.o $(BUILD)/libkvmini.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	tools/install-deps

# Boot the busybox guest with its console on this terminal (Ctrl-A x quits).
RUN_CPUS ?= 2
RUN_MEMORY ?= 512M
RUN_ARGS ?=
run:
	tools/install-deps
	$(MAKE) kvmini guest-kernel guest-initramfs
	$(KVMINI) run --kernel $(GUEST_VMLINUX) --initrd $(GUEST_INITRAMFS_PLAIN) \
		--memory $(RUN_MEMORY) --cpus $(RUN_CPUS) $(RUN_ARGS)

include guest/guest.mk
include tests/tests.mk
include tests/vhost-model/vhost-model.mk
include tests/asan.mk
include tests/bench/bench.mk

# Every test suite prints one line per test and "N passed, N failed, N skipped";
# tests/run-all times each suite and adds them up.
QEMU_SUITES := $(wildcard tests/guest/run-qemu-tests.sh)
# Suites that run guests go through tests/in-kvm: on a host without /dev/kvm
# they run inside a QEMU VM that has one (nested SVM under TCG). linux_boot
# does not: a Linux boot takes minutes there, so without a /dev/kvm of its own
# the host skips each of its tests and says why.
INTEGRATION_SUITES := "tests/in-kvm tests/integration/bad_input.sh" \
		      "tests/in-kvm tests/integration/testguest_boot.sh" \
		      "tests/in-kvm tests/integration/net_testguest.sh" \
		      "tests/in-kvm tests/integration/unprivileged.sh" \
		      "tests/in-kvm tests/integration/hostile_guest.sh" \
		      "tests/in-kvm tests/integration/host_faults.sh" \
		      "tests/in-kvm tests/integration/net_vhost.sh" tests/integration/linux_boot.sh \
		      tests/tools/migrate_demo.sh
check: kvmini unit-tests guest fuzz-build vhost-model
	tests/run-all "tests/run-unit $(UNIT_BINS)" \
		"tests/fuzz/run-fuzz $(FUZZ_CHECK_SECONDS) $(FUZZ_BINS)" \
		tests/vhost-model/run-tests.sh $(QEMU_SUITES) $(INTEGRATION_SUITES)

# Live migration and snapshots (README, "Migration and snapshots"). Not yet
# part of `make check`: see "Known problems" in README.
check-migrate: kvmini testguest vhost-model
	tests/run-all "tests/in-kvm tests/integration/migrate.sh"

# The soak test (README, "Tests"): each backend for SOAK_SECONDS (600) under
# pause, resume and snapshot; kvmini's memory and fds must stay flat. Not in
# make check. SOAK_GUEST=testguest runs the test guest instead of busybox.
SOAK_GUEST ?= busybox
SOAK_SECONDS ?= 600
soak: kvmini $(if $(filter testguest,$(SOAK_GUEST)),testguest,guest)
	SOAK_GUEST=$(SOAK_GUEST) SOAK_SECONDS=$(SOAK_SECONDS) \
		KVM_IN_QEMU_TIMEOUT=$$(($(SOAK_SECONDS) * 3 + 1200)) \
		tests/run-all "tests/in-kvm tests/soak/soak.sh"

check-unit: unit-tests
	tests/run-all "tests/run-unit $(UNIT_BINS)"

check-full: kvmini unit-tests guest fuzz-build vhost-model
	CHECK_FULL=1 tests/run-all "tests/run-unit $(UNIT_BINS)" \
		"tests/fuzz/run-fuzz $(FUZZ_CHECK_SECONDS) $(FUZZ_BINS)" \
		tests/vhost-model/run-tests.sh $(QEMU_SUITES) $(INTEGRATION_SUITES) \
		$(wildcard tests/integration/full_*.sh)

help:
	@echo "make            build $(KVMINI)"
	@echo "make run        install what is missing, build kvmini and the guest, boot it"
	@echo "make check      build what the tests need and run every test"
	@echo "make check-full the long variants as well"
	@echo "make check-migrate  live migration and snapshot tests"
	@echo "make soak       each backend for SOAK_SECONDS under pause/resume/snapshot: memory and fds flat"
	@echo "make check-asan kvmini and the unit tests under ASan/UBSan, with the test-guest boots"
	@echo "make fuzz       every libFuzzer target for FUZZ_SECONDS (300) each"
	@echo "make bench      benchmarks against QEMU into tests/bench/results.md"
	@echo "make guest      build the guest kernel, initramfs and test guest into guest/out/"
	@echo "make clean      remove $(BUILD)/ (guest/out/ stays: make guest-clean)"

clean:
	rm -rf $(BUILD)

-include $(OBJS:.o=.d)
