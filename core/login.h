/* core/login.h - per-connection authentication state: the glue between
 * the core API's auth_plain / sasl_* entries and the auth client. Applies
 * the listener's plaintext policy, base64 framing and step size limits,
 * and owns the authenticated user record. */
#ifndef PH_CORE_LOGIN_H
#define PH_CORE_LOGIN_H

#include <ev.h>
#include <openssl/ssl.h>
#include <posthorn/core.h>
#include "auth-client.h"

struct ph__login;

struct ph__login_params {
	const char *service;	   /* protocol plugin name (copied) */
	const char *remote_ip;	   /* copied */
	const char *local_ip;	   /* copied */
	int secured;		   /* TLS active now */
	int allow_plaintext;	   /* listener allows plaintext auth w/o TLS */
	const char *cert_username; /* "cn" | "email": which client
				      certificate field names the user
				      (EXTERNAL); copied; NULL = "cn" */
	const char *listener;	   /* listener name: the auth service
				      verifies EXTERNAL's certificate
				      against its tls_client_ca; copied */
};

/* `client` is borrowed and must outlive the login. */
struct ph__login *ph__login_create(struct ev_loop *loop,
				   struct ph__auth_client *client,
				   const struct ph__login_params *params);
/* Cancels any request in flight (its callback never runs); frees the
 * user record. */
void ph__login_destroy(struct ph__login **login);
/* After STARTTLS completes. */
void ph__login_set_secured(struct ph__login *login, int secured);
/* After a TLS handshake (implicit or STARTTLS): marks the login secured
 * and keeps `ssl` (borrowed; must outlive the login) for SCRAM-PLUS
 * channel binding and EXTERNAL's client certificate. */
void ph__login_set_tls(struct ph__login *login, SSL *ssl);

/* The core API entries, with the same contracts as in posthorn/core.h.
 * Callbacks receive a user record owned by the login (valid until
 * ph__login_destroy). */
int ph__login_plain(struct ph__login *login, struct ph_str user,
		    struct ph_str password, ph_auth_done_fn *cb, void *ctx);
const char *ph__login_mechanisms(struct ph__login *login);
int ph__login_sasl_start(struct ph__login *login, const char *mech,
			 const struct ph_str *initial_response, ph_sasl_fn *cb,
			 void *ctx);
int ph__login_sasl_continue(struct ph__login *login, struct ph_str response);
/* The user of a successful login, or NULL. */
const ph_user *ph__login_user(const struct ph__login *login);
/* The one-time session ticket the auth service issued with that login
 * (PH__AUTH_TICKET_LEN bytes; see auth-ticket.h), or NULL: none came
 * (no uid in the record). */
const unsigned char *ph__login_ticket(const struct ph__login *login);

#endif
