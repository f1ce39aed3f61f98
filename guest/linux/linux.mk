# Guest kernel: guest/linux/build-kernel.sh does the work and keeps its own
# cache (a hash of every input), so make only has to notice that an input
# changed; the patches directory itself is listed so that a removed patch
# counts too.
GUEST_LINUX_DIR := guest/linux
GUEST_VMLINUX := $(GUEST_OUT)/vmlinux
GUEST_BZIMAGE := $(GUEST_OUT)/bzImage
GUEST_KERNEL_INPUTS := $(GUEST_LINUX_DIR)/build-kernel.sh $(GUEST_LINUX_DIR)/kvmini.config \
	$(GUEST_LINUX_DIR)/patches $(wildcard $(GUEST_LINUX_DIR)/patches/*.patch)

.PHONY: guest-kernel
guest-kernel: $(GUEST_VMLINUX) $(GUEST_BZIMAGE)

$(GUEST_VMLINUX) $(GUEST_BZIMAGE) &: $(GUEST_KERNEL_INPUTS)
	$(GUEST_LINUX_DIR)/build-kernel.sh $(GUEST_OUT)
