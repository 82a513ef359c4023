/*
 * posthorn/auth.h - what an auth plugin implements.
 *
 * Auth plugins run only inside the auth service process, never in a
 * worker. Their calls may block (PAM, a database); the core runs them off
 * the service's event loop. Several plugins form a chain ([auth] plugins =
 * a b): PH_EUNKNOWN falls through to the next plugin, any other answer is
 * definitive.
 */
#ifndef POSTHORN_AUTH_H
#define POSTHORN_AUTH_H

#include "core.h"

/* One authentication attempt, filled by the core. Everything is borrowed
 * for the duration of the call. */
struct ph_auth_request {
	uint32_t struct_size;
	struct ph_str user;	/* as the client gave it (no NUL inside) */
	struct ph_str password;	/* verify_plain only; never log it */
	const char *service;	/* protocol plugin name: "imap4", "pop3" */
	const char *remote_ip;	/* may be "" */
	const char *local_ip;	/* may be "" */
	int secured;		/* 1 when the client connection is TLS */
	/* ABI 1.0 ends here. */
};

struct ph_auth_ops {
	uint32_t struct_size;

	/* Non-zero when the calls below may run concurrently on several
	 * threads with the same state. Otherwise the core serialises them. */
	int thread_safe;

	/* Checks a plaintext password. On PH_OK fill `user` with
	 * api->user_set(): at least "user" (canonical name); optionally
	 * "home", "mail", "uid", "gid". Returns PH_OK, PH_EAUTH (wrong
	 * password or account refused), PH_EUNKNOWN (no such user here),
	 * PH_ETEMP (backend down). *error_r: a reason for the log (never the
	 * password), static or owned by the plugin until the next call. */
	int (*verify_plain)(void *state, const struct ph_auth_request *req,
			    ph_user *user, const char **error_r);

	/* Looks a user up without a password (local delivery). Same results
	 * as verify_plain minus PH_EAUTH. May be NULL. */
	int (*lookup)(void *state, const struct ph_auth_request *req,
		      ph_user *user, const char **error_r);

	/* Schemes lookup_credentials() can serve, NULL-terminated, e.g.
	 * {"PLAIN", "SCRAM-SHA-256", NULL}; NULL when none. A SASL mechanism
	 * that needs a stored secret is offered only when every plugin in
	 * the chain lists its scheme. */
	const char *const *credential_schemes;

	/* Stores the user's secret in `scheme`'s format as the user field
	 * "credentials" (and fills the record as verify_plain does). Returns
	 * PH_OK, PH_EUNKNOWN, PH_ENOTSUP (no secret in that scheme for this
	 * user), PH_ETEMP. May be NULL. */
	int (*lookup_credentials)(void *state, const struct ph_auth_request *req,
				  const char *scheme, ph_user *user,
				  const char **error_r);

	/* ABI 1.0 ends here. */
};

#define PH_AUTH_OPS_INIT .struct_size = sizeof(struct ph_auth_ops)
#define PH_AUTH_REQUEST_INIT {.struct_size = sizeof(struct ph_auth_request)}

#endif /* POSTHORN_AUTH_H */
