/* SPDX-License-Identifier: GPL-2.0 */
/* vhost-model: names and argument dumps of the vhost ioctls for the log. */
#ifndef VHOST_MODEL_IOCTL_NAMES_H
#define VHOST_MODEL_IOCTL_NAMES_H

#include <stdbool.h>
#include <stddef.h>

const char *vm_ioctl_name(unsigned long req);
void vm_ioctl_format(unsigned long req, const void *arg, bool after, char *buf, size_t len);
const char *vm_errno_name(int e);
int vm_errno_parse(const char *s);

#endif
