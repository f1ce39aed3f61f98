# The freestanding test guest (guest/testguest/README.md). Built with the host gcc:
# one ELF with a PVH note (for `kvmini run --kernel` and `qemu-system-x86_64 -kernel`)
# and the same code wrapped in a minimal bzImage.

TESTGUEST_DIR := guest/testguest
TESTGUEST_OUT := $(GUEST_OUT)/testguest
TESTGUEST_ELF := $(TESTGUEST_OUT)/testguest.elf
TESTGUEST_BZIMAGE := $(TESTGUEST_OUT)/testguest.bzImage

TESTGUEST_CC ?= gcc
TESTGUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-ffreestanding -fno-pic -fno-pie -nostdlib -mno-red-zone -mgeneral-regs-only \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables \
	-fno-builtin -fcf-protection=none -mno-sse -mno-mmx -mno-80387 \
	-fno-tree-loop-distribute-patterns -I$(TESTGUEST_DIR) -MMD -MP
TESTGUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,noexecstack \
	-Wl,-z,max-page-size=0x1000 -Wl,--no-warn-rwx-segments

TESTGUEST_SRCS := $(sort $(wildcard $(TESTGUEST_DIR)/*.c))
# bzimage.S is not part of the ELF: it wraps the flat payload.
TESTGUEST_ASMS := $(filter-out $(TESTGUEST_DIR)/bzimage.S,$(sort $(wildcard $(TESTGUEST_DIR)/*.S)))
TESTGUEST_OBJS := $(TESTGUEST_SRCS:$(TESTGUEST_DIR)/%.c=$(TESTGUEST_OUT)/%.o) \
		  $(TESTGUEST_ASMS:$(TESTGUEST_DIR)/%.S=$(TESTGUEST_OUT)/%.o)

.PHONY: testguest
testguest: $(TESTGUEST_ELF) $(TESTGUEST_BZIMAGE)

$(TESTGUEST_OUT)/%.o: $(TESTGUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(TESTGUEST_CC) $(TESTGUEST_CFLAGS) -c -o $@ $<

$(TESTGUEST_OUT)/%.o: $(TESTGUEST_DIR)/%.S
	@mkdir -p $(dir $@)
	$(TESTGUEST_CC) $(TESTGUEST_CFLAGS) -c -o $@ $<

$(TESTGUEST_ELF): $(TESTGUEST_OBJS) $(TESTGUEST_DIR)/testguest.ld
	$(TESTGUEST_CC) $(TESTGUEST_LDFLAGS) -T $(TESTGUEST_DIR)/testguest.ld -o $@ $(TESTGUEST_OBJS)

# The bzImage payload: everything the ELF loads at 1 MiB except .bss.
$(TESTGUEST_OUT)/payload.bin: $(TESTGUEST_ELF)
	objcopy -O binary --remove-section=.bss $< $@

# init_size (memory the image needs from 1 MiB, .bss included) comes from the ELF.
$(TESTGUEST_OUT)/bzimage.o: $(TESTGUEST_DIR)/bzimage.S $(TESTGUEST_OUT)/payload.bin
	$(TESTGUEST_CC) -c -o $@ -I$(TESTGUEST_OUT) \
		-DINIT_SIZE=0x$$(nm $(TESTGUEST_ELF) | awk '$$3 == "__image_size" { print $$1 }') $<

$(TESTGUEST_BZIMAGE): $(TESTGUEST_OUT)/bzimage.o
	ld -Ttext=0 --oformat=binary -o $@ $<

-include $(TESTGUEST_OBJS:.o=.d)
