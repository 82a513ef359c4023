/* imap4-cmd-search.c - SEARCH and UID SEARCH over what the index knows:
 * flags, keywords, sizes, internal dates, sequence and UID sets, with
 * NOT, OR and parenthesised groups. The program is compiled into a node
 * array with a depth cap, so a huge OR tree costs bounded stack. Keys that
 * need message text (FROM, SUBJECT, BODY, ...) answer NO [CANNOT]. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap4-private.h"

#define SEARCH_MAX_NODES 10000
#define SEARCH_MAX_DEPTH 64

enum node_type {
	N_ALL,
	N_AND, /* children: a..b */
	N_OR,
	N_NOT,
	N_FLAG,	  /* flags & u == u */
	N_UNFLAG, /* !(flags & u) */
	N_NEW,
	N_OLD,
	N_KEYWORD,
	N_UNKEYWORD,
	N_LARGER,
	N_SMALLER,
	N_BEFORE,
	N_ON,
	N_SINCE,
	N_SEQSET,
	N_UIDSET,
	N_NONE, /* a keyword the mailbox does not have */
};

struct node {
	enum node_type type;
	unsigned first, count; /* AND / OR / NOT: child node indexes */
	uint64_t u;
	int64_t t;
	struct imap_seqset set;
};

struct program {
	struct imap_client *c;
	struct node *nodes;
	unsigned n;
	const char *error;
	int cannot;
};

static int add_node(struct program *p, enum node_type t)
{
	if (p->n == SEARCH_MAX_NODES) {
		p->error = "Search program too large";
		return -1;
	}
	memset(&p->nodes[p->n], 0, sizeof(p->nodes[p->n]));
	p->nodes[p->n].type = t;
	return (int)p->n++;
}

static int compile_key(struct program *p, const struct imap_arg **ap,
		       unsigned depth);

/* Keys until the end of a list; one AND node. */
static int compile_list(struct program *p, const struct imap_arg *a,
			unsigned depth)
{
	int and = add_node(p, N_AND);
	unsigned *kids, nk = 0, i;

	if (and < 0)
		return -1;
	/* children are compiled first, then linked through a side array */
	kids = malloc(SEARCH_MAX_NODES * sizeof(*kids));
	if (kids == NULL) {
		p->error = "Out of memory";
		return -1;
	}
	while (a != NULL) {
		int k = compile_key(p, &a, depth + 1);

		if (k < 0) {
			free(kids);
			return -1;
		}
		kids[nk++] = (unsigned)k;
	}
	/* AND children must be contiguous: copy them to the end */
	p->nodes[and].first = p->n;
	p->nodes[and].count = nk;
	for (i = 0; i < nk; i++) {
		int k = add_node(p, N_AND);

		if (k < 0) {
			free(kids);
			return -1;
		}
		p->nodes[k].first = kids[i];
		p->nodes[k].count = 1;
	}
	free(kids);
	return and;
}

static const struct {
	const char *name;
	enum node_type type;
	uint32_t flag;
} flag_keys[] = {
    {"ANSWERED", N_FLAG, PH_FLAG_ANSWERED},
    {"DELETED", N_FLAG, PH_FLAG_DELETED},
    {"DRAFT", N_FLAG, PH_FLAG_DRAFT},
    {"FLAGGED", N_FLAG, PH_FLAG_FLAGGED},
    {"SEEN", N_FLAG, PH_FLAG_SEEN},
    {"RECENT", N_FLAG, PH_FLAG_RECENT},
    {"UNANSWERED", N_UNFLAG, PH_FLAG_ANSWERED},
    {"UNDELETED", N_UNFLAG, PH_FLAG_DELETED},
    {"UNDRAFT", N_UNFLAG, PH_FLAG_DRAFT},
    {"UNFLAGGED", N_UNFLAG, PH_FLAG_FLAGGED},
    {"UNSEEN", N_UNFLAG, PH_FLAG_SEEN},
    {"NEW", N_NEW, 0},
    {"OLD", N_OLD, 0},
    {"ALL", N_ALL, 0},
};

static const char *const text_keys[] = {
    "FROM", "TO",   "CC",	  "BCC",    "SUBJECT",	 "HEADER",
    "BODY", "TEXT", "SENTBEFORE", "SENTON", "SENTSINCE", NULL,
};

static int compile_key(struct program *p, const struct imap_arg **ap,
		       unsigned depth)
{
	struct imap_client *c = p->c;
	const struct imap_arg *a = *ap;
	const char *s;
	unsigned i;
	int k, k2;

	if (depth > SEARCH_MAX_DEPTH) {
		p->error = "Search program nested too deeply";
		return -1;
	}
	*ap = ARG_NEXT(c, a);
	if (a->type == IMAP_ARG_LIST)
		return compile_list(p, imap_arg_child(c->parser, a), depth);
	if (a->type != IMAP_ARG_ATOM) {
		p->error = "Invalid search key";
		return -1;
	}
	s = ARG_STR(c, a);
	for (i = 0; i < sizeof(flag_keys) / sizeof(flag_keys[0]); i++) {
		if (strcasecmp(s, flag_keys[i].name) == 0) {
			k = add_node(p, flag_keys[i].type);
			if (k >= 0)
				p->nodes[k].u = flag_keys[i].flag;
			return k;
		}
	}
	if (strcasecmp(s, "NOT") == 0 || strcasecmp(s, "OR") == 0) {
		int or = strcasecmp(s, "OR") == 0;

		k = add_node(p, or ? N_OR : N_NOT);
		if (k < 0 || *ap == NULL)
			goto missing;
		k2 = compile_key(p, ap, depth + 1);
		if (k2 < 0)
			return -1;
		p->nodes[k].first = (unsigned)k2;
		p->nodes[k].count = 1;
		if (or) {
			if (*ap == NULL)
				goto missing;
			k2 = compile_key(p, ap, depth + 1);
			if (k2 < 0)
				return -1;
			p->nodes[k].t = k2; /* second operand */
			p->nodes[k].count = 2;
		}
		return k;
	}
	if (strcasecmp(s, "KEYWORD") == 0 || strcasecmp(s, "UNKEYWORD") == 0) {
		unsigned idx;
		int un = s[0] == 'U' || s[0] == 'u';

		if (*ap == NULL || (*ap)->type != IMAP_ARG_ATOM)
			goto missing;
		k = add_node(p, un ? N_UNKEYWORD : N_KEYWORD);
		if (k < 0)
			return -1;
		if (c->storage->keyword_index(c->box, ARG_STR(c, *ap), 0,
					      &idx) < 0)
			p->nodes[k].type = un ? N_ALL : N_NONE;
		else
			p->nodes[k].u = 1ULL << idx;
		*ap = ARG_NEXT(c, *ap);
		return k;
	}
	if (strcasecmp(s, "LARGER") == 0 || strcasecmp(s, "SMALLER") == 0) {
		char *end;
		const char *v;

		if (*ap == NULL || (*ap)->type != IMAP_ARG_ATOM)
			goto missing;
		v = ARG_STR(c, *ap);
		k = add_node(p,
			     s[0] == 'L' || s[0] == 'l' ? N_LARGER : N_SMALLER);
		if (k < 0)
			return -1;
		if (*v < '0' || *v > '9' || strlen(v) > 19) {
			p->error = "Invalid number";
			return -1;
		}
		p->nodes[k].u = strtoull(v, &end, 10);
		if (*end != '\0') {
			p->error = "Invalid number";
			return -1;
		}
		*ap = ARG_NEXT(c, *ap);
		return k;
	}
	if (strcasecmp(s, "BEFORE") == 0 || strcasecmp(s, "ON") == 0 ||
	    strcasecmp(s, "SINCE") == 0) {
		enum node_type t = strcasecmp(s, "BEFORE") == 0 ? N_BEFORE
				   : strcasecmp(s, "ON") == 0	? N_ON
								: N_SINCE;

		if (*ap == NULL || !imap_arg_is_string(*ap))
			goto missing;
		k = add_node(p, t);
		if (k < 0)
			return -1;
		if (imap_parse_date(ARG_STR(c, *ap), &p->nodes[k].t) < 0) {
			p->error = "Invalid date";
			return -1;
		}
		*ap = ARG_NEXT(c, *ap);
		return k;
	}
	for (i = 0; text_keys[i] != NULL; i++) {
		if (strcasecmp(s, text_keys[i]) == 0) {
			p->cannot = 1;
			p->error = "Searching message text is not supported "
				   "yet";
			return -1;
		}
	}
	if (strcasecmp(s, "UID") == 0) {
		if (*ap == NULL || (*ap)->type != IMAP_ARG_ATOM)
			goto missing;
		a = *ap;
		*ap = ARG_NEXT(c, *ap);
		k = add_node(p, N_UIDSET);
	} else {
		k = add_node(p, N_SEQSET);
	}
	if (k < 0)
		return -1;
	{
		const char *err;

		if (imap_seqset_parse(ARG_STR(c, a), IMAP_MAX_SEQ_RANGES,
				      &p->nodes[k].set, &err) < 0) {
			p->error = "Unknown search key or invalid set";
			return -1;
		}
	}
	return k;
missing:
	p->error = "Missing search argument";
	return -1;
}

/* Day number of an internal date in its own zone (RFC 3501: dates
 * without time and timezone). */
static int64_t day_of(const struct ph_message_info *m)
{
	int64_t t = m->internal_date + (int64_t)m->internal_tz * 60;

	return t >= 0 ? t / 86400 : (t - 86399) / 86400;
}

static int eval(const struct program *p, unsigned i, uint32_t seq,
		const struct ph_message_info *m)
{
	const struct node *n = &p->nodes[i];
	unsigned j;

	switch (n->type) {
	case N_ALL:
		return 1;
	case N_NONE:
		return 0;
	case N_AND:
		for (j = 0; j < n->count; j++) {
			if (!eval(p, n->first + j, seq, m))
				return 0;
		}
		return 1;
	case N_OR:
		return eval(p, n->first, seq, m) ||
		       eval(p, (unsigned)n->t, seq, m);
	case N_NOT:
		return !eval(p, n->first, seq, m);
	case N_FLAG:
		return (m->flags & n->u) == n->u;
	case N_UNFLAG:
		return (m->flags & n->u) == 0;
	case N_NEW:
		return (m->flags & PH_FLAG_RECENT) &&
		       !(m->flags & PH_FLAG_SEEN);
	case N_OLD:
		return !(m->flags & PH_FLAG_RECENT);
	case N_KEYWORD:
		return (m->keywords & n->u) != 0;
	case N_UNKEYWORD:
		return (m->keywords & n->u) == 0;
	case N_LARGER:
		return m->size > n->u;
	case N_SMALLER:
		return m->size < n->u;
	case N_BEFORE:
		return day_of(m) < n->t / 86400;
	case N_ON:
		return day_of(m) == n->t / 86400;
	case N_SINCE:
		return day_of(m) >= n->t / 86400;
	case N_SEQSET:
		return imap_seqset_contains(&n->set, seq);
	case N_UIDSET:
		return imap_seqset_contains(&n->set, m->uid);
	}
	return 0;
}

void imap_cmd_search(struct imap_client *c, const char *tag,
		     const struct imap_arg *args, int uid)
{
	struct program p = {.c = c};
	uint32_t count = c->storage->message_count(c->box), seq, star_uid = 0;
	struct ph_message_info last = PH_MESSAGE_INFO_INIT;
	unsigned i;
	int root;

	if (args != NULL && ARG_IS(c, args, "CHARSET")) {
		const struct imap_arg *cs = ARG_NEXT(c, args);

		if (!imap_arg_is_string(cs)) {
			imap_tagged(c, tag, "BAD", "Missing charset");
			return;
		}
		if (strcasecmp(ARG_STR(c, cs), "UTF-8") != 0 &&
		    strcasecmp(ARG_STR(c, cs), "US-ASCII") != 0) {
			imap_tagged(c, tag, "NO",
				    "[BADCHARSET (UTF-8 US-ASCII)] Unknown "
				    "charset");
			return;
		}
		args = ARG_NEXT(c, cs);
	}
	if (args == NULL) {
		imap_tagged(c, tag, "BAD", "Missing search keys");
		return;
	}
	p.nodes = calloc(SEARCH_MAX_NODES, sizeof(*p.nodes));
	if (p.nodes == NULL) {
		imap_tagged(c, tag, "NO", "[SERVERBUG] Out of memory");
		return;
	}
	root = compile_list(&p, args, 0);
	if (root >= 0) {
		if (count > 0 &&
		    c->storage->message_info(c->box, count, &last) == 0)
			star_uid = last.uid;
		for (i = 0; i < p.n; i++) {
			if (p.nodes[i].type == N_SEQSET)
				imap_seqset_resolve(&p.nodes[i].set, count);
			else if (p.nodes[i].type == N_UIDSET)
				imap_seqset_resolve(&p.nodes[i].set, star_uid);
		}
		imap_str_appends(&c->out, "* SEARCH");
		for (seq = 1; seq <= count; seq++) {
			struct ph_message_info m = PH_MESSAGE_INFO_INIT;

			if (c->storage->message_info(c->box, seq, &m) < 0 ||
			    m.expunged)
				continue;
			if (eval(&p, (unsigned)root, seq, &m))
				imap_str_printf(&c->out, " %u",
						uid ? m.uid : seq);
			if (c->out.len > 8192) {
				/* keep memory bounded: send as we go */
				c->api->conn_write(c->conn, c->out.data,
						   c->out.len);
				imap_str_truncate(&c->out, 0);
			}
		}
		imap_str_appends(&c->out, "\r\n");
		imap_client_flush(c);
	}
	for (i = 0; i < p.n; i++)
		imap_seqset_free(&p.nodes[i].set);
	free(p.nodes);
	if (root < 0) {
		if (p.cannot)
			imap_tagged(c, tag, "NO", "[CANNOT] %s", p.error);
		else
			imap_tagged(c, tag, "BAD", "%s",
				    p.error != NULL ? p.error : "Bad search");
		return;
	}
	imap_sync(c, 1);
	imap_tagged(c, tag, "OK", "Search completed.");
}
