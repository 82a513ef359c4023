/* pop3-session.c - per-user session processes (ABI 1.1): hand a system
 * user's session to the core after a successful login, and resume it in
 * the process that runs with the user's uid. POP3 needs no state across
 * the move: the login is answered there, and commands pipelined behind
 * PASS / AUTH travel with the connection's buffered input. */
#include <string.h>
#include "pop3-private.h"
#include "pop3-conn.h"

/* Identifies the blob, so a session resumed by another plugin version
 * is refused rather than misread. */
#define POP3_SESSION_STATE "pop3/1"

int pop3_session_handoff(struct pop3_conn *pc)
{
	const struct ph_core_api *api = pc->api;
	int ret;

	/* A 1.0 core has no per-user sessions. */
	if (!PH_API_HAS(api, session_handoff) || api->session_handoff == NULL)
		return 0;
	ret = api->session_handoff(pc->conn, POP3_SESSION_STATE,
				   strlen(POP3_SESSION_STATE));
	if (ret == 0)
		return 0;
	if (ret > 0) {
		/* Not a byte more from here; conn_closed() follows. */
		pc->closing = 1;
		return 1;
	}
	api->conn_log(pc->conn, PH_LOG_ERROR, "session handoff failed: %s",
		      api->strerror(ret));
	pop3_reply_err(pc, "SYS/TEMP", "Temporary failure, try again later");
	pop3_conn_close(pc);
	return 1;
}

int pop3_conn_resume(void *plugin_state, ph_conn *conn, const ph_user *user,
		     const void *state, size_t len, void **conn_state_r)
{
	struct pop3_conn *pc;

	if (len != strlen(POP3_SESSION_STATE) ||
	    memcmp(state, POP3_SESSION_STATE, len) != 0)
		return PH_EINVAL;
	pc = pop3_conn_new(plugin_state, conn);
	if (pc == NULL)
		return PH_ENOMEM;
	*conn_state_r = pc;
	/* Opens the maildrop as the user and answers PASS / AUTH. */
	pop3_login_finish(pc, user);
	return PH_OK;
}

/* conn_handoff_failed (ABI 1.2): the session process never took over;
 * PASS / AUTH is answered here, in the worker, and the core closes the
 * connection (commands pipelined behind the login are dropped). */
void pop3_conn_handoff_failed(void *plugin_state, ph_conn *conn,
			      const void *state, size_t len)
{
	const struct ph_core_api *api =
	    ((struct pop3_plugin *)plugin_state)->api;

	(void)state;
	(void)len;
	api->conn_printf(conn, "-ERR [SYS/TEMP] Temporary failure, try again "
			       "later\r\n");
}
