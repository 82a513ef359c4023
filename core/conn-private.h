/* core/conn-private.h - a connection's insides, shared by conn.c (the
 * connection) and conn-session.c (moving a logged-in session to a
 * per-user process: the handoff, the TLS relay, and adopting the
 * connection in the session process). Nothing else includes it. */
#ifndef PH_CORE_CONN_PRIVATE_H
#define PH_CORE_CONN_PRIVATE_H

#include "conn.h"
#include "inbuf.h"

#define CONN_CHUNK_SIZE	  16384
#define CONN_SENDFILE_MAX (1u << 20)
#define CONN_MAX_LINE	  65536
/* A TLS relay stops reading the session while this much output waits. */
#define CONN_RELAY_HIGH 65536

enum conn_state {
	CONN_HANDSHAKE,	     /* TLS handshake running */
	CONN_OPEN,	     /* protocol running */
	CONN_STARTTLS_FLUSH, /* flushing the go-ahead before a handshake */
};

struct out_chunk {
	struct out_chunk *next;
	int fd; /* file range when >= 0 */
	uint64_t file_off, file_left;
	unsigned char *stage; /* TLS: file bytes read but not yet sent */
	size_t stage_len, stage_off;
	size_t len, off, cap; /* memory chunk */
	unsigned char data[];
};

struct outq {
	struct out_chunk *head, *tail;
};

/* Moving a session to a per-user process (worker side). */
enum conn_handoff {
	CONN_HANDOFF_NONE = 0,
	CONN_HANDOFF_PENDING, /* plugin detached; flush, then send */
	CONN_HANDOFF_RELAY,   /* TLS stays here; plaintext to the session */
};

struct ph_conn {
	struct ph__conn_env *env;
	struct ph__listener_rt *l;
	ph_conn *prev, *next;
	int fd;
	enum conn_state state;
	SSL *ssl;
	int tls_active;
	int ssl_write_wants_read;
	int opened;  /* conn_open succeeded: conn_closed is owed */
	int closing; /* no more input; flush then free */
	int eof;
	int read_error; /* reset or TLS failure, not a clean EOF */
	int destroy_scheduled;
	int tls_failed; /* skip SSL_shutdown */
	const char *reason;
	ev_io rio, wio;
	ev_timer idle, hs, close_timer;
	/* Output or a close requested outside this connection's own
	 * callbacks (a timer, another fd, another connection) is acted on
	 * before the loop sleeps again. */
	ev_prepare kick;
	unsigned idle_secs;
	struct ph__inbuf in;
	struct outq out;   /* being sent */
	struct outq held;  /* written during a STARTTLS handshake: sent
			      through TLS once it is up */
	size_t out_mem;	   /* memory bytes queued */
	uint64_t out_file; /* file bytes queued */
	int above_lowat;
	uint64_t bytes_in, bytes_out;
	void *pstate;
	const struct ph_protocol_ops *ops;
	char session_id[12];
	char peer_ip[64], local_ip[64];
	unsigned short peer_port, local_port;
	char log_prefix[96];
	char *printf_buf;
#ifdef PH_HAVE_AUTH
	struct ph__login *login;
#endif
	ph_auth_done_fn *auth_cb;
	void *auth_ctx;
	ph_sasl_fn *sasl_cb;
	void *sasl_ctx;
	char *auth_user;
	/* Worker side of a session handoff. */
	enum conn_handoff handoff;
	void *handoff_state;
	size_t handoff_state_len;
	ev_io master_wio; /* the master's socket was full: retry */
	int relay_fd;	  /* socketpair end to the session, or -1 */
	ev_io relay_rio, relay_wio;
	int relay_shut; /* the client's EOF was passed on */
	/* Session side: the record we were started for, the TLS facts of
	 * the worker that keeps the TLS session. */
	ph_user *owned_user;
	int tls_remote;
	char *tls_version_remote, *tls_cipher_remote;
	/* Worker side, after the handoff was sent and until the master says
	 * how it went (see handoff.h): plaintext stays PENDING (the socket
	 * kept, unread), TLS relays. relay_eof: the session's end of the
	 * relay closed meanwhile. */
	int handoff_waiting;
	int relay_eof;
	double handoff_deadline; /* ev_now() after which we give up */
};

/* ---- conn.c, for conn-session.c ---- */
const char *ph__conn_plugin_enter(ph_conn *c);
void ph__conn_logf(ph_conn *c, enum ph_log_level level, const char *fmt, ...)
    PH_PRINTF(3, 4);
/* Abrupt end: drop output, free from the loop soon. */
void ph__conn_close_now(ph_conn *c, const char *reason);
void ph__conn_schedule_destroy(ph_conn *c, double after);
/* Flush and re-evaluate reading after a callback. */
void ph__conn_after(ph_conn *c);
/* Run ph__conn_after() before the loop sleeps again. */
void ph__conn_kick(ph_conn *c);
void ph__conn_flush(ph_conn *c);
void ph__conn_dispatch_input(ph_conn *c);
/* Watchers and the env's lists (create and adopt share it). */
void ph__conn_init(ph_conn *c, struct ph__conn_env *env,
		   struct ph__listener_rt *l, int fd);

/* ---- conn-session.c, for conn.c ---- */
/* The session fields of a new connection. */
void ph__conn_session_init(ph_conn *c);
/* A successful login whose user needs a uid of their own and cannot get
 * one: logged, 1. */
int ph__conn_login_refused(ph_conn *c, const ph_user *u);
/* CONN_HANDOFF_PENDING, after a callback: detach the plugin, flush,
 * send. */
void ph__conn_handoff_step(ph_conn *c);
/* CONN_HANDOFF_RELAY, after a callback: pass input on, pace reading. */
void ph__conn_relay_update(ph_conn *c);
/* CONN_HANDOFF_RELAY: decrypted client input to the session. */
void ph__conn_relay_push(ph_conn *c);

#endif
