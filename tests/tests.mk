# Unit tests: every tests/<dir>/test_*.c is one criterion binary linked
# against libkvmini.a.
UNIT_SRCS := $(sort $(wildcard tests/vmm/test_*.c tests/devices/test_*.c tests/firmware/test_*.c))
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)

$(BUILD)/tests/%: tests/%.c $(BUILD)/libkvmini.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libkvmini.a $(LDLIBS) -lcriterion

.PHONY: unit-tests
unit-tests: $(UNIT_BINS)

# libFuzzer targets: every tests/fuzz/fuzz_*.c, linked against all of
# kvmini's code built with clang and ASan/UBSan. `make check` runs each for
# FUZZ_CHECK_SECONDS, `make fuzz` for FUZZ_SECONDS.
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_CC ?= clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -I. $(SLIRP_CFLAGS) -DKVMINI_VERSION='"fuzz"' \
	       -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB_OBJS := $(filter-out $(BUILD)/fuzz-obj/vmm/main.o,$(SRCS:%.c=$(BUILD)/fuzz-obj/%.o))
# Kept: make would otherwise delete them as intermediates after each fuzzer.
.SECONDARY: $(FUZZ_LIB_OBJS)
FUZZ_SECONDS ?= 300
FUZZ_CHECK_SECONDS ?= 10

$(BUILD)/fuzz-obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -fsanitize=fuzzer-no-link -c -o $@ $<

# The targets' own headers (tests/fuzz/*.h) are few: each target depends on all.
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_OBJS) $(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(filter %.c %.o,$^) $(LDLIBS)

-include $(FUZZ_LIB_OBJS:.o=.d)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)
fuzz: $(FUZZ_BINS)
	tests/fuzz/run-fuzz $(FUZZ_SECONDS) $(FUZZ_BINS)
