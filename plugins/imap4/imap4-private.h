/* imap4-private.h - the IMAP4rev1 plugin's connection state and the
 * functions its command files share. */
#ifndef IMAP4_PRIVATE_H
#define IMAP4_PRIVATE_H

#include <posthorn/posthorn.h>
#include "imap4-args.h"
#include "imap4-parser.h"
#include "imap4-settings.h"
#include "imap4-str.h"

#define IMAP_READ_LINE_MAX   65536 /* the core's cap; the parser's is lower */
#define IMAP_MAX_SEQ_RANGES  100000
#define IMAP_SASL_LINE_MAX   16384
#define IMAP_JOB_SLICE_MS    10 /* a job's turn before others run */
#define IMAP_IDLE_LINE_MAX   1024
#define IMAP_MULTIAPPEND_MAX 100 /* messages in one APPEND (fds held) */

/* Settings of one config section a connection saw: the plugin's own
 * (loaded at init, always first) and each listener section (loaded at
 * its first connection, so a bad value is reported once per process).
 * Entries live until fini; clients point into them. */
struct imap_settings_entry {
	struct imap_settings_entry *next;
	const ph_config *config;
	struct imap_settings set;
};

struct imap_plugin {
	const struct ph_core_api *api;
	const ph_config *config; /* [imap4] */
	struct imap_settings_entry *settings;
};

/* ---- imap4-plugin.c ---- */
/* The settings `conn` sees (its listener section over [imap4]). Never
 * NULL. */
const struct imap_settings *imap_plugin_settings(struct imap_plugin *plugin,
						 ph_conn *conn);

enum imap_state {
	IMAP_STATE_NOTAUTH = 1u << 0,
	IMAP_STATE_AUTH = 1u << 1,
	IMAP_STATE_SELECTED = 1u << 2,
};
#define IMAP_STATE_ANY                                                         \
	(IMAP_STATE_NOTAUTH | IMAP_STATE_AUTH | IMAP_STATE_SELECTED)

enum imap_wait {
	IMAP_WAIT_NONE = 0,
	IMAP_WAIT_CORE,	     /* auth_plain() result pending */
	IMAP_WAIT_SASL_LINE, /* next line is a SASL response */
	IMAP_WAIT_SASL_CORE, /* sasl_continue() answer pending */
	IMAP_WAIT_TLS,	     /* STARTTLS handshake */
	IMAP_WAIT_JOB,	     /* a streaming command (FETCH) runs */
	IMAP_WAIT_IDLE,	     /* IDLE: the next line must be DONE */
};

struct imap_client;

/* A step of a long command; returns 1 when done, 0 to be called again
 * (after output drained), < 0 to close the connection. */
typedef int imap_job_fn(struct imap_client *c);

/* APPEND streaming state (the message literal goes to storage). */
struct imap_append_state {
	ph_append *ap;	  /* the message streaming now */
	ph_append **done; /* earlier messages of a MULTIAPPEND (RFC 3502),
			     streamed and committed only when the command
			     ends, so a failure appends none */
	size_t ndone;
	char *mailbox;
	const char *error; /* first failure; static or storage-owned */
	int error_code;
	/* A command refused while its non-synchronising literal is on the
	 * way (RFC 7888 3: those octets belong to the command): the answer
	 * is held here while the rest of the command is read and dropped,
	 * and sent once it ends. `holding` routes imap_tagged() here. */
	struct imap_str refusal;
	int holding;
};

/* IDLE (RFC 2177) state; all NULL/0 when not idling. */
struct imap_idle {
	ph_io *io;	     /* the storage's change fd, while armed */
	ph_timer *settle;    /* coalescing delay before a sync */
	ph_timer *poll;	     /* fallback when the storage cannot notify */
	ph_timer *keepalive; /* "* OK Still here" for NATs and proxies */
	int blocked;	     /* a sync waits for output to drain */
};

struct imap_client {
	struct imap_plugin *plugin;
	const struct ph_core_api *api;
	ph_conn *conn;
	const struct imap_settings *set; /* borrowed from the plugin */
	unsigned autologout_armed;	 /* seconds; 0: not armed yet */
	struct imap_parser *parser;
	enum imap_state state;
	enum imap_wait wait;
	int closing, processing, logout;
	int sasl_too_long; /* the exchange was cancelled for an oversized
			      response: say so instead of "aborted" */
	unsigned bad_commands;
	char tag[128]; /* of the command waiting for a callback or job */

	const struct ph_storage_ops *storage;
	void *storage_state;
	ph_mail_user *mu;
	ph_mailbox *box;
	int readonly;
	uint32_t exists; /* EXISTS count the client knows */
	char username[256];

	struct imap_str out; /* response being built */

	imap_job_fn *job;
	void *job_ctx;
	void (*job_free)(void *ctx);
	ph_timer *job_yield; /* the job used its time slice: resumes from
				this zero timer, after other connections */

	struct imap_append_state append;
	struct imap_idle idle;
};

/* ---- imap4-client.c ---- */
void imap_client_process(struct imap_client *c);
/* Arms the autologout of the current state (autologout_preauth before
 * login, autologout after) unless that value is armed already. */
void imap_client_autologout(struct imap_client *c);
void imap_client_close(struct imap_client *c);
/* Writes and clears c->out. */
/* conn_resume (imap4-session.c): a login moved to a session process. */
int imap_session_resume(void *plugin_state, ph_conn *conn, const ph_user *user,
			const void *state, size_t len, void **conn_state_r);
/* A client in the not-authenticated state; nothing written yet. */
struct imap_client *imap_client_create(struct imap_plugin *plugin,
				       ph_conn *conn);
void imap_client_flush(struct imap_client *c);
void imap_tagged(struct imap_client *c, const char *tag, const char *status,
		 const char *fmt, ...) PH_PRINTF(4, 5);
void imap_untagged(struct imap_client *c, const char *fmt, ...) PH_PRINTF(2, 3);
void imap_job_start(struct imap_client *c, imap_job_fn *job, void *ctx,
		    void (*ctx_free)(void *ctx));
/* Sends EXISTS/EXPUNGE/FLAGS news of the selected mailbox.
 * `no_expunge`: during FETCH/STORE/SEARCH (RFC 3501 7.4.1). */
void imap_sync(struct imap_client *c, int no_expunge);
/* The response code for a storage error ("NONEXISTENT", ...). */
const char *imap_error_code(int err);
/* Leaves the selected state (closing the view). */
void imap_unselect(struct imap_client *c);

/* ---- imap4-cmd-idle.c ---- */
/* Handles the line a client sent while idling (DONE or anything else). */
void imap_idle_line(struct imap_client *c, struct ph_str line);
/* Output drained: a sync that waited for it runs now. */
void imap_idle_output_ready(struct imap_client *c);
/* Stops watching and frees the IDLE timers (connection teardown). */
void imap_idle_stop(struct imap_client *c);

/* ---- command handlers (imap4-cmd-*.c) ----
 * `args` is the first argument (NULL when none; walk with imap_arg_next)
 * and is valid until the handler returns; `uid` is set after "UID". */
typedef void imap_cmd_fn(struct imap_client *c, const char *tag,
			 const struct imap_arg *args, int uid);
/* Shorthands over c->parser. */
#define ARG_NEXT(c, a)	imap_arg_next((c)->parser, (a))
#define ARG_STR(c, a)	imap_arg_str((c)->parser, (a))
#define ARG_IS(c, a, w) imap_arg_atom_is((c)->parser, (a), (w))

struct imap_command {
	const char *name;
	unsigned states;
	imap_cmd_fn *fn;
	int uid_ok; /* may follow "UID " */
};
const struct imap_command *imap_command_find(const char *name);

imap_cmd_fn imap_cmd_capability, imap_cmd_noop, imap_cmd_logout,
    imap_cmd_starttls, imap_cmd_login, imap_cmd_authenticate, imap_cmd_id,
    imap_cmd_enable, imap_cmd_namespace;
imap_cmd_fn imap_cmd_select, imap_cmd_create, imap_cmd_delete, imap_cmd_rename,
    imap_cmd_subscribe, imap_cmd_unsubscribe, imap_cmd_list, imap_cmd_lsub,
    imap_cmd_status, imap_cmd_check, imap_cmd_close, imap_cmd_unselect;
imap_cmd_fn imap_cmd_fetch, imap_cmd_store, imap_cmd_expunge, imap_cmd_copy,
    imap_cmd_move, imap_cmd_search, imap_cmd_append, imap_cmd_idle;

/* Capability string for the current state. */
void imap_capability_string(struct imap_client *c, struct imap_str *out);

/* ---- shared argument helpers ---- */
/* Mailbox argument (modified UTF-7 on the wire) to the storage's UTF-8
 * name; answers BAD/NO itself and returns NULL on error. malloc()ed. */
char *imap_mailbox_arg(struct imap_client *c, const char *tag,
		       const struct imap_arg *arg);
/* Parses a sequence set argument and resolves it against the view
 * (`uid`: a UID set). Answers BAD on error and returns < 0. Fills
 * *seqs_r with sorted sequence numbers (malloc()ed) and *count_r. */
int imap_seqset_arg(struct imap_client *c, const char *tag,
		    const struct imap_arg *arg, int uid, uint32_t **seqs_r,
		    size_t *count_r);
/* Appends "(\Seen \Answered kw ...)" for a message's flags. */
void imap_write_flags(struct imap_client *c, struct imap_str *out,
		      uint32_t flags, uint64_t keywords);
/* Parses a flag list; keywords are created when `create`. Returns 0, or
 * -1 after answering BAD. */
int imap_flags_arg(struct imap_client *c, const char *tag,
		   const struct imap_arg *list, int create, uint32_t *flags_r,
		   uint64_t *keywords_r);

#endif /* IMAP4_PRIVATE_H */
