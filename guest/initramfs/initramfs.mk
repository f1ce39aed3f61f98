# Guest initramfs: static busybox plus guest/initramfs/init.
# GUEST_INITRAMFS is gzip made of stored blocks (see gzip-store.sh);
# GUEST_INITRAMFS_PLAIN, the same archive uncompressed, unpacks faster still on
# hosts that emulate guest ring 0 (about 45 s against 60 s on the CI machine).
GUEST_INITRAMFS_DIR := guest/initramfs
GUEST_INITRAMFS := $(GUEST_OUT)/initramfs.cpio.gz
GUEST_INITRAMFS_PLAIN := $(GUEST_OUT)/initramfs.cpio
GUEST_BUSYBOX ?= /bin/busybox
GUEST_INITRAMFS_INPUTS := $(GUEST_INITRAMFS_DIR)/build-initramfs.sh $(GUEST_INITRAMFS_DIR)/init \
	$(GUEST_INITRAMFS_DIR)/gzip-store.sh $(GUEST_BUSYBOX)

.PHONY: guest-initramfs
guest-initramfs: $(GUEST_INITRAMFS) $(GUEST_INITRAMFS_PLAIN)

$(GUEST_INITRAMFS) $(GUEST_INITRAMFS_PLAIN): $(GUEST_INITRAMFS_INPUTS)
	BUSYBOX=$(GUEST_BUSYBOX) $(GUEST_INITRAMFS_DIR)/build-initramfs.sh $@
