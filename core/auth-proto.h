/* core/auth-proto.h - the messages between workers and the auth service
 * (OpenBSD imsg style): one SOCK_SEQPACKET datagram per message, a fixed
 * header {type, len, request_id} and a payload of length-prefixed fields.
 * Both ends live on the same host, so integers are in host order.
 *
 * Requests (worker -> service), payload:
 *   u32 secured, then the strings service, user, password, scheme,
 *   remote_ip, local_ip, each as u32 length + bytes + a NUL (so they
 *   are C strings in place; only the password may hold NULs inside).
 * SCRAM_FIRST / SCRAM_FINAL (worker -> service, same payload): one step
 * of a SCRAM exchange the service runs, so stored secrets never reach a
 * worker. FIRST: `scheme` is the mechanism ("SCRAM-SHA-256" or
 * "SCRAM-SHA-256-PLUS"), `password` the client-first message, and an
 * optional last string `cbind` the connection's channel-binding state
 * (ph__auth_cbind_encode). The reply is PH_OK with the record
 * "scram_session=ID\tscram_challenge=SERVER-FIRST", or PH_EAUTH with the
 * mechanism's message. FINAL: `user` is that ID, `password` the
 * client-final message; PH_OK carries the user record plus
 * "scram_final=SERVER-FINAL", PH_EAUTH the message and the penalty delay
 * (the service counted and logged the failure).
 * Hello (service -> worker), the first message on every connection,
 * request_id 0: one string, the credential schemes every plugin of the
 * chain serves, space separated ("PLAIN SCRAM-SHA-256"; "" for none).
 * Reply (service -> worker), payload:
 *   i32 result (PH_OK, PH_EAUTH, PH_EUNKNOWN, PH_ETEMP, ...),
 *   u32 delay_ms (failure penalty the worker waits before answering),
 *   then the strings message and user record ("k=v\tk=v"), and, only
 *   in a PH_OK answer to PLAIN, SCRAM_FINAL or EXTERNAL_VERIFY for a
 *   record with a uid, a last binary string: the one-time session
 *   ticket (exactly PH__AUTH_TICKET_LEN bytes; see auth-ticket.h).
 * EXTERNAL_VERIFY (worker -> service): SASL EXTERNAL, checked by the
 *   service itself. The request payload with `user` = the client's
 *   authzid ("" for none), `password` and `scheme` empty, then the
 *   listener name (a string, 1..PH__AUTH_MAX_FIELD bytes) and the
 *   client's certificate chain: u32 count (1..PH__AUTH_MAX_CHAIN), then
 *   each certificate as DER in a binary string (leaf first; together at
 *   most PH__AUTH_MAX_CHAIN_BYTES). Answered like PLAIN: PH_OK with the
 *   record (and a ticket for a record with a uid), PH_EAUTH with the
 *   penalty delay, or PH_ETEMP.
 * Master channel (session processes, root; never a worker's socket):
 *   ATTACH (header only, request_id 0) on the master's control socket
 *   carries one fd (SCM_RIGHTS): a SOCK_SEQPACKET end the service then
 *   serves as a master connection (a hello first). There REDEEM is the
 *   only request: the request payload with `password` = the ticket,
 *   `service` = the protocol, `remote_ip` = the client's address;
 *   answered PH_OK with the ticket's record, or PH_EAUTH (unknown,
 *   reused, expired, bound elsewhere). A worker connection that sends
 *   REDEEM, or a master connection that sends anything else, is closed.
 * The service answers only the request types in its table and drops a
 * client that sends anything else. */
#ifndef PH_CORE_AUTH_PROTO_H
#define PH_CORE_AUTH_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <posthorn/abi.h>
#include "auth-ticket.h"

struct ph__auth_client;

enum ph__auth_msg_type {
	PH__AUTH_MSG_PLAIN = 1,	      /* verify a plaintext password */
	PH__AUTH_MSG_LOOKUP = 2,      /* user record without a password */
	PH__AUTH_MSG_CREDENTIALS = 3, /* refused: secrets stay in the service */
	PH__AUTH_MSG_SCRAM_FIRST =
	    5, /* SCRAM client-first, run by the service */
	PH__AUTH_MSG_SCRAM_FINAL = 6,	  /* SCRAM client-final */
	PH__AUTH_MSG_REDEEM = 7,	  /* master channel: ticket -> record */
	PH__AUTH_MSG_ATTACH = 8,	  /* master control: one fd to serve */
	PH__AUTH_MSG_EXTERNAL_VERIFY = 9, /* client certificate chain */
	PH__AUTH_MSG_REPLY = 128,
	PH__AUTH_MSG_HELLO = 129,
};

struct ph__auth_msg_hdr {
	uint32_t type;
	uint32_t len; /* payload bytes after the header */
	uint32_t request_id;
};

/* Hard limits: a message never exceeds PH__AUTH_MSG_MAX bytes. */
#define PH__AUTH_MSG_MAX      32768
#define PH__AUTH_MAX_USER     512
#define PH__AUTH_MAX_PASSWORD 4096
#define PH__AUTH_MAX_FIELD    256 /* service, scheme, ips */
#define PH__AUTH_MAX_MESSAGE  256
#define PH__AUTH_MAX_RECORD   16384
#define PH__AUTH_MAX_CBIND    512
/* EXTERNAL_VERIFY: a client chain of at most 8 certificates and 24 KiB of
 * DER, so the message stays within PH__AUTH_MSG_MAX with every other
 * field at its limit (client chains are typically 1-4 KiB). */
#define PH__AUTH_MAX_CHAIN	 8
#define PH__AUTH_MAX_CHAIN_BYTES 24576

/* Default time a worker waits for an answer before PH_ETEMP (seconds);
 * must exceed the slowest plugin plus the largest failure penalty. */
#define PH__AUTH_CLIENT_TIMEOUT 45.0

/* A decoded request; strings point into the received datagram and are
 * NUL-terminated there (NUL-free except `password`). */
struct ph__auth_request_msg {
	uint32_t type, request_id;
	int secured;
	struct ph_str service, user, password, scheme, remote_ip, local_ip;
	struct ph_str cbind; /* SCRAM_FIRST only; binary; may be empty */
	/* EXTERNAL_VERIFY only (never empty there, always empty elsewhere) */
	struct ph_str listener;
	struct ph_str chain[PH__AUTH_MAX_CHAIN]; /* DER, leaf first */
	size_t chain_count;
};

struct ph__auth_reply_msg {
	uint32_t request_id;
	int32_t result;
	uint32_t delay_ms;
	struct ph_str message, record;
	struct ph_str ticket; /* empty, or PH__AUTH_TICKET_LEN bytes */
};

/* Encoders write a whole datagram into buf (size PH__AUTH_MSG_MAX) and
 * return its length, or PH_ETOOBIG when a field passes its limit. */
int ph__auth_encode_request(unsigned char *buf,
			    const struct ph__auth_request_msg *req);
int ph__auth_encode_reply(unsigned char *buf,
			  const struct ph__auth_reply_msg *reply);
/* Decoders parse a datagram in place (strings point into buf). Return
 * PH_OK or PH_EINVAL for anything malformed. */
int ph__auth_decode_request(unsigned char *buf, size_t len,
			    struct ph__auth_request_msg *req_r);
int ph__auth_decode_reply(unsigned char *buf, size_t len,
			  struct ph__auth_reply_msg *reply_r);
/* Hello: encode returns the length (or PH_ETOOBIG); decode PH_OK or
 * PH_EINVAL, schemes_r pointing into buf. */
int ph__auth_encode_hello(unsigned char *buf, struct ph_str schemes);
int ph__auth_decode_hello(unsigned char *buf, size_t len,
			  struct ph_str *schemes_r);
/* Attach: header only (the fd travels beside it). Encode returns the
 * length; decode PH_OK or PH_EINVAL. */
int ph__auth_encode_attach(unsigned char *buf);
int ph__auth_decode_attach(const unsigned char *buf, size_t len);
/* Type of a received datagram, or 0 when it has no complete header. */
uint32_t ph__auth_msg_type(const unsigned char *buf, size_t len);

/* Datagrams waiting for the socket to drain (bounded). */
struct ph__auth_outq_msg;
struct ph__auth_outq {
	struct ph__auth_outq_msg *head, *tail;
	size_t count;
};
#define PH__AUTH_OUTQ_MAX 4096

/* Sends `len` bytes now, or queues a copy when the socket is full.
 * Returns 0 when nothing is left queued, 1 when the caller must watch
 * for writability and call flush, or a negative PH_E* (PH_ECLOSED: peer
 * gone; PH_ETOOBIG: queue full). */
int ph__auth_outq_send(struct ph__auth_outq *q, int fd, const void *buf,
		       size_t len);
/* Sends what is queued; same results as ph__auth_outq_send(). */
int ph__auth_outq_flush(struct ph__auth_outq *q, int fd);
void ph__auth_outq_clear(struct ph__auth_outq *q);

/* Per-request timeout of a client (seconds, default
 * PH__AUTH_CLIENT_TIMEOUT). */
void ph__auth_client_set_timeout(struct ph__auth_client *client,
				 double seconds);
/* UNIX socket path of the service's listener: when the service
 * connection dies, the next request reconnects there (at most once per
 * second). NULL: fail with PH_ETEMP instead. */
int ph__auth_client_set_path(struct ph__auth_client *client, const char *path);
/* The service's hello: credential schemes all of its plugins serve,
 * space separated; "" until the hello arrived. */
const char *ph__auth_client_schemes(const struct ph__auth_client *client);
/* ph__auth_client_request() kinds beyond auth-client.h: "scram-first"
 * and "scram-final" (PH__AUTH_MSG_SCRAM_*; query->cbind for the first). */

struct ph__sasl_cbind;
/* The cbind field: advertised flag, then each type's name and data
 * (u8 lengths). Returns the length written into buf (size
 * PH__AUTH_MAX_CBIND), or PH_ETOOBIG. */
int ph__auth_cbind_encode(unsigned char *buf, int advertised,
			  const struct ph__sasl_cbind *types, size_t count);
/* Parses it; types point into `data`, names are copied into names_r
 * (count * 64 bytes). Returns the number of types or PH_EINVAL. */
int ph__auth_cbind_decode(struct ph_str data, int *advertised_r,
			  struct ph__sasl_cbind *types_r, char (*names_r)[64],
			  size_t max);

#endif
