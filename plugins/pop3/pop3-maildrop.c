/* pop3-maildrop.c - the maildrop of a TRANSACTION: INBOX opened, locked,
 * and numbered once for the whole session (RFC 1939 section 5). */
#include <stdio.h>
#include <stdlib.h>
#include "pop3-private.h"

int pop3_maildrop_open(struct pop3_conn *pc, const ph_user *user,
		       const char **code_r, const char **error_r)
{
	const struct ph_core_api *api = pc->api;
	struct ph_mailbox_status status = PH_MAILBOX_STATUS_INIT;
	void *storage_state;
	int ret;

	*code_r = "SYS/TEMP";
	if (api->storage_get(&pc->storage, &storage_state) < 0) {
		*code_r = "SYS/PERM";
		*error_r = "No mail storage configured";
		return PH_ENOTFOUND;
	}
	ret = pc->storage->user_open(storage_state, user, &pc->mu, error_r);
	if (ret < 0)
		goto fail;
	ret = pc->storage->mailbox_open(pc->mu, "INBOX", 0, &pc->box, error_r);
	if (ret < 0)
		goto fail;
	ret = pc->storage->mailbox_lock(pc->box, error_r);
	if (ret < 0) {
		if (ret == PH_EINUSE)
			*error_r = "Mailbox is locked by another POP3 session";
		goto fail;
	}
	ret = pc->storage->mailbox_get_status(pc->box, &status);
	if (ret < 0) {
		*error_r = api->strerror(ret);
		goto fail;
	}
	pc->uidvalidity = status.uidvalidity;
	pc->count = pc->storage->message_count(pc->box);
	pc->deleted = calloc(pc->count ? pc->count : 1, 1);
	if (pc->deleted == NULL) {
		ret = PH_ENOMEM;
		*error_r = "Out of memory";
		goto fail;
	}
	pc->total_size = 0;
	for (uint32_t seq = 1; seq <= pc->count; seq++) {
		struct ph_message_info info = PH_MESSAGE_INFO_INIT;

		info.omit = PH_MESSAGE_INFO_OMIT_DATE; /* a stat() each */
		if (pc->storage->message_info(pc->box, seq, &info) == PH_OK)
			pc->total_size += info.size;
	}
	pc->user = user;
	return PH_OK;
fail:
	*code_r = pop3_reply_code(ret);
	pop3_maildrop_close(pc);
	return ret;
}

void pop3_maildrop_close(struct pop3_conn *pc)
{
	if (pc->box != NULL)
		pc->storage->mailbox_close(&pc->box);
	if (pc->mu != NULL)
		pc->storage->user_close(&pc->mu);
	free(pc->deleted);
	pc->deleted = NULL;
	pc->count = 0;
	pc->deleted_count = 0;
	pc->deleted_size = 0;
	pc->total_size = 0;
}

int pop3_maildrop_expunge(struct pop3_conn *pc, const char **error_r)
{
	uint32_t *seqs;
	size_t n = 0;
	int ret;

	if (pc->deleted_count == 0)
		return PH_OK;
	seqs = malloc(pc->deleted_count * sizeof(*seqs));
	if (seqs == NULL) {
		*error_r = "Out of memory";
		return PH_ENOMEM;
	}
	for (uint32_t seq = 1; seq <= pc->count; seq++)
		if (pc->deleted[seq - 1])
			seqs[n++] = seq;
	ret = pc->storage->messages_expunge(pc->box, seqs, n, error_r);
	free(seqs);
	return ret;
}

void pop3_maildrop_mark_seen(struct pop3_conn *pc, uint32_t seq)
{
	struct ph_message_info info = PH_MESSAGE_INFO_LIGHT_INIT;
	struct ph_store_request req = PH_STORE_REQUEST_INIT;
	const char *error = NULL;

	if (!pc->set.mark_seen ||
	    pc->storage->message_info(pc->box, seq, &info) < 0 ||
	    (info.flags & PH_FLAG_SEEN) != 0)
		return;
	req.mode = PH_STORE_ADD;
	req.flags = PH_FLAG_SEEN;
	if (pc->storage->messages_store(pc->box, &seq, 1, &req, NULL, NULL,
					&error) < 0)
		pc->api->conn_log(pc->conn, PH_LOG_WARNING,
				  "setting \\Seen on message %u failed: "
				  "%s",
				  seq, error != NULL ? error : "unknown error");
}

int pop3_maildrop_uidl(struct pop3_conn *pc, uint32_t seq, char *buf,
		       size_t size)
{
	struct ph_message_info info = PH_MESSAGE_INFO_LIGHT_INIT;
	int ret = pc->storage->message_info(pc->box, seq, &info);

	if (ret < 0)
		return ret;
	snprintf(buf, size, "%u.%u", pc->uidvalidity, info.uid);
	return PH_OK;
}
