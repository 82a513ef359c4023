/*
 * imap4-mime-write.c - ENVELOPE and BODYSTRUCTURE from a parsed tree,
 * the cache form of the tree, and BODY[section] lookup.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <posthorn/abi.h>
#include "imap4-mime.h"

#define MAX_ENVELOPE_ADDRESSES 10000

/* A header value as an nstring (unfolded; the parser dropped the white
 * space after the colon). */
static void write_hdr_nstring(struct imap_str *out, const char *v)
{
	if (v == NULL)
		imap_str_appends(out, "NIL");
	else
		imap_str_append_string(out, v, strlen(v));
}

/* Dovecot's "string for humans" (Subject, display names): line breaks
 * dropped, runs of white space made one space, no space at the ends. */
static void write_human_nstring(struct imap_str *out, const char *v)
{
	struct imap_str t;
	int space = 0;

	if (v == NULL) {
		imap_str_appends(out, "NIL");
		return;
	}
	imap_str_init(&t, 0);
	for (; *v != '\0'; v++) {
		if (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
			space = t.len > 0;
			continue;
		}
		if (space)
			imap_str_appendc(&t, ' ');
		space = 0;
		imap_str_appendc(&t, *v);
	}
	if (t.failed)
		out->failed = 1;
	imap_str_append_string(out, t.data != NULL ? t.data : "", t.len);
	imap_str_free(&t);
}

static void write_nstring(struct imap_str *out, const char *v)
{
	imap_str_append_nstring(out, v, v != NULL ? strlen(v) : 0);
}

/* Returns 0 when the list was empty (nothing written). */
static int write_addresses(struct imap_str *out, const char *value)
{
	struct mime_address *a;
	int n, i;

	if (value == NULL)
		return 0;
	n = mime_address_parse(value, MAX_ENVELOPE_ADDRESSES, &a);
	if (n <= 0) {
		if (n < 0)
			out->failed = 1;
		return 0;
	}
	imap_str_appendc(out, '(');
	for (i = 0; i < n; i++) {
		imap_str_appendc(out, '(');
		if (a[i].name != NULL)
			write_human_nstring(out, a[i].name);
		else
			imap_str_appends(out, "NIL");
		imap_str_appendc(out, ' ');
		write_nstring(out, a[i].route);
		imap_str_appendc(out, ' ');
		write_nstring(out, a[i].mailbox);
		imap_str_appendc(out, ' ');
		write_nstring(out, a[i].domain);
		imap_str_appendc(out, ')');
	}
	imap_str_appendc(out, ')');
	mime_address_free(a, (unsigned)n);
	return 1;
}

static void write_address_field(struct imap_str *out, const char *value,
				const char *fallback)
{
	if (write_addresses(out, value))
		return;
	if (fallback == NULL || !write_addresses(out, fallback))
		imap_str_appends(out, "NIL");
}

void mime_write_envelope(struct imap_str *out, const struct mime_part *m)
{
	char *const *h = m->hdr;

	imap_str_appendc(out, '(');
	write_hdr_nstring(out, h[MH_DATE]);
	imap_str_appendc(out, ' ');
	write_human_nstring(out, h[MH_SUBJECT]);
	imap_str_appendc(out, ' ');
	write_address_field(out, h[MH_FROM], NULL);
	imap_str_appendc(out, ' ');
	/* Sender and Reply-To default to From (RFC 3501 7.4.2) */
	write_address_field(out, h[MH_SENDER], h[MH_FROM]);
	imap_str_appendc(out, ' ');
	write_address_field(out, h[MH_REPLY_TO], h[MH_FROM]);
	imap_str_appendc(out, ' ');
	write_address_field(out, h[MH_TO], NULL);
	imap_str_appendc(out, ' ');
	write_address_field(out, h[MH_CC], NULL);
	imap_str_appendc(out, ' ');
	write_address_field(out, h[MH_BCC], NULL);
	imap_str_appendc(out, ' ');
	write_hdr_nstring(out, h[MH_IN_REPLY_TO]);
	imap_str_appendc(out, ' ');
	write_hdr_nstring(out, h[MH_MESSAGE_ID]);
	imap_str_appendc(out, ')');
}

/* Parameters; text parts without a charset get charset=us-ascii (the
 * RFC 2045 default, spelled out as Dovecot does). */
static void write_params(struct imap_str *out,
			 const struct mime_content_type *ct, int text)
{
	int add_charset = text && mime_param_get(ct, "charset") == NULL;
	unsigned i;

	if (ct->nparams == 0 && !add_charset) {
		imap_str_appends(out, "NIL");
		return;
	}
	imap_str_appendc(out, '(');
	for (i = 0; i < ct->nparams; i++) {
		if (i > 0)
			imap_str_appendc(out, ' ');
		write_nstring(out, ct->params[i].name);
		imap_str_appendc(out, ' ');
		write_nstring(out, ct->params[i].value);
	}
	if (add_charset)
		imap_str_appends(out, ct->nparams > 0
					  ? " \"charset\" \"us-ascii\""
					  : "\"charset\" \"us-ascii\"");
	imap_str_appendc(out, ')');
}

static void write_disposition(struct imap_str *out, const char *value)
{
	struct mime_content_type d;

	if (value == NULL || mime_content_type_parse(value, 0, &d) < 0) {
		imap_str_appends(out, "NIL");
		return;
	}
	if (d.type == NULL) {
		/* present but unreadable: Dovecot sends an empty type */
		imap_str_appends(out, "(\"\" NIL)");
	} else {
		imap_str_appendc(out, '(');
		write_nstring(out, d.type);
		imap_str_appendc(out, ' ');
		write_params(out, &d, 0);
		imap_str_appendc(out, ')');
	}
	mime_content_type_free(&d);
}

/* Content-Language: one string, or a list of them. */
static void write_language(struct imap_str *out, const char *value)
{
	const char *p = value;
	size_t start = out->len;
	unsigned n = 0;

	if (value == NULL) {
		imap_str_appends(out, "NIL");
		return;
	}
	imap_str_appendc(out, '(');
	while (*p != '\0') {
		size_t len;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		len = strcspn(p, " \t,(");
		if (len > 0) {
			if (n++ > 0)
				imap_str_appendc(out, ' ');
			imap_str_append_string(out, p, len);
		}
		p += len;
		if (*p == '(') {
			p = strchr(p, ')');
			if (p == NULL)
				break;
			p++;
		}
	}
	imap_str_appendc(out, ')');
	if (n == 0) {
		imap_str_truncate(out, start);
		imap_str_appends(out, "NIL");
	} else if (n == 1 && !out->failed) {
		/* a single language is sent without the list */
		memmove(out->data + start, out->data + start + 1,
			out->len - start - 2);
		imap_str_truncate(out, out->len - 2);
	}
}

/* Content-Transfer-Encoding when it is one token (white space around
 * it allowed), else "7bit" as Dovecot does. */
static void write_encoding(struct imap_str *out, const char *value)
{
	const char *v = value, *start;
	size_t len;

	if (v != NULL) {
		while (*v == ' ' || *v == '\t')
			v++;
		start = v;
		while (*v > 0x20 && *v != 0x7f &&
		       strchr("()<>@,;:\\\"/[]?=", *v) == NULL)
			v++;
		len = (size_t)(v - start);
		while (*v == ' ' || *v == '\t')
			v++;
		if (len > 0 && (*v == '\0' || *v == '(')) {
			imap_str_append_string(out, start, len);
			return;
		}
	}
	imap_str_appends(out, "\"7bit\"");
}

static void write_part(struct imap_str *out, const struct mime_part *p,
		       int ext);

/* What Dovecot sends for a multipart without parts. */
static const char empty_body[] =
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0";

/* The extension data every body type ends with (RFC 3501 body-ext-1part
 * and body-ext-mpart): disposition, language, location. */
static void write_ext_tail(struct imap_str *out, const struct mime_part *p)
{
	imap_str_appendc(out, ' ');
	write_disposition(out, p->hdr[MH_CONTENT_DISPOSITION]);
	imap_str_appendc(out, ' ');
	write_language(out, p->hdr[MH_CONTENT_LANGUAGE]);
	imap_str_appendc(out, ' ');
	write_hdr_nstring(out, p->hdr[MH_CONTENT_LOCATION]);
}

static void write_multipart(struct imap_str *out, const struct mime_part *p,
			    const struct mime_content_type *ct, int ext)
{
	const struct mime_part *c;

	imap_str_appendc(out, '(');
	if (p->children == NULL) {
		imap_str_appends(out, empty_body);
		imap_str_appends(out, ext ? " NIL NIL NIL NIL)" : ")");
	}
	for (c = p->children; c != NULL; c = c->next)
		write_part(out, c, ext);
	imap_str_appendc(out, ' ');
	write_nstring(out, ct->subtype != NULL ? ct->subtype : "mixed");
	if (ext) {
		imap_str_appendc(out, ' ');
		write_params(out, ct, 0);
		write_ext_tail(out, p);
	}
	imap_str_appendc(out, ')');
}

static void write_part(struct imap_str *out, const struct mime_part *p, int ext)
{
	struct mime_content_type ct;
	int have = 0;
	const char *type = "text", *subtype = "plain";
	int text;

	memset(&ct, 0, sizeof(ct));
	if (p->hdr[MH_CONTENT_TYPE] != NULL &&
	    mime_content_type_parse(p->hdr[MH_CONTENT_TYPE], 1, &ct) == 0 &&
	    ct.type != NULL && ct.subtype != NULL) {
		type = ct.type;
		subtype = ct.subtype;
		have = 1;
	}
	if (p->flags & MIME_PART_RFC822) {
		type = "message"; /* also the multipart/digest default */
		subtype = "rfc822";
	}
	text = strcasecmp(type, "text") == 0;
	if (!have) {
		/* unusable Content-Type: no parameters either */
		mime_content_type_free(&ct);
		memset(&ct, 0, sizeof(ct));
	}
	if (p->flags & MIME_PART_MULTIPART) {
		write_multipart(out, p, &ct, ext);
		mime_content_type_free(&ct);
		return;
	}
	imap_str_appendc(out, '(');
	write_nstring(out, type);
	imap_str_appendc(out, ' ');
	write_nstring(out, subtype);
	imap_str_appendc(out, ' ');
	write_params(out, &ct, text);
	imap_str_appendc(out, ' ');
	write_hdr_nstring(out, p->hdr[MH_CONTENT_ID]);
	imap_str_appendc(out, ' ');
	write_hdr_nstring(out, p->hdr[MH_CONTENT_DESCRIPTION]);
	imap_str_appendc(out, ' ');
	write_encoding(out, p->hdr[MH_CONTENT_TRANSFER_ENCODING]);
	imap_str_printf(out, " %llu", (unsigned long long)p->body_wire);
	if ((p->flags & MIME_PART_RFC822) && p->children != NULL) {
		imap_str_appendc(out, ' ');
		mime_write_envelope(out, p->children);
		imap_str_appendc(out, ' ');
		write_part(out, p->children, ext);
		imap_str_printf(out, " %llu",
				(unsigned long long)p->body_lines);
	} else if (text) {
		imap_str_printf(out, " %llu",
				(unsigned long long)p->body_lines);
	}
	if (ext) {
		imap_str_appendc(out, ' ');
		write_hdr_nstring(out, p->hdr[MH_CONTENT_MD5]);
		write_ext_tail(out, p);
	}
	imap_str_appendc(out, ')');
	mime_content_type_free(&ct);
}

void mime_write_bodystructure(struct imap_str *out, const struct mime_part *msg,
			      int extended)
{
	write_part(out, msg, extended);
}

/* ---- Cache form: a version byte, then per part in pre-order
 * flags(4) nchildren(4) hdr_off body_off body_end hdr_wire body_wire
 * body_lines (8 each), host byte order (the cache is local). ---- */

#define PARTS_VERSION	 1
#define PART_REC	 56
#define MAX_CACHED_DEPTH 64

static void put_part(struct imap_str *out, const struct mime_part *p)
{
	uint32_t u32[2] = {p->flags, p->nchildren};
	uint64_t u64[6] = {p->hdr_off,	p->body_off,  p->body_end,
			   p->hdr_wire, p->body_wire, p->body_lines};

	imap_str_append(out, u32, sizeof(u32));
	imap_str_append(out, u64, sizeof(u64));
}

int mime_parts_serialize(const struct mime_part *root, struct imap_str *out)
{
	const struct mime_part *p = root;

	imap_str_appendc(out, PARTS_VERSION);
	/* pre-order walk without recursion */
	while (p != NULL) {
		put_part(out, p);
		if (p->children != NULL) {
			p = p->children;
			continue;
		}
		while (p != root && p->next == NULL)
			p = p->parent;
		if (p == root)
			break;
		p = p->next;
	}
	return out->failed ? PH_ENOMEM : PH_OK;
}

struct parts_reader {
	const unsigned char *d;
	size_t left;
	int failed;
};

static struct mime_part *get_part(struct parts_reader *r,
				  struct mime_part *parent, unsigned depth)
{
	struct mime_part *p;
	uint32_t u32[2];
	uint64_t u64[6];
	unsigned i;

	if (r->left < PART_REC || depth > MAX_CACHED_DEPTH) {
		r->failed = PH_EINVAL;
		return NULL;
	}
	memcpy(u32, r->d, sizeof(u32));
	memcpy(u64, r->d + sizeof(u32), sizeof(u64));
	r->d += PART_REC;
	r->left -= PART_REC;
	/* a child takes at least one record: no huge counts */
	if (u32[1] > r->left / PART_REC || u64[0] > u64[1] || u64[1] > u64[2]) {
		r->failed = PH_EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		r->failed = PH_ENOMEM;
		return NULL;
	}
	p->parent = parent;
	p->flags = u32[0];
	p->hdr_off = u64[0];
	p->body_off = u64[1];
	p->body_end = u64[2];
	p->hdr_wire = u64[3];
	p->body_wire = u64[4];
	p->body_lines = u64[5];
	{
		struct mime_part **tail = &p->children;

		for (i = 0; i < u32[1] && !r->failed; i++) {
			struct mime_part *c = get_part(r, p, depth + 1);

			if (c == NULL)
				break;
			*tail = c;
			tail = &c->next;
			p->nchildren++;
		}
	}
	return p;
}

int mime_parts_deserialize(const void *data, size_t len,
			   struct mime_part **root_r)
{
	struct parts_reader r = {.d = data, .left = len};
	struct mime_part *root;

	*root_r = NULL;
	if (len < 1 || r.d[0] != PARTS_VERSION)
		return PH_EINVAL;
	r.d++;
	r.left--;
	root = get_part(&r, NULL, 0);
	if (r.failed == 0 && r.left != 0)
		r.failed = PH_EINVAL;
	if (r.failed != 0) {
		mime_part_free(&root);
		return r.failed;
	}
	*root_r = root;
	return PH_OK;
}

/* ---- Sections ---- */

static void range_header(const struct mime_part *p, struct mime_range *r)
{
	r->off = p->hdr_off;
	r->len = p->body_off - p->hdr_off;
	r->wire = p->hdr_wire;
}

static void range_body(const struct mime_part *p, struct mime_range *r)
{
	r->off = p->body_off;
	r->len = p->body_end - p->body_off;
	r->wire = p->body_wire;
}

int mime_section_find(const struct mime_part *root, const uint32_t *path,
		      unsigned count, enum mime_section_kind kind,
		      struct mime_range *r)
{
	const struct mime_part *p = root;
	int as_message = 1;
	unsigned i;

	for (i = 0; i < count; i++) {
		uint32_t n = path[i];

		if (n == 0)
			return PH_ENOTFOUND;
		if (!as_message && (p->flags & MIME_PART_RFC822)) {
			if (p->children == NULL)
				return PH_ENOTFOUND;
			p = p->children;
			as_message = 1;
		}
		if ((p->flags & MIME_PART_MULTIPART) && p->children == NULL) {
			/* the empty text/plain part BODYSTRUCTURE shows */
			if (n != 1 || i + 1 != count)
				return PH_ENOTFOUND;
			if (kind != MIME_SEC_ALL && kind != MIME_SEC_MIME)
				return PH_EINVAL;
			r->off = p->body_off;
			r->len = 0;
			r->wire = 0;
			return PH_OK;
		}
		if (p->flags & MIME_PART_MULTIPART) {
			const struct mime_part *c = p->children;

			while (c != NULL && --n > 0)
				c = c->next;
			if (c == NULL)
				return PH_ENOTFOUND;
			p = c;
		} else if (!as_message || n != 1) {
			return PH_ENOTFOUND;
		}
		as_message = 0;
	}
	if (as_message) {
		/* the whole message (no part number) */
		switch (kind) {
		case MIME_SEC_ALL:
			r->off = p->hdr_off;
			r->len = p->body_end - p->hdr_off;
			r->wire = p->hdr_wire + p->body_wire;
			return PH_OK;
		case MIME_SEC_HEADER:
			range_header(p, r);
			return PH_OK;
		case MIME_SEC_TEXT:
			range_body(p, r);
			return PH_OK;
		case MIME_SEC_MIME:
			return PH_EINVAL;
		}
		return PH_EINVAL;
	}
	switch (kind) {
	case MIME_SEC_ALL:
		range_body(p, r);
		return PH_OK;
	case MIME_SEC_MIME:
		range_header(p, r);
		return PH_OK;
	case MIME_SEC_HEADER:
	case MIME_SEC_TEXT:
		if (!(p->flags & MIME_PART_RFC822) || p->children == NULL)
			return PH_EINVAL;
		if (kind == MIME_SEC_HEADER)
			range_header(p->children, r);
		else
			range_body(p->children, r);
		return PH_OK;
	}
	return PH_EINVAL;
}
