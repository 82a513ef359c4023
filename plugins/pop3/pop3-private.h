/* pop3-private.h - state shared by the POP3 plugin's files. */
#ifndef POP3_PRIVATE_H
#define POP3_PRIVATE_H

#include <posthorn/posthorn.h>
#include "pop3-encoder.h"
#include "pop3-parser.h"
#include "pop3-settings.h"

/* Longest line read at once: longer ones the core discards and reports as
 * PH_ETOOBIG, and we close (abusive). Lines between POP3_MAX_LINE and this
 * get "-ERR line too long" and the session goes on. */
#define POP3_READ_MAX 65536
/* A SASL response line (base64) may be longer than a command
 * (RFC 5034 section 4). */
#define POP3_SASL_LINE_MAX 16384
/* Consecutive unparsable or too long lines before we hang up. */
#define POP3_MAX_BAD_LINES 10
/* Failed logins on one connection before we hang up. */
#define POP3_MAX_AUTH_FAILURES 5
/* Bytes of a message read per streaming step. */
#define POP3_CHUNK 16384
/* Lines of a LIST/UIDL listing written per streaming step. */
#define POP3_LIST_BATCH 256

/* The plugin's process-wide state (init/fini). */
struct pop3_plugin {
	const struct ph_core_api *api;
	const ph_config *config;
	/* Scratch for streaming: the loop is single-threaded and each step
	 * hands its output to conn_write (which copies), so one pair of
	 * buffers serves every connection. */
	char in[POP3_CHUNK];
	char out[POP3_ENCODER_OUT_MAX(POP3_CHUNK) + POP3_ENCODER_FINISH_MAX];
};

/* What input processing waits for. */
enum pop3_wait {
	POP3_WAIT_NONE = 0,  /* reading commands */
	POP3_WAIT_CORE,	     /* an auth / SASL callback is due */
	POP3_WAIT_SASL_LINE, /* the client's next SASL response */
	POP3_WAIT_JOB,	     /* a multi-line response is streaming */
	POP3_WAIT_TLS,	     /* STLS accepted, handshake pending */
};

struct pop3_conn;
/* One step of a streaming response: write a bounded amount, return 0 for
 * "more to come", 1 when finished, < 0 on a fatal error (the connection
 * is closed). */
typedef int pop3_job_fn(struct pop3_conn *pc);

/* A RETR or TOP in progress. */
struct pop3_retr {
	struct ph_message_body body;
	uint32_t seq;
	uint64_t pos; /* bytes of the body consumed */
	struct pop3_encoder enc;
	unsigned is_retr : 1; /* RETR (mark \Seen, learn wire form) */
};

struct pop3_conn {
	struct pop3_plugin *plugin;
	const struct ph_core_api *api;
	ph_conn *conn;
	struct pop3_settings set;
	enum pop3_state state;
	enum pop3_wait wait;
	unsigned processing : 1; /* inside pop3_conn_process() */
	unsigned closing : 1;
	unsigned bad_lines;
	unsigned auth_failures;
	char username[POP3_MAX_LINE + 1]; /* from USER; "" when none */

	/* TRANSACTION state: the maildrop snapshot. */
	const ph_user *user;
	const struct ph_storage_ops *storage;
	ph_mail_user *mu;
	ph_mailbox *box;
	uint32_t uidvalidity;
	uint32_t count;		/* messages in the snapshot */
	uint64_t total_size;	/* of all of them */
	uint32_t deleted_count; /* marked by DELE */
	uint64_t deleted_size;
	uint8_t *deleted;	  /* [count], 1 = DELE'd */
	uint32_t retrieved_count; /* for the logout log line */

	/* The streaming response, when wait == POP3_WAIT_JOB. */
	pop3_job_fn *job;
	uint32_t list_next; /* LIST/UIDL listing cursor */
	enum pop3_cmd_id list_cmd;
	struct pop3_retr retr;
};

typedef void pop3_cmd_fn(struct pop3_conn *pc, const struct pop3_command *cmd);

/* pop3-conn.c */
void pop3_conn_process(struct pop3_conn *pc);
void pop3_conn_close(struct pop3_conn *pc);
void pop3_job_start(struct pop3_conn *pc, pop3_job_fn *job);
int pop3_conn_plaintext_ok(struct pop3_conn *pc);

/* pop3-reply.c: one response line each; `code` is an RFC 2449 response
 * code without brackets or NULL. Control characters in the text become
 * spaces, so a message from elsewhere cannot break the framing. */
void pop3_reply_ok(struct pop3_conn *pc, const char *fmt, ...) PH_PRINTF(2, 3);
void pop3_reply_err(struct pop3_conn *pc, const char *code, const char *fmt,
		    ...) PH_PRINTF(3, 4);
/* A raw line (CR LF added); the caller guarantees it is clean. */
void pop3_reply_line(struct pop3_conn *pc, const char *fmt, ...)
    PH_PRINTF(2, 3);
/* The response code for a storage / auth error class. */
const char *pop3_reply_code(int error);

/* pop3-maildrop.c */
int pop3_maildrop_open(struct pop3_conn *pc, const ph_user *user,
		       const char **code_r, const char **error_r);
void pop3_maildrop_close(struct pop3_conn *pc);
int pop3_maildrop_expunge(struct pop3_conn *pc, const char **error_r);
void pop3_maildrop_mark_seen(struct pop3_conn *pc, uint32_t seq);
/* The unique-id of message `seq`: "UIDVALIDITY.UID". */
int pop3_maildrop_uidl(struct pop3_conn *pc, uint32_t seq, char *buf,
		       size_t size);

/* pop3-cmd-mailbox.c: validates a message number argument; replies -ERR
 * and returns -1 when it is not a live message of the snapshot. */
int pop3_msg_arg(struct pop3_conn *pc, struct ph_str arg, uint32_t *seq_r);

/* pop3-session.c: offers the logged-in session to the core for a
 * per-user process. 1: moved or failed (answered); 0: carry on here. */
int pop3_session_handoff(struct pop3_conn *pc);

/* pop3-cmd-auth.c: a login completed; opens the maildrop and answers. */
void pop3_login_finish(struct pop3_conn *pc, const ph_user *user);

/* Command handlers, one family per file. */
pop3_cmd_fn pop3_cmd_user, pop3_cmd_pass, pop3_cmd_apop, pop3_cmd_auth,
    pop3_cmd_stls;
pop3_cmd_fn pop3_cmd_capa, pop3_cmd_utf8;
pop3_cmd_fn pop3_cmd_stat, pop3_cmd_list, pop3_cmd_uidl, pop3_cmd_dele,
    pop3_cmd_rset, pop3_cmd_noop;
pop3_cmd_fn pop3_cmd_retr, pop3_cmd_top;
pop3_cmd_fn pop3_cmd_quit;

/* pop3-cmd-auth.c: a SASL response line arrived. */
void pop3_sasl_line(struct pop3_conn *pc, struct ph_str line);

#endif
