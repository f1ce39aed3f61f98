/* SPDX-License-Identifier: GPL-2.0 */
/*
 * isa-debug-exit (tests only): a guest write of v ends the VM with exit
 * status (v << 1) | 1, truncated to 8 bits. The status is always odd, so a
 * test guest can never fake a clean poweroff (0).
 */
#ifndef KVMINI_DEBUG_EXIT_H
#define KVMINI_DEBUG_EXIT_H

#include "device.h"

struct bus;
struct debug_exit;

struct debug_exit *debug_exit_create(struct machine_ctl ctl);
void debug_exit_destroy(struct debug_exit *de);
/* Claims PORT_DEBUG_EXIT, 4 ports wide so 16- and 32-bit writes land too. */
int debug_exit_register(struct debug_exit *de, struct bus *pio);

#endif
