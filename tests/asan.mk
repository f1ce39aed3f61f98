# check-asan: kvmini and the unit tests built with clang, AddressSanitizer
# (leaks included) and UndefinedBehaviorSanitizer into $(ASAN_BUILD)/, by a
# recursive make of the ordinary targets (-Werror stays), then the unit
# tests and the test-guest boots run against that build. Any sanitizer
# report aborts the process it is in, which fails the test around it.
ASAN_BUILD ?= build-asan
ASAN_CC ?= clang
# Their runtimes make calls no seccomp allow-list expects: --seccomp=off by default.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	      -DKVMINI_SECCOMP_DEFAULT_OFF
ASAN_ENV := KVMINI_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ASAN_UNIT_BINS := $(UNIT_SRCS:%.c=$(ASAN_BUILD)/%)

.PHONY: asan-build check-asan

# CFLAGS and LDFLAGS go through the environment: on the command line they
# would replace the Makefile's own additions (-std, warnings, -I).
asan-build:
	CFLAGS="$(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" $(MAKE) \
		BUILD=$(ASAN_BUILD) CC=$(ASAN_CC) kvmini unit-tests

check-asan: asan-build testguest
	$(ASAN_ENV) KVMINI=$(ASAN_BUILD)/kvmini tests/run-all \
		"tests/run-unit $(ASAN_UNIT_BINS)" "tests/in-kvm tests/integration/testguest_boot.sh"
