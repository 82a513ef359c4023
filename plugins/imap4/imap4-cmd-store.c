/* imap4-cmd-store.c - STORE, EXPUNGE, UID EXPUNGE (UIDPLUS), COPY and
 * MOVE (RFC 6851) with COPYUID. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap4-private.h"

int imap_expunge_deleted(struct imap_client *c, const uint32_t *only,
			 size_t only_count, const char **error_r);

/* Expunges the \Deleted messages of the view (of `only` when given). */
int imap_expunge_deleted(struct imap_client *c, const uint32_t *only,
			 size_t only_count, const char **error_r)
{
	uint32_t count = c->storage->message_count(c->box), *seqs, s;
	size_t n = 0, i, total = only != NULL ? only_count : count;
	int ret = 0;

	if (total == 0)
		return 0;
	seqs = malloc(total * sizeof(*seqs));
	if (seqs == NULL)
		return PH_ENOMEM;
	for (i = 0; i < total; i++) {
		struct ph_message_info info = PH_MESSAGE_INFO_LIGHT_INIT;

		s = only != NULL ? only[i] : (uint32_t)(i + 1);
		if (c->storage->message_info(c->box, s, &info) == 0 &&
		    (info.flags & PH_FLAG_DELETED) && !info.expunged)
			seqs[n++] = s;
	}
	if (n > 0)
		ret = c->storage->messages_expunge(c->box, seqs, n, error_r);
	free(seqs);
	return ret;
}

void imap_cmd_expunge(struct imap_client *c, const char *tag,
		      const struct imap_arg *args, int uid)
{
	const char *error = NULL;
	uint32_t *seqs = NULL;
	size_t n = 0;
	int ret;

	if (uid != (args != NULL)) {
		imap_tagged(c, tag, "BAD",
			    uid ? "UID EXPUNGE needs a UID set"
				: "EXPUNGE takes no arguments");
		return;
	}
	if (c->readonly) {
		imap_tagged(c, tag, "NO", "[READ-ONLY] Mailbox is read-only");
		return;
	}
	if (uid && imap_seqset_arg(c, tag, args, 1, &seqs, &n) < 0)
		return;
	ret = imap_expunge_deleted(c, uid ? seqs : NULL, n, &error);
	free(seqs);
	imap_sync(c, 0);
	if (ret < 0)
		imap_tagged(c, tag, "NO", "%s%s", imap_error_code(ret),
			    error != NULL ? error : "Expunge failed");
	else
		imap_tagged(c, tag, "OK", "Expunge completed.");
}

void imap_cmd_store(struct imap_client *c, const char *tag,
		    const struct imap_arg *args, int uid)
{
	const struct imap_arg *item = ARG_NEXT(c, args);
	const struct imap_arg *flags = ARG_NEXT(c, item);
	struct ph_store_request req = PH_STORE_REQUEST_INIT;
	const char *name, *error = NULL;
	uint32_t *seqs;
	size_t n, i, gone = 0;
	int silent = 0, ret;

	if (item == NULL || item->type != IMAP_ARG_ATOM || flags == NULL ||
	    ARG_NEXT(c, flags) != NULL) {
		imap_tagged(c, tag, "BAD", "STORE needs set, item and flags");
		return;
	}
	name = ARG_STR(c, item);
	req.mode = PH_STORE_REPLACE;
	if (*name == '+' || *name == '-') {
		req.mode = *name == '+' ? PH_STORE_ADD : PH_STORE_REMOVE;
		name++;
	}
	if (strcasecmp(name, "FLAGS.SILENT") == 0)
		silent = 1;
	else if (strcasecmp(name, "FLAGS") != 0) {
		imap_tagged(c, tag, "BAD", "Unknown STORE item");
		return;
	}
	if (c->readonly) {
		imap_tagged(c, tag, "NO", "[READ-ONLY] Mailbox is read-only");
		return;
	}
	if (imap_flags_arg(c, tag, flags, req.mode != PH_STORE_REMOVE,
			   &req.flags, &req.keywords) < 0)
		return;
	if (imap_seqset_arg(c, tag, args, uid, &seqs, &n) < 0)
		return;
	ret = n > 0 ? c->storage->messages_store(c->box, seqs, n, &req, NULL,
						 NULL, &error)
		    : 0;
	if (ret < 0) {
		free(seqs);
		imap_tagged(c, tag, "NO", "%s%s", imap_error_code(ret),
			    error != NULL ? error : "Store failed");
		return;
	}
	/* .SILENT: no FETCH at all, also for UID STORE (RFC 3501 6.4.6) */
	for (i = 0; i < n && !silent; i++) {
		struct ph_message_info info = PH_MESSAGE_INFO_LIGHT_INIT;

		if (c->storage->message_info(c->box, seqs[i], &info) < 0 ||
		    info.expunged) {
			gone++; /* its flags were not stored: no FETCH */
			continue;
		}
		imap_str_printf(&c->out, "* %u FETCH (", seqs[i]);
		if (uid)
			imap_str_printf(&c->out, "UID %u ", info.uid);
		imap_str_appends(&c->out, "FLAGS ");
		imap_write_flags(c, &c->out, info.flags, info.keywords);
		imap_str_appends(&c->out, ")\r\n");
		imap_client_flush(c);
	}
	free(seqs);
	imap_sync(c, 1);
	if (gone > 0) /* RFC 2180 4.2.2, 4.2.3 */
		imap_tagged(c, tag, "NO",
			    "[EXPUNGEISSUED] Some of the messages no longer "
			    "exist.");
	else
		imap_tagged(c, tag, "OK", "Store completed.");
}

/* "1:3,7" of the UIDs at `seqs`, or of `uids` when given. */
static void write_uid_set(struct imap_client *c, struct imap_str *out,
			  const uint32_t *seqs, const uint32_t *uids, size_t n)
{
	size_t i;
	uint32_t start = 0, prev = 0;

	for (i = 0; i <= n; i++) {
		uint32_t u = 0;

		if (i < n) {
			if (uids != NULL) {
				u = uids[i];
			} else {
				struct ph_message_info info =
				    PH_MESSAGE_INFO_LIGHT_INIT;

				c->storage->message_info(c->box, seqs[i],
							 &info);
				u = info.uid;
			}
			if (i > 0 && u == prev + 1) {
				prev = u;
				continue;
			}
		}
		if (i > 0) {
			if (out->len > 0 && out->data[out->len - 1] != ' ')
				imap_str_appendc(out, ',');
			if (start == prev)
				imap_str_printf(out, "%u", start);
			else
				imap_str_printf(out, "%u:%u", start, prev);
		}
		start = prev = u;
	}
}

/* Whether a COPY/MOVE failing with PH_ENOTFOUND had a destination: the
 * storage says "not found" for a missing mailbox and for messages gone. */
static int copy_dest_exists(struct imap_client *c, const char *name)
{
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;
	const char *error = NULL;

	return c->storage->mailbox_status(c->mu, name, &st, &error) !=
	       PH_ENOTFOUND;
}

static void copy(struct imap_client *c, const char *tag,
		 const struct imap_arg *args, int uid, int move)
{
	const struct imap_arg *dest = ARG_NEXT(c, args);
	const char *error = NULL;
	uint32_t *seqs, *uids, validity = 0;
	struct imap_str code;
	char *name;
	size_t n;
	int ret;

	if (dest == NULL || ARG_NEXT(c, dest) != NULL) {
		imap_tagged(c, tag, "BAD", "%s needs set and mailbox",
			    move ? "MOVE" : "COPY");
		return;
	}
	if (move && c->readonly) {
		imap_tagged(c, tag, "NO", "[READ-ONLY] Mailbox is read-only");
		return;
	}
	if ((name = imap_mailbox_arg(c, tag, dest)) == NULL)
		return;
	if (imap_seqset_arg(c, tag, args, uid, &seqs, &n) < 0) {
		free(name);
		return;
	}
	if (n == 0) {
		free(name);
		free(seqs);
		imap_tagged(c, tag, "OK", "No messages.");
		return;
	}
	uids = malloc(n * sizeof(*uids));
	imap_str_init(&code, 0);
	ret = uids == NULL
		  ? PH_ENOMEM
		  : c->storage->messages_copy(c->box, seqs, n, name, move,
					      &validity, uids, &error);
	if (ret == PH_ENOTFOUND && copy_dest_exists(c, name)) {
		/* messages another session expunged: RFC 2180 4.4.1, with
		 * the pending EXPUNGEs; not a reason to CREATE */
		imap_sync(c, 0);
		imap_tagged(c, tag, "NO", "[EXPUNGEISSUED] %s",
			    error != NULL ? error : "Messages were expunged");
	} else if (ret < 0) {
		imap_tagged(c, tag, "NO", "%s%s",
			    ret == PH_ENOTFOUND ? "[TRYCREATE] "
						: imap_error_code(ret),
			    error != NULL ? error : c->api->strerror(ret));
	} else {
		imap_str_printf(&code, "[COPYUID %u ", validity);
		write_uid_set(c, &code, seqs, NULL, n);
		imap_str_appendc(&code, ' ');
		write_uid_set(c, &code, NULL, uids, n);
		imap_str_appendc(&code, ']');
		if (move) {
			/* RFC 6851: COPYUID comes untagged, then EXPUNGEs */
			imap_untagged(c, "OK %s Moved UIDs.", code.data);
			imap_sync(c, 0);
			imap_tagged(c, tag, "OK", "Move completed.");
		} else {
			imap_sync(c, 1);
			imap_tagged(c, tag, "OK", "%s Copy completed.",
				    code.data);
		}
	}
	free(name);
	imap_str_free(&code);
	free(uids);
	free(seqs);
}

void imap_cmd_copy(struct imap_client *c, const char *tag,
		   const struct imap_arg *args, int uid)
{
	copy(c, tag, args, uid, 0);
}

void imap_cmd_move(struct imap_client *c, const char *tag,
		   const struct imap_arg *args, int uid)
{
	copy(c, tag, args, uid, 1);
}
