/* pop3-cmd-retr.c - RETR and TOP (RFC 1939 sections 5 and 7): message
 * bodies streamed in chunks as the output drains, never whole in memory.
 *
 * A message the storage keeps in wire form (CR LF ends) that needed no
 * byte-stuffing on an earlier RETR is remembered in the storage's
 * per-message cache; later RETRs queue it as a file range (sendfile on
 * plaintext connections) followed by the terminator. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "pop3-private.h"

/* Cache field: "1" when the stored bytes are exactly the wire form. */
#define POP3_CACHE_WIRE "pop3.wire"

static void pop3_retr_end(struct pop3_conn *pc)
{
	if (pc->retr.body.fd >= 0)
		pc->storage->message_close(pc->box, &pc->retr.body);
}

/* The whole message went out: remember what we learnt about it. */
static void pop3_retr_done(struct pop3_conn *pc)
{
	struct pop3_retr *r = &pc->retr;

	if (!r->is_retr)
		return;
	pc->retrieved_count++;
	if (r->body.crlf && !r->enc.changed)
		(void)pc->storage->cache_set(pc->box, r->seq, POP3_CACHE_WIRE,
					     PH_STR_LIT("1"));
	pop3_maildrop_mark_seen(pc, r->seq);
}

static int pop3_retr_job(struct pop3_conn *pc)
{
	struct pop3_plugin *pl = pc->plugin;
	struct pop3_retr *r = &pc->retr;
	size_t want, n;
	ssize_t got = 0;

	if (r->pos < r->body.length && !pop3_encoder_done(&r->enc)) {
		want = r->body.length - r->pos < POP3_CHUNK
			   ? (size_t)(r->body.length - r->pos)
			   : POP3_CHUNK;
		do {
			got = pread(r->body.fd, pl->in, want,
				    (off_t)(r->body.offset + r->pos));
		} while (got < 0 && errno == EINTR);
		if (got < 0) {
			/* Mid-answer: no -ERR possible, hang up. */
			pc->api->conn_log(pc->conn, PH_LOG_ERROR,
					  "reading message %u: %s", r->seq,
					  strerror(errno));
			pop3_retr_end(pc);
			return -1;
		}
		if (got > 0) {
			r->pos += (uint64_t)got;
			n = pop3_encoder_feed(&r->enc, pl->in, (size_t)got,
					      pl->out);
			if (pc->api->conn_write(pc->conn, pl->out, n) < 0) {
				pop3_retr_end(pc);
				return -1;
			}
			return 0;
		}
		/* got == 0: the file is shorter than the storage said;
		 * end the answer cleanly with what was sent. */
	}
	n = pop3_encoder_finish(&r->enc, pl->out);
	pc->api->conn_write(pc->conn, pl->out, n);
	pop3_retr_done(pc);
	pop3_retr_end(pc);
	return 1;
}

/* Sends a wire-form message as a file range: one step. */
static int pop3_retr_file_job(struct pop3_conn *pc)
{
	struct pop3_retr *r = &pc->retr;
	int ret;

	ret = pc->api->conn_write_file(pc->conn, r->body.fd, r->body.offset,
				       r->body.length);
	if (ret == PH_OK)
		ret = pc->api->conn_write(pc->conn, ".\r\n", 3);
	if (ret < 0) {
		pop3_retr_end(pc);
		return -1;
	}
	pc->api->conn_log(pc->conn, PH_LOG_DEBUG,
			  "RETR %u: %llu octets queued as a file range", r->seq,
			  (unsigned long long)r->body.length);
	pc->retrieved_count++;
	pop3_maildrop_mark_seen(pc, r->seq);
	pop3_retr_end(pc);
	return 1;
}

static int pop3_retr_wire_cached(struct pop3_conn *pc, uint32_t seq)
{
	struct ph_str v;

	return pc->storage->cache_get(pc->box, seq, POP3_CACHE_WIRE, &v) ==
		   PH_OK &&
	       v.len == 1 && v.data[0] == '1';
}

/* Opens message `seq` and starts streaming it; lines = body lines for
 * TOP, POP3_ENCODER_UNLIMITED for RETR. */
static void pop3_retr_start(struct pop3_conn *pc, uint32_t seq, uint64_t lines)
{
	struct ph_message_info info = PH_MESSAGE_INFO_INIT;
	struct pop3_retr *r = &pc->retr;
	const char *error = NULL;
	int ret, is_retr = lines == POP3_ENCODER_UNLIMITED;

	info.omit = PH_MESSAGE_INFO_OMIT_DATE;
	ret = pc->storage->message_info(pc->box, seq, &info);
	if (ret == PH_OK && info.expunged)
		ret = PH_ENOTFOUND;
	if (ret == PH_OK) {
		r->body = (struct ph_message_body)PH_MESSAGE_BODY_INIT;
		ret = pc->storage->message_open(pc->box, seq, &r->body, &error);
	}
	if (ret == PH_ENOTFOUND) {
		pop3_reply_err(
		    pc, NULL, "Message %u was removed by another session", seq);
		return;
	}
	if (ret < 0) {
		pc->api->conn_log(
		    pc->conn, PH_LOG_ERROR, "opening message %u: %s", seq,
		    error != NULL ? error : pc->api->strerror(ret));
		pop3_reply_err(pc, pop3_reply_code(ret),
			       "Cannot open message %u", seq);
		return;
	}
	r->seq = seq;
	r->pos = 0;
	r->is_retr = is_retr;
	pop3_encoder_init(&r->enc, lines);
	if (is_retr)
		pop3_reply_ok(pc, "%llu octets", (unsigned long long)info.size);
	else
		pop3_reply_ok(pc, "Top of message follows");
	if (is_retr && r->body.crlf && pop3_retr_wire_cached(pc, seq))
		pop3_job_start(pc, pop3_retr_file_job);
	else
		pop3_job_start(pc, pop3_retr_job);
}

void pop3_cmd_retr(struct pop3_conn *pc, const struct pop3_command *cmd)
{
	uint32_t seq;

	if (pop3_msg_arg(pc, cmd->args[0], &seq) < 0)
		return;
	pop3_retr_start(pc, seq, POP3_ENCODER_UNLIMITED);
}

void pop3_cmd_top(struct pop3_conn *pc, const struct pop3_command *cmd)
{
	uint32_t seq;
	uint64_t lines;

	if (pop3_msg_arg(pc, cmd->args[0], &seq) < 0)
		return;
	if (pop3_parse_number(cmd->args[1], &lines) < 0) {
		pop3_reply_err(pc, NULL, "Invalid number of lines");
		return;
	}
	pop3_retr_start(pc, seq, lines);
}
