/* pop3-conn.c - a POP3 connection: greeting, the input loop, dispatch by
 * state, streaming responses with back-pressure, and teardown. */
#include <stdlib.h>
#include <string.h>
#include "pop3-private.h"
#include "pop3-conn.h"

static pop3_cmd_fn *const pop3_cmd_handlers[POP3_CMD_COUNT_] = {
    [POP3_CMD_USER] = pop3_cmd_user, [POP3_CMD_PASS] = pop3_cmd_pass,
    [POP3_CMD_APOP] = pop3_cmd_apop, [POP3_CMD_AUTH] = pop3_cmd_auth,
    [POP3_CMD_STLS] = pop3_cmd_stls, [POP3_CMD_CAPA] = pop3_cmd_capa,
    [POP3_CMD_QUIT] = pop3_cmd_quit, [POP3_CMD_STAT] = pop3_cmd_stat,
    [POP3_CMD_LIST] = pop3_cmd_list, [POP3_CMD_RETR] = pop3_cmd_retr,
    [POP3_CMD_DELE] = pop3_cmd_dele, [POP3_CMD_NOOP] = pop3_cmd_noop,
    [POP3_CMD_RSET] = pop3_cmd_rset, [POP3_CMD_TOP] = pop3_cmd_top,
    [POP3_CMD_UIDL] = pop3_cmd_uidl, [POP3_CMD_UTF8] = pop3_cmd_utf8,
};

static const char *pop3_state_name(enum pop3_state state)
{
	switch (state) {
	case POP3_STATE_AUTHORIZATION:
		return "AUTHORIZATION";
	case POP3_STATE_TRANSACTION:
		return "TRANSACTION";
	case POP3_STATE_UPDATE:
		return "UPDATE";
	}
	return "unknown";
}

int pop3_conn_plaintext_ok(struct pop3_conn *pc)
{
	struct ph_conn_info info = PH_CONN_INFO_INIT;

	if (pc->api->conn_info(pc->conn, &info) < 0)
		return 0;
	return info.tls || info.allow_plaintext;
}

void pop3_conn_close(struct pop3_conn *pc)
{
	if (pc->closing)
		return;
	pc->closing = 1;
	pc->api->conn_close(pc->conn);
}

/* A line that did not parse or was too long; hang up on a run of them. */
static void pop3_conn_bad_line(struct pop3_conn *pc, const char *text)
{
	pop3_reply_err(pc, NULL, "%s", text);
	if (++pc->bad_lines >= POP3_MAX_BAD_LINES) {
		pop3_reply_err(pc, NULL, "Too many bad commands, closing");
		pop3_conn_close(pc);
	}
}

static void pop3_conn_dispatch(struct pop3_conn *pc, struct ph_str line)
{
	struct pop3_command cmd;
	enum pop3_parse_error err;

	err = pop3_parse_command(line.data, line.len, &cmd);
	if (cmd.def != NULL && (cmd.def->states & pc->state) == 0) {
		pc->bad_lines = 0;
		pop3_reply_err(pc, NULL, "%s not valid in %s state",
			       cmd.def->name, pop3_state_name(pc->state));
		return;
	}
	if (err != POP3_PARSE_OK || cmd.def == NULL) {
		pop3_conn_bad_line(pc, pop3_parse_strerror(err));
		return;
	}
	pc->bad_lines = 0;
	pop3_cmd_handlers[cmd.def->id](pc, &cmd);
}

/* Reads and runs commands until input runs dry or something must finish
 * first (auth callback, streaming output, TLS handshake, close). Every
 * callback that ends a wait calls it again, so pipelined commands already
 * buffered are never stranded. */
void pop3_conn_process(struct pop3_conn *pc)
{
	const struct ph_core_api *api = pc->api;

	if (pc->processing)
		return;
	pc->processing = 1;
	while (!pc->closing) {
		struct ph_str line;
		size_t max;
		int ret;

		if (pc->wait == POP3_WAIT_JOB) {
			pop3_job_pump(pc);
			if (pc->wait == POP3_WAIT_JOB)
				break;
			continue;
		}
		if (pc->wait != POP3_WAIT_NONE &&
		    pc->wait != POP3_WAIT_SASL_LINE)
			break;
		/* Back-pressure: a client that pipelines without reading
		 * waits until its answers drain. */
		if (api->conn_output_pending(pc->conn) >=
		    api->conn_output_lowat(pc->conn))
			break;
		max = pc->wait == POP3_WAIT_SASL_LINE ? POP3_SASL_LINE_MAX
						      : POP3_READ_MAX;
		ret = api->conn_read_line(pc->conn, max, &line);
		if (ret == PH_AGAIN || ret == PH_ECLOSED)
			break;
		if (ret == PH_ETOOBIG) {
			pop3_reply_err(pc, NULL, "Line too long, closing");
			pop3_conn_close(pc);
			break;
		}
		if (ret < 0)
			break;
		if (pc->wait == POP3_WAIT_SASL_LINE) {
			pop3_sasl_line(pc, line);
			continue;
		}
		if (line.len > POP3_MAX_LINE) {
			pop3_conn_bad_line(pc, "Line too long");
			continue;
		}
		pop3_conn_dispatch(pc, line);
	}
	pc->processing = 0;
}

void pop3_job_start(struct pop3_conn *pc, pop3_job_fn *job)
{
	pc->job = job;
	pc->wait = POP3_WAIT_JOB;
}

void pop3_job_pump(struct pop3_conn *pc)
{
	const struct ph_core_api *api = pc->api;

	while (pc->wait == POP3_WAIT_JOB && !pc->closing) {
		int ret;

		if (api->conn_output_pending(pc->conn) >=
		    api->conn_output_lowat(pc->conn))
			return; /* conn_output_ready() resumes */
		ret = pc->job(pc);
		if (ret == 0)
			continue;
		pc->job = NULL;
		pc->wait = POP3_WAIT_NONE;
		if (ret < 0)
			pop3_conn_close(pc);
	}
}

/* ---- protocol ops ---- */

struct pop3_conn *pop3_conn_new(void *plugin_state, ph_conn *conn)
{
	struct pop3_plugin *plugin = plugin_state;
	const struct ph_core_api *api = plugin->api;
	struct pop3_conn *pc = calloc(1, sizeof(*pc));

	if (pc == NULL)
		return NULL;
	pc->plugin = plugin;
	pc->api = api;
	pc->conn = conn;
	pc->state = POP3_STATE_AUTHORIZATION;
	pc->retr.body = (struct ph_message_body)PH_MESSAGE_BODY_INIT;
	pop3_settings_load(api, api->conn_config(conn), &pc->set);
	api->conn_set_idle_timeout(conn, pc->set.idle_timeout);
	return pc;
}

int pop3_conn_open(void *plugin_state, ph_conn *conn, void **conn_state_r)
{
	struct pop3_conn *pc = pop3_conn_new(plugin_state, conn);

	if (pc == NULL)
		return PH_ENOMEM;
	/* No APOP timestamp: the worker cannot fetch a shared secret. */
	pop3_reply_ok(pc, "Posthorn POP3 ready.");
	*conn_state_r = pc;
	return PH_OK;
}

void pop3_conn_input(void *conn_state)
{
	struct pop3_conn *pc = conn_state;

	if (pc->wait == POP3_WAIT_TLS)
		pc->wait = POP3_WAIT_NONE; /* the handshake finished */
	pop3_conn_process(pc);
}

void pop3_conn_output_ready(void *conn_state)
{
	struct pop3_conn *pc = conn_state;

	/* The client is reading a long answer: that is activity too, so a
	 * slow download is not cut by the autologout timer. A client that
	 * reads nothing never gets here and times out. */
	if (pc->wait == POP3_WAIT_JOB)
		pc->api->conn_set_idle_timeout(pc->conn, pc->set.idle_timeout);
	pop3_conn_process(pc);
}

void pop3_conn_goodbye(void *conn_state, enum ph_goodbye_reason reason)
{
	struct pop3_conn *pc = conn_state;

	if (pc->wait == POP3_WAIT_JOB)
		return; /* inside a multi-line answer: just close */
	if (reason == PH_GOODBYE_TIMEOUT)
		pop3_reply_err(pc, NULL,
			       "Autologout: idle for too long, closing");
	else
		pop3_reply_err(pc, "SYS/TEMP", "Server shutting down");
	pc->closing = 1;
}

void pop3_conn_closed(void *conn_state)
{
	struct pop3_conn *pc = conn_state;

	if (pc->retr.body.fd >= 0 && pc->box != NULL)
		pc->storage->message_close(pc->box, &pc->retr.body);
	if (pc->box != NULL)
		pc->api->conn_log(pc->conn, PH_LOG_INFO,
				  "disconnected: user=%s retr=%u del=%u "
				  "(nothing expunged)",
				  pc->username, pc->retrieved_count,
				  pc->deleted_count);
	/* Closing the view releases the maildrop lock; DELE marks are
	 * forgotten: only QUIT enters UPDATE. */
	pop3_maildrop_close(pc);
	free(pc);
}
