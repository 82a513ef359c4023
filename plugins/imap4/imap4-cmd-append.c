/* imap4-cmd-append.c - APPEND (RFC 3501 6.3.11, UIDPLUS APPENDUID) and
 * MULTIAPPEND (RFC 3502). Each message literal streams into
 * storage_ops->append_write() by size; the messages of one command are
 * committed together when it ends (storage append_commit_all: all or
 * none, even when an fsync or rename fails), and none is committed when
 * one fails to stream. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap4-append.h"

#define MAX_APPEND_KEYWORDS 64

int imap_append_wants_literal(struct imap_client *c, uint64_t size)
{
	const char *cmd = imap_parser_command(c->parser);
	const struct imap_arg *root = imap_parser_root(c->parser), *a;
	int have_date = 0;

	if (cmd == NULL || strcasecmp(cmd, "APPEND") != 0 ||
	    !(c->state & (IMAP_STATE_AUTH | IMAP_STATE_SELECTED)) ||
	    root == NULL || root->count < 1 ||
	    !imap_arg_is_string(imap_arg_child(c->parser, root)))
		return 0;
	/* the options of this message follow the previous one */
	for (a = ARG_NEXT(c, imap_arg_child(c->parser, root)); a != NULL;
	     a = ARG_NEXT(c, a))
		have_date = a->type == IMAP_ARG_LITERAL_STREAMED
				? 0
				: have_date | imap_arg_is_string(a);
	/* a date-time sent as a literal is 26 bytes: buffer it; if it was
	 * the message after all, the command is complete without a streamed
	 * literal and imap_cmd_append() takes it from the arguments */
	return have_date || size != 26;
}

void imap_append_abort(struct imap_client *c)
{
	size_t i;

	if (c->append.ap != NULL)
		c->storage->append_abort(&c->append.ap);
	c->append.ap = NULL;
	for (i = 0; i < c->append.ndone; i++)
		c->storage->append_abort(&c->append.done[i]);
	free(c->append.done);
	c->append.done = NULL;
	c->append.ndone = 0;
	free(c->append.mailbox);
	c->append.mailbox = NULL;
	c->append.error = NULL;
	c->append.error_code = 0;
	if (!c->append.holding) /* else: the refusal being made */
		imap_str_free(&c->append.refusal);
}

/* Sends a refusal held since the command's literal; 1 when there was
 * one (the command is answered), 0 otherwise. */
static int append_send_refusal(struct imap_client *c)
{
	struct imap_str *r = &c->append.refusal;

	if (r->len == 0)
		return 0;
	imap_str_append(&c->out, r->data, r->len);
	imap_append_abort(c);
	imap_client_flush(c);
	return 1;
}

/* Reads "[flags] [date]" into `req`; keyword names point into the
 * parser. Returns 0 or -1 (answered). */
static int append_options(struct imap_client *c, const char *tag,
			  const struct imap_arg *a, const struct imap_arg *end,
			  struct ph_append_request *req, const char **kw,
			  size_t *nkw)
{
	*nkw = 0;
	if (a != end && a != NULL && a->type == IMAP_ARG_LIST) {
		const struct imap_arg *f;

		for (f = imap_arg_child(c->parser, a); f != NULL;
		     f = ARG_NEXT(c, f)) {
			const char *s = ARG_STR(c, f);
			uint32_t flags;
			uint64_t kws;

			if (f->type != IMAP_ARG_ATOM)
				goto bad;
			if (s[0] != '\\') {
				if (*nkw == MAX_APPEND_KEYWORDS)
					goto bad;
				kw[(*nkw)++] = s;
				continue;
			}
			if (imap_flags_arg(c, tag, f, 0, &flags, &kws) < 0)
				return -1;
			req->flags |= flags;
		}
		a = ARG_NEXT(c, a);
	}
	if (a != end && a != NULL && imap_arg_is_string(a)) {
		if (imap_parse_datetime(ARG_STR(c, a), &req->internal_date,
					&req->internal_tz) < 0)
			goto bad;
		a = ARG_NEXT(c, a);
	}
	if (a != end)
		goto bad;
	req->keywords = kw;
	req->keyword_count = *nkw;
	return 0;
bad:
	imap_tagged(c, tag, "BAD", "Invalid APPEND arguments");
	return -1;
}

/* Starts the storage append of one message whose options are the
 * arguments from `opts` up to `end`. Answers and aborts the whole command
 * on failure (-1). */
static int begin_message(struct imap_client *c, const char *tag,
			 const struct imap_arg *opts,
			 const struct imap_arg *end, uint64_t size)
{
	struct ph_append_request req = PH_APPEND_REQUEST_INIT;
	const char *kw[MAX_APPEND_KEYWORDS], *error = NULL;
	size_t nkw;
	int ret;

	if (append_options(c, tag, opts, end, &req, kw, &nkw) < 0) {
		imap_append_abort(c);
		return -1;
	}
	req.size_hint = size;
	ret = c->storage->append_begin(c->mu, c->append.mailbox, &req,
				       &c->append.ap, &error);
	if (ret < 0) {
		imap_tagged(c, tag, "NO", "%s%s",
			    ret == PH_ENOTFOUND ? "[TRYCREATE] "
						: imap_error_code(ret),
			    error != NULL ? error : c->api->strerror(ret));
		imap_append_abort(c);
		return -1;
	}
	return 0;
}

static int append_start(struct imap_client *c, const char *tag,
			const struct imap_arg *first,
			const struct imap_arg *end, uint64_t size)
{
	c->append.mailbox = imap_mailbox_arg(c, tag, first);
	if (c->append.mailbox == NULL)
		return -1;
	return begin_message(c, tag, ARG_NEXT(c, first), end, size);
}

/* The next message of a MULTIAPPEND: the one streamed so far waits for
 * the command's end; its options follow the last streamed literal. */
static int further_message(struct imap_client *c, const char *tag,
			   const struct imap_arg *end, uint64_t size)
{
	const struct imap_arg *a, *opts = NULL;
	ph_append **done;

	if (c->append.ap == NULL) {
		int ret =
		    c->append.error_code != 0 ? c->append.error_code : PH_EIO;

		imap_tagged(c, tag, "NO", "%s%s", imap_error_code(ret),
			    c->append.error != NULL ? c->append.error
						    : "Append failed");
		imap_append_abort(c);
		return -1;
	}
	if (c->append.ndone + 1 >= IMAP_MULTIAPPEND_MAX) {
		imap_tagged(c, tag, "NO", "[LIMIT] Too many messages");
		imap_append_abort(c);
		return -1;
	}
	done = realloc(c->append.done,
		       (c->append.ndone + 1) * sizeof(*c->append.done));
	if (done == NULL) {
		imap_tagged(c, tag, "NO", "[SERVERBUG] Out of memory");
		imap_append_abort(c);
		return -1;
	}
	c->append.done = done;
	done[c->append.ndone++] = c->append.ap;
	c->append.ap = NULL;
	for (a = imap_arg_child(c->parser, imap_parser_root(c->parser));
	     a != NULL && a != end; a = ARG_NEXT(c, a)) {
		if (a->type == IMAP_ARG_LITERAL_STREAMED)
			opts = ARG_NEXT(c, a);
	}
	return begin_message(c, tag, opts, end, size);
}

/* The first message of a MULTIAPPEND may be a 26-byte literal that was
 * buffered as a possible date-time; it is a message when it is not one.
 * Starts (and writes) it; returns 1 when it did, 0 when there is none,
 * -1 after answering. */
static int buffered_first(struct imap_client *c, const char *tag)
{
	const struct imap_arg *first =
	    imap_arg_child(c->parser, imap_parser_root(c->parser));
	const struct imap_arg *a, *message = NULL;
	int64_t t;
	int32_t tz;

	for (a = ARG_NEXT(c, first); a != NULL; a = ARG_NEXT(c, a)) {
		if (a->type == IMAP_ARG_LITERAL &&
		    imap_parse_datetime(ARG_STR(c, a), &t, &tz) < 0)
			message = a;
	}
	if (message == NULL)
		return 0;
	if (append_start(c, tag, first, message, message->len) < 0)
		return -1;
	imap_append_literal_data(c, ARG_STR(c, message), message->len);
	return 1;
}

static void cancel_empty(struct imap_client *c)
{
	if (c->append.ap != NULL)
		c->storage->append_abort(&c->append.ap);
	c->append.ap = NULL;
	c->append.error_code = PH_EINVAL;
	c->append.error = "Empty message: append cancelled";
}

/* Starts the storage append for the literal just announced; -1 after
 * answering. */
static int literal_message(struct imap_client *c, const struct imap_event *ev)
{
	const struct imap_arg *root = imap_parser_root(c->parser);
	int ret;

	if (c->append.mailbox != NULL) {
		if (c->append.ap == NULL && !ev->literal_sync)
			return 0; /* an earlier message failed or cancelled:
				     drain this one, answer NO at the end */
		return further_message(c, ev->tag, NULL, ev->literal_size);
	}
	ret = buffered_first(c, ev->tag);
	if (ret != 0)
		return ret < 0 ? -1
			       : further_message(c, ev->tag, NULL,
						 ev->literal_size);
	return append_start(c, ev->tag, imap_arg_child(c->parser, root), NULL,
			    ev->literal_size);
}

int imap_append_literal_begin(struct imap_client *c,
			      const struct imap_event *ev)
{
	int ret;

	if (c->append.refusal.len > 0) /* refused: drain this one too */
		return imap_parser_literal_begin(c->parser,
						 IMAP_LITERAL_STREAM);
	c->append.holding = !ev->literal_sync;
	ret = literal_message(c, ev);
	c->append.holding = 0;
	if (ret < 0 && ev->literal_sync) {
		/* answered; the client does not send a refused {n} */
		return imap_parser_literal_begin(c->parser,
						 IMAP_LITERAL_REJECT);
	}
	if (ret < 0) /* a {n+} is sent anyway: read and drop it */
		return imap_parser_literal_begin(c->parser,
						 IMAP_LITERAL_STREAM);
	ret = imap_parser_literal_begin(c->parser, IMAP_LITERAL_STREAM);
	if (ret < 0) {
		imap_append_abort(c);
		if (!imap_parser_must_close(c->parser))
			imap_tagged(c, ev->tag, "NO",
				    "[TOOBIG] Message too large");
	} else if (ev->literal_size == 0) {
		/* RFC 3502: an empty message cancels the whole APPEND; the
		 * rest of the command is read and answered NO */
		cancel_empty(c);
	}
	return ret;
}

void imap_append_literal_data(struct imap_client *c, const char *data,
			      size_t len)
{
	int ret;

	if (c->append.ap == NULL || len == 0)
		return; /* failed earlier: drain */
	ret =
	    c->storage->append_write(c->append.ap, data, len, &c->append.error);
	if (ret < 0) {
		c->append.error_code = ret;
		c->storage->append_abort(&c->append.ap);
		c->append.ap = NULL;
	}
}

/* Commits the messages of the command: together through
 * append_commit_all when the storage has it (ABI 1.2), else one by one
 * (a failure then leaves the earlier ones appended). Returns the number
 * committed, their UIDs in uids[], or a negative PH_E* code. */
static int commit_messages(struct imap_client *c, ph_append **aps, size_t n,
			   uint32_t *validity, uint32_t *uids,
			   const char **error)
{
	const struct ph_storage_ops *st = c->storage;
	size_t i;
	int ret = PH_OK;

	if (PH_HAS_FIELD(st, append_commit_all) && st->append_commit_all) {
		ret = st->append_commit_all(aps, n, validity, uids, error);
		return ret < 0 ? ret : (int)n;
	}
	for (i = 0; i < n && ret >= 0; i++)
		ret = st->append_commit(&aps[i], validity, &uids[i], error);
	for (; i < n; i++)
		st->append_abort(&aps[i]);
	return ret < 0 ? ret : (int)n;
}

/* Commits every message of the command and answers with their UIDs
 * ([APPENDUID validity uid-set]). */
static void append_commit(struct imap_client *c, const char *tag)
{
	uint32_t validity = 0, lo = 0, hi = 0, *uids;
	const char *error = NULL;
	struct imap_str set;
	size_t n = c->append.ndone + 1;
	ph_append **aps;
	int ret;

	if (c->append.ap == NULL) {
		ret = c->append.error_code != 0 ? c->append.error_code : PH_EIO;
		imap_tagged(c, tag, "NO", "%s%s", imap_error_code(ret),
			    c->append.error != NULL ? c->append.error
						    : "Append failed");
		imap_append_abort(c);
		return;
	}
	uids = calloc(n, sizeof(*uids));
	aps = realloc(c->append.done, n * sizeof(*aps));
	if (uids == NULL || aps == NULL) {
		free(uids);
		if (aps != NULL)
			c->append.done = aps;
		imap_tagged(c, tag, "NO", "[SERVERBUG] Out of memory");
		imap_append_abort(c);
		return;
	}
	/* the storage takes (and frees) every append from here on */
	aps[n - 1] = c->append.ap;
	c->append.ap = NULL;
	c->append.done = NULL;
	c->append.ndone = 0;
	ret = commit_messages(c, aps, n, &validity, uids, &error);
	free(aps);
	imap_append_abort(c); /* frees the mailbox name */
	if (ret < 0) {
		imap_tagged(c, tag, "NO", "%s%s", imap_error_code(ret),
			    error != NULL ? error : "Append failed");
		free(uids);
		return;
	}
	/* the uid-set, runs compressed (RFC 4315) */
	imap_str_init(&set, 0);
	for (size_t i = 0; i <= n; i++) {
		if (i < n && lo != 0 && uids[i] == hi + 1) {
			hi = uids[i];
			continue;
		}
		if (lo != 0)
			imap_str_printf(&set, lo == hi ? "%s%u" : "%s%u:%u",
					set.len > 0 ? "," : "", lo, hi);
		if (i < n)
			lo = hi = uids[i];
	}
	free(uids);
	imap_sync(c, 0);
	imap_tagged(c, tag, "OK", "[APPENDUID %u %s] Append completed.",
		    validity, set.data != NULL ? set.data : "0");
	imap_str_free(&set);
}

void imap_cmd_append(struct imap_client *c, const char *tag,
		     const struct imap_arg *args, int uid)
{
	const struct imap_arg *a, *last = NULL;

	if (append_send_refusal(c))
		return;
	for (a = args; a != NULL; a = ARG_NEXT(c, a))
		last = a;
	if (c->append.mailbox != NULL) {
		/* messages were streamed; the last one may have come as a
		 * quoted string or a small literal after them */
		if (last == NULL || last->type != IMAP_ARG_LITERAL_STREAMED) {
			if (last == NULL || !imap_arg_is_string(last)) {
				imap_append_abort(c);
				imap_tagged(c, tag, "BAD",
					    "Invalid APPEND arguments");
				return;
			}
			if (further_message(c, tag, last, last->len) < 0)
				return;
			imap_append_literal_data(c, ARG_STR(c, last),
						 last->len);
			if (last->len == 0)
				cancel_empty(c);
		}
		append_commit(c, tag);
		return;
	}
	/* a message sent as a quoted string or a small literal */
	if (args == NULL || last == args || !imap_arg_is_string(last)) {
		imap_tagged(c, tag, "BAD", "APPEND needs mailbox and message");
		return;
	}
	if (append_start(c, tag, args, last, last->len) < 0)
		return;
	imap_append_literal_data(c, ARG_STR(c, last), last->len);
	if (last->len == 0)
		cancel_empty(c);
	append_commit(c, tag);
}
