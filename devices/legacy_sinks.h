/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Ports a PC guest writes routinely and that need no device behind them:
 * claimed so that each access is a quiet no-op instead of an "unhandled"
 * bus access. See legacy_sinks.c for the list and for what stays unclaimed.
 */
#ifndef KVMINI_LEGACY_SINKS_H
#define KVMINI_LEGACY_SINKS_H

struct bus;

int legacy_sinks_register(struct bus *pio);

#endif
