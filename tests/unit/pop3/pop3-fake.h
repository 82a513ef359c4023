/* pop3-fake.h - a fake core (connections, auth, config) and a fake
 * in-memory storage, enough to drive pop3.so's code through whole
 * sessions in a unit test without posthornd. Single-threaded. */
#ifndef POP3_FAKE_H
#define POP3_FAKE_H

#include <posthorn/posthorn.h>

/* Connection behaviour a test sets before fake_conn_open(). */
struct fake_conn_opts {
	int tls_mode;	     /* enum ph_tls_mode */
	int tls;	     /* TLS active from the start (implicit) */
	int allow_plaintext; /* default 1 via FAKE_CONN_OPTS_DEFAULT */
	int slow_reader;     /* output stays pending until fake_conn_drain */
};
#define FAKE_CONN_OPTS_DEFAULT                                                 \
	{                                                                      \
		.tls_mode = PH_TLS_NONE, .allow_plaintext = 1                  \
	}

struct ph_conn {
	void *state; /* the plugin's per-connection state */
	char *in;
	size_t in_len, in_pos;
	char *out; /* everything written, NUL-terminated */
	size_t out_len;
	size_t out_read; /* what fake_conn_take() already returned */
	size_t pending;	 /* "unsent" bytes, drained by fake_conn_drain */
	size_t max_pending;
	struct fake_conn_opts opts;
	int close_requested;
	int closed;
	int starttls_called;
	unsigned idle_timeout;
	unsigned idle_sets; /* conn_set_idle_timeout calls */
	/* an auth request waiting for fake_run() */
	ph_auth_done_fn *auth_cb;
	ph_sasl_fn *sasl_cb;
	void *auth_ctx;
	char auth_user[256], auth_pass[256];
	int sasl_want_response;
	int sasl_challenged;
};

/* Settings of the plugin section: "key", "value", ..., NULL. */
void fake_config_set(const char *const *kv);
const struct ph_core_api *fake_core_api(void);
const ph_config *fake_config(void);

/* Opens a connection on `plugin` (descriptor) state. */
struct ph_conn *fake_conn_open(const struct ph_plugin *plugin, void *pstate,
			       const struct fake_conn_opts *opts);
/* Appends client bytes and calls conn_input. */
void fake_conn_send(struct ph_conn *c, const char *data, size_t len);
void fake_conn_sendz(struct ph_conn *c, const char *s);
/* New output since the last take, NUL-terminated, borrowed until the next
 * call. */
const char *fake_conn_take(struct ph_conn *c);
/* The client reads `n` bytes (SIZE_MAX: everything): pending drops and
 * conn_output_ready runs if it fell below the low-water mark. */
void fake_conn_drain(struct ph_conn *c, size_t n);
/* Completes pending auth requests (passwords: alice/secret, bob/hunter2).
 */
void fake_run(struct ph_conn *c);
/* session_handoff (ABI 1.1): what the fake core answers (default 0:
 * the session stays), and the state the plugin last passed. */
void fake_set_handoff_result(int result);
const char *fake_handoff_state(void);
/* A connection resumed in a session process as `user` with `state`:
 * conn_resume instead of conn_open. NULL when the plugin refused. */
struct ph_conn *fake_conn_resume(const struct ph_plugin *plugin, void *pstate,
				 const char *user, const void *state,
				 size_t len);

/* conn_closed + free (also when the plugin asked to close). */
void fake_conn_free(struct ph_conn *c);

#define FAKE_LOWAT 4096

/* ---- storage ---- */
const struct ph_storage_ops *fake_storage_ops(void);
/* Empties the one fake mailbox (shared by every user) and its lock. */
void fake_storage_reset(void);
/* Adds a message; crlf tells message_open how it is stored. */
uint32_t fake_storage_add(const char *data, size_t len, int crlf);
/* Messages currently in the store (not expunged). */
unsigned fake_storage_count(void);
/* Flags of the message with `uid`, or -1 when gone. */
int fake_storage_flags(uint32_t uid);
/* Makes the next messages_expunge call fail. */
void fake_storage_fail_expunge(int fail);
/* Marks the message with `uid` expunged by "another session". */
void fake_storage_expunge_other(uint32_t uid);
/* How many times message_open and cache_set were called. */
unsigned fake_storage_opens(void);

#endif
