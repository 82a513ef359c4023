/* imap4-cmd-mailbox.c - SELECT/EXAMINE, CREATE, DELETE, RENAME,
 * SUBSCRIBE/UNSUBSCRIBE, LIST/LSUB (LIST-EXTENDED with RECURSIVEMATCH,
 * CHILDREN, special-use attributes), STATUS, CLOSE, UNSELECT. */
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

	if (args == NULL || ARG_NEXT(c, args) != NULL) {
		/* CREATE-SPECIAL-USE's (USE ...) is not offered */
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

	if (args == NULL || ARG_NEXT(c, args) != NULL) {
		imap_tagged(c, tag, "BAD", "DELETE needs a mailbox");
		return;
	}
	if ((name = imap_mailbox_arg(c, tag, args)) == NULL)
		return;
	if (strcmp(name, "INBOX") == 0) {
		/* an invariant, not a permission (RFC 5530 CANNOT) */
		free(name);
		imap_tagged(c, tag, "NO", "[CANNOT] INBOX cannot be deleted");
		return;
	}
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

	if (args == NULL || ARG_NEXT(c, args) == NULL ||
	    ARG_NEXT(c, ARG_NEXT(c, args)) != NULL) {
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

	if (args == NULL || ARG_NEXT(c, args) != NULL) {
		imap_tagged(c, tag, "BAD", "One mailbox name needed");
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

#define MAX_LIST_PATTERNS 16

/* STATUS items as bits, in RFC 3501 order. */
static const char *const status_items[] = {"MESSAGES", "RECENT", "UIDNEXT",
					   "UIDVALIDITY", "UNSEEN"};
#define STATUS_ITEM_COUNT 5

/* Parses a STATUS item list into bits; -1 for an unknown item. */
static int status_items_arg(struct imap_client *c, const struct imap_arg *l,
			    unsigned *bits_r)
{
	const struct imap_arg *a;
	unsigned i;

	*bits_r = 0;
	if (l == NULL || l->type != IMAP_ARG_LIST || l->count == 0)
		return -1;
	for (a = imap_arg_child(c->parser, l); a != NULL; a = ARG_NEXT(c, a)) {
		for (i = 0; i < STATUS_ITEM_COUNT; i++) {
			if (ARG_IS(c, a, status_items[i]))
				break;
		}
		if (i == STATUS_ITEM_COUNT)
			return -1;
		*bits_r |= 1u << i;
	}
	return 0;
}

/* "* STATUS name (ITEM n ...)"; PH_* from the storage on error. */
static int write_status(struct imap_client *c, const char *name, unsigned bits,
			const char **error_r)
{
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;
	unsigned i, n = 0;
	int ret = c->storage->mailbox_status(c->mu, name, &st, error_r);

	if (ret < 0)
		return ret;
	imap_str_appends(&c->out, "* STATUS ");
	write_name(c, &c->out, name);
	imap_str_appends(&c->out, " (");
	for (i = 0; i < STATUS_ITEM_COUNT; i++) {
		uint32_t v = i == 0   ? st.messages
			     : i == 1 ? st.recent
			     : i == 2 ? st.uidnext
			     : i == 3 ? st.uidvalidity
				      : st.unseen;

		if (bits & (1u << i))
			imap_str_printf(&c->out, "%s%s %u", n++ > 0 ? " " : "",
					status_items[i], v);
	}
	imap_str_appends(&c->out, ")\r\n");
	imap_client_flush(c);
	return 0;
}

struct list_ctx {
	struct imap_client *c;
	char *patterns[MAX_LIST_PATTERNS]; /* UTF-8, reference prepended */
	unsigned npatterns;
	char sep;
	int lsub;
	int sel_subscribed, sel_special_use; /* RFC 5258 / 6154 */
	int sel_recursive;		     /* RECURSIVEMATCH */
	int ret_subscribed;
	unsigned ret_status; /* RFC 5819 LIST-STATUS items */
	unsigned count;
	/* RECURSIVEMATCH: every mailbox, collected first */
	struct list_entry *entries;
	size_t nentries, cap;
};

struct list_entry {
	char *name;
	uint32_t attrs;
	unsigned char added;	   /* an ancestor that is not in the list */
	unsigned char desc_any;	   /* a descendant meets the selection */
	unsigned char desc_hidden; /* ... and does not match the patterns */
};

static int list_pattern_match(const struct list_ctx *l, const char *name)
{
	unsigned k;

	for (k = 0; k < l->npatterns; k++) {
		const char *pat = l->patterns[k];

		/* INBOX matches its pattern case-insensitively */
		if (strcmp(name, "INBOX") == 0 && strcasecmp(pat, "INBOX") == 0)
			return 1;
		if (list_match(pat, name, l->sep))
			return 1;
	}
	return 0;
}

/* Whether a mailbox meets the selection options (LSUB: subscribed). */
static int list_selected(const struct list_ctx *l, uint32_t attrs)
{
	if ((l->lsub || l->sel_subscribed) &&
	    !(attrs & (PH_MBOX_SUBSCRIBED | PH_MBOX_NONEXISTENT)))
		return 0;
	if (!l->lsub && !l->sel_subscribed && (attrs & PH_MBOX_NONEXISTENT))
		return 0;
	if (l->sel_special_use && !(attrs & PH_MBOX_SPECIAL_USE_MASK))
		return 0;
	return 1;
}

/* One "* LIST" / "* LSUB" line (and its STATUS); `childinfo`: a
 * descendant meets the selection (RECURSIVEMATCH). */
static void list_write(struct list_ctx *l, const char *name, uint32_t attrs,
		       int childinfo)
{
	struct imap_client *c = l->c;
	const char *error = NULL;
	unsigned i, n = 0;

	if ((attrs & PH_MBOX_NONEXISTENT) && l->lsub)
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
	if (!l->lsub && (attrs & PH_MBOX_NONEXISTENT))
		imap_str_appends(&c->out,
				 n++ > 0 ? " \\NonExistent" : "\\NonExistent");
	if ((l->ret_subscribed || l->sel_subscribed) && !l->lsub &&
	    (attrs & PH_MBOX_SUBSCRIBED))
		imap_str_appends(&c->out,
				 n++ > 0 ? " \\Subscribed" : "\\Subscribed");
	imap_str_printf(&c->out, ") \"%s%c\" ",
			l->sep == '\\' || l->sep == '"' ? "\\" : "", l->sep);
	write_name(c, &c->out, name);
	if (childinfo) {
		/* the selection options that made it come back */
		imap_str_appends(&c->out, " (\"CHILDINFO\" (");
		if (l->sel_subscribed)
			imap_str_appends(&c->out, "\"SUBSCRIBED\"");
		if (l->sel_special_use)
			imap_str_appends(&c->out, l->sel_subscribed
						      ? " \"SPECIAL-USE\""
						      : "\"SPECIAL-USE\"");
		imap_str_appends(&c->out, "))");
	}
	imap_str_appends(&c->out, "\r\n");
	imap_client_flush(c);
	if (l->ret_status != 0 &&
	    !(attrs & (PH_MBOX_NOSELECT | PH_MBOX_NONEXISTENT)))
		(void)write_status(c, name, l->ret_status, &error);
	l->count++;
}

static int list_one(void *ctx, const struct ph_mailbox_info *info)
{
	struct list_ctx *l = ctx;

	if (list_selected(l, info->attrs) && list_pattern_match(l, info->name))
		list_write(l, info->name, info->attrs, 0);
	return 0;
}

/* ---- RECURSIVEMATCH (RFC 5258 3.1, 3.5) ---- */

static int list_entry_add(struct list_ctx *l, const char *name, size_t len,
			  uint32_t attrs, int added)
{
	struct list_entry *e;

	if (l->nentries == l->cap) {
		size_t cap = l->cap == 0 ? 64 : l->cap * 2;

		e = realloc(l->entries, cap * sizeof(*e));
		if (e == NULL)
			return PH_ENOMEM;
		l->entries = e;
		l->cap = cap;
	}
	e = &l->entries[l->nentries];
	memset(e, 0, sizeof(*e));
	e->name = strndup(name, len);
	if (e->name == NULL)
		return PH_ENOMEM;
	e->attrs = attrs;
	e->added = (unsigned char)added;
	l->nentries++;
	return PH_OK;
}

static int list_collect(void *ctx, const struct ph_mailbox_info *info)
{
	return list_entry_add(ctx, info->name, strlen(info->name), info->attrs,
			      0);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct list_entry *x = a, *y = b;
	int d = strcmp(x->name, y->name);

	/* a listed mailbox before an added ancestor of the same name */
	return d != 0 ? d : (int)x->added - (int)y->added;
}

static int entry_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct list_entry *)a)->name,
		      ((const struct list_entry *)b)->name);
}

/* After the duplicates are gone: names are unique. */
static struct list_entry *entry_find(struct list_ctx *l, const char *name)
{
	struct list_entry key = {.name = (char *)name};

	return bsearch(&key, l->entries, l->nentries, sizeof(key),
		       entry_name_cmp);
}

static void list_entries_free(struct list_ctx *l)
{
	size_t i;

	for (i = 0; i < l->nentries; i++)
		free(l->entries[i].name);
	free(l->entries);
	l->entries = NULL;
	l->nentries = l->cap = 0;
}

/* Lists parents whose descendants meet the selection with CHILDINFO: every
 * mailbox is collected, ancestors missing from the list are added as
 * \NonExistent, and each selected mailbox marks its ancestors. LSUB uses
 * it too: a parent of a subscribed mailbox that only the parent matches
 * comes back \Noselect, without CHILDINFO (RFC 3501 6.3.9, "%"). */
static int list_recursive(struct list_ctx *l, const char **error_r)
{
	struct imap_client *c = l->c;
	size_t i, n, j;
	int ret;

	ret = c->storage->mailbox_list(c->mu, list_collect, l, error_r);
	if (ret < 0)
		return ret;
	n = l->nentries;
	for (i = 0; i < n; i++) {
		const char *name = l->entries[i].name, *p;

		if (!list_selected(l, l->entries[i].attrs))
			continue;
		for (p = strchr(name, l->sep); p != NULL;
		     p = strchr(p + 1, l->sep)) {
			if (list_entry_add(l, name, (size_t)(p - name),
					   PH_MBOX_NONEXISTENT, 1) < 0)
				return PH_ENOMEM;
			name = l->entries[i].name; /* entries moved */
		}
	}
	qsort(l->entries, l->nentries, sizeof(*l->entries), entry_cmp);
	/* one entry per name: a listed mailbox wins over an added one */
	for (i = 0, j = 0; i < l->nentries; i++) {
		if (j > 0 &&
		    strcmp(l->entries[j - 1].name, l->entries[i].name) == 0) {
			free(l->entries[i].name);
			continue;
		}
		l->entries[j++] = l->entries[i];
	}
	l->nentries = j;
	for (i = 0; i < l->nentries; i++) {
		struct list_entry *e = &l->entries[i];
		char *name, *p;
		int hidden;

		if (e->added || !list_selected(l, e->attrs))
			continue;
		hidden = !list_pattern_match(l, e->name);
		/* each ancestor: the name cut at each separator, in a copy
		 * (the entries stay sorted by their own names) */
		if ((name = strdup(e->name)) == NULL)
			return PH_ENOMEM;
		while ((p = strrchr(name, l->sep)) != NULL) {
			struct list_entry *a;

			*p = '\0';
			a = entry_find(l, name);
			if (a != NULL) {
				a->desc_any = 1;
				a->desc_hidden |= (unsigned char)hidden;
			}
		}
		free(name);
	}
	for (i = 0; i < l->nentries; i++) {
		struct list_entry *e = &l->entries[i];

		if (!list_pattern_match(l, e->name))
			continue;
		if (!e->added && list_selected(l, e->attrs))
			list_write(l, e->name, e->attrs,
				   !l->lsub && e->desc_any);
		else if (e->desc_hidden && l->lsub)
			list_write(l, e->name, PH_MBOX_NOSELECT, 0);
		else if (e->desc_hidden)
			list_write(l, e->name,
				   e->added ? PH_MBOX_NONEXISTENT
					    : e->attrs &
						  ~(uint32_t)PH_MBOX_SUBSCRIBED,
				   1);
	}
	return 0;
}

/* Adds reference + pattern (wire form) as a UTF-8 pattern. */
static int list_add_pattern(struct imap_client *c, struct list_ctx *l,
			    const struct imap_arg *ref,
			    const struct imap_arg *pat)
{
	struct imap_str full, utf8;

	if (!imap_arg_is_string(pat) || l->npatterns == MAX_LIST_PATTERNS ||
	    ref->len + pat->len > MAX_PATTERN)
		return -1;
	imap_str_init(&full, 0);
	imap_str_init(&utf8, 0);
	imap_str_appends(&full, ARG_STR(c, ref));
	imap_str_appends(&full, ARG_STR(c, pat));
	if (full.data == NULL || imap_utf7_decode(full.data, &utf8) < 0 ||
	    utf8.data == NULL) {
		/* not a valid name: matches nothing */
		imap_str_free(&full);
		imap_str_free(&utf8);
		return 0;
	}
	imap_str_free(&full);
	l->patterns[l->npatterns++] = utf8.data;
	return 0;
}

/* LIST [(selection)] reference patterns [RETURN (options)] (RFC 5258
 * syntax, for LIST-STATUS and SPECIAL-USE), LSUB reference pattern. */
static void list(struct imap_client *c, const char *tag,
		 const struct imap_arg *args, int lsub)
{
	struct list_ctx l = {.c = c, .lsub = lsub};
	const struct imap_arg *a = args, *ref, *pats;
	const char *error = NULL;
	unsigned k;
	int ret;

	l.sep = c->storage->mailbox_separator(c->mu);
	if (!lsub && a != NULL && a->type == IMAP_ARG_LIST) {
		const struct imap_arg *o;

		for (o = imap_arg_child(c->parser, a); o != NULL;
		     o = ARG_NEXT(c, o)) {
			if (ARG_IS(c, o, "SUBSCRIBED"))
				l.sel_subscribed = 1;
			else if (ARG_IS(c, o, "SPECIAL-USE"))
				l.sel_special_use = 1;
			else if (ARG_IS(c, o, "RECURSIVEMATCH"))
				l.sel_recursive = 1;
			else if (!ARG_IS(c, o, "REMOTE"))
				goto bad;
		}
		/* RECURSIVEMATCH needs another selection option (3.1) */
		if (l.sel_recursive && !l.sel_subscribed && !l.sel_special_use)
			goto bad;
		a = ARG_NEXT(c, a);
	}
	ref = a;
	pats = ARG_NEXT(c, ref);
	if (!imap_arg_is_string(ref) || pats == NULL)
		goto bad;
	a = ARG_NEXT(c, pats);
	if (!lsub && a != NULL && ARG_IS(c, a, "RETURN")) {
		const struct imap_arg *o, *opts = ARG_NEXT(c, a);

		if (opts == NULL || opts->type != IMAP_ARG_LIST ||
		    ARG_NEXT(c, opts) != NULL)
			goto bad;
		for (o = imap_arg_child(c->parser, opts); o != NULL;
		     o = ARG_NEXT(c, o)) {
			if (ARG_IS(c, o, "STATUS")) {
				o = ARG_NEXT(c, o);
				if (status_items_arg(c, o, &l.ret_status) < 0)
					goto bad;
			} else if (ARG_IS(c, o, "SUBSCRIBED")) {
				l.ret_subscribed = 1;
			} else if (!ARG_IS(c, o, "CHILDREN") &&
				   !ARG_IS(c, o, "SPECIAL-USE")) {
				goto bad;
			}
		}
		a = NULL;
	}
	if (a != NULL)
		goto bad;
	if (pats->type == IMAP_ARG_LIST && !lsub) {
		const struct imap_arg *p;

		if (pats->count == 0)
			goto bad;
		for (p = imap_arg_child(c->parser, pats); p != NULL;
		     p = ARG_NEXT(c, p)) {
			if (list_add_pattern(c, &l, ref, p) < 0)
				goto bad;
		}
	} else {
		if (!imap_arg_is_string(pats))
			goto bad;
		if (pats->len == 0 && !lsub) {
			imap_untagged(c, "LIST (\\Noselect) \"%s%c\" \"\"",
				      l.sep == '\\' || l.sep == '"' ? "\\" : "",
				      l.sep);
			imap_tagged(c, tag, "OK", "List completed.");
			return;
		}
		if (list_add_pattern(c, &l, ref, pats) < 0)
			goto bad;
	}
	if (l.npatterns == 0)
		ret = 0;
	else if (l.sel_recursive || lsub)
		ret = list_recursive(&l, &error);
	else
		ret = c->storage->mailbox_list(c->mu, list_one, &l, &error);
	list_entries_free(&l);
	for (k = 0; k < l.npatterns; k++)
		free(l.patterns[k]);
	if (ret < 0)
		mailbox_no(c, tag, ret, error);
	else
		imap_tagged(c, tag, "OK", "%s completed.",
			    lsub ? "Lsub" : "List");
	return;
bad:
	for (k = 0; k < l.npatterns; k++)
		free(l.patterns[k]);
	imap_tagged(c, tag, "BAD", "Invalid %s arguments",
		    lsub ? "LSUB" : "LIST");
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
	const struct imap_arg *items = ARG_NEXT(c, args);
	const char *error = NULL;
	unsigned bits;
	char *name;
	int ret;

	if (args == NULL || status_items_arg(c, items, &bits) < 0 ||
	    ARG_NEXT(c, items) != NULL) {
		imap_tagged(c, tag, "BAD", "STATUS needs mailbox and items");
		return;
	}
	if ((name = imap_mailbox_arg(c, tag, args)) == NULL)
		return;
	ret = write_status(c, name, bits, &error);
	free(name);
	if (ret < 0)
		mailbox_no(c, tag, ret, error);
	else
		imap_tagged(c, tag, "OK", "Status completed.");
}

/* Expunges every \Deleted message of the view, reporting nothing. */
int imap_expunge_deleted(struct imap_client *c, const uint32_t *only,
			 size_t only_count, const char **error_r);

void imap_cmd_close(struct imap_client *c, const char *tag,
		    const struct imap_arg *args, int uid)
{
	const char *error = NULL;

	if (args != NULL) {
		imap_tagged(c, tag, "BAD", "CLOSE takes no arguments");
		return;
	}
	if (!c->readonly)
		(void)imap_expunge_deleted(c, NULL, 0, &error);
	imap_unselect(c);
	imap_tagged(c, tag, "OK", "Close completed.");
}

void imap_cmd_unselect(struct imap_client *c, const char *tag,
		       const struct imap_arg *args, int uid)
{
	if (args != NULL) {
		/* RFC 3691: BAD when an argument is supplied */
		imap_tagged(c, tag, "BAD", "UNSELECT takes no arguments");
		return;
	}
	imap_unselect(c);
	imap_tagged(c, tag, "OK", "Unselect completed.");
}
