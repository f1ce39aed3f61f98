/* SPDX-License-Identifier: GPL-2.0 */
/* `kvmini state show FILE`: what a snapshot or state file holds (state_show.c). argv[0] is "state". */
#ifndef KVMINI_STATE_SHOW_H
#define KVMINI_STATE_SHOW_H

int cmd_state(int argc, char **argv);

#endif
