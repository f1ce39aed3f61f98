# Everything that runs inside a guest is built into guest/out/ (ignored by git).
GUEST_OUT := guest/out

# Each fragment defines its outputs and a phony target:
#   guest/linux/linux.mk          GUEST_VMLINUX, GUEST_BZIMAGE      guest-kernel
#   guest/initramfs/initramfs.mk  GUEST_INITRAMFS                   guest-initramfs
#   guest/testguest/testguest.mk  TESTGUEST_ELF, TESTGUEST_BZIMAGE  testguest
-include guest/linux/linux.mk
-include guest/initramfs/initramfs.mk
-include guest/testguest/testguest.mk

.PHONY: guest guest-clean
guest: guest-kernel guest-initramfs testguest

guest-clean:
	rm -rf $(GUEST_OUT)
