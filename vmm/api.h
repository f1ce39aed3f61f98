/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control socket (`kvmini run --api-socket PATH`), served by the event
 * loop on the main thread.
 *
 * PATH is a unix stream socket, mode 0600, created at start and removed at
 * exit. kvmini refuses to start when something listens on PATH or when
 * PATH exists and is not a socket; a stale socket (nobody listens) is
 * replaced. Up to API_MAX_CLIENTS clients may be connected at once; one
 * more gets {"ok":false,"error":"too many clients"} and is closed.
 *
 * Protocol: one request per line (UTF-8 text, words separated by blanks,
 * at most API_MAX_LINE bytes before the newline, a trailing CR is
 * ignored), one reply per request, in order: one line of JSON whose first
 * member is "ok":
 *
 *   {"ok":true,...members...}
 *   {"ok":false,"error":"unknown command 'foo'"}
 *
 * Requests:
 *
 *   status        {"ok":true,"state":"running"|"paused"|"migrating"|"incoming"|
 *                 "stopping","vcpus":N,"memory":BYTES,"uptime":SECONDS,
 *                 "nics":[{"name":..,"backend":"tap"|"user","vhost":BOOL,
 *                 "rx_frames":N,"tx_frames":N,...}],"migration":{...}}
 *                 (the members after "ok" are the machine's, api_ops.status)
 *   pause         vCPUs parked: {"ok":true,"state":"paused"}
 *   resume        vCPUs running again: {"ok":true,"state":"running"}
 *   stop          {"ok":true,"state":"stopping"} is sent, then kvmini exits
 *                 with status 6 (EXIT_USER_QUIT)
 *   migrate URI [downtime=MS] [max-rounds=N]
 *                 URI tcp:HOST:PORT or unix:PATH (migrate_uri.h). The reply
 *                 comes when the migration ends: {"ok":true,<summary>} (then
 *                 the source exits) or {"ok":false,"error":WHY} (the guest
 *                 runs on). Meanwhile other clients are served (status shows
 *                 the progress); this client's next requests wait.
 *   snapshot FILE the same, writing a snapshot to FILE (the rest of the line,
 *                 blanks included); the guest runs on afterwards
 *   help          {"ok":true,"commands":[...]}
 *
 * One migration or snapshot at a time: another gets "a migration or
 * snapshot is already running". Malformed requests (unknown command,
 * missing or extra arguments, a line over API_MAX_LINE bytes, invalid
 * UTF-8, control characters) get an error reply and the connection stays
 * usable. A client that closes mid-request or with a reply pending is
 * dropped (a pending migration goes on; its reply goes nowhere); one that
 * never reads its replies only stops being read from. Nothing a client
 * does blocks the event loop or stops kvmini, except `stop`.
 */
#ifndef KVMINI_API_H
#define KVMINI_API_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"
#include "migrate.h"

#define API_MAX_LINE 1024
#define API_MAX_CLIENTS 16
#define API_STATUS_MAX 16384 /* the buffer api_ops.status fills */

struct api_server;
struct api_pending;

/*
 * What the server asks of the machine; all run on the event loop's thread.
 * A NULL entry answers "not supported". Errors: a non-zero return with one
 * line in err (without one: strerror of a negative return).
 */
struct api_ops {
	/* JSON members for the status reply, without braces: "state":"running",... */
	int (*status)(void *opaque, char *buf, size_t len);
	int (*pause)(void *opaque, char *err, size_t errlen);
	int (*resume)(void *opaque, char *err, size_t errlen);
	/*
	 * Make the machine exit with EXIT_USER_QUIT (vm_request_exit()). On
	 * 0 the reply is written to the socket before this event handler
	 * returns, so before the loop can end.
	 */
	int (*stop)(void *opaque, char *err, size_t errlen);
	/*
	 * Start a migration (p->snapshot false) or snapshot (true); p and the
	 * strings in it live during the call only. On 0, call
	 * api_reply_done(token, ...) exactly once, later, on this thread (it
	 * is a migrate_done_fn: pass it and token to migrate_start()). On an
	 * error return, never.
	 */
	int (*migrate)(void *opaque, const struct migrate_params *p, struct api_pending *token,
		       char *err, size_t errlen);
};

/* Create the socket at path and serve it from loop. 0, or -errno with one line in err. */
int api_open(struct api_server **out, const char *path, struct event_loop *loop,
	     const struct api_ops *ops, void *opaque, char *err, size_t errlen);

/*
 * Close every connection (a last non-blocking try to send what is
 * queued), remove the socket file. Tokens still pending are freed: call
 * api_reply_done() for none of them afterwards (cancel the migration
 * first). NULL is allowed.
 */
void api_close(struct api_server *s);

/*
 * The end of a migrate/snapshot request: err 0 replies {"ok":true,<summary>}
 * (summary: JSON members, may be NULL or ""), else {"ok":false,"error":why}.
 * Has the signature of migrate_done_fn, token as its opaque.
 */
void api_reply_done(void *token, int err, const char *why, const char *summary);

/* Whether a migrate or snapshot request is waiting for its end. */
bool api_busy(const struct api_server *s);

/*
 * Building JSON into a fixed buffer. On overflow the text is cut at a
 * whole character or escape, stays NUL-terminated, and truncated is set.
 */
struct jbuf {
	char *buf;
	size_t size;
	size_t len;
	bool truncated;
};

void jbuf_init(struct jbuf *j, char *buf, size_t size);
void jbuf_printf(struct jbuf *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as a JSON string, quotes included; invalid UTF-8 becomes U+FFFD. */
void jbuf_str(struct jbuf *j, const char *s);
void jbuf_strn(struct jbuf *j, const char *s, size_t n);

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when invalid. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

#endif
