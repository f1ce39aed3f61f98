# vhost-model: an LD_PRELOAD stand-in for /dev/vhost-net (Linux 6.1 vhost_net
# semantics) for tests on hosts without it. Never linked into kvmini.
# Usable from the top-level Makefile (include) or alone:
#   make -f tests/vhost-model/vhost-model.mk vhost-model
BUILD ?= build
CC ?= gcc
VHOST_MODEL_DIR := tests/vhost-model
VHOST_MODEL_SO := $(BUILD)/tests/vhost-model/libvhost-model.so
VHOST_MODEL_TEST := $(BUILD)/tests/vhost-model/test_vhost_model
VHOST_MODEL_SRCS := $(filter-out $(VHOST_MODEL_DIR)/test_%.c,$(wildcard $(VHOST_MODEL_DIR)/*.c))
VHOST_MODEL_HDRS := $(wildcard $(VHOST_MODEL_DIR)/*.h)
VHOST_MODEL_CFLAGS := -std=gnu11 -O2 -g -D_GNU_SOURCE -I. -Wall -Wextra -Werror \
		      -Wno-unused-parameter -Wshadow -Wstrict-prototypes -Wmissing-prototypes

$(VHOST_MODEL_SO): $(VHOST_MODEL_SRCS) $(VHOST_MODEL_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(VHOST_MODEL_CFLAGS) -fPIC -shared -o $@ $(VHOST_MODEL_SRCS) -ldl -lpthread

# The test program is linked without the model: run-tests.sh preloads it.
$(VHOST_MODEL_TEST): $(VHOST_MODEL_DIR)/test_vhost_model.c $(VHOST_MODEL_DIR)/test_datapath.c \
		     $(VHOST_MODEL_DIR)/test_util.h
	@mkdir -p $(dir $@)
	$(CC) $(VHOST_MODEL_CFLAGS) -o $@ $(VHOST_MODEL_DIR)/test_vhost_model.c \
		$(VHOST_MODEL_DIR)/test_datapath.c -lpthread

.PHONY: vhost-model check-vhost-model
vhost-model: $(VHOST_MODEL_SO) $(VHOST_MODEL_TEST)

check-vhost-model: vhost-model
	$(VHOST_MODEL_DIR)/run-tests.sh
