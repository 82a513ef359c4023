/* imap4-session.c - per-user session processes (ABI 1.1): after a
 * successful LOGIN / AUTHENTICATE a system user's session is handed to
 * the core, and resumed in the process that runs with the user's uid,
 * where the tagged OK is sent. The only state that travels is the tag;
 * commands pipelined behind the login travel with the connection's
 * buffered input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "imap4-private.h"

/* "imap4/1\n" + tag: a blob from another plugin version is refused
 * rather than misread. */
#define IMAP_SESSION_MAGIC "imap4/1\n"

int imap_session_handoff(struct imap_client *c);
void imap_login_resumed(struct imap_client *c, const ph_user *user);
void imap_session_handoff_failed(void *plugin_state, ph_conn *conn,
				 const void *state, size_t len);

int imap_session_handoff(struct imap_client *c)
{
	const struct ph_core_api *api = c->api;
	char state[sizeof(IMAP_SESSION_MAGIC) + sizeof(c->tag)];
	int ret;

	/* A 1.0 core has no per-user sessions. */
	if (!PH_API_HAS(api, session_handoff) || api->session_handoff == NULL)
		return 0;
	ret =
	    snprintf(state, sizeof(state), "%s%s", IMAP_SESSION_MAGIC, c->tag);
	ret = api->session_handoff(c->conn, state, (size_t)ret);
	if (ret == 0)
		return 0;
	if (ret > 0) {
		/* Not a byte more from here; conn_closed() follows. */
		c->closing = 1;
		return 1;
	}
	api->conn_log(c->conn, PH_LOG_ERROR, "session handoff failed: %s",
		      api->strerror(ret));
	imap_tagged(c, c->tag, "NO",
		    "[UNAVAILABLE] Temporary failure, try again later");
	imap_client_close(c);
	return 1;
}

/* The login command's tag from a handoff blob, or NULL for a blob this
 * version did not write. *tag_len_r: its length (not NUL-terminated). */
static const char *imap_session_tag(const void *state, size_t len,
				    size_t *tag_len_r)
{
	const size_t magic = strlen(IMAP_SESSION_MAGIC);
	const char *tag = (const char *)state + magic;

	if (state == NULL || len <= magic ||
	    memcmp(state, IMAP_SESSION_MAGIC, magic) != 0 ||
	    len - magic >= sizeof(((struct imap_client *)0)->tag) ||
	    memchr(tag, '\0', len - magic) != NULL ||
	    memchr(tag, '\n', len - magic) != NULL ||
	    memchr(tag, '\r', len - magic) != NULL)
		return NULL;
	*tag_len_r = len - magic;
	return tag;
}

int imap_session_resume(void *plugin_state, ph_conn *conn, const ph_user *user,
			const void *state, size_t len, void **conn_state_r)
{
	size_t tag_len;
	const char *tag = imap_session_tag(state, len, &tag_len);
	struct imap_client *c;

	if (tag == NULL)
		return PH_EINVAL;
	/* No greeting: the worker sent it. */
	c = imap_client_create(plugin_state, conn);
	if (c == NULL)
		return PH_ENOMEM;
	memcpy(c->tag, tag, tag_len);
	c->tag[tag_len] = '\0';
	*conn_state_r = c;
	/* Opens the mail store as the user and sends the tagged OK. */
	imap_login_resumed(c, user);
	/* logged in: autologout instead of autologout_preauth */
	imap_client_autologout(c);
	return PH_OK;
}

/* conn_handoff_failed (ABI 1.2): the session process never took over, so
 * the login is answered here, in the worker, and the connection closes
 * (the core closes it; input pipelined behind the login is dropped).
 * BYE first, as for LOGOUT: the server is about to close, then the
 * command's completion (RFC 3501 7.1.5; UNAVAILABLE: RFC 5530). */
void imap_session_handoff_failed(void *plugin_state, ph_conn *conn,
				 const void *state, size_t len)
{
	const struct ph_core_api *api =
	    ((struct imap_plugin *)plugin_state)->api;
	size_t tag_len = 0;
	const char *tag = imap_session_tag(state, len, &tag_len);

	api->conn_printf(conn, "* BYE [UNAVAILABLE] Temporary failure, "
			       "closing the connection\r\n");
	if (tag != NULL)
		api->conn_printf(conn,
				 "%.*s NO [UNAVAILABLE] Temporary failure, "
				 "try again later\r\n",
				 (int)tag_len, tag);
}
