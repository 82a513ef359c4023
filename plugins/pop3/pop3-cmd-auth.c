/* pop3-cmd-auth.c - AUTHORIZATION state: USER/PASS (RFC 1939), AUTH
 * (RFC 5034), STLS (RFC 2595), APOP (refused), and the step into
 * TRANSACTION. */
#include <stdio.h>
#include <string.h>
#include "pop3-private.h"

#define POP3_PLAINTEXT_DENIED                                                  \
	"Plaintext authentication disallowed on non-secure (SSL/TLS) "         \
	"connections"

void pop3_login_finish(struct pop3_conn *pc, const ph_user *user)
{
	const char *code, *error = NULL, *name;
	int ret;

	/* A system user's session continues in a process of its own
	 * (pop3-session.c); this connection's state ends here. */
	if (pop3_session_handoff(pc))
		return;
	name = pc->api->user_get(user, "user");
	if (name != NULL)
		snprintf(pc->username, sizeof(pc->username), "%s", name);
	ret = pop3_maildrop_open(pc, user, &code, &error);
	if (ret < 0) {
		pc->api->conn_log(pc->conn, PH_LOG_INFO,
				  "maildrop of %s not opened: %s", pc->username,
				  error ? error : "error");
		pop3_reply_err(pc, code, "%s",
			       error != NULL ? error : pc->api->strerror(ret));
		/* The core binds a connection to the user it authenticated;
		 * a second login on it is refused, so end the session (as
		 * Dovecot does after [IN-USE]). */
		pop3_conn_close(pc);
		return;
	}
	pc->state = POP3_STATE_TRANSACTION;
	pc->api->conn_log(pc->conn, PH_LOG_INFO, "login: user=%s messages=%u",
			  pc->username, pc->count);
	pop3_reply_ok(pc, "Logged in, %u messages (%llu octets)", pc->count,
		      (unsigned long long)pc->total_size);
}

/* A login attempt failed: count it, answer, hang up on too many. */
static void pop3_login_failed(struct pop3_conn *pc, const char *code,
			      const char *message)
{
	pc->username[0] = '\0';
	pop3_reply_err(pc, code, "%s", message);
	if (++pc->auth_failures >= POP3_MAX_AUTH_FAILURES) {
		pop3_reply_err(pc, "AUTH", "Too many failed logins, closing");
		pop3_conn_close(pc);
	}
}

void pop3_cmd_user(struct pop3_conn *pc, const struct pop3_command *cmd)
{
	if (!pop3_conn_plaintext_ok(pc)) {
		pop3_reply_err(pc, "AUTH", POP3_PLAINTEXT_DENIED);
		return;
	}
	memcpy(pc->username, cmd->args[0].data, cmd->args[0].len);
	pc->username[cmd->args[0].len] = '\0';
	pop3_reply_ok(pc, "Send your password");
}

static void pop3_pass_done(void *ctx, int result, const ph_user *user,
			   const char *message)
{
	struct pop3_conn *pc = ctx;

	pc->wait = POP3_WAIT_NONE;
	if (result == PH_OK && user != NULL)
		pop3_login_finish(pc, user);
	else if (result == PH_EAUTH || result == PH_EUNKNOWN)
		pop3_login_failed(pc, "AUTH", message);
	else
		pop3_login_failed(pc, "SYS/TEMP", message);
	pop3_conn_process(pc);
}

void pop3_cmd_pass(struct pop3_conn *pc, const struct pop3_command *cmd)
{
	struct ph_str user = {pc->username, strlen(pc->username)};
	int ret;

	if (user.len == 0) {
		pop3_reply_err(pc, NULL, "No user name given: send USER first");
		return;
	}
	ret = pc->api->auth_plain(pc->conn, user, cmd->args[0], pop3_pass_done,
				  pc);
	if (ret == PH_OK) {
		pc->wait = POP3_WAIT_CORE;
	} else if (ret == PH_EPERM) {
		pc->username[0] = '\0';
		pop3_reply_err(pc, "AUTH", POP3_PLAINTEXT_DENIED);
	} else {
		pc->username[0] = '\0';
		pop3_reply_err(pc, "SYS/TEMP", "Authentication unavailable: %s",
			       pc->api->strerror(ret));
	}
}

void pop3_cmd_apop(struct pop3_conn *pc, const struct pop3_command *cmd)
{
	/* APOP needs the user's shared secret in the worker; the core ABI
	 * has no such lookup, so the greeting carries no timestamp and
	 * APOP is refused. */
	pop3_reply_err(pc, "AUTH", "APOP is not supported");
}

/* ---- AUTH (RFC 5034) ---- */

static void pop3_sasl_step(void *ctx, enum ph_sasl_status status,
			   struct ph_str data, const ph_user *user)
{
	struct pop3_conn *pc = ctx;
	int len = data.len > 400 ? 400 : (int)data.len;
	char text[401];

	switch (status) {
	case PH_SASL_CHALLENGE:
		/* base64 from the core: safe to send as is. */
		pc->api->conn_write(pc->conn, "+ ", 2);
		pc->api->conn_write(pc->conn, data.data, data.len);
		pc->api->conn_write(pc->conn, "\r\n", 2);
		pc->wait = POP3_WAIT_SASL_LINE;
		break;
	case PH_SASL_SUCCESS:
		pc->wait = POP3_WAIT_NONE;
		pop3_login_finish(pc, user);
		break;
	case PH_SASL_FAILURE:
		pc->wait = POP3_WAIT_NONE;
		snprintf(text, sizeof(text), "%.*s", len, data.data);
		pop3_login_failed(pc, "AUTH",
				  len ? text : "Authentication failed");
		break;
	case PH_SASL_TEMPFAIL:
		pc->wait = POP3_WAIT_NONE;
		pop3_reply_err(pc, "SYS/TEMP", "%.*s", len, data.data);
		break;
	case PH_SASL_ABORTED:
	case PH_SASL_BADINPUT:
		pc->wait = POP3_WAIT_NONE;
		pop3_reply_err(pc, NULL, "%.*s", len, data.data);
		break;
	}
	pop3_conn_process(pc);
}

void pop3_sasl_line(struct pop3_conn *pc, struct ph_str line)
{
	pc->wait = POP3_WAIT_CORE;
	if (pc->api->sasl_continue(pc->conn, line) < 0) {
		pc->wait = POP3_WAIT_NONE;
		pop3_reply_err(pc, NULL, "Authentication exchange failed");
	}
}

static void pop3_auth_list(struct pop3_conn *pc)
{
	const char *mechs = pc->api->sasl_mechanisms(pc->conn);

	pop3_reply_ok(pc, "List of SASL mechanisms follows");
	while (mechs != NULL && *mechs != '\0') {
		size_t n = strcspn(mechs, " ");

		if (n > 0)
			pop3_reply_line(pc, "%.*s", (int)n, mechs);
		mechs += n;
		mechs += strspn(mechs, " ");
	}
	pop3_reply_line(pc, ".");
}

void pop3_cmd_auth(struct pop3_conn *pc, const struct pop3_command *cmd)
{
	char mech[64];
	int ret;

	if (cmd->argc == 0) {
		pop3_auth_list(pc); /* pre-RFC 5034 clients probe this way */
		return;
	}
	if (cmd->args[0].len >= sizeof(mech)) {
		pop3_reply_err(pc, NULL,
			       "Unsupported authentication mechanism");
		return;
	}
	memcpy(mech, cmd->args[0].data, cmd->args[0].len);
	mech[cmd->args[0].len] = '\0';
	pc->username[0] = '\0';
	ret = pc->api->sasl_start(pc->conn, mech,
				  cmd->argc > 1 ? &cmd->args[1] : NULL,
				  pop3_sasl_step, pc);
	if (ret == PH_OK) {
		pc->wait = POP3_WAIT_CORE;
	} else if ((ret == PH_ENOTSUP || ret == PH_EPERM) &&
		   !pop3_conn_plaintext_ok(pc)) {
		pop3_reply_err(pc, "AUTH", POP3_PLAINTEXT_DENIED);
	} else if (ret == PH_ENOTSUP) {
		pop3_reply_err(pc, NULL,
			       "Unsupported authentication mechanism");
	} else {
		pop3_reply_err(pc, "SYS/TEMP", "Authentication unavailable: %s",
			       pc->api->strerror(ret));
	}
}

/* ---- STLS (RFC 2595 section 4) ---- */

void pop3_cmd_stls(struct pop3_conn *pc, const struct pop3_command *cmd)
{
	struct ph_conn_info info = PH_CONN_INFO_INIT;

	if (pc->api->conn_info(pc->conn, &info) < 0 ||
	    info.tls_mode != PH_TLS_STARTTLS) {
		pop3_reply_err(pc, NULL, "STLS is not available here");
		return;
	}
	if (info.tls) {
		pop3_reply_err(pc, NULL, "TLS is already active");
		return;
	}
	pop3_reply_ok(pc, "Begin TLS negotiation now");
	/* Forget anything said in plaintext; the core drops input buffered
	 * behind STLS (command injection), so stop reading until the
	 * handshake is done and conn_input() runs again. */
	pc->username[0] = '\0';
	pc->wait = POP3_WAIT_TLS;
	if (pc->api->conn_starttls(pc->conn) < 0)
		pop3_conn_close(pc);
}
