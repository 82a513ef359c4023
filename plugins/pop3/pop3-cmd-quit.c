/* pop3-cmd-quit.c - QUIT: a plain goodbye in AUTHORIZATION, the UPDATE
 * state in TRANSACTION (RFC 1939 section 6). Only here are DELE'd
 * messages expunged; a dropped connection or a timeout never gets here. */
#include "pop3-private.h"

void pop3_cmd_quit(struct pop3_conn *pc, const struct pop3_command *cmd)
{
	const char *error = NULL;
	int ret;

	if (pc->state != POP3_STATE_TRANSACTION) {
		pop3_reply_ok(pc, "Logging out");
		pop3_conn_close(pc);
		return;
	}
	pc->state = POP3_STATE_UPDATE;
	ret = pop3_maildrop_expunge(pc, &error);
	pc->api->conn_log(pc->conn, PH_LOG_INFO,
			  "logout: user=%s retr=%u del=%u%s%s", pc->username,
			  pc->retrieved_count, pc->deleted_count,
			  ret < 0 ? " expunge failed: " : "",
			  ret < 0 && error != NULL ? error : "");
	if (ret < 0)
		pop3_reply_err(pc, pop3_reply_code(ret),
			       "Some deleted messages were not removed");
	else
		pop3_reply_ok(pc, "Logging out, %u messages deleted",
			      pc->deleted_count);
	/* Unlock now rather than at close. */
	pop3_maildrop_close(pc);
	pop3_conn_close(pc);
}
