# Unit tests: every tests/<dir>/test_*.c is one criterion binary linked
# against libkvmini.a.
UNIT_SRCS := $(sort $(wildcard tests/vmm/test_*.c tests/devices/test_*.c tests/firmware/test_*.c))
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)

$(BUILD)/tests/%: tests/%.c $(BUILD)/libkvmini.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libkvmini.a $(LDLIBS) -lcriterion

.PHONY: unit-tests
unit-tests: $(UNIT_BINS)
