/* imap4-client.c - an IMAP connection: greeting, the input loop that
 * feeds the command parser, dispatch by state, replies, mailbox news
 * (sync), streaming jobs with back-pressure, and teardown. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "imap4-private.h"
#include "imap4-append.h"

void imap_client_close(struct imap_client *c)
{
	if (c->closing)
		return;
	imap_client_flush(c);
	c->closing = 1;
	c->api->conn_close(c->conn);
}

void imap_client_flush(struct imap_client *c)
{
	if (c->out.failed) {
		/* never send half a response */
		imap_str_truncate(&c->out, 0);
		c->out.failed = 0;
		c->api->conn_log(c->conn, PH_LOG_ERROR,
				 "response too large or out of memory");
		c->api->conn_printf(c->conn, "* BYE Internal error\r\n");
		c->closing = 1;
		c->api->conn_close(c->conn);
		return;
	}
	if (c->out.len > 0 && !c->closing)
		c->api->conn_write(c->conn, c->out.data, c->out.len);
	imap_str_truncate(&c->out, 0);
}

static void vreply(struct imap_client *c, const char *prefix,
		   const char *status, const char *fmt, va_list ap)
{
	/* an APPEND refused mid-literal: held until the command ends */
	struct imap_str *out = c->append.holding ? &c->append.refusal : &c->out;
	va_list copy;
	int n;

	imap_str_appends(out, prefix);
	imap_str_appendc(out, ' ');
	if (status != NULL) {
		imap_str_appends(out, status);
		imap_str_appendc(out, ' ');
	}
	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n > 0) {
		char *buf = malloc((size_t)n + 1);

		if (buf == NULL) {
			out->failed = 1;
		} else {
			vsnprintf(buf, (size_t)n + 1, fmt, ap);
			imap_str_append(out, buf, (size_t)n);
			free(buf);
		}
	}
	imap_str_appends(out, "\r\n");
	if (out == &c->out)
		imap_client_flush(c);
}

void imap_tagged(struct imap_client *c, const char *tag, const char *status,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(c, tag != NULL ? tag : "*", status, fmt, ap);
	va_end(ap);
}

void imap_untagged(struct imap_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(c, "*", NULL, fmt, ap);
	va_end(ap);
}

const char *imap_error_code(int err)
{
	switch (err) {
	case PH_ENOTFOUND:
		return "[NONEXISTENT] ";
	case PH_EEXISTS:
		return "[ALREADYEXISTS] ";
	case PH_EPERM:
		return "[NOPERM] ";
	case PH_ENOQUOTA:
		return "[OVERQUOTA] ";
	case PH_EINUSE:
		return "[INUSE] ";
	case PH_ETEMP:
	case PH_EIO:
		return "[UNAVAILABLE] ";
	case PH_ETOOBIG:
		return "[LIMIT] ";
	case PH_EINVAL:
		return "[CANNOT] ";
	default:
		return "[SERVERBUG] ";
	}
}

/* ---- mailbox news ---- */

static void sync_expunged(void *ctx, uint32_t seq, uint32_t uid)
{
	struct imap_client *c = ctx;

	imap_str_printf(&c->out, "* %u EXPUNGE\r\n", seq);
	if (c->exists > 0)
		c->exists--;
	imap_client_flush(c);
}

static void sync_changed(void *ctx, uint32_t seq,
			 const struct ph_message_info *info)
{
	struct imap_client *c = ctx;

	imap_str_printf(&c->out, "* %u FETCH (FLAGS ", seq);
	imap_write_flags(c, &c->out, info->flags, info->keywords);
	imap_str_appends(&c->out, ")\r\n");
	imap_client_flush(c);
}

static void sync_exists(void *ctx, uint32_t count)
{
	struct imap_client *c = ctx;
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;

	if (count == c->exists)
		return;
	imap_str_printf(&c->out, "* %u EXISTS\r\n", count);
	if (c->storage->mailbox_get_status(c->box, &st) == PH_OK)
		imap_str_printf(&c->out, "* %u RECENT\r\n", st.recent);
	c->exists = count;
	imap_client_flush(c);
}

void imap_sync(struct imap_client *c, int no_expunge)
{
	struct ph_sync_callbacks cb = {
	    .struct_size = sizeof(cb),
	    .expunged = sync_expunged,
	    .changed = sync_changed,
	    .exists = sync_exists,
	};
	const char *error = NULL;
	int ret;

	if (c->box == NULL)
		return;
	ret = c->storage->mailbox_sync(
	    c->box, no_expunge ? PH_SYNC_NO_EXPUNGE : 0, &cb, c, &error);
	if (ret == PH_ENOTFOUND) {
		/* Deleted or renamed by another session. Of RFC 2180 3's
		 * choices, BYE (3.3): the view has no mailbox behind it. */
		c->api->conn_log(c->conn, PH_LOG_INFO,
				 "selected mailbox gone: %s",
				 error != NULL ? error : "?");
		imap_untagged(c, "BYE [NONEXISTENT] The selected mailbox was "
				 "deleted or renamed by another session");
		imap_client_close(c);
		return;
	}
	if (ret < 0)
		c->api->conn_log(c->conn, PH_LOG_WARNING, "sync failed: %s",
				 error != NULL ? error : "?");
	/* our own count can have changed without an exists() report */
	if (!no_expunge)
		sync_exists(c, c->storage->message_count(c->box));
}

void imap_unselect(struct imap_client *c)
{
	if (c->box != NULL)
		c->storage->mailbox_close(&c->box);
	c->box = NULL;
	c->exists = 0;
	if (c->state == IMAP_STATE_SELECTED)
		c->state = IMAP_STATE_AUTH;
}

/* ---- jobs ---- */

/* RFC 3501 5.4 asks for 30 minutes only after login, so a site may shed
 * silent unauthenticated connections sooner. */
static unsigned autologout_secs(const struct imap_client *c)
{
	return c->state == IMAP_STATE_NOTAUTH ? c->set->autologout_preauth
					      : c->set->autologout;
}

void imap_job_start(struct imap_client *c, imap_job_fn *job, void *ctx,
		    void (*ctx_free)(void *ctx))
{
	c->job = job;
	c->job_ctx = ctx;
	c->job_free = ctx_free;
	c->wait = IMAP_WAIT_JOB;
}

static void job_end(struct imap_client *c)
{
	c->api->timer_remove(&c->job_yield);
	if (c->job_free != NULL && c->job_ctx != NULL)
		c->job_free(c->job_ctx);
	c->job = NULL;
	c->job_ctx = NULL;
	c->job_free = NULL;
	if (c->wait == IMAP_WAIT_JOB)
		c->wait = IMAP_WAIT_NONE;
}

static void job_resume(void *ctx)
{
	struct imap_client *c = ctx;

	c->api->timer_remove(&c->job_yield);
	imap_client_process(c);
}

static int64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Runs the job in steps until it ends, output backs up, or its time
 * slice is used: a long SEARCH or FETCH must not stall the worker's
 * other connections. */
static void job_pump(struct imap_client *c)
{
	const struct ph_core_api *api = c->api;
	int64_t start = monotonic_ns();

	while (c->wait == IMAP_WAIT_JOB && !c->closing) {
		int ret;

		if (c->job_yield != NULL)
			return; /* job_resume() continues */
		if (api->conn_output_pending(c->conn) >=
		    api->conn_output_lowat(c->conn))
			return; /* conn_output_ready() resumes */
		if (monotonic_ns() - start >= IMAP_JOB_SLICE_MS * 1000000) {
			c->job_yield = api->timer_add(0., 0, job_resume, c);
			if (c->job_yield != NULL)
				return;
		}
		ret = c->job(c);
		/* a client reading a long answer is not idle; one that stopped
		 * reading is not refreshed here and times out */
		api->conn_set_idle_timeout(c->conn, autologout_secs(c));
		if (ret == 0)
			continue;
		job_end(c);
		if (ret < 0)
			imap_client_close(c);
	}
}

/* ---- dispatch ---- */

static void bad_command(struct imap_client *c, const char *tag,
			const char *text)
{
	imap_tagged(c, tag, "BAD", "%s", text);
	if (++c->bad_commands >= c->set->max_bad_commands) {
		imap_untagged(c, "BYE Too many invalid commands");
		imap_client_close(c);
	}
}

static const char *state_name(enum imap_state s)
{
	switch (s) {
	case IMAP_STATE_NOTAUTH:
		return "not authenticated";
	case IMAP_STATE_AUTH:
		return "authenticated";
	case IMAP_STATE_SELECTED:
		return "selected";
	}
	return "?";
}

static void dispatch(struct imap_client *c)
{
	const char *tag = imap_parser_tag(c->parser);
	const char *name = imap_parser_command(c->parser);
	const struct imap_arg *args = imap_parser_root(c->parser);
	const struct imap_command *cmd;
	int uid = 0;

	if (strcasecmp(name, "UID") == 0) {
		const struct imap_arg *sub = imap_arg_child(c->parser, args);

		if (sub == NULL || sub->type != IMAP_ARG_ATOM) {
			bad_command(c, tag, "UID needs a command");
			return;
		}
		cmd = imap_command_find(imap_arg_str(c->parser, sub));
		if (cmd == NULL || !cmd->uid_ok) {
			bad_command(c, tag, "Unknown UID command");
			return;
		}
		uid = 1;
	} else {
		cmd = imap_command_find(name);
		if (cmd == NULL) {
			bad_command(c, tag, "Unknown command");
			return;
		}
	}
	if ((cmd->states & c->state) == 0) {
		bad_command(c, tag, "Command not valid in this state");
		c->api->conn_log(c->conn, PH_LOG_DEBUG, "%s in %s state",
				 cmd->name, state_name(c->state));
		return;
	}
	if (strlen(tag) >= sizeof(c->tag)) {
		/* replies after a wait quote the tag from c->tag */
		bad_command(c, NULL, "Tag too long");
		return;
	}
	c->bad_commands = 0;
	snprintf(c->tag, sizeof(c->tag), "%s", tag);
	/* handlers get the first argument (after "UID x" for UID ones) */
	args = imap_arg_child(c->parser, args);
	if (uid)
		args = imap_arg_next(c->parser, args);
	cmd->fn(c, tag, args, uid);
}

/* Handles one parser event; returns -1 when the connection closes. */
static int handle_event(struct imap_client *c, const struct imap_event *ev)
{
	int ret;

	switch (ev->type) {
	case IMAP_EV_NONE:
		return 0;
	case IMAP_EV_COMMAND:
		dispatch(c);
		return 0;
	case IMAP_EV_ERROR:
		if (ev->close) {
			imap_untagged(c, "BYE %s", ev->error);
			imap_client_close(c);
			return -1;
		}
		imap_append_abort(c);
		if (ev->toobig) {
			char text[128];

			snprintf(text, sizeof(text), "[TOOBIG] %s", ev->error);
			bad_command(c, ev->tag, text);
		} else {
			bad_command(c, ev->tag, ev->error);
		}
		return 0;
	case IMAP_EV_LITERAL:
		if (imap_append_wants_literal(c, ev->literal_size)) {
			ret = imap_append_literal_begin(c, ev);
		} else {
			ret = imap_parser_literal_begin(c->parser,
							IMAP_LITERAL_BUFFER);
			if (ret < 0 && !imap_parser_must_close(c->parser))
				bad_command(c, ev->tag,
					    "[TOOBIG] Literal too large");
		}
		if (ret < 0 && imap_parser_must_close(c->parser)) {
			imap_untagged(c, "BYE [TOOBIG] Literal too large");
			imap_client_close(c);
			return -1;
		}
		if (ret == PH_OK && ev->literal_sync)
			c->api->conn_write(c->conn, "+ OK\r\n", 6);
		return 0;
	case IMAP_EV_LITERAL_DATA:
		imap_append_literal_data(c, ev->data, ev->data_len);
		return 0;
	}
	return 0;
}

static int feed(struct imap_client *c, const char *data, size_t len)
{
	while (len > 0 && !c->closing) {
		struct imap_event ev;
		size_t used;

		imap_parser_feed(c->parser, data, len, &used, &ev);
		if (handle_event(c, &ev) < 0)
			return -1;
		data += used;
		len -= used;
		if (used == 0 && ev.type == IMAP_EV_NONE)
			break;
	}
	return 0;
}

void imap_sasl_line(struct imap_client *c, struct ph_str line);

void imap_client_autologout(struct imap_client *c)
{
	unsigned secs = autologout_secs(c);

	if (c->autologout_armed == secs || c->closing)
		return;
	c->api->conn_set_idle_timeout(c->conn, secs);
	c->autologout_armed = secs;
}

/* Reads and runs commands until input runs dry or something must finish
 * first (auth, TLS, a streaming job, output back-pressure). */
void imap_client_process(struct imap_client *c)
{
	const struct ph_core_api *api = c->api;

	/* every login path (LOGIN, AUTHENTICATE) ends here */
	imap_client_autologout(c);
	if (c->processing)
		return;
	c->processing = 1;
	while (!c->closing) {
		struct ph_str data;
		int ret;

		if (c->wait == IMAP_WAIT_JOB) {
			job_pump(c);
			if (c->wait == IMAP_WAIT_JOB)
				break;
			continue;
		}
		if (c->wait != IMAP_WAIT_NONE &&
		    c->wait != IMAP_WAIT_SASL_LINE && c->wait != IMAP_WAIT_IDLE)
			break;
		if (api->conn_output_pending(c->conn) >=
		    api->conn_output_lowat(c->conn))
			break;
		if (c->wait == IMAP_WAIT_IDLE) {
			ret = api->conn_read_line(c->conn, IMAP_IDLE_LINE_MAX,
						  &data);
			if (ret == PH_ETOOBIG) {
				data.data = "";
				data.len = 0; /* not DONE: ends IDLE, BAD */
			} else if (ret < 0) {
				break;
			}
			imap_idle_line(c, data);
			continue;
		}
		if (c->wait == IMAP_WAIT_SASL_LINE) {
			ret = api->conn_read_line(c->conn, IMAP_SASL_LINE_MAX,
						  &data);
			if (ret == PH_ETOOBIG) {
				/* The core's exchange must end too, or the
				 * next login finds it still running. */
				c->sasl_too_long = 1;
				imap_sasl_line(c, (struct ph_str){"*", 1});
				continue;
			}
			if (ret < 0)
				break;
			imap_sasl_line(c, data);
			continue;
		}
		if (imap_parser_in_literal(c->parser)) {
			uint64_t left = imap_parser_literal_left(c->parser);

			ret = api->conn_read_bytes(
			    c->conn, left < 65536 ? (size_t)left : 65536,
			    &data);
			if (ret < 0)
				break;
			if (feed(c, data.data, data.len) < 0)
				break;
			continue;
		}
		ret = api->conn_read_line(c->conn, IMAP_READ_LINE_MAX, &data);
		if (ret == PH_ETOOBIG) {
			/* it may have ended in a literal we cannot see */
			imap_untagged(c, "BYE Command line too long");
			imap_client_close(c);
			break;
		}
		if (ret < 0)
			break;
		if (feed(c, data.data, data.len) < 0 || feed(c, "\n", 1) < 0)
			break;
	}
	c->processing = 0;
}

/* ---- protocol ops ---- */

struct imap_client *imap_client_create(struct imap_plugin *plugin,
				       ph_conn *conn)
{
	struct imap_client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->plugin = plugin;
	c->api = plugin->api;
	c->conn = conn;
	c->state = IMAP_STATE_NOTAUTH;
	c->set = imap_plugin_settings(plugin, conn);
	c->parser = imap_parser_create(&c->set->limits);
	if (c->parser == NULL) {
		free(c);
		return NULL;
	}
	imap_str_init(&c->out, c->set->max_response_size);
	imap_client_autologout(c);
	return c;
}

static int imap_conn_open(void *plugin_state, ph_conn *conn,
			  void **conn_state_r)
{
	struct imap_client *c = imap_client_create(plugin_state, conn);

	if (c == NULL)
		return PH_ENOMEM;
	imap_str_appends(&c->out, "* OK [");
	imap_capability_string(c, &c->out);
	imap_str_appends(&c->out, "] Posthorn IMAP4rev1 ready.\r\n");
	imap_client_flush(c);
	*conn_state_r = c;
	return PH_OK;
}

static void imap_conn_input(void *conn_state)
{
	struct imap_client *c = conn_state;

	if (c->wait == IMAP_WAIT_TLS)
		c->wait = IMAP_WAIT_NONE; /* the handshake finished */
	imap_client_process(c);
}

static void imap_conn_output_ready(void *conn_state)
{
	imap_idle_output_ready(conn_state);
	imap_client_process(conn_state);
}

static void imap_conn_goodbye(void *conn_state, enum ph_goodbye_reason reason)
{
	struct imap_client *c = conn_state;

	if (c->wait == IMAP_WAIT_JOB)
		return; /* inside a response: just close */
	imap_untagged(c, "BYE %s",
		      reason == PH_GOODBYE_TIMEOUT
			  ? "Autologout; idle for too long"
			  : "[UNAVAILABLE] Server shutting down");
	c->closing = 1;
}

static void imap_conn_closed(void *conn_state)
{
	struct imap_client *c = conn_state;

	imap_idle_stop(c);
	job_end(c);
	imap_append_abort(c);
	imap_unselect(c);
	if (c->mu != NULL)
		c->storage->user_close(&c->mu);
	imap_parser_destroy(&c->parser);
	imap_str_free(&c->out);
	free(c);
}

/* imap4-session.c (ABI 1.2). */
void imap_session_handoff_failed(void *plugin_state, ph_conn *conn,
				 const void *state, size_t len);

const struct ph_protocol_ops imap_protocol_ops = {
    PH_PROTOCOL_OPS_INIT,
    .conn_open = imap_conn_open,
    .conn_input = imap_conn_input,
    .conn_output_ready = imap_conn_output_ready,
    .conn_goodbye = imap_conn_goodbye,
    .conn_closed = imap_conn_closed,
    .conn_resume = imap_session_resume,
    .conn_handoff_failed = imap_session_handoff_failed,
};
