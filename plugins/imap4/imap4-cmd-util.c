/* imap4-cmd-util.c - argument helpers the command files share: mailbox
 * names, sequence sets, flag lists. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap4-private.h"
#include "imap4-utf7.h"

char *imap_mailbox_arg(struct imap_client *c, const char *tag,
		       const struct imap_arg *arg)
{
	const char *s = ARG_STR(c, arg);
	struct imap_str utf8;

	if (s == NULL) {
		imap_tagged(c, tag, "BAD", "Missing mailbox name");
		return NULL;
	}
	if (strlen(s) != arg->len) {
		imap_tagged(c, tag, "NO", "[CANNOT] Mailbox name with NUL");
		return NULL;
	}
	if (strcasecmp(s, "INBOX") == 0)
		return strdup("INBOX");
	imap_str_init(&utf8, 4096);
	if (imap_utf7_decode(s, &utf8) < 0 || utf8.len == 0) {
		imap_str_free(&utf8);
		imap_tagged(c, tag, "NO",
			    "[CANNOT] Invalid mailbox name (modified UTF-7)");
		return NULL;
	}
	/* "INBOX/child": the INBOX part is case-insensitive too */
	if (utf8.len > 5 && strncasecmp(utf8.data, "INBOX", 5) == 0 &&
	    utf8.data[5] == c->storage->mailbox_separator(c->mu))
		memcpy(utf8.data, "INBOX", 5);
	return utf8.data;
}

int imap_seqset_arg(struct imap_client *c, const char *tag,
		    const struct imap_arg *arg, int uid, uint32_t **seqs_r,
		    size_t *count_r)
{
	struct imap_seqset set;
	const char *error;
	uint32_t count = c->storage->message_count(c->box), *seqs, star = 0;
	size_t i, n = 0;
	int ret;

	*seqs_r = NULL;
	*count_r = 0;
	if (arg == NULL || arg->type != IMAP_ARG_ATOM) {
		imap_tagged(c, tag, "BAD", "Missing sequence set");
		return -1;
	}
	ret = imap_seqset_parse(ARG_STR(c, arg), IMAP_MAX_SEQ_RANGES, &set,
				&error);
	if (ret < 0) {
		imap_tagged(c, tag, "BAD", "%s", error);
		return -1;
	}
	if (count == 0 && !uid) {
		/* RFC 3501 9 (seq-number): every number, "*" included, is
		 * past the end of an empty mailbox */
		imap_seqset_free(&set);
		imap_tagged(c, tag, "BAD", "No messages (sequence set)");
		return -1;
	}
	if (count > 0) {
		struct ph_message_info info = PH_MESSAGE_INFO_LIGHT_INIT;

		if (!uid)
			star = count;
		else if (c->storage->message_info(c->box, count, &info) == 0)
			star = info.uid;
	}
	imap_seqset_resolve(&set, star);
	seqs = malloc(((size_t)count + 1) * sizeof(*seqs));
	if (seqs == NULL) {
		imap_seqset_free(&set);
		imap_tagged(c, tag, "NO", "[SERVERBUG] Out of memory");
		return -1;
	}
	for (i = 0; i < set.count; i++) {
		uint32_t lo = set.ranges[i].lo, hi = set.ranges[i].hi, s;

		if (uid) {
			uint32_t slo, shi;

			if (c->storage->message_uid_range(c->box, lo, hi, &slo,
							  &shi) <= 0)
				continue;
			lo = slo;
			hi = shi;
		} else if (hi > count) {
			/* RFC 3501: a number past the end is an error */
			free(seqs);
			imap_seqset_free(&set);
			imap_tagged(c, tag, "BAD",
				    "Invalid sequence number (past the end)");
			return -1;
		}
		for (s = lo; s <= hi && s >= lo; s++) {
			if (n == 0 || seqs[n - 1] < s)
				seqs[n++] = s;
			if (s == UINT32_MAX)
				break;
		}
	}
	imap_seqset_free(&set);
	*seqs_r = seqs;
	*count_r = n;
	return 0;
}

static const struct {
	const char *name;
	uint32_t flag;
} system_flags[] = {
    {"\\Seen", PH_FLAG_SEEN},	    {"\\Answered", PH_FLAG_ANSWERED},
    {"\\Flagged", PH_FLAG_FLAGGED}, {"\\Deleted", PH_FLAG_DELETED},
    {"\\Draft", PH_FLAG_DRAFT},	    {"\\Recent", PH_FLAG_RECENT},
};

void imap_write_flags(struct imap_client *c, struct imap_str *out,
		      uint32_t flags, uint64_t keywords)
{
	unsigned i, n = 0;

	imap_str_appendc(out, '(');
	for (i = 0; i < sizeof(system_flags) / sizeof(system_flags[0]); i++) {
		if (flags & system_flags[i].flag) {
			if (n++ > 0)
				imap_str_appendc(out, ' ');
			imap_str_appends(out, system_flags[i].name);
		}
	}
	for (i = 0; i < 64 && c->box != NULL; i++) {
		const char *kw;

		if (!(keywords & (1ULL << i)))
			continue;
		kw = c->storage->keyword_name(c->box, i);
		if (kw == NULL)
			continue;
		if (n++ > 0)
			imap_str_appendc(out, ' ');
		imap_str_appends(out, kw);
	}
	imap_str_appendc(out, ')');
}

#define FLAGS_NEXT(c, list, a)                                                 \
	((list)->type == IMAP_ARG_LIST ? ARG_NEXT(c, a) : NULL)

/* Whether the keywords of the list that the mailbox lacks fit into its
 * free slots (the storage's 64), so that a STORE refused with [LIMIT]
 * defines none of them. */
static int keywords_fit(struct imap_client *c, const struct imap_arg *list,
			const struct imap_arg *first)
{
	const struct imap_arg *a, *b;
	unsigned i, used = 0, missing = 0, idx;

	for (i = 0; i < 64; i++)
		used += c->storage->keyword_name(c->box, i) != NULL;
	for (a = first; a != NULL; a = FLAGS_NEXT(c, list, a)) {
		const char *s = ARG_STR(c, a);

		if (s[0] == '\\' ||
		    c->storage->keyword_index(c->box, s, 0, &idx) == 0)
			continue;
		for (b = first; b != a; b = FLAGS_NEXT(c, list, b)) {
			if (strcasecmp(ARG_STR(c, b), s) == 0)
				break;
		}
		if (b == a && used + ++missing > 64)
			return 0;
	}
	return 1;
}

int imap_flags_arg(struct imap_client *c, const char *tag,
		   const struct imap_arg *list, int create, uint32_t *flags_r,
		   uint64_t *keywords_r)
{
	const struct imap_arg *a, *first = list;
	unsigned i;

	*flags_r = 0;
	*keywords_r = 0;
	if (list != NULL && list->type == IMAP_ARG_LIST)
		first = imap_arg_child(c->parser, list);
	else if (list == NULL || list->type != IMAP_ARG_ATOM)
		goto bad;
	/* the syntax first: a BAD list creates no keyword */
	for (a = first; a != NULL; a = FLAGS_NEXT(c, list, a)) {
		const char *s = ARG_STR(c, a);

		if (a->type != IMAP_ARG_ATOM)
			goto bad;
		if (s[0] == '\\') {
			for (i = 0; i < 5; i++) {
				if (strcasecmp(s, system_flags[i].name) == 0)
					break;
			}
			if (i == 5)
				goto bad; /* \Recent and unknown ones */
			*flags_r |= system_flags[i].flag;
		} else if (strpbrk(s, "*%]\\") != NULL) {
			goto bad; /* not an atom (RFC 3501 flag-keyword) */
		}
	}
	if (c->box == NULL)
		return 0; /* APPEND without a view: keywords later */
	if (create && !keywords_fit(c, list, first)) {
		imap_tagged(c, tag, "NO", "[LIMIT] Keyword limit reached");
		return -1;
	}
	for (a = first; a != NULL; a = FLAGS_NEXT(c, list, a)) {
		const char *s = ARG_STR(c, a);
		unsigned idx;
		int ret;

		if (s[0] == '\\')
			continue;
		ret = c->storage->keyword_index(c->box, s, create, &idx);
		if (ret == PH_ENOTFOUND && !create)
			continue;
		if (ret < 0) {
			imap_tagged(c, tag, "NO", "%sKeyword %s",
				    imap_error_code(ret),
				    ret == PH_ETOOBIG ? "limit reached"
						      : "not allowed");
			return -1;
		}
		*keywords_r |= 1ULL << idx;
	}
	return 0;
bad:
	imap_tagged(c, tag, "BAD", "Invalid flag list");
	return -1;
}
