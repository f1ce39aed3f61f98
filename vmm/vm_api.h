/* SPDX-License-Identifier: GPL-2.0 */
/* The control socket of a running machine (--api-socket; protocol in api.h). */
#ifndef KVMINI_VM_API_H
#define KVMINI_VM_API_H

#include <stddef.h>

struct vm;

/* Serve vm->cfg->api_socket (if any) from the machine's event loop. */
int vm_api_open(struct vm *vm, char *err, size_t errlen);
/* After migrate_cancel(): pending replies are dropped with their clients. */
void vm_api_close(struct vm *vm);

#endif
