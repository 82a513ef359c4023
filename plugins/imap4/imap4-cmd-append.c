/* imap4-cmd-append.c - APPEND (RFC 3501 6.3.11, UIDPLUS APPENDUID). The
 * message literal streams into storage_ops->append_write() by size. */
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
	    c->append.mailbox != NULL || root == NULL || root->count < 1 ||
	    !imap_arg_is_string(imap_arg_child(c->parser, root)))
		return 0;
	for (a = ARG_NEXT(c, imap_arg_child(c->parser, root)); a != NULL;
	     a = ARG_NEXT(c, a))
		have_date |= imap_arg_is_string(a);
	/* a date-time sent as a literal is 26 bytes: buffer it; if it was
	 * the message after all, the command is complete without a streamed
	 * literal and imap_cmd_append() takes it from the arguments */
	return have_date || size != 26;
}

void imap_append_abort(struct imap_client *c)
{
	if (c->append.ap != NULL)
		c->storage->append_abort(&c->append.ap);
	c->append.ap = NULL;
	free(c->append.mailbox);
	c->append.mailbox = NULL;
	c->append.error = NULL;
	c->append.error_code = 0;
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

static int append_start(struct imap_client *c, const char *tag,
			const struct imap_arg *first,
			const struct imap_arg *end, uint64_t size)
{
	struct ph_append_request req = PH_APPEND_REQUEST_INIT;
	const char *kw[MAX_APPEND_KEYWORDS], *error = NULL;
	size_t nkw;
	int ret;

	c->append.mailbox = imap_mailbox_arg(c, tag, first);
	if (c->append.mailbox == NULL)
		return -1;
	if (append_options(c, tag, ARG_NEXT(c, first), end, &req, kw, &nkw) <
	    0) {
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

int imap_append_literal_begin(struct imap_client *c,
			      const struct imap_event *ev)
{
	const struct imap_arg *root = imap_parser_root(c->parser);
	int ret;

	if (append_start(c, ev->tag, imap_arg_child(c->parser, root), NULL,
			 ev->literal_size) < 0) {
		/* answered; the client does not send a refused {n} */
		return imap_parser_literal_begin(c->parser,
						 IMAP_LITERAL_REJECT);
	}
	ret = imap_parser_literal_begin(c->parser, IMAP_LITERAL_STREAM);
	if (ret < 0) {
		imap_append_abort(c);
		if (!imap_parser_must_close(c->parser))
			imap_tagged(c, ev->tag, "NO",
				    "[TOOBIG] Message too large");
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

static void append_commit(struct imap_client *c, const char *tag)
{
	uint32_t validity = 0, uid = 0;
	const char *error = NULL;
	int ret;

	if (c->append.ap == NULL) {
		ret = c->append.error_code != 0 ? c->append.error_code : PH_EIO;
		imap_tagged(c, tag, "NO", "%s%s", imap_error_code(ret),
			    c->append.error != NULL ? c->append.error
						    : "Append failed");
		imap_append_abort(c);
		return;
	}
	ret = c->storage->append_commit(&c->append.ap, &validity, &uid, &error);
	c->append.ap = NULL;
	imap_append_abort(c);
	if (ret < 0) {
		imap_tagged(c, tag, "NO", "%s%s", imap_error_code(ret),
			    error != NULL ? error : "Append failed");
		return;
	}
	imap_sync(c, 0);
	imap_tagged(c, tag, "OK", "[APPENDUID %u %u] Append completed.",
		    validity, uid);
}

void imap_cmd_append(struct imap_client *c, const char *tag,
		     const struct imap_arg *args, int uid)
{
	const struct imap_arg *a, *last = NULL;

	for (a = args; a != NULL; a = ARG_NEXT(c, a))
		last = a;
	if (c->append.mailbox != NULL) {
		/* the message was streamed; it must be the last argument */
		if (last == NULL || last->type != IMAP_ARG_LITERAL_STREAMED) {
			imap_append_abort(c);
			imap_tagged(c, tag, "BAD",
				    "MULTIAPPEND is not supported");
			return;
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
	append_commit(c, tag);
}
