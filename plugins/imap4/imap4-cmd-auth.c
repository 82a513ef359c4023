/* imap4-cmd-auth.c - LOGIN and AUTHENTICATE (RFC 3501, SASL-IR RFC 4959)
 * and the step into the authenticated state. */
#include <stdio.h>
#include <string.h>
#include "imap4-private.h"

int imap_plaintext_ok(struct imap_client *c);
/* imap4-session.c: 1 when the session moved to a per-user process (or
 * the move failed and was answered); 0: carry on here. */
int imap_session_handoff(struct imap_client *c);
void imap_login_resumed(struct imap_client *c, const ph_user *user);

static void login_finish(struct imap_client *c, const ph_user *user)
{
	const char *error = NULL, *name = c->api->user_get(user, "user");
	int ret;

	if (imap_session_handoff(c))
		return;
	snprintf(c->username, sizeof(c->username), "%s",
		 name != NULL ? name : "?");
	ret = c->api->storage_get(&c->storage, &c->storage_state);
	if (ret == PH_OK)
		ret = c->storage->user_open(c->storage_state, user, &c->mu,
					    &error);
	if (ret < 0) {
		c->api->conn_log(c->conn, PH_LOG_ERROR,
				 "mail store of %s not opened: %s", c->username,
				 error != NULL ? error : c->api->strerror(ret));
		imap_tagged(c, c->tag, "NO",
			    "[UNAVAILABLE] Mail store "
			    "unavailable");
		imap_client_close(c);
		return;
	}
	c->state = IMAP_STATE_AUTH;
	c->api->conn_log(c->conn, PH_LOG_INFO, "login: user=%s", c->username);
	imap_str_printf(&c->out, "%s OK [", c->tag);
	imap_capability_string(c, &c->out);
	imap_str_appends(&c->out, "] Logged in\r\n");
	imap_client_flush(c);
}

/* The login continued in a per-user session process. */
void imap_login_resumed(struct imap_client *c, const ph_user *user)
{
	login_finish(c, user);
}

static void login_done(void *ctx, int result, const ph_user *user,
		       const char *message)
{
	struct imap_client *c = ctx;

	c->wait = IMAP_WAIT_NONE;
	if (result == PH_OK && user != NULL)
		login_finish(c, user);
	else if (result == PH_EAUTH || result == PH_EUNKNOWN)
		imap_tagged(c, c->tag, "NO", "[AUTHENTICATIONFAILED] %s",
			    message);
	else
		imap_tagged(c, c->tag, "NO", "[UNAVAILABLE] %s", message);
	imap_client_process(c);
}

void imap_cmd_login(struct imap_client *c, const char *tag,
		    const struct imap_arg *args, int uid)
{
	const struct imap_arg *pass = ARG_NEXT(c, args);
	struct ph_str u, p;
	int ret;

	if (!imap_arg_is_string(args) || !imap_arg_is_string(pass) ||
	    ARG_NEXT(c, pass) != NULL) {
		imap_tagged(c, tag, "BAD", "LOGIN needs user and password");
		return;
	}
	if (!imap_plaintext_ok(c)) {
		imap_tagged(c, tag, "NO",
			    "[PRIVACYREQUIRED] Plaintext authentication "
			    "disallowed on non-secure connections");
		return;
	}
	u.data = ARG_STR(c, args);
	u.len = args->len;
	p.data = ARG_STR(c, pass);
	p.len = pass->len;
	ret = c->api->auth_plain(c->conn, u, p, login_done, c);
	if (ret == PH_OK)
		c->wait = IMAP_WAIT_CORE;
	else if (ret == PH_EPERM)
		imap_tagged(c, tag, "NO",
			    "[PRIVACYREQUIRED] Plaintext "
			    "authentication disallowed");
	else
		imap_tagged(c, tag, "NO", "[UNAVAILABLE] %s",
			    c->api->strerror(ret));
}

static void sasl_step(void *ctx, enum ph_sasl_status status, struct ph_str data,
		      const ph_user *user)
{
	struct imap_client *c = ctx;
	int len = data.len > 400 ? 400 : (int)data.len;

	switch (status) {
	case PH_SASL_CHALLENGE:
		c->api->conn_write(c->conn, "+ ", 2);
		c->api->conn_write(c->conn, data.data, data.len);
		c->api->conn_write(c->conn, "\r\n", 2);
		c->wait = IMAP_WAIT_SASL_LINE;
		break;
	case PH_SASL_SUCCESS:
		c->wait = IMAP_WAIT_NONE;
		login_finish(c, user);
		break;
	case PH_SASL_FAILURE:
		c->wait = IMAP_WAIT_NONE;
		imap_tagged(c, c->tag, "NO", "[AUTHENTICATIONFAILED] %.*s", len,
			    data.data);
		break;
	case PH_SASL_TEMPFAIL:
		c->wait = IMAP_WAIT_NONE;
		imap_tagged(c, c->tag, "NO", "[UNAVAILABLE] %.*s", len,
			    data.data);
		break;
	case PH_SASL_ABORTED:
	case PH_SASL_BADINPUT:
		c->wait = IMAP_WAIT_NONE;
		if (c->sasl_too_long)
			imap_tagged(c, c->tag, "BAD", "SASL response too long");
		else
			imap_tagged(c, c->tag, "BAD", "%.*s", len, data.data);
		c->sasl_too_long = 0;
		break;
	}
	imap_client_process(c);
}

void imap_sasl_line(struct imap_client *c, struct ph_str line);
void imap_sasl_line(struct imap_client *c, struct ph_str line)
{
	c->wait = IMAP_WAIT_SASL_CORE;
	if (c->api->sasl_continue(c->conn, line) != PH_OK) {
		c->wait = IMAP_WAIT_NONE;
		imap_tagged(c, c->tag, "BAD", "No SASL exchange running");
	}
}

void imap_cmd_authenticate(struct imap_client *c, const char *tag,
			   const struct imap_arg *args, int uid)
{
	const struct imap_arg *ir = ARG_NEXT(c, args);
	struct ph_str irs;
	int ret;

	if (args == NULL || args->type != IMAP_ARG_ATOM ||
	    (ir != NULL &&
	     (!imap_arg_is_string(ir) || ARG_NEXT(c, ir) != NULL))) {
		imap_tagged(c, tag, "BAD", "AUTHENTICATE needs a mechanism");
		return;
	}
	if (ir != NULL) {
		irs.data = ARG_STR(c, ir);
		irs.len = ir->len;
	}
	c->wait = IMAP_WAIT_SASL_CORE;
	ret = c->api->sasl_start(c->conn, ARG_STR(c, args),
				 ir != NULL ? &irs : NULL, sasl_step, c);
	if (ret == PH_OK)
		return;
	c->wait = IMAP_WAIT_NONE;
	if (ret == PH_ENOTSUP)
		imap_tagged(c, tag, "NO",
			    "[CANNOT] Unsupported authentication mechanism");
	else
		imap_tagged(c, tag, "NO", "[UNAVAILABLE] %s",
			    c->api->strerror(ret));
}
