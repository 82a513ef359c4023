/* imap4-cmd-any.c - commands valid in any state: CAPABILITY, NOOP,
 * LOGOUT, ID (RFC 2971), and STARTTLS, ENABLE (RFC 5161), NAMESPACE
 * (RFC 2342), CHECK. */
#include <string.h>
#include "imap4-private.h"

static int plaintext_ok(struct imap_client *c)
{
	struct ph_conn_info info = PH_CONN_INFO_INIT;

	if (c->api->conn_info(c->conn, &info) < 0)
		return 0;
	return info.tls || info.allow_plaintext;
}

int imap_plaintext_ok(struct imap_client *c);
int imap_plaintext_ok(struct imap_client *c)
{
	return plaintext_ok(c);
}

void imap_capability_string(struct imap_client *c, struct imap_str *out)
{
	imap_str_appends(out,
			 "CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID "
			 "ENABLE UNSELECT CHILDREN NAMESPACE UIDPLUS MOVE "
			 "LIST-EXTENDED LIST-STATUS SPECIAL-USE IDLE ESEARCH "
			 "MULTIAPPEND");
	if (c->state == IMAP_STATE_NOTAUTH) {
		struct ph_conn_info info = PH_CONN_INFO_INIT;
		const char *mechs = c->api->sasl_mechanisms(c->conn);

		if (c->api->conn_info(c->conn, &info) == 0 && !info.tls &&
		    info.tls_mode == PH_TLS_STARTTLS)
			imap_str_appends(out, " STARTTLS");
		if (!plaintext_ok(c))
			imap_str_appends(out, " LOGINDISABLED");
		while (mechs != NULL && *mechs != '\0') {
			size_t n = strcspn(mechs, " ");

			if (n > 0) {
				imap_str_appends(out, " AUTH=");
				imap_str_append(out, mechs, n);
			}
			mechs += n;
			while (*mechs == ' ')
				mechs++;
		}
	}
}

void imap_cmd_capability(struct imap_client *c, const char *tag,
			 const struct imap_arg *args, int uid)
{
	if (args != NULL) {
		imap_tagged(c, tag, "BAD", "CAPABILITY takes no arguments");
		return;
	}
	imap_str_appends(&c->out, "* ");
	imap_capability_string(c, &c->out);
	imap_str_appends(&c->out, "\r\n");
	imap_client_flush(c);
	imap_tagged(c, tag, "OK", "Capability completed.");
}

void imap_cmd_noop(struct imap_client *c, const char *tag,
		   const struct imap_arg *args, int uid)
{
	if (args != NULL) {
		imap_tagged(c, tag, "BAD", "NOOP takes no arguments");
		return;
	}
	imap_sync(c, 0);
	imap_tagged(c, tag, "OK", "NOOP completed.");
}

void imap_cmd_check(struct imap_client *c, const char *tag,
		    const struct imap_arg *args, int uid)
{
	if (args != NULL) {
		imap_tagged(c, tag, "BAD", "CHECK takes no arguments");
		return;
	}
	imap_sync(c, 0);
	imap_tagged(c, tag, "OK", "Check completed.");
}

void imap_cmd_logout(struct imap_client *c, const char *tag,
		     const struct imap_arg *args, int uid)
{
	if (args != NULL) {
		imap_tagged(c, tag, "BAD", "LOGOUT takes no arguments");
		return;
	}
	imap_untagged(c, "BYE Logging out");
	imap_tagged(c, tag, "OK", "Logout completed.");
	imap_client_close(c);
}

/* RFC 2971 4: "(" *(string SP nstring) ")" -- fields are strings, values
 * strings or NIL, so an atom field or an odd count is a syntax error. */
static int id_params_ok(struct imap_client *c, const struct imap_arg *list)
{
	const struct imap_arg *a = imap_arg_child(c->parser, list);

	if (list->count % 2 != 0)
		return 0;
	for (; a != NULL; a = ARG_NEXT(c, ARG_NEXT(c, a))) {
		const struct imap_arg *v = ARG_NEXT(c, a);

		if (v == NULL ||
		    (a->type != IMAP_ARG_QUOTED &&
		     a->type != IMAP_ARG_LITERAL) ||
		    (v->type != IMAP_ARG_QUOTED &&
		     v->type != IMAP_ARG_LITERAL && !ARG_IS(c, v, "NIL")))
			return 0;
	}
	return 1;
}

void imap_cmd_id(struct imap_client *c, const char *tag,
		 const struct imap_arg *args, int uid)
{
	if (args == NULL || ARG_NEXT(c, args) != NULL ||
	    (args->type != IMAP_ARG_LIST && !ARG_IS(c, args, "NIL")) ||
	    (args->type == IMAP_ARG_LIST && !id_params_ok(c, args))) {
		imap_tagged(c, tag, "BAD", "ID needs a list or NIL");
		return;
	}
	imap_untagged(c, "ID (\"name\" \"Posthorn\" \"version\" \"%s\")",
		      c->api->core_version != NULL ? c->api->core_version
						   : "0");
	imap_tagged(c, tag, "OK", "ID completed.");
}

void imap_cmd_enable(struct imap_client *c, const char *tag,
		     const struct imap_arg *args, int uid)
{
	const struct imap_arg *a;

	if (args == NULL) {
		imap_tagged(c, tag, "BAD", "ENABLE needs capabilities");
		return;
	}
	for (a = args; a != NULL; a = ARG_NEXT(c, a)) {
		if (a->type != IMAP_ARG_ATOM) {
			imap_tagged(c, tag, "BAD", "ENABLE takes atoms");
			return;
		}
	}
	/* no extension this server has needs enabling */
	imap_untagged(c, "ENABLED");
	imap_tagged(c, tag, "OK", "Enabled.");
}

void imap_cmd_namespace(struct imap_client *c, const char *tag,
			const struct imap_arg *args, int uid)
{
	char sep = c->storage->mailbox_separator(c->mu);

	if (args != NULL) {
		imap_tagged(c, tag, "BAD", "NAMESPACE takes no arguments");
		return;
	}
	imap_untagged(c, "NAMESPACE ((\"\" \"%s%c\")) NIL NIL",
		      sep == '\\' || sep == '"' ? "\\" : "", sep);
	imap_tagged(c, tag, "OK", "Namespace completed.");
}

void imap_cmd_starttls(struct imap_client *c, const char *tag,
		       const struct imap_arg *args, int uid)
{
	struct ph_conn_info info = PH_CONN_INFO_INIT;

	if (c->api->conn_info(c->conn, &info) < 0 || info.tls ||
	    info.tls_mode != PH_TLS_STARTTLS) {
		imap_tagged(c, tag, "BAD", "STARTTLS is not available");
		return;
	}
	imap_tagged(c, tag, "OK", "Begin TLS negotiation now.");
	if (c->api->conn_starttls(c->conn) != PH_OK) {
		imap_client_close(c);
		return;
	}
	/* the core drops buffered input; so must the parser */
	imap_parser_reset(c->parser);
	c->wait = IMAP_WAIT_TLS;
}
