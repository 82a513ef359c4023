/* pop3-cmd-capa.c - CAPA (RFC 2449 section 5): the same list in both
 * states, as section 5 asks for capabilities usable in AUTHORIZATION;
 * and UTF8 (RFC 6856). */
#include <string.h>
#include "pop3-private.h"

void pop3_cmd_capa(struct pop3_conn *pc, const struct pop3_command *cmd)
{
	const struct ph_core_api *api = pc->api;
	struct ph_conn_info info = PH_CONN_INFO_INIT;
	const char *mechs;
	int have_info = api->conn_info(pc->conn, &info) == PH_OK;

	pop3_reply_ok(pc, "Capability list follows");
	pop3_reply_line(pc, "TOP");
	if (have_info && (info.tls || info.allow_plaintext))
		pop3_reply_line(pc, "USER");
	pop3_reply_line(pc, "UIDL");
	pop3_reply_line(pc, "PIPELINING");
	pop3_reply_line(pc, "RESP-CODES");
	pop3_reply_line(pc, "AUTH-RESP-CODE");
	mechs = api->sasl_mechanisms(pc->conn);
	if (mechs != NULL && *mechs != '\0' &&
	    strcspn(mechs, "\r\n") == strlen(mechs))
		pop3_reply_line(pc, "SASL %s", mechs);
	if (have_info && info.tls_mode == PH_TLS_STARTTLS && !info.tls &&
	    pc->state == POP3_STATE_AUTHORIZATION)
		pop3_reply_line(pc, "STLS");
	if (pc->set.expire[0] != '\0')
		pop3_reply_line(pc, "EXPIRE %s", pc->set.expire);
	if (pc->set.login_delay >= 0)
		pop3_reply_line(pc, "LOGIN-DELAY %lld",
				(long long)pc->set.login_delay);
	/* Messages go out as stored, 8-bit and UTF-8 headers included, and
	 * USER/PASS/AUTH take UTF-8 (RFC 6856). */
	pop3_reply_line(pc, "UTF8 USER");
	if (pc->set.implementation)
		pop3_reply_line(pc, "IMPLEMENTATION Posthorn-%s",
				api->core_version);
	pop3_reply_line(pc, ".");
}

void pop3_cmd_utf8(struct pop3_conn *pc, const struct pop3_command *cmd)
{
	/* Nothing to switch: we never downgrade, and user names are bytes
	 * the auth service compares as UTF-8 already. */
	pop3_reply_ok(pc, "UTF8 enabled");
}
