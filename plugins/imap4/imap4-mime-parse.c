/*
 * imap4-mime-parse.c - the streaming MIME structure parser.
 *
 * Line oriented: bytes accumulate into the current line (only its first
 * max_header bytes are kept) and each complete line is classified:
 * a boundary of an enclosing multipart (checked first, innermost first,
 * by prefix as Dovecot does), a header line, the empty line ending a
 * header, or body. The CR LF before a boundary line belongs to the
 * boundary (RFC 2046 5.1.1), so a part's body ends before it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <posthorn/abi.h>
#include "imap4-mime.h"

const struct mime_limits mime_default_limits = {
    .max_depth = 32,
    .max_parts = 10000,
    .max_header = 64 * 1024,
};

/* Where a counter stood at a position: bytes, LFs, bare LFs. */
struct mime_pos {
	uint64_t off, lf, bare;
};

struct mime_boundary {
	struct mime_part *part; /* the multipart */
	char *str;
	size_t len;
};

struct mime_parser {
	struct mime_limits lim;
	struct mime_part *root, *cur;
	int in_header;
	unsigned nparts;
	int failed;

	struct mime_boundary *bounds;
	unsigned nbounds;

	struct mime_pos pos;	    /* after the last byte fed */
	struct mime_pos line_start; /* of the current line */
	int last_cr;		    /* the last byte fed was CR */
	int prev_line_crlf;	    /* the previous line ended in CR LF */
	/* per part positions, parallel to the open chain */
	struct imap_str line;	/* current line, capped */
	struct imap_str field;	/* current header field, unfolded */
	size_t field_first_len; /* bytes of its first line */
};

/* Positions of a part kept while it is open, in the part itself (the
 * LF / bare-LF counts at header and body start). */
struct mime_part_priv {
	struct mime_part pub;
	struct mime_pos hdr_start, body_start;
};

static struct mime_part *part_new(struct mime_parser *mp,
				  struct mime_part *parent)
{
	struct mime_part_priv *pp = calloc(1, sizeof(*pp));
	struct mime_part *p;

	if (pp == NULL) {
		mp->failed = 1;
		return NULL;
	}
	p = &pp->pub;
	p->parent = parent;
	pp->hdr_start = mp->pos;
	p->hdr_off = mp->pos.off;
	if (parent != NULL) {
		struct mime_part **tail = &parent->children;

		while (*tail != NULL)
			tail = &(*tail)->next;
		*tail = p;
		parent->nchildren++;
		if (parent->flags & MIME_PART_RFC822)
			p->flags |= MIME_PART_MESSAGE;
	} else {
		p->flags |= MIME_PART_MESSAGE;
	}
	mp->nparts++;
	return p;
}

static struct mime_part_priv *priv(struct mime_part *p)
{
	return (struct mime_part_priv *)p;
}

static unsigned part_depth(const struct mime_part *p)
{
	unsigned d = 0;

	while ((p = p->parent) != NULL)
		d++;
	return d;
}

struct mime_parser *mime_parser_create(const struct mime_limits *lim)
{
	struct mime_parser *mp = calloc(1, sizeof(*mp));

	if (mp == NULL)
		return NULL;
	mp->lim = lim != NULL ? *lim : mime_default_limits;
	imap_str_init(&mp->line, mp->lim.max_header);
	imap_str_init(&mp->field, mp->lim.max_header);
	mp->root = part_new(mp, NULL);
	if (mp->root == NULL) {
		free(mp);
		return NULL;
	}
	mp->cur = mp->root;
	mp->in_header = 1;
	return mp;
}

static void part_free_tree(struct mime_part *p)
{
	/* iterative over siblings, recursive over depth (bounded by
	 * max_depth when built by the parser; deserialisation checks) */
	while (p != NULL) {
		struct mime_part *next = p->next;
		unsigned i;

		part_free_tree(p->children);
		for (i = 0; i < MH_COUNT; i++)
			free(p->hdr[i]);
		free(p);
		p = next;
	}
}

void mime_part_free(struct mime_part **root)
{
	part_free_tree(*root);
	*root = NULL;
}

void mime_parser_destroy(struct mime_parser **mpp)
{
	struct mime_parser *mp = *mpp;
	unsigned i;

	if (mp == NULL)
		return;
	for (i = 0; i < mp->nbounds; i++)
		free(mp->bounds[i].str);
	free(mp->bounds);
	imap_str_free(&mp->line);
	imap_str_free(&mp->field);
	part_free_tree(mp->root);
	free(mp);
	*mpp = NULL;
}

static const char *const hdr_names[MH_COUNT] = {
    [MH_CONTENT_TYPE] = "Content-Type",
    [MH_CONTENT_TRANSFER_ENCODING] = "Content-Transfer-Encoding",
    [MH_CONTENT_ID] = "Content-ID",
    [MH_CONTENT_DESCRIPTION] = "Content-Description",
    [MH_CONTENT_DISPOSITION] = "Content-Disposition",
    [MH_CONTENT_LANGUAGE] = "Content-Language",
    [MH_CONTENT_LOCATION] = "Content-Location",
    [MH_CONTENT_MD5] = "Content-MD5",
    [MH_DATE] = "Date",
    [MH_SUBJECT] = "Subject",
    [MH_FROM] = "From",
    [MH_SENDER] = "Sender",
    [MH_REPLY_TO] = "Reply-To",
    [MH_TO] = "To",
    [MH_CC] = "Cc",
    [MH_BCC] = "Bcc",
    [MH_IN_REPLY_TO] = "In-Reply-To",
    [MH_MESSAGE_ID] = "Message-ID",
};

/* Appends what fits under the string's cap; the rest is dropped. */
static void capped_append(struct imap_str *s, const char *data, size_t n)
{
	if (s->max != 0 && s->len + n > s->max)
		n = s->max > s->len ? s->max - s->len : 0;
	imap_str_append(s, data, n);
}

/* Stores the pending header field of the current part if it matters. */
static void field_finish(struct mime_parser *mp)
{
	struct mime_part *p = mp->cur;
	char *data = mp->field.data, *colon, *v;
	size_t name_len;
	unsigned i, last;

	if (mp->field.len == 0)
		return;
	colon = memchr(data, ':', mp->field.len);
	if (colon == NULL)
		goto out;
	name_len = (size_t)(colon - data);
	while (name_len > 0 &&
	       (data[name_len - 1] == ' ' || data[name_len - 1] == '\t'))
		name_len--;
	last = (p->flags & MIME_PART_MESSAGE) ? MH_COUNT : MH_FIRST_ENVELOPE;
	for (i = 0; i < last; i++) {
		if (strlen(hdr_names[i]) == name_len &&
		    strncasecmp(data, hdr_names[i], name_len) == 0)
			break;
	}
	if (i == last)
		goto out; /* not wanted */
	/* white space after the colon is skipped on the first line only */
	v = colon + 1;
	while ((size_t)(v - data) < mp->field_first_len &&
	       (*v == ' ' || *v == '\t'))
		v++;
	if (p->hdr[i] != NULL && i == MH_CONTENT_TYPE)
		goto out; /* the first Content-Type counts, as in Dovecot */
	if (p->hdr[i] != NULL && i >= MH_FROM && i <= MH_BCC) {
		/* address fields add up, as in Dovecot */
		size_t ol = strlen(p->hdr[i]), vl = strlen(v);
		char *n;

		if (ol + vl > mp->lim.max_header)
			goto out;
		n = realloc(p->hdr[i], ol + vl + 3);
		if (n == NULL) {
			mp->failed = 1;
			goto out;
		}
		memcpy(n + ol, ", ", 2);
		memcpy(n + ol + 2, v, vl + 1);
		p->hdr[i] = n;
		goto out;
	}
	/* other fields: the last one counts, as in Dovecot */
	free(p->hdr[i]);
	p->hdr[i] = strdup(v);
	if (p->hdr[i] == NULL)
		mp->failed = 1;
out:
	imap_str_truncate(&mp->field, 0);
}

/* The header of the current part ended: decide what its body is. */
static void header_end(struct mime_parser *mp)
{
	struct mime_part *p = mp->cur;
	struct mime_content_type ct;
	const char *type = "text", *subtype = "plain";
	int have_ct = 0;

	field_finish(mp);
	mp->in_header = 0;
	priv(p)->body_start = mp->pos;
	p->body_off = mp->pos.off;
	memset(&ct, 0, sizeof(ct));
	if (p->hdr[MH_CONTENT_TYPE] != NULL &&
	    mime_content_type_parse(p->hdr[MH_CONTENT_TYPE], 1, &ct) == 0 &&
	    ct.type != NULL && ct.subtype != NULL) {
		type = ct.type;
		subtype = ct.subtype;
		have_ct = 1;
	} else if (p->parent != NULL &&
		   (p->parent->flags & MIME_PART_MULTIPART) &&
		   p->parent->hdr[MH_CONTENT_TYPE] != NULL &&
		   strcasestr(p->parent->hdr[MH_CONTENT_TYPE], "digest") !=
		       NULL) {
		struct mime_content_type pct;

		/* multipart/digest: parts default to message/rfc822 */
		if (mime_content_type_parse(p->parent->hdr[MH_CONTENT_TYPE], 1,
					    &pct) == 0 &&
		    pct.subtype != NULL &&
		    strcasecmp(pct.subtype, "digest") == 0) {
			type = "message";
			subtype = "rfc822";
		}
		mime_content_type_free(&pct);
	}
	if (part_depth(p) + 1 >= mp->lim.max_depth) {
		/* too deep: a leaf */
	} else if (strcasecmp(type, "multipart") == 0) {
		char *b =
		    have_ct ? mime_param_get_decoded(&ct, "boundary") : NULL;

		/* a multipart without a usable boundary has no parts */
		p->flags |= MIME_PART_MULTIPART;
		if (b != NULL && *b != '\0' && strlen(b) < 1000) {
			struct mime_boundary *nb = realloc(
			    mp->bounds, (mp->nbounds + 1) * sizeof(*nb));

			if (nb == NULL) {
				mp->failed = 1;
			} else {
				mp->bounds = nb;
				nb[mp->nbounds].part = p;
				nb[mp->nbounds].len = strlen(b);
				nb[mp->nbounds].str = b;
				b = NULL;
				mp->nbounds++;
			}
		}
		free(b);
	} else if (strcasecmp(type, "message") == 0 &&
		   strcasecmp(subtype, "rfc822") == 0 &&
		   mp->nparts < mp->lim.max_parts) {
		struct mime_part *child;

		p->flags |= MIME_PART_RFC822;
		child = part_new(mp, p);
		if (child != NULL) {
			mp->cur = child;
			mp->in_header = 1;
		}
	}
	mime_content_type_free(&ct);
}

/* Closes `p` at `end` (its body, or its header when still in it). */
static void part_close(struct mime_parser *mp, struct mime_part *p,
		       const struct mime_pos *end)
{
	struct mime_part_priv *pp = priv(p);

	if (p == mp->cur && mp->in_header) {
		struct mime_content_type ct;

		field_finish(mp);
		mp->in_header = 0;
		/* a multipart that ended in its header has no parts */
		if (p->hdr[MH_CONTENT_TYPE] != NULL &&
		    mime_content_type_parse(p->hdr[MH_CONTENT_TYPE], 1, &ct) ==
			0) {
			if (ct.type != NULL && ct.subtype != NULL &&
			    strcasecmp(ct.type, "multipart") == 0)
				p->flags |= MIME_PART_MULTIPART;
			mime_content_type_free(&ct);
		}
		pp->body_start = *end;
		p->body_off = end->off;
	}
	if (end->off < p->body_off) /* the CR LF belonged to the header */
		end = &pp->body_start;
	p->body_end = end->off;
	p->hdr_wire = (p->body_off - p->hdr_off) +
		      (pp->body_start.bare - pp->hdr_start.bare);
	p->body_wire =
	    (end->off - p->body_off) + (end->bare - pp->body_start.bare);
	p->body_lines = end->lf - pp->body_start.lf;
}

/* A boundary line of bounds[i] at the current line. */
static void boundary_found(struct mime_parser *mp, unsigned i, int closing)
{
	struct mime_part *mpart = mp->bounds[i].part;
	struct mime_pos end = mp->line_start;
	struct mime_part *p;
	unsigned j;

	/* the line break before the boundary is not body, unless it ends
	 * the innermost part's header (then every part ends there) */
	if (!mp->in_header && end.lf > 0) {
		end.lf--;
		end.off -= mp->prev_line_crlf ? 2 : 1;
		if (!mp->prev_line_crlf)
			end.bare--;
		if (end.off < mp->cur->body_off)
			end = priv(mp->cur)->body_start;
	}
	for (p = mp->cur; p != NULL && p != mpart; p = p->parent)
		part_close(mp, p, &end);
	for (j = i + 1; j < mp->nbounds; j++)
		free(mp->bounds[j].str);
	mp->nbounds = i + 1;
	mp->cur = mpart;
	mp->in_header = 0;
	if (closing) {
		free(mp->bounds[i].str);
		mp->nbounds = i; /* the epilogue is body of the multipart */
		return;
	}
	if (mp->nparts >= mp->lim.max_parts)
		return; /* no more parts: the rest is body */
	p = part_new(mp, mpart);
	if (p != NULL) {
		mp->cur = p;
		mp->in_header = 1;
	}
}

/* A complete line: mp->line holds its start (without CR LF). */
static void line_done(struct mime_parser *mp)
{
	const char *l = mp->line.data != NULL ? mp->line.data : "";
	size_t len = mp->line.len;
	unsigned i;

	if (len >= 2 && l[0] == '-' && l[1] == '-') {
		for (i = mp->nbounds; i-- > 0;) {
			const struct mime_boundary *b = &mp->bounds[i];

			if (len - 2 >= b->len &&
			    memcmp(l + 2, b->str, b->len) == 0) {
				int closing = len - 2 - b->len >= 2 &&
					      l[2 + b->len] == '-' &&
					      l[3 + b->len] == '-';

				boundary_found(mp, i, closing);
				return;
			}
		}
	}
	if (!mp->in_header)
		return;
	if (len == 0) {
		header_end(mp);
		return;
	}
	if (l[0] == ' ' || l[0] == '\t') {
		if (mp->field.len > 0)
			capped_append(&mp->field, l, len);
		return;
	}
	field_finish(mp);
	capped_append(&mp->field, l, len);
	mp->field_first_len = mp->field.len;
}

int mime_parser_feed(struct mime_parser *mp, const void *data, size_t len)
{
	const char *d = data;

	while (len > 0 && !mp->failed) {
		const char *lf = memchr(d, '\n', len);
		size_t n = lf != NULL ? (size_t)(lf - d) : len;

		if (n > 0) {
			capped_append(&mp->line, d, n);
			mp->last_cr = d[n - 1] == '\r';
			mp->pos.off += n;
		}
		if (lf == NULL)
			break;
		/* the line ends here */
		mp->pos.off++;
		mp->pos.lf++;
		if (!mp->last_cr)
			mp->pos.bare++;
		if (mp->last_cr && mp->line.len > 0 &&
		    mp->line.data[mp->line.len - 1] == '\r')
			imap_str_truncate(&mp->line, mp->line.len - 1);
		line_done(mp);
		mp->prev_line_crlf = mp->last_cr;
		mp->last_cr = 0;
		imap_str_truncate(&mp->line, 0);
		mp->line_start = mp->pos;
		d += n + 1;
		len -= n + 1;
	}
	return mp->failed ? PH_ENOMEM : PH_OK;
}

struct mime_part *mime_parser_finish(struct mime_parser **mpp)
{
	struct mime_parser *mp = *mpp;
	struct mime_part *root, *p;

	if (mp->failed) {
		mime_parser_destroy(mpp);
		return NULL;
	}
	if (mp->line.len > 0) {
		/* a last line without LF: "--b--" often ends a message */
		if (mp->last_cr && mp->line.data[mp->line.len - 1] == '\r')
			imap_str_truncate(&mp->line, mp->line.len - 1);
		line_done(mp);
	}
	for (p = mp->cur; p != NULL; p = p->parent)
		part_close(mp, p, &mp->pos);
	root = mp->root;
	mp->root = NULL;
	mime_parser_destroy(mpp);
	return root;
}

int mime_parse_fd(int fd, uint64_t offset, uint64_t length,
		  const struct mime_limits *lim, struct mime_part **root_r)
{
	struct mime_parser *mp = mime_parser_create(lim);
	static const size_t chunk = 64 * 1024;
	char *buf = malloc(chunk);
	int ret = PH_OK;

	*root_r = NULL;
	if (mp == NULL || buf == NULL) {
		free(buf);
		mime_parser_destroy(&mp);
		return PH_ENOMEM;
	}
	while (length > 0) {
		size_t want = length < chunk ? (size_t)length : chunk;
		ssize_t n = pread(fd, buf, want, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = PH_EIO;
			break;
		}
		if ((ret = mime_parser_feed(mp, buf, (size_t)n)) < 0)
			break;
		offset += (uint64_t)n;
		length -= (uint64_t)n;
	}
	free(buf);
	if (ret < 0) {
		mime_parser_destroy(&mp);
		return ret;
	}
	*root_r = mime_parser_finish(&mp);
	return *root_r != NULL ? PH_OK : PH_ENOMEM;
}
