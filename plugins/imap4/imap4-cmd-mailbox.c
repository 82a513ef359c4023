/* imap4-cmd-mailbox.c - SELECT/EXAMINE, CREATE, DELETE, RENAME,
 * SUBSCRIBE/UNSUBSCRIBE, LIST/LSUB (CHILDREN, special-use attributes),
 * STATUS, CLOSE, UNSELECT. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap4-private.h"
#include "imap4-utf7.h"

#define MAX_PATTERN 1024

static void write_name(struct imap_client *c, struct imap_str *out,
		       const char *utf8)
{
	struct imap_str wire;

	imap_str_init(&wire, 0);
	if (imap_utf7_encode(utf8, &wire) < 0 || wire.data == NULL)
		imap_str_append_string(out, utf8, strlen(utf8));
	else
		imap_str_append_string(out, wire.data, wire.len);
	imap_str_free(&wire);
}

static void mailbox_no(struct imap_client *c, const char *tag, int ret,
		       const char *error)
{
	imap_tagged(c, tag, "NO", "%s%s", imap_error_code(ret),
		    error != NULL ? error : c->api->strerror(ret));
}

void imap_cmd_select(struct imap_client *c, const char *tag,
		     const struct imap_arg *args, int uid)
{
	int examine =
	    strcasecmp(imap_parser_command(c->parser), "EXAMINE") == 0;
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;
	const char *error = NULL;
	char *name;
	unsigned i;
	int ret;

	if (args == NULL || ARG_NEXT(c, args) != NULL) {
		imap_tagged(c, tag, "BAD", "SELECT needs one mailbox");
		return;
	}
	imap_unselect(c);
	if ((name = imap_mailbox_arg(c, tag, args)) == NULL)
		return;
	ret = c->storage->mailbox_open(
	    c->mu, name, examine ? PH_OPEN_READONLY : 0, &c->box, &error);
	free(name);
	if (ret < 0) {
		c->box = NULL;
		mailbox_no(c, tag, ret, error);
		return;
	}
	c->storage->mailbox_get_status(c->box, &st);
	c->state = IMAP_STATE_SELECTED;
	c->readonly = examine || st.readonly;
	c->exists = st.messages;
	imap_str_appends(&c->out, "* FLAGS (\\Answered \\Flagged \\Deleted "
				  "\\Seen \\Draft");
	for (i = 0; i < 64; i++) {
		const char *kw = c->storage->keyword_name(c->box, i);

		if (kw != NULL)
			imap_str_printf(&c->out, " %s", kw);
	}
	imap_str_appends(&c->out, ")\r\n* OK [PERMANENTFLAGS (");
	if (!c->readonly) {
		imap_str_appends(
		    &c->out, "\\Answered \\Flagged \\Deleted \\Seen \\Draft");
		for (i = 0; i < 64; i++) {
			const char *kw = c->storage->keyword_name(c->box, i);

			if (kw != NULL)
				imap_str_printf(&c->out, " %s", kw);
		}
		if (st.keywords_creatable)
			imap_str_appends(&c->out, " \\*");
	}
	imap_str_appends(&c->out, ")] Flags permitted.\r\n");
	imap_str_printf(&c->out, "* %u EXISTS\r\n* %u RECENT\r\n", st.messages,
			st.recent);
	if (st.first_unseen_seq != 0)
		imap_str_printf(&c->out, "* OK [UNSEEN %u] First unseen.\r\n",
				st.first_unseen_seq);
	imap_str_printf(&c->out,
			"* OK [UIDVALIDITY %u] UIDs valid\r\n"
			"* OK [UIDNEXT %u] Predicted next UID\r\n",
			st.uidvalidity, st.uidnext);
	imap_client_flush(c);
	imap_tagged(c, tag, "OK", "[%s] %s completed.",
		    c->readonly ? "READ-ONLY" : "READ-WRITE",
		    examine ? "Examine" : "Select");
}

void imap_cmd_create(struct imap_client *c, const char *tag,
		     const struct imap_arg *args, int uid)
{
	const char *error = NULL;
	char *name;
	size_t len;
	int ret;

	if (args == NULL) {
		imap_tagged(c, tag, "BAD", "CREATE needs a mailbox");
		return;
	}
	if ((name = imap_mailbox_arg(c, tag, args)) == NULL)
		return;
	/* "foo/" announces a future parent: create "foo" */
	len = strlen(name);
	if (len > 1 && name[len - 1] == c->storage->mailbox_separator(c->mu))
		name[len - 1] = '\0';
	ret = c->storage->mailbox_create(c->mu, name, 0, &error);
	free(name);
	if (ret < 0)
		mailbox_no(c, tag, ret, error);
	else
		imap_tagged(c, tag, "OK", "Create completed.");
}

void imap_cmd_delete(struct imap_client *c, const char *tag,
		     const struct imap_arg *args, int uid)
{
	const char *error = NULL;
	char *name;
	int ret;

	if (args == NULL) {
		imap_tagged(c, tag, "BAD", "DELETE needs a mailbox");
		return;
	}
	if ((name = imap_mailbox_arg(c, tag, args)) == NULL)
		return;
	ret = c->storage->mailbox_delete(c->mu, name, &error);
	free(name);
	if (ret < 0)
		mailbox_no(c, tag, ret, error);
	else
		imap_tagged(c, tag, "OK", "Delete completed.");
}

void imap_cmd_rename(struct imap_client *c, const char *tag,
		     const struct imap_arg *args, int uid)
{
	const char *error = NULL;
	char *from, *to;
	int ret;

	if (args == NULL || ARG_NEXT(c, args) == NULL) {
		imap_tagged(c, tag, "BAD", "RENAME needs two mailboxes");
		return;
	}
	if ((from = imap_mailbox_arg(c, tag, args)) == NULL)
		return;
	if ((to = imap_mailbox_arg(c, tag, ARG_NEXT(c, args))) == NULL) {
		free(from);
		return;
	}
	ret = c->storage->mailbox_rename(c->mu, from, to, &error);
	free(from);
	free(to);
	if (ret < 0)
		mailbox_no(c, tag, ret, error);
	else
		imap_tagged(c, tag, "OK", "Rename completed.");
}

static void subscribe(struct imap_client *c, const char *tag,
		      const struct imap_arg *args, int on)
{
	const char *error = NULL;
	char *name;
	int ret;

	if (args == NULL) {
		imap_tagged(c, tag, "BAD", "Mailbox name missing");
		return;
	}
	if ((name = imap_mailbox_arg(c, tag, args)) == NULL)
		return;
	ret = c->storage->mailbox_subscribe(c->mu, name, on, &error);
	free(name);
	if (ret < 0)
		mailbox_no(c, tag, ret, error);
	else
		imap_tagged(c, tag, "OK", "%s completed.",
			    on ? "Subscribe" : "Unsubscribe");
}

void imap_cmd_subscribe(struct imap_client *c, const char *tag,
			const struct imap_arg *args, int uid)
{
	subscribe(c, tag, args, 1);
}

void imap_cmd_unsubscribe(struct imap_client *c, const char *tag,
			  const struct imap_arg *args, int uid)
{
	subscribe(c, tag, args, 0);
}

/* ---- LIST / LSUB ---- */

struct list_ctx {
	struct imap_client *c;
	const char *pattern; /* UTF-8 */
	char sep;
	int lsub;
	unsigned count;
};

/* Wildcard match: '*' anything, '%' anything but the separator. Two-row
 * dynamic programming: O(len(name) * len(pattern)), no backtracking. */
static int list_match(const char *pat, const char *name, char sep)
{
	size_t pl = strlen(pat), nl = strlen(name), i, j;
	unsigned char *prev = calloc(nl + 1, 1), *cur = calloc(nl + 1, 1);
	int ret;

	if (prev == NULL || cur == NULL) {
		free(prev);
		free(cur);
		return 0;
	}
	prev[0] = 1;
	for (i = 1; i <= pl; i++) {
		char p = pat[i - 1];

		cur[0] = prev[0] && (p == '*' || p == '%');
		for (j = 1; j <= nl; j++) {
			if (p == '*')
				cur[j] = prev[j] || cur[j - 1];
			else if (p == '%')
				cur[j] = prev[j] ||
					 (cur[j - 1] && name[j - 1] != sep);
			else
				cur[j] = prev[j - 1] && name[j - 1] == p;
		}
		memcpy(prev, cur, nl + 1);
	}
	ret = prev[nl];
	free(prev);
	free(cur);
	return ret;
}

static const struct {
	uint32_t bit;
	const char *name;
} mbox_attrs[] = {
    {PH_MBOX_NOSELECT, "\\Noselect"},
    {PH_MBOX_NOINFERIORS, "\\Noinferiors"},
    {PH_MBOX_HASCHILDREN, "\\HasChildren"},
    {PH_MBOX_HASNOCHILDREN, "\\HasNoChildren"},
    {PH_MBOX_MARKED, "\\Marked"},
    {PH_MBOX_UNMARKED, "\\Unmarked"},
    {PH_MBOX_ALL, "\\All"},
    {PH_MBOX_ARCHIVE, "\\Archive"},
    {PH_MBOX_DRAFTS, "\\Drafts"},
    {PH_MBOX_FLAGGED, "\\Flagged"},
    {PH_MBOX_JUNK, "\\Junk"},
    {PH_MBOX_SENT, "\\Sent"},
    {PH_MBOX_TRASH, "\\Trash"},
};

static int list_one(void *ctx, const struct ph_mailbox_info *info)
{
	struct list_ctx *l = ctx;
	struct imap_client *c = l->c;
	uint32_t attrs = info->attrs;
	const char *name = info->name;
	char inbox_pat[8];
	const char *pat = l->pattern;
	unsigned i, n = 0;

	if (l->lsub && !(attrs & (PH_MBOX_SUBSCRIBED | PH_MBOX_NONEXISTENT)))
		return 0;
	if (!l->lsub && (attrs & PH_MBOX_NONEXISTENT))
		return 0;
	/* INBOX matches its pattern case-insensitively */
	if (strcmp(name, "INBOX") == 0 && strlen(pat) == 5 &&
	    strcasecmp(pat, "INBOX") == 0) {
		memcpy(inbox_pat, "INBOX", 6);
		pat = inbox_pat;
	}
	if (!list_match(pat, name, l->sep))
		return 0;
	if (attrs & PH_MBOX_NONEXISTENT)
		attrs |= PH_MBOX_NOSELECT;
	imap_str_printf(&c->out, "* %s (", l->lsub ? "LSUB" : "LIST");
	for (i = 0; i < sizeof(mbox_attrs) / sizeof(mbox_attrs[0]); i++) {
		if (l->lsub && mbox_attrs[i].bit != PH_MBOX_NOSELECT)
			continue;
		if (attrs & mbox_attrs[i].bit) {
			if (n++ > 0)
				imap_str_appendc(&c->out, ' ');
			imap_str_appends(&c->out, mbox_attrs[i].name);
		}
	}
	imap_str_printf(&c->out, ") \"%s%c\" ",
			l->sep == '\\' || l->sep == '"' ? "\\" : "", l->sep);
	write_name(c, &c->out, name);
	imap_str_appends(&c->out, "\r\n");
	imap_client_flush(c);
	l->count++;
	return 0;
}

static void list(struct imap_client *c, const char *tag,
		 const struct imap_arg *args, int lsub)
{
	const struct imap_arg *pat = ARG_NEXT(c, args);
	struct list_ctx l = {.c = c, .lsub = lsub};
	struct imap_str full, utf8;
	const char *error = NULL;
	int ret;

	if (!imap_arg_is_string(args) || !imap_arg_is_string(pat) ||
	    ARG_NEXT(c, pat) != NULL) {
		imap_tagged(c, tag, "BAD", "%s needs reference and pattern",
			    lsub ? "LSUB" : "LIST");
		return;
	}
	l.sep = c->storage->mailbox_separator(c->mu);
	if (pat->len == 0 && !lsub) {
		imap_untagged(c, "LIST (\\Noselect) \"%s%c\" \"\"",
			      l.sep == '\\' || l.sep == '"' ? "\\" : "", l.sep);
		imap_tagged(c, tag, "OK", "List completed.");
		return;
	}
	if (args->len + pat->len > MAX_PATTERN) {
		imap_tagged(c, tag, "BAD", "Pattern too long");
		return;
	}
	imap_str_init(&full, 0);
	imap_str_init(&utf8, 0);
	imap_str_appends(&full, ARG_STR(c, args));
	imap_str_appends(&full, ARG_STR(c, pat));
	if (full.data == NULL || imap_utf7_decode(full.data, &utf8) < 0 ||
	    utf8.data == NULL) {
		imap_str_free(&full);
		imap_str_free(&utf8);
		imap_tagged(c, tag, "OK", "List completed (no match).");
		return;
	}
	l.pattern = utf8.data;
	ret = c->storage->mailbox_list(c->mu, list_one, &l, &error);
	imap_str_free(&full);
	imap_str_free(&utf8);
	if (ret < 0)
		mailbox_no(c, tag, ret, error);
	else
		imap_tagged(c, tag, "OK", "%s completed.",
			    lsub ? "Lsub" : "List");
}

void imap_cmd_list(struct imap_client *c, const char *tag,
		   const struct imap_arg *args, int uid)
{
	list(c, tag, args, 0);
}

void imap_cmd_lsub(struct imap_client *c, const char *tag,
		   const struct imap_arg *args, int uid)
{
	list(c, tag, args, 1);
}

void imap_cmd_status(struct imap_client *c, const char *tag,
		     const struct imap_arg *args, int uid)
{
	const struct imap_arg *items = ARG_NEXT(c, args), *a;
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;
	const char *error = NULL;
	char *name;
	int ret, n = 0;

	if (args == NULL || items == NULL || items->type != IMAP_ARG_LIST ||
	    items->count == 0) {
		imap_tagged(c, tag, "BAD", "STATUS needs mailbox and items");
		return;
	}
	for (a = imap_arg_child(c->parser, items); a != NULL;
	     a = ARG_NEXT(c, a)) {
		if (!ARG_IS(c, a, "MESSAGES") && !ARG_IS(c, a, "RECENT") &&
		    !ARG_IS(c, a, "UIDNEXT") && !ARG_IS(c, a, "UIDVALIDITY") &&
		    !ARG_IS(c, a, "UNSEEN")) {
			imap_tagged(c, tag, "BAD", "Unknown STATUS item");
			return;
		}
	}
	if ((name = imap_mailbox_arg(c, tag, args)) == NULL)
		return;
	ret = c->storage->mailbox_status(c->mu, name, &st, &error);
	if (ret < 0) {
		free(name);
		mailbox_no(c, tag, ret, error);
		return;
	}
	imap_str_appends(&c->out, "* STATUS ");
	write_name(c, &c->out, name);
	free(name);
	imap_str_appends(&c->out, " (");
	for (a = imap_arg_child(c->parser, items); a != NULL;
	     a = ARG_NEXT(c, a)) {
		uint32_t v = ARG_IS(c, a, "MESSAGES")	   ? st.messages
			     : ARG_IS(c, a, "RECENT")	   ? st.recent
			     : ARG_IS(c, a, "UIDNEXT")	   ? st.uidnext
			     : ARG_IS(c, a, "UIDVALIDITY") ? st.uidvalidity
							   : st.unseen;

		imap_str_printf(&c->out, "%s%s %u", n++ > 0 ? " " : "",
				ARG_STR(c, a), v);
	}
	imap_str_appends(&c->out, ")\r\n");
	imap_client_flush(c);
	imap_tagged(c, tag, "OK", "Status completed.");
}

/* Expunges every \Deleted message of the view, reporting nothing. */
int imap_expunge_deleted(struct imap_client *c, const uint32_t *only,
			 size_t only_count, const char **error_r);

void imap_cmd_close(struct imap_client *c, const char *tag,
		    const struct imap_arg *args, int uid)
{
	const char *error = NULL;

	if (!c->readonly)
		(void)imap_expunge_deleted(c, NULL, 0, &error);
	imap_unselect(c);
	imap_tagged(c, tag, "OK", "Close completed.");
}

void imap_cmd_unselect(struct imap_client *c, const char *tag,
		       const struct imap_arg *args, int uid)
{
	imap_unselect(c);
	imap_tagged(c, tag, "OK", "Unselect completed.");
}
