/* core/handoff.h - moving a logged-in session to a per-user process.
 *
 * The policy (which users need their own process) and the one message a
 * worker sends the master over its handoff socket (SOCK_SEQPACKET, one
 * datagram, set up at fork): header {type, len, request_id = 0}, then
 *   u32 flags (PH__HANDOFF_TLS: the fd is a relay socketpair whose other
 *   end the worker keeps with the TLS session; else the client socket),
 *   u32 peer_port, u32 local_port, then the strings listener, protocol,
 *   session_id, peer_ip, local_ip, tls_version, tls_cipher, user record
 *   ("k=v\tk=v"), session ticket (empty or PH__AUTH_TICKET_LEN bytes),
 *   plugin state and buffered input, each as u32 length + bytes + a NUL.
 *   Only ticket, state and input may hold NULs.
 * The user record is only the worker's claim: the session process
 * redeems the ticket with the auth service and serves the record the
 * service vouches for (it must name the same user and uid). Type 2: the
 * layout with the ticket (type 1, without, is refused).
 * The datagram carries exactly one fd (SCM_RIGHTS). Both ends are on the
 * same host, so integers are in host order. The master parses it as
 * root: the decoder is strict and fuzzed (tests/fuzz/fuzz-handoff.c). */
#ifndef PH_CORE_HANDOFF_H
#define PH_CORE_HANDOFF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <posthorn/posthorn.h>
#include "auth-ticket.h"

#define PH__HANDOFF_MSG_SESSION 2
#define PH__HANDOFF_TLS		0x1u

/* Limits: every field, and the datagram as a whole. */
#define PH__HANDOFF_MAX_NAME   256 /* listener, protocol, ids, ips, tls */
#define PH__HANDOFF_MAX_RECORD 16384
#define PH__HANDOFF_MAX_STATE  PH_SESSION_STATE_MAX
#define PH__HANDOFF_MAX_INPUT  65536
#define PH__HANDOFF_MSG_MAX    (128 * 1024)

struct ph__handoff_msg {
	uint32_t flags;
	uint16_t peer_port, local_port;
	struct ph_str listener, protocol, session_id, peer_ip, local_ip,
	    tls_version, tls_cipher, user, ticket, state, input;
};

/* Writes the datagram into buf (PH__HANDOFF_MSG_MAX bytes); returns its
 * length or PH_ETOOBIG when a field passes its limit. */
int ph__handoff_encode(unsigned char *buf, const struct ph__handoff_msg *m);
/* Parses a datagram in place (strings point into buf, NUL-terminated
 * there). PH_OK or PH_EINVAL for anything malformed. */
int ph__handoff_decode(unsigned char *buf, size_t len,
		       struct ph__handoff_msg *m_r);

enum ph__session_decision {
	PH__SESSION_STAY = 0,	 /* serve here (virtual user, same uid) */
	PH__SESSION_HANDOFF = 1, /* move to a process with the user's uid */
	PH__SESSION_REFUSE = -1, /* must not be served at all */
};

struct ph__session_policy {
	uid_t euid;		  /* this process's effective uid */
	unsigned first_valid_uid; /* [auth] first_valid_uid */
	int master_root;	  /* the master can switch uids */
	int have_channel;	  /* a handoff socket to the master exists */
	int can_resume;		  /* the protocol has conn_resume */
};

/* Decides from the record's "uid" and "gid" fields (NULL: absent).
 * uid_r and gid_r get the parsed ids for HANDOFF; why_r says why for
 * REFUSE (static text for the log). */
enum ph__session_decision ph__session_decide(const struct ph__session_policy *p,
					     const char *uid, const char *gid,
					     uid_t *uid_r, gid_t *gid_r,
					     const char **why_r);

/* The protocol ops table has a conn_resume (ABI 1.1). */
int ph__protocol_can_resume(const struct ph_protocol_ops *ops);

/* ---- The outcome of a handoff (see docs/sessions.md) ----
 * Until the session process reports that conn_resume() accepted the
 * session, the worker keeps the connection (a dup of a plaintext socket,
 * or the TLS session) so that it can still answer the login.
 *
 * The session child reports to the master once, over a pipe: "ok\n"
 * (running) or "fail: REASON\n" (could not start; REASON for the log).
 * The master answers the worker on its handoff socket with one datagram:
 * header {type 3, len, request_id = 0}, then i32 result (PH_OK: the
 * session runs; < 0: it could not start) and the connection's session id
 * as u32 length + bytes + a NUL. */
#define PH__HANDOFF_MSG_RESULT	  3
#define PH__SESSION_STATUS_MAX	  512 /* one report, bytes (< PIPE_BUF) */
#define PH__HANDOFF_RESULT_MAX	  (64 + PH__HANDOFF_MAX_NAME)

/* The protocol ops table has a conn_handoff_failed (ABI 1.2). */
int ph__protocol_can_answer_failure(const struct ph_protocol_ops *ops);

/* Writes the result datagram into buf (size bytes); its length, or
 * PH_ETOOBIG. */
int ph__handoff_encode_result(unsigned char *buf, size_t size, int result,
			      struct ph_str session_id);
/* Parses a result datagram in place (session_id points into buf). PH_OK
 * or PH_EINVAL. */
int ph__handoff_decode_result(unsigned char *buf, size_t len, int *result_r,
			      struct ph_str *session_id_r);

/* A session child's report: "ok\n", or "fail: " + why (cut to fit) +
 * "\n". Returns the length written to buf (PH__SESSION_STATUS_MAX). */
size_t ph__session_status_format(char *buf, int ok, const char *why);
/* Parses a report: 1 running, 0 failed (why_r gets the reason, control
 * characters replaced, NUL-terminated), PH_EINVAL for anything else. */
int ph__session_status_parse(const char *buf, size_t len, char *why_r,
			     size_t why_size);

#endif
