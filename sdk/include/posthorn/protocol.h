/*
 * posthorn/protocol.h - what a protocol plugin implements.
 *
 * The core accepts a connection (and completes an implicit TLS handshake),
 * then drives the plugin through these callbacks on the worker's loop.
 * Input is pulled: in conn_input() the plugin calls conn_read_line() /
 * conn_read_bytes() until PH_AGAIN, or stops early when its output is
 * above the low-water mark and resumes in conn_output_ready(). While the
 * plugin leaves input unread the core stops reading the socket once its
 * input buffer is full, so memory per connection stays bounded.
 */
#ifndef POSTHORN_PROTOCOL_H
#define POSTHORN_PROTOCOL_H

#include "core.h"

enum ph_goodbye_reason {
	PH_GOODBYE_TIMEOUT = 1,	 /* idle timeout expired */
	PH_GOODBYE_SHUTDOWN = 2, /* daemon stopping; say BYE politely */
};

struct ph_protocol_ops {
	uint32_t struct_size;

	/* A new connection. Queue the greeting here. `plugin_state` is what
	 * init() returned. Store your per-connection state in
	 * *conn_state_r; it is passed to every other callback. Return < 0 to
	 * refuse (the core closes without calling conn_closed). */
	int (*conn_open)(void *plugin_state, ph_conn *conn,
			 void **conn_state_r);
	/* New input is buffered (or the TLS handshake finished). */
	void (*conn_input)(void *conn_state);
	/* Output fell below the low-water mark after being at or above it.
	 * May be NULL. */
	void (*conn_output_ready)(void *conn_state);
	/* Last words before the core closes: queue a BYE / -ERR line. May be
	 * NULL. The connection closes right after, whatever is queued. */
	void (*conn_goodbye)(void *conn_state, enum ph_goodbye_reason reason);
	/* The connection is gone (peer closed, error, conn_close()). Free the
	 * state; do not touch the ph_conn after returning. */
	void (*conn_closed)(void *conn_state);

	/* ABI 1.0 ends here. */

	/* ABI 1.1. The second half of session_handoff(): the connection
	 * continues, already logged in as `user` (borrowed until
	 * conn_closed), in a per-user session process (uid/gid/home already
	 * switched; storage available through storage_get()). `state`/`len`
	 * are the bytes the plugin passed to session_handoff() in the
	 * process that authenticated (borrowed for the call). Answer the
	 * login command here (open storage, then e.g. "tag OK Logged in"),
	 * store the per-connection state in *conn_state_r and return PH_OK;
	 * conn_input() follows at once when the client's pipelined input
	 * is already buffered. Return < 0 to refuse (the core closes
	 * without calling conn_closed).
	 * May be NULL, or absent in a 1.0 plugin (struct_size): the core
	 * then refuses logins of users who need their own uid instead of
	 * serving them under a shared one. */
	int (*conn_resume)(void *plugin_state, ph_conn *conn,
			   const ph_user *user, const void *state, size_t len,
			   void **conn_state_r);

	/* ABI 1.1 ends here. */

	/* ABI 1.2. A session_handoff() that returned 1 did not work out:
	 * the session process could not be started, or failed before its
	 * conn_resume() accepted the session (fork or process limits, the
	 * uid switch, the session ticket, the user's mail store; the core
	 * logs why). Called in the process that authenticated, which kept
	 * the connection until it knew. The plugin's state for it is gone
	 * (conn_closed() ran at the handoff): `plugin_state` is what init()
	 * returned, `state`/`len` the bytes the plugin passed to
	 * session_handoff() (borrowed for the call). Queue the login
	 * command's temporary failure with api->conn_write() (IMAP: "tag NO
	 * [UNAVAILABLE] ...", RFC 5530; POP3: "-ERR [SYS/TEMP] ...", RFC
	 * 3206) and any last words; read nothing. The core then flushes and
	 * closes the connection: input the client sent after the login
	 * command was meant for the session and is discarded, never run.
	 * May be NULL, or absent in a 1.0/1.1 plugin (struct_size): the
	 * client is then disconnected without an answer. */
	void (*conn_handoff_failed)(void *plugin_state, ph_conn *conn,
				    const void *state, size_t len);

	/* ABI 1.2 ends here. */
};

#define PH_PROTOCOL_OPS_INIT .struct_size = sizeof(struct ph_protocol_ops)

#endif /* POSTHORN_PROTOCOL_H */
