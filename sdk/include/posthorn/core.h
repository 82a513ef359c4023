/*
 * posthorn/core.h - the services the core lends to plugins.
 *
 * A plugin never links against posthornd: it receives `const struct
 * ph_core_api *api` in init() and calls everything through it. The table
 * starts with struct_size and only grows at the end, grouped by the ABI
 * minor that added each entry; test for a newer entry with PH_API_HAS().
 *
 * Threading: every call is made on the calling process's event loop thread
 * unless stated otherwise. Callbacks run on that same loop.
 */
#ifndef POSTHORN_CORE_H
#define POSTHORN_CORE_H

#include <stdarg.h>
#include "abi.h"
#include "plugin.h"

struct ph_storage_ops;

/* A client connection (opaque). Valid from the protocol's conn_open()
 * until its conn_closed() returns. */
typedef struct ph_conn ph_conn;
/* A one-shot or repeating timer on the loop (opaque). */
typedef struct ph_timer ph_timer;
/* A file descriptor watch on the loop (opaque). */
typedef struct ph_io ph_io;
/* An authenticated user's record: canonical name, home, mail location,
 * uid/gid and free-form extra fields (opaque key/value store). */
typedef struct ph_user ph_user;

enum ph_log_level {
	PH_LOG_DEBUG = 0,
	PH_LOG_INFO = 1,
	PH_LOG_NOTICE = 2,
	PH_LOG_WARNING = 3,
	PH_LOG_ERROR = 4,
};

#define PH_IO_READ 0x1
#define PH_IO_WRITE 0x2

typedef void ph_timer_fn(void *ctx);
typedef void ph_io_fn(void *ctx, int fd, int revents);

/* Facts about a connection, filled by conn_info(). */
struct ph_conn_info {
	uint32_t struct_size;	/* set by the caller: sizeof(struct) */
	const char *session_id;	/* unique per daemon run, e.g. "Xk3f9a2" */
	const char *listener;	/* listener section name, e.g. "imap" */
	const char *peer_ip;	/* textual, IPv4 or IPv6 */
	uint16_t peer_port;
	const char *local_ip;
	uint16_t local_port;
	int tls;		/* 1 when TLS is active now */
	int tls_mode;		/* enum ph_tls_mode of the listener */
	const char *tls_version; /* "TLSv1.3" or NULL */
	const char *tls_cipher;	 /* or NULL */
	int allow_plaintext;	/* listener allows plaintext auth without TLS */
	/* ABI 1.0 ends here. */
};
#define PH_CONN_INFO_INIT {.struct_size = sizeof(struct ph_conn_info)}

enum ph_tls_mode {
	PH_TLS_NONE = 0,
	PH_TLS_STARTTLS = 1,
	PH_TLS_IMPLICIT = 2,
};

/*
 * Completion of auth_plain(). `result` is PH_OK (then `user` is set,
 * borrowed, valid until the connection closes), PH_EAUTH (wrong
 * credentials; the core has already applied any failure delay), or
 * PH_ETEMP (auth service unavailable). `message` is a human text safe to
 * show the client, never NULL.
 */
typedef void ph_auth_done_fn(void *ctx, int result, const ph_user *user,
			     const char *message);

enum ph_sasl_status {
	PH_SASL_CHALLENGE = 1, /* send `data` (base64) as a continuation */
	PH_SASL_SUCCESS = 2,   /* done; `user` set; `data` may hold final
				  server data (base64) or be empty */
	PH_SASL_FAILURE = 3,   /* done; `data` is a human message */
	PH_SASL_TEMPFAIL = 4,  /* done; `data` is a human message */
	PH_SASL_ABORTED = 5,   /* client sent "*"; `data` is a message */
	PH_SASL_BADINPUT = 6,  /* done; malformed response (bad base64,
				  too long); `data` is a message */
};

/* One SASL step result. `data` is borrowed for the call only. */
typedef void ph_sasl_fn(void *ctx, enum ph_sasl_status status,
			struct ph_str data, const ph_user *user);

struct ph_core_api {
	uint32_t struct_size;
	uint16_t abi_major;
	uint16_t abi_minor;
	const char *core_version; /* "0.1.0" */

	/* ---- Logging and errors (ABI 1.0) ---- */

	/* Logs one line at `level` with the plugin's name as prefix. Never
	 * pass passwords or message contents. */
	void (*log)(enum ph_log_level level, const char *fmt, ...)
		PH_PRINTF(2, 3);
	/* Like log(), prefixed with the connection's session id and peer. */
	void (*conn_log)(ph_conn *conn, enum ph_log_level level,
			 const char *fmt, ...) PH_PRINTF(3, 4);
	/* Static English text for a PH_* code ("not found"). Never NULL. */
	const char *(*strerror)(int code);

	/* ---- Configuration (ABI 1.0) ---- */

	/* Value of `key` in `cfg` after fallback (listener section, plugin
	 * section, settings default); NULL when unset. NUL-terminated,
	 * borrowed until the plugin's fini(). Values were validated against
	 * the plugin's settings table at load time. */
	const char *(*config_get)(const ph_config *cfg, const char *key);
	/* Numeric value of a UINT/SIZE/TIME/BOOL key (bytes, seconds, 0/1).
	 * Returns PH_OK, or PH_ENOTFOUND when unset. */
	int (*config_get_uint)(const ph_config *cfg, const char *key,
			       uint64_t *value_r);

	/* ---- Loop: timers and fds (ABI 1.0) ---- */

	/* Calls cb(ctx) after `seconds`, then every `seconds` if `repeat`.
	 * Returns NULL only on allocation failure. Remove with
	 * timer_remove(), which also frees it; a one-shot timer must still be
	 * removed after it fired. */
	ph_timer *(*timer_add)(double seconds, int repeat, ph_timer_fn *cb,
			       void *ctx);
	/* Stops and frees a timer; sets *timer to NULL; NULL is a no-op. */
	void (*timer_remove)(ph_timer **timer);
	/* Watches `fd` (borrowed; the caller closes it after io_remove) for
	 * PH_IO_READ and/or PH_IO_WRITE; calls cb while ready. */
	ph_io *(*io_add)(int fd, int events, ph_io_fn *cb, void *ctx);
	/* Stops and frees a watch; sets *io to NULL; NULL is a no-op. */
	void (*io_remove)(ph_io **io);

	/* ---- Connection input (ABI 1.0) ---- */

	/* Takes the next line from the input buffer, without its CR LF (or
	 * bare LF). `line_r` is borrowed until the next conn_read_* call or
	 * the return of the current callback, whichever is first.
	 * Returns PH_OK, PH_AGAIN (no complete line yet: wait for the next
	 * conn_input), PH_ETOOBIG (the line exceeded `max_len`: the core
	 * discards it up to and including its LF, without buffering it, and
	 * reports it once), PH_ECLOSED. max_len is capped at 65536. */
	int (*conn_read_line)(ph_conn *conn, size_t max_len,
			      struct ph_str *line_r);
	/* Takes up to `max` raw bytes (at least one) from the input buffer,
	 * for literals and SASL payloads. Borrowed as for conn_read_line.
	 * Returns PH_OK, PH_AGAIN or PH_ECLOSED. */
	int (*conn_read_bytes)(ph_conn *conn, size_t max,
			       struct ph_str *data_r);

	/* ---- Connection output (ABI 1.0) ---- */

	/* Queues bytes (copied). Returns PH_OK, PH_ETOOBIG when the queue
	 * would pass the hard limit (the core then closes the connection),
	 * or PH_ECLOSED. Output is flushed when the callback returns. */
	int (*conn_write)(ph_conn *conn, const void *data, size_t len);
	/* printf-style conn_write. */
	int (*conn_printf)(ph_conn *conn, const char *fmt, ...)
		PH_PRINTF(2, 3);
	/* Queues `len` bytes of `fd` from `offset`. The core dup()s fd, so
	 * the caller may close it at once. Sent with sendfile() on plaintext
	 * connections, through TLS in chunks otherwise. */
	int (*conn_write_file)(ph_conn *conn, int fd, uint64_t offset,
			       uint64_t len);
	/* Bytes queued and not yet sent (file ranges included). Producers of
	 * large output stop writing while this is >= the low-water mark and
	 * resume in the protocol's conn_output_ready(). */
	size_t (*conn_output_pending)(ph_conn *conn);
	/* The low-water mark conn_output_ready() is tied to (bytes). */
	size_t (*conn_output_lowat)(ph_conn *conn);

	/* ---- Connection control (ABI 1.0) ---- */

	/* Flushes queued output (bounded by a short timeout), then closes.
	 * The protocol's conn_closed() follows from the loop, never from
	 * inside this call. Further writes return PH_ECLOSED. */
	void (*conn_close)(ph_conn *conn);
	/* Starts TLS on a STARTTLS listener after the plugin has queued its
	 * "go ahead" reply: the core flushes it, DISCARDS any input already
	 * buffered (command injection defence), and handshakes; input then
	 * continues through conn_input(). Returns PH_OK, PH_ENOTSUP (listener
	 * has no TLS configured), PH_EINVAL (TLS already active). */
	int (*conn_starttls)(ph_conn *conn);
	/* Fills `info` (its struct_size set by the caller). Strings are
	 * borrowed until the connection closes. */
	int (*conn_info)(ph_conn *conn, struct ph_conn_info *info);
	/* Seconds of input silence before conn_goodbye(PH_GOODBYE_TIMEOUT)
	 * and a close; 0 disables. */
	void (*conn_set_idle_timeout)(ph_conn *conn, unsigned seconds);
	/* The configuration a connection sees: its listener section over
	 * the protocol plugin's section. Borrowed until conn_closed. */
	const ph_config *(*conn_config)(ph_conn *conn);

	/* ---- Authentication (ABI 1.0) ---- */

	/* Verifies a plaintext user/password through the auth service,
	 * asynchronously; `cb` runs later on the loop (never inside this
	 * call). Both strings are copied. One request per connection at a
	 * time: PH_EINUSE otherwise. Applies the listener's plaintext policy:
	 * PH_EPERM when plaintext auth is not allowed on this connection. */
	int (*auth_plain)(ph_conn *conn, struct ph_str user,
			  struct ph_str password, ph_auth_done_fn *cb, void *ctx);
	/* Space-separated SASL mechanisms offered on this connection now
	 * (depends on TLS and policy), e.g. "PLAIN LOGIN". Borrowed until the
	 * next call for the same connection. May be "" (none). */
	const char *(*sasl_mechanisms)(ph_conn *conn);
	/* Starts a SASL exchange. `mech` is case-insensitive.
	 * `initial_response`: NULL when the client sent none; otherwise the
	 * base64 text as sent ("=" means empty). `cb` runs from the loop for
	 * each step. Returns PH_OK, PH_ENOTSUP (unknown or not offered),
	 * PH_EINUSE (an exchange is running). */
	int (*sasl_start)(ph_conn *conn, const char *mech,
			  const struct ph_str *initial_response,
			  ph_sasl_fn *cb, void *ctx);
	/* Feeds the client's next line (base64 as sent, or "*" to cancel).
	 * Copied. Returns PH_OK or PH_EINVAL when no exchange is running. */
	int (*sasl_continue)(ph_conn *conn, struct ph_str response);

	/* ---- User records (ABI 1.0) ---- */

	/* Field of a user record, NUL-terminated and borrowed for the
	 * record's life, or NULL. Well-known keys: "user" (canonical name),
	 * "home", "mail" (mail location), "uid", "gid"; auth plugins may add
	 * others. */
	const char *(*user_get)(const ph_user *user, const char *key);
	/* Sets a field (both strings copied). Auth plugins fill records with
	 * it. Returns PH_OK, PH_EINVAL (bad key: empty, or contains '=', TAB
	 * or LF; or the value contains TAB or LF), PH_ENOMEM. */
	int (*user_set)(ph_user *user, const char *key, const char *value);

	/* ---- Storage (ABI 1.0) ---- */

	/* The storage plugin configured in [storage]: its ops table and the
	 * state its init returned. Both borrowed until fini. Returns PH_OK or
	 * PH_ENOTFOUND when no storage is configured. */
	int (*storage_get)(const struct ph_storage_ops **ops_r,
			   void **storage_state_r);

	/* ABI 1.0 ends here. */

	/* ---- Per-user session processes (ABI 1.1) ---- */

	/* Moves an authenticated session to a process running with the
	 * user's own uid. Call it from the successful-login callback
	 * (auth_plain's PH_OK, or PH_SASL_SUCCESS), before answering the
	 * login command and before opening storage. Test for it with
	 * PH_API_HAS(api, session_handoff).
	 *
	 * The core decides from the user record: a record whose "uid"
	 * differs from this process's effective uid (a system user) is
	 * handed to a new process that has switched to that uid/gid and
	 * the user's home; a record without a uid, or with this process's
	 * uid (virtual users), stays here.
	 *
	 * `state`/`state_len`: up to PH_SESSION_STATE_MAX opaque bytes the
	 * plugin wants back in the new process (e.g. the login command's
	 * tag); copied. May be NULL/0.
	 *
	 * Returns 1: the session moves. The plugin must write nothing more
	 * and stop reading: further conn_* calls answer PH_ECLOSED, and the
	 * core ends this connection's plugin state with conn_closed() from
	 * the loop (never inside this call). Input the plugin has not read
	 * yet moves along with the session. The protocol's conn_resume()
	 * continues it in the new process, where the login is answered.
	 * If that process cannot start the session, the protocol's
	 * conn_handoff_failed() (ABI 1.2) answers the login here instead.
	 * Returns 0: the session stays in this process; carry on (open the
	 * storage, answer the login).
	 * Returns < 0: PH_ETOOBIG (too much input buffered), PH_ENOMEM,
	 * PH_EPERM, PH_EINVAL (not logged in), PH_ECLOSED: answer a
	 * temporary failure.
	 *
	 * A login whose user would need a process of their own but cannot
	 * get one (uid 0, a uid below [auth] first_valid_uid, a master that
	 * is not root, a protocol without conn_resume) is refused by the
	 * core before the plugin's callback hears of it: the plugin gets a
	 * failed login, never a user to serve under a shared uid. */
	int (*session_handoff)(ph_conn *conn, const void *state,
			       size_t state_len);

	/* ABI 1.1 ends here. Append new entries below, never above. */
};

/* Largest plugin state session_handoff() carries (bytes). ABI 1.1. */
#define PH_SESSION_STATE_MAX 4096

#endif /* POSTHORN_CORE_H */
