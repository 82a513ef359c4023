/* pop3-cmd-mailbox.c - TRANSACTION commands on the snapshot: STAT, LIST,
 * UIDL, DELE, RSET, NOOP (RFC 1939 section 5, RFC 1939 section 7).
 *
 * Sizes are RFC822.SIZE from the storage: the message with CR LF line
 * ends, before byte-stuffing - exactly the octets a client holds after
 * removing the stuffing, and the number RETR announces. */
#include <stdio.h>
#include "pop3-private.h"

int pop3_msg_arg(struct pop3_conn *pc, struct ph_str arg, uint32_t *seq_r)
{
	uint64_t n;

	if (pop3_parse_number(arg, &n) < 0) {
		pop3_reply_err(pc, NULL, "Invalid message number");
		return -1;
	}
	if (n == 0 || n > pc->count) {
		pop3_reply_err(pc, NULL, "No such message");
		return -1;
	}
	if (pc->deleted[n - 1]) {
		pop3_reply_err(pc, NULL, "Message %u already deleted",
			       (unsigned)n);
		return -1;
	}
	*seq_r = (uint32_t)n;
	return 0;
}

static uint64_t pop3_msg_size(struct pop3_conn *pc, uint32_t seq)
{
	struct ph_message_info info = PH_MESSAGE_INFO_INIT;

	info.omit = PH_MESSAGE_INFO_OMIT_DATE;
	if (pc->storage->message_info(pc->box, seq, &info) < 0)
		return 0;
	return info.size;
}

void pop3_cmd_stat(struct pop3_conn *pc, const struct pop3_command *cmd)
{
	pop3_reply_ok(pc, "%u %llu", pc->count - pc->deleted_count,
		      (unsigned long long)(pc->total_size - pc->deleted_size));
}

/* One listing line for message `seq` into the output. */
static void pop3_list_line(struct pop3_conn *pc, enum pop3_cmd_id id,
			   uint32_t seq)
{
	char uidl[32];

	if (id == POP3_CMD_LIST) {
		pop3_reply_line(pc, "%u %llu", seq,
				(unsigned long long)pop3_msg_size(pc, seq));
	} else if (pop3_maildrop_uidl(pc, seq, uidl, sizeof(uidl)) == PH_OK) {
		pop3_reply_line(pc, "%u %s", seq, uidl);
	}
}

/* Streaming step of a listing: a batch of lines, then the terminator. */
static int pop3_list_job(struct pop3_conn *pc)
{
	for (unsigned i = 0; i < POP3_LIST_BATCH; i++) {
		uint32_t seq = pc->list_next;

		if (seq > pc->count) {
			pop3_reply_line(pc, ".");
			return 1;
		}
		pc->list_next++;
		if (!pc->deleted[seq - 1])
			pop3_list_line(pc, pc->list_cmd, seq);
	}
	return 0;
}

static void pop3_list_or_uidl(struct pop3_conn *pc,
			      const struct pop3_command *cmd)
{
	uint32_t seq;
	char uidl[32];

	if (cmd->argc == 1) {
		if (pop3_msg_arg(pc, cmd->args[0], &seq) < 0)
			return;
		if (cmd->def->id == POP3_CMD_LIST)
			pop3_reply_ok(
			    pc, "%u %llu", seq,
			    (unsigned long long)pop3_msg_size(pc, seq));
		else if (pop3_maildrop_uidl(pc, seq, uidl, sizeof(uidl)) ==
			 PH_OK)
			pop3_reply_ok(pc, "%u %s", seq, uidl);
		else
			pop3_reply_err(pc, "SYS/TEMP", "Message unavailable");
		return;
	}
	if (cmd->def->id == POP3_CMD_LIST)
		pop3_reply_ok(
		    pc, "%u messages (%llu octets)",
		    pc->count - pc->deleted_count,
		    (unsigned long long)(pc->total_size - pc->deleted_size));
	else
		pop3_reply_ok(pc, "Unique-ID listing follows");
	pc->list_next = 1;
	pc->list_cmd = cmd->def->id;
	pop3_job_start(pc, pop3_list_job);
}

void pop3_cmd_list(struct pop3_conn *pc, const struct pop3_command *cmd)
{
	pop3_list_or_uidl(pc, cmd);
}

void pop3_cmd_uidl(struct pop3_conn *pc, const struct pop3_command *cmd)
{
	pop3_list_or_uidl(pc, cmd);
}

void pop3_cmd_dele(struct pop3_conn *pc, const struct pop3_command *cmd)
{
	uint32_t seq;

	if (pop3_msg_arg(pc, cmd->args[0], &seq) < 0)
		return;
	pc->deleted[seq - 1] = 1;
	pc->deleted_count++;
	pc->deleted_size += pop3_msg_size(pc, seq);
	pop3_reply_ok(pc, "Message %u deleted", seq);
}

void pop3_cmd_rset(struct pop3_conn *pc, const struct pop3_command *cmd)
{
	for (uint32_t i = 0; i < pc->count; i++)
		pc->deleted[i] = 0;
	pc->deleted_count = 0;
	pc->deleted_size = 0;
	pop3_reply_ok(pc, "%u messages (%llu octets)", pc->count,
		      (unsigned long long)pc->total_size);
}

void pop3_cmd_noop(struct pop3_conn *pc, const struct pop3_command *cmd)
{
	pop3_reply_ok(pc, "Nothing to do");
}
