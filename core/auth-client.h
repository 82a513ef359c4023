/* core/auth-client.h - the worker's side of the auth service: requests
 * travel over a UNIX socket as small typed messages and answers come back
 * as loop events, so a slow auth plugin never blocks a worker. */
#ifndef PH_CORE_AUTH_CLIENT_H
#define PH_CORE_AUTH_CLIENT_H

#include <ev.h>
#include <posthorn/core.h>

struct ph__auth_client;

/* Result of a request: result is PH_OK (user set; the callee takes
 * ownership of `user` and must ph__user_destroy it), PH_EAUTH,
 * PH_EUNKNOWN, PH_ETEMP; message: for the log, never NULL. ticket: the
 * one-time session ticket that came with a PH_OK (PH__AUTH_TICKET_LEN
 * bytes, valid during the call), else NULL. */
typedef void ph__auth_reply_fn(void *ctx, int result, ph_user *user,
			       const char *message,
			       const unsigned char *ticket);

/* fd: connected SOCK_SEQPACKET to the auth service; owned afterwards. */
struct ph__auth_client *ph__auth_client_create(struct ev_loop *loop, int fd);
void ph__auth_client_destroy(struct ph__auth_client **client);

struct ph__auth_query {
	const char *kind;     /* "plain", "lookup", "scram-first",
				 "scram-final", "external" */
	const char *service;  /* protocol name */
	const char *user;     /* NUL-free */
	const char *password; /* plain; scram-*: the client message */
	size_t password_len;
	const char *scheme; /* scram-*: the mechanism */
	const char *remote_ip, *local_ip;
	int secured;
	const unsigned char *cbind; /* scram-first: channel-binding state */
	size_t cbind_len;
	/* "external" (EXTERNAL_VERIFY): `user` is the authzid ("" for
	 * none); the listener and the client's DER chain, leaf first */
	const char *listener;
	const struct ph_str *chain;
	size_t chain_count;
};

/* Sends a request; returns an id >= 1, or a negative PH_E*. reply() runs
 * later from the loop, exactly once unless cancelled. */
int ph__auth_client_request(struct ph__auth_client *client,
			    const struct ph__auth_query *query,
			    ph__auth_reply_fn *reply, void *ctx);
/* The reply for `id` will not be delivered (connection closed). */
void ph__auth_client_cancel(struct ph__auth_client *client, int id);

#endif
