/* imap4-cmd-search.c - SEARCH and UID SEARCH: flags, keywords, sizes,
 * internal and sent dates, sequence and UID sets, header fields (RFC 2047
 * decoded), BODY and TEXT (transfer encodings undone, charsets converted
 * to UTF-8), with NOT, OR and parenthesised groups. The program is
 * compiled into a node array with a depth cap, so a huge OR tree costs
 * bounded stack. Message text is read only when a text key is reached,
 * once per message, streamed in 16 KiB pieces. A header key reads only
 * the header (not the MIME structure), and the lines of a named field
 * are kept in the storage cache ("imap4.h.<field>"), so searching the
 * same field again opens no file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "imap4-esearch.h"
#include "imap4-mime-decode.h"
#include "imap4-mime.h"
#include "imap4-private.h"

#define SEARCH_HEADER_MAX (1024 * 1024)
#define SEARCH_CHUNK	  16384

#define SEARCH_MAX_NODES       10000
#define SEARCH_MAX_DEPTH       64
#define SEARCH_CACHE_FIELD_MAX 40 /* longer field names are not cached */

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
	N_NONE,	  /* a keyword the mailbox does not have */
	N_HEADER, /* field `str2` contains `str` */
	N_BODY,
	N_TEXT,
	N_SENTBEFORE,
	N_SENTON,
	N_SENTSINCE,
};

struct node {
	enum node_type type;
	unsigned first, count; /* AND / OR / NOT: child node indexes */
	uint64_t u;
	int64_t t;
	struct imap_seqset set;
	char *str, *str2;
};

/* What a text key needs of the current message, loaded on first use. */
struct msg_text {
	int tried, ok;		 /* the MIME tree (BODY, TEXT) */
	int hdr_tried, hdr_ok;	 /* the header */
	int open_tried, open_ok; /* the file */
	struct ph_message_body body;
	char *header; /* the top-level header, NUL-terminated */
	struct mime_part *tree;
};

struct program {
	struct imap_client *c;
	struct node *nodes;
	unsigned n;
	const char *error;
	uint32_t seq;	       /* the message being evaluated */
	struct msg_text text;  /* its text, when a key needed it */
	struct imap_str field; /* lines of one header field */
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

static const struct {
	const char *name;
	const char *field; /* NULL: the next argument names it */
	enum node_type type;
} text_keys[] = {
    {"FROM", "From", N_HEADER},
    {"TO", "To", N_HEADER},
    {"CC", "Cc", N_HEADER},
    {"BCC", "Bcc", N_HEADER},
    {"SUBJECT", "Subject", N_HEADER},
    {"HEADER", NULL, N_HEADER},
    {"BODY", "", N_BODY},
    {"TEXT", "", N_TEXT},
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
	for (i = 0; i < sizeof(text_keys) / sizeof(text_keys[0]); i++) {
		const char *field = text_keys[i].field;

		if (strcasecmp(s, text_keys[i].name) != 0)
			continue;
		if (field == NULL) {
			if (*ap == NULL || !imap_arg_is_string(*ap))
				goto missing;
			field = ARG_STR(c, *ap);
			*ap = ARG_NEXT(c, *ap);
		}
		if (*ap == NULL || !imap_arg_is_string(*ap))
			goto missing;
		k = add_node(p, text_keys[i].type);
		if (k < 0)
			return -1;
		p->nodes[k].str = strdup(ARG_STR(c, *ap));
		p->nodes[k].str2 = strdup(field);
		if (p->nodes[k].str == NULL || p->nodes[k].str2 == NULL) {
			p->error = "Out of memory";
			return -1;
		}
		*ap = ARG_NEXT(c, *ap);
		return k;
	}
	if (strcasecmp(s, "SENTBEFORE") == 0 || strcasecmp(s, "SENTON") == 0 ||
	    strcasecmp(s, "SENTSINCE") == 0) {
		enum node_type t = strcasecmp(s, "SENTBEFORE") == 0
				       ? N_SENTBEFORE
				   : strcasecmp(s, "SENTON") == 0 ? N_SENTON
								  : N_SENTSINCE;

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

static void text_free(struct program *p)
{
	struct msg_text *t = &p->text;

	if (t->body.fd >= 0 && p->c->box != NULL)
		p->c->storage->message_close(p->c->box, &t->body);
	free(t->header);
	mime_part_free(&t->tree);
	memset(t, 0, sizeof(*t));
	t->body = (struct ph_message_body)PH_MESSAGE_BODY_INIT;
}

static int text_open(struct program *p)
{
	struct msg_text *t = &p->text;
	const char *error = NULL;

	if (!t->open_tried) {
		t->open_tried = 1;
		t->open_ok = p->c->storage->message_open(p->c->box, p->seq,
							 &t->body, &error) == 0;
	}
	return t->open_ok;
}

/* Length of the header in buf[0..len) including its empty line, or 0
 * when the empty line is not there yet. */
static size_t header_end(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));

		if (lf == NULL)
			return 0;
		if (lf == p || (lf == p + 1 && *p == '\r'))
			return (size_t)(lf + 1 - buf);
		p = lf + 1;
	}
	return 0;
}

/* Reads the top-level header (up to SEARCH_HEADER_MAX bytes), without
 * the body, once per message. */
static int header_load(struct program *p)
{
	struct msg_text *t = &p->text;
	size_t cap = SEARCH_CHUNK, len = 0, end = 0;
	char *buf;

	if (t->hdr_tried)
		return t->hdr_ok;
	t->hdr_tried = 1;
	if (!text_open(p) || (buf = malloc(cap + 1)) == NULL)
		return 0;
	while (len < t->body.length && len < SEARCH_HEADER_MAX) {
		uint64_t want = t->body.length - len;
		ssize_t got;

		if (len == cap) {
			char *nb = realloc(buf, cap * 2 + 1);

			if (nb == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
		if (want > cap - len)
			want = cap - len;
		got = pread(t->body.fd, buf + len, (size_t)want,
			    (off_t)(t->body.offset + len));
		if (got <= 0)
			break;
		len += (size_t)got;
		if ((end = header_end(buf, len)) > 0)
			break;
	}
	if (len > SEARCH_HEADER_MAX)
		len = SEARCH_HEADER_MAX;
	buf[end > 0 ? end : len] = '\0';
	t->header = buf;
	t->hdr_ok = 1;
	return 1;
}

/* Opens the message and parses its structure, once per message. */
static int text_load(struct program *p)
{
	struct msg_text *t = &p->text;
	size_t n;
	ssize_t got;
	char *h;

	if (t->tried)
		return t->ok;
	t->tried = 1;
	if (!text_open(p) || mime_parse_fd(t->body.fd, t->body.offset,
					   t->body.length, NULL, &t->tree) < 0)
		return 0;
	if (t->hdr_ok) {
		t->ok = 1;
		return 1;
	}
	n = t->tree->body_off < SEARCH_HEADER_MAX ? (size_t)t->tree->body_off
						  : SEARCH_HEADER_MAX;
	h = malloc(n + 1);
	if (h == NULL)
		return 0;
	got = pread(t->body.fd, h, n, (off_t)t->body.offset);
	h[got > 0 ? got : 0] = '\0';
	free(t->header);
	t->header = h;
	t->hdr_tried = t->hdr_ok = 1;
	t->ok = 1;
	return 1;
}

/* The lines of every `field` field of `header` (with continuations, LF
 * ends) into `out`. */
static void field_lines(const char *header, const char *field,
			struct imap_str *out)
{
	const char *p = header;
	size_t fl = strlen(field);

	imap_str_truncate(out, 0);
	while (*p != '\0') {
		const char *start = p;

		do {
			const char *lf = strchr(p, '\n');

			p = lf != NULL ? lf + 1 : p + strlen(p);
		} while (*p == ' ' || *p == '\t');
		if (*start == '\r' || *start == '\n')
			break; /* the empty line */
		if ((size_t)(p - start) > fl && start[fl] == ':' &&
		    strncasecmp(start, field, fl) == 0) {
			imap_str_append(out, start, (size_t)(p - start));
			if (p[-1] != '\n')
				imap_str_appendc(out, '\n');
		}
	}
}

static const char *field_str(const struct program *p)
{
	return p->field.data != NULL ? p->field.data : "";
}

/* The lines of header field `field` of the current message in
 * p->field (NUL-terminated): from the storage cache, else read from the
 * header and cached. 0 when the message cannot be read. */
static int field_get(struct program *p, const char *field)
{
	struct imap_client *c = p->c;
	char key[sizeof("imap4.h.") + SEARCH_CACHE_FIELD_MAX];
	size_t fl = strlen(field), i;
	struct ph_str v;

	p->field.failed = 0;
	for (i = 0; i < fl && field[i] > ' ' && field[i] < 127; i++)
		;
	if (fl > SEARCH_CACHE_FIELD_MAX || i < fl) { /* not a cache name */
		if (!header_load(p))
			return 0;
		field_lines(p->text.header, field, &p->field);
		return !p->field.failed;
	}
	memcpy(key, "imap4.h.", 8);
	for (i = 0; i < fl; i++)
		key[8 + i] =
		    (char)((field[i] >= 'A' && field[i] <= 'Z') ? field[i] + 32
								: field[i]);
	key[8 + fl] = '\0';
	if (c->storage->cache_get(c->box, p->seq, key, &v) == PH_OK &&
	    memchr(v.data, '\0', v.len) == NULL) {
		imap_str_truncate(&p->field, 0);
		imap_str_append(&p->field, v.data, v.len);
		return !p->field.failed;
	}
	if (!header_load(p))
		return 0;
	field_lines(p->text.header, field, &p->field);
	if (p->field.failed)
		return 0;
	(void)c->storage->cache_set(
	    c->box, p->seq, key, (struct ph_str){field_str(p), p->field.len});
	return 1;
}

/* Does any `field` (all when `field` is "") of the header contain
 * `needle` after RFC 2047 decoding? An empty needle tests presence. */
static int header_match(const char *header, const char *field,
			const char *needle)
{
	const char *p = header;
	size_t fl = strlen(field);
	int found = 0;

	while (*p != '\0' && !found) {
		const char *start = p, *colon;
		struct imap_str raw, dec;
		struct mime_matcher m;

		/* one field with its continuation lines */
		do {
			const char *lf = strchr(p, '\n');

			p = lf != NULL ? lf + 1 : p + strlen(p);
		} while (*p == ' ' || *p == '\t');
		if (*start == '\r' || *start == '\n')
			break; /* the empty line */
		colon = memchr(start, ':', (size_t)(p - start));
		if (colon == NULL)
			continue;
		if (fl > 0 && ((size_t)(colon - start) != fl ||
			       strncasecmp(start, field, fl) != 0))
			continue;
		imap_str_init(&raw, 0);
		imap_str_init(&dec, 0);
		for (colon++; colon < p; colon++) {
			if (*colon != '\r' && *colon != '\n')
				imap_str_appendc(&raw, *colon);
		}
		mime_header_decode(raw.data != NULL ? raw.data : "", &dec);
		if (mime_matcher_init(&m, needle) == 0) {
			if (fl > 0 || m.len == 0)
				mime_matcher_feed(&m, dec.data, dec.len);
			else /* TEXT: the field name counts too */
				mime_matcher_feed(&m, start,
						  (size_t)(p - start));
			if (!m.found && dec.len > 0)
				mime_matcher_feed(&m, dec.data, dec.len);
			found = m.found;
			mime_matcher_free(&m);
		}
		imap_str_free(&raw);
		imap_str_free(&dec);
	}
	return found;
}

/* Streams the stored bytes [off, end) through `m`. */
static void raw_match(struct program *p, struct mime_matcher *m, char *buf,
		      uint64_t off, uint64_t end)
{
	while (off < end && !m->found) {
		size_t n = end - off < SEARCH_CHUNK ? (size_t)(end - off)
						    : SEARCH_CHUNK;
		ssize_t got = pread(p->text.body.fd, buf, n,
				    (off_t)(p->text.body.offset + off));

		if (got <= 0)
			break;
		mime_matcher_feed(m, buf, (size_t)got);
		off += (uint64_t)got;
	}
}

/* Streams the decoded text parts of the message through `m`; with
 * `headers` (TEXT) also the headers of the parts inside the body. */
static void body_match(struct program *p, struct mime_matcher *m, int headers)
{
	struct msg_text *t = &p->text;
	const struct mime_part *part = t->tree;
	char *buf = malloc(SEARCH_CHUNK);
	struct imap_str out;

	if (buf == NULL)
		return;
	imap_str_init(&out, 0);
	while (part != NULL && !m->found) {
		struct mime_content_type ct;
		int text = 1;
		char *charset = NULL;

		memset(&ct, 0, sizeof(ct));
		if (part->hdr[MH_CONTENT_TYPE] != NULL &&
		    mime_content_type_parse(part->hdr[MH_CONTENT_TYPE], 1,
					    &ct) == 0 &&
		    ct.type != NULL) {
			text = strcasecmp(ct.type, "text") == 0 ||
			       strcasecmp(ct.type, "message") == 0;
			charset = mime_param_get_decoded(&ct, "charset");
		}
		if (headers && part != t->tree)
			raw_match(p, m, buf, part->hdr_off, part->body_off);
		if (part->children == NULL && text) {
			struct mime_body_decoder d;
			uint64_t pos = part->body_off;

			mime_body_decoder_init(
			    &d, part->hdr[MH_CONTENT_TRANSFER_ENCODING],
			    charset);
			while (pos < part->body_end && !m->found) {
				size_t n = part->body_end - pos < SEARCH_CHUNK
					       ? (size_t)(part->body_end - pos)
					       : SEARCH_CHUNK;
				ssize_t got =
				    pread(t->body.fd, buf, n,
					  (off_t)(t->body.offset + pos));

				if (got <= 0)
					break;
				pos += (uint64_t)got;
				imap_str_truncate(&out, 0);
				mime_body_decoder_feed(&d, buf, (size_t)got,
						       &out);
				mime_matcher_feed(m, out.data, out.len);
			}
			mime_body_decoder_free(&d);
		}
		free(charset);
		mime_content_type_free(&ct);
		/* pre-order walk without recursion */
		if (part->children != NULL) {
			part = part->children;
			continue;
		}
		while (part != NULL && part->next == NULL)
			part = part->parent;
		if (part != NULL)
			part = part->next;
	}
	imap_str_free(&out);
	free(buf);
}

/* Day number of the Date header ("[Day,] D Mon YYYY ..."), -1 if none. */
static int64_t sent_day(const char *header)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	const char *p = header;
	char mon[4];
	int day, year, n;
	const char *m;

	while (*p != '\0') {
		if (strncasecmp(p, "Date:", 5) == 0 &&
		    (p == header || p[-1] == '\n'))
			break;
		p = strchr(p, '\n');
		if (p == NULL)
			return -1;
		p++;
	}
	if (*p == '\0')
		return -1;
	p += 5;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strchr(p, ',') != NULL && strchr(p, ',') < strchr(p, '\n'))
		p = strchr(p, ',') + 1;
	if (sscanf(p, " %d %3s %d%n", &day, mon, &year, &n) != 3 ||
	    strlen(mon) != 3)
		return -1;
	if (year < 50)
		year += 2000;
	else if (year < 1000)
		year += 1900;
	m = strcasestr(months, mon);
	if (m == NULL || (m - months) % 3 != 0 || day < 1 || day > 31) {
		return -1;
	} else {
		char date[32];
		int64_t t;

		snprintf(date, sizeof(date), "%d-%.3s-%04d", day, mon, year);
		if (imap_parse_date(date, &t) < 0)
			return -1;
		return t / 86400;
	}
}

static int eval_text(struct program *p, const struct node *n)
{
	struct mime_matcher m;
	int found;
	int64_t d;

	switch (n->type) {
	case N_HEADER:
		if (n->str2[0] != '\0') {
			if (!field_get(p, n->str2))
				return 0;
			return header_match(field_str(p), n->str2, n->str);
		}
		if (!header_load(p))
			return 0;
		return header_match(p->text.header, n->str2, n->str);
	case N_TEXT:
		if (!header_load(p))
			return 0;
		if (header_match(p->text.header, "", n->str))
			return 1;
		/* fall through */
	case N_BODY:
		if (!text_load(p) || mime_matcher_init(&m, n->str) < 0)
			return 0;
		body_match(p, &m, n->type == N_TEXT);
		found = m.found;
		mime_matcher_free(&m);
		return found;
	case N_SENTBEFORE:
	case N_SENTON:
	case N_SENTSINCE:
		if (!field_get(p, "Date"))
			return 0;
		d = sent_day(field_str(p));
		if (d < 0)
			return 0;
		return n->type == N_SENTBEFORE ? d < n->t / 86400
		       : n->type == N_SENTON   ? d == n->t / 86400
					       : d >= n->t / 86400;
	default:
		return 0;
	}
}

static int eval(struct program *p, unsigned i, uint32_t seq,
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
	case N_HEADER:
	case N_BODY:
	case N_TEXT:
	case N_SENTBEFORE:
	case N_SENTON:
	case N_SENTSINCE:
		return eval_text(p, n);
	}
	return 0;
}

/* A SEARCH runs as a job over the messages, a few at a time, so a long
 * TEXT search yields to the worker's other connections between steps. */
#define SEARCH_STEP 64 /* messages evaluated per job step */

struct search_job {
	struct program p;
	struct imap_esearch es; /* RETURN (...): answered with ESEARCH */
	int root, uid;
	uint32_t seq, count;
	uint64_t info_omit; /* what no key reads of the message info */
	char tag[128];
};

static void search_job_free(void *ctx)
{
	struct search_job *j = ctx;

	imap_esearch_free(&j->es);
	for (unsigned i = 0; i < j->p.n; i++) {
		imap_seqset_free(&j->p.nodes[i].set);
		free(j->p.nodes[i].str);
		free(j->p.nodes[i].str2);
	}
	free(j->p.nodes);
	imap_str_free(&j->p.field);
	free(j);
}

static int search_step(struct imap_client *c)
{
	struct search_job *j = c->job_ctx;
	uint32_t end = j->seq + SEARCH_STEP;

	for (; j->seq <= j->count && j->seq < end; j->seq++) {
		struct ph_message_info m = PH_MESSAGE_INFO_INIT;
		uint32_t id;

		m.omit = j->info_omit;
		if (c->storage->message_info(c->box, j->seq, &m) < 0 ||
		    m.expunged)
			continue;
		j->p.seq = j->seq;
		id = j->uid ? m.uid : j->seq;
		if (!eval(&j->p, (unsigned)j->root, j->seq, &m))
			; /* no match */
		else if (j->es.ret)
			imap_esearch_add(&j->es, id);
		else
			imap_str_printf(&c->out, " %u", id);
		text_free(&j->p);
	}
	if (c->out.len > 8192 || j->seq > j->count)
		imap_client_flush(c); /* bounded memory: send as we go */
	if (j->seq <= j->count)
		return 0;
	if (j->es.ret) {
		imap_esearch_write(c, j->tag, &j->es, j->uid);
	} else {
		imap_str_appends(&c->out, "\r\n");
		imap_client_flush(c);
	}
	imap_sync(c, 1);
	imap_tagged(c, j->tag, "OK", "Search completed.");
	return 1;
}

void imap_cmd_search(struct imap_client *c, const char *tag,
		     const struct imap_arg *args, int uid)
{
	struct search_job *j = calloc(1, sizeof(*j));
	struct ph_message_info last = PH_MESSAGE_INFO_LIGHT_INIT;
	uint32_t star_uid = 0;

	if (j == NULL) {
		imap_tagged(c, tag, "NO", "[SERVERBUG] Out of memory");
		return;
	}
	j->p.c = c;
	j->p.text.body = (struct ph_message_body)PH_MESSAGE_BODY_INIT;
	imap_str_init(&j->p.field, SEARCH_HEADER_MAX);
	j->uid = uid;
	j->seq = 1;
	j->count = c->storage->message_count(c->box);
	snprintf(j->tag, sizeof(j->tag), "%s", tag);
	if (imap_esearch_arg(c, tag, &args, &j->es) < 0) {
		search_job_free(j);
		return;
	}
	if (args != NULL && ARG_IS(c, args, "CHARSET")) {
		const struct imap_arg *cs = ARG_NEXT(c, args);

		if (!imap_arg_is_string(cs)) {
			imap_tagged(c, tag, "BAD", "Missing charset");
			search_job_free(j);
			return;
		}
		if (strcasecmp(ARG_STR(c, cs), "UTF-8") != 0 &&
		    strcasecmp(ARG_STR(c, cs), "US-ASCII") != 0) {
			imap_tagged(c, tag, "NO",
				    "[BADCHARSET (UTF-8 US-ASCII)] Unknown "
				    "charset");
			search_job_free(j);
			return;
		}
		args = ARG_NEXT(c, cs);
	}
	if (args == NULL) {
		imap_tagged(c, tag, "BAD", "Missing search keys");
		search_job_free(j);
		return;
	}
	j->p.nodes = calloc(SEARCH_MAX_NODES, sizeof(*j->p.nodes));
	if (j->p.nodes == NULL) {
		imap_tagged(c, tag, "NO", "[SERVERBUG] Out of memory");
		search_job_free(j);
		return;
	}
	j->root = compile_list(&j->p, args, 0);
	if (j->root < 0) {
		imap_tagged(c, tag, "BAD", "%s",
			    j->p.error != NULL ? j->p.error : "Bad search");
		search_job_free(j);
		return;
	}
	if (j->count > 0 &&
	    c->storage->message_info(c->box, j->count, &last) == 0)
		star_uid = last.uid;
	j->info_omit = PH_MESSAGE_INFO_OMIT_DATE | PH_MESSAGE_INFO_OMIT_SIZE;
	for (unsigned i = 0; i < j->p.n; i++) {
		enum node_type t = j->p.nodes[i].type;

		if (t == N_SEQSET)
			imap_seqset_resolve(&j->p.nodes[i].set, j->count);
		else if (t == N_UIDSET)
			imap_seqset_resolve(&j->p.nodes[i].set, star_uid);
		else if (t == N_BEFORE || t == N_ON || t == N_SINCE)
			j->info_omit &= ~(uint64_t)PH_MESSAGE_INFO_OMIT_DATE;
		else if (t == N_LARGER || t == N_SMALLER)
			j->info_omit &= ~(uint64_t)PH_MESSAGE_INFO_OMIT_SIZE;
	}
	if (!j->es.ret)
		imap_str_appends(&c->out, "* SEARCH");
	imap_job_start(c, search_step, j, search_job_free);
}
