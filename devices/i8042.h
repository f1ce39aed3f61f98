/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal i8042 PS/2 controller with no keyboard or mouse behind it: it is
 * there so that Linux's i8042 driver probes quickly and so that the classic
 * reset (command 0xfe) reboots. See i8042.c for what it answers.
 */
#ifndef KVMINI_I8042_H
#define KVMINI_I8042_H

#include "device.h"

struct bus;
struct i8042;

struct i8042 *i8042_create(struct machine_ctl ctl);
void i8042_destroy(struct i8042 *kbc);
/* Claims PORT_I8042_DATA and PORT_I8042_CMD (one port each). */
int i8042_register(struct i8042 *kbc, struct bus *pio);

/*
 * Snapshot and migration state (vmm/state.h), with the guest paused: the
 * command byte, output port, output buffer and status, controller RAM and a
 * command still waiting for its data byte. On -EINVAL (state_error() says
 * why) i8042_restore() leaves the controller as it was.
 */
int i8042_save(struct i8042 *kbc, void *fdt);
int i8042_restore(struct i8042 *kbc, const void *fdt, int node);

#endif
