// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>

#include "net_backend.h"

int net_pollset_add(struct net_pollset *ps, int fd, short events)
{
	if (ps->n == ps->cap) {
		unsigned int cap = ps->cap ? 2 * ps->cap : 16;
		struct pollfd *fds = realloc(ps->fds, cap * sizeof(*fds));

		if (!fds)
			return -ENOMEM;
		ps->fds = fds;
		ps->cap = cap;
	}
	ps->fds[ps->n] = (struct pollfd){.fd = fd, .events = events};
	return ps->n++;
}

void net_pollset_free(struct net_pollset *ps)
{
	free(ps->fds);
	ps->fds = NULL;
	ps->n = ps->cap = 0;
}
