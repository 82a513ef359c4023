/*
 * imap4-mime-rfc822.c - lenient RFC 5322 / 2045 header value parsing:
 * Content-Type and Content-Disposition parameters (RFC 2231 merged) and
 * address lists for ENVELOPE. Nothing here fails on bad input; it skips
 * what it cannot read, like Dovecot's message-address.c and rfc822-parser.
 * Comments nest by counting, never by recursion.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <posthorn/abi.h>
#include "imap4-mime.h"

#define MAX_PARAMS 256

struct rfc822 {
	const char *p;
	struct imap_str comment; /* the last comment seen */
	int failed;
};

static void skip_cfws(struct rfc822 *r)
{
	for (;;) {
		while (*r->p == ' ' || *r->p == '\t' || *r->p == '\r' ||
		       *r->p == '\n')
			r->p++;
		if (*r->p != '(')
			return;
		/* a comment, nested by counting */
		imap_str_truncate(&r->comment, 0);
		{
			unsigned depth = 0;

			do {
				char c = *r->p;

				if (c == '\0')
					return;
				r->p++;
				if (c == '\\' && *r->p != '\0') {
					imap_str_appendc(&r->comment, *r->p++);
					continue;
				}
				if (c == '(') {
					if (depth++ == 0)
						continue;
				} else if (c == ')') {
					if (--depth == 0)
						break;
				}
				imap_str_appendc(&r->comment, c);
			} while (depth > 0);
		}
	}
}

/* RFC 2045 token characters. */
static int is_token_char(unsigned char c)
{
	return c > 0x20 && c != 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* RFC 5322 atext (8-bit accepted, RFC 6532). */
static int is_atext(unsigned char c)
{
	return c > 0x20 && c != 0x7f && strchr("()<>[]:;@\\,.\"", c) == NULL;
}

/* Appends a quoted-string's content (after the opening quote). */
static void read_quoted(struct rfc822 *r, struct imap_str *out)
{
	r->p++;
	while (*r->p != '\0' && *r->p != '"') {
		if (*r->p == '\\' && r->p[1] != '\0')
			r->p++;
		if (*r->p != '\r' && *r->p != '\n')
			imap_str_appendc(out, *r->p);
		r->p++;
	}
	if (*r->p == '"')
		r->p++;
}

static char *dup_token(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d != NULL) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

static char *read_token(struct rfc822 *r)
{
	const char *start = r->p;

	while (is_token_char((unsigned char)*r->p))
		r->p++;
	return r->p > start ? dup_token(start, (size_t)(r->p - start)) : NULL;
}

/* A parameter value: a quoted string or a token (Dovecot stops at
 * tspecials too). NULL for an unterminated quoted string. */
static char *read_param_value(struct rfc822 *r)
{
	struct imap_str v;
	const char *q;

	if (*r->p == '=') {
		/* broken but common: name==?utf-8?b?...?= (Dovecot too) */
		const char *start = r->p;

		while (*r->p != '\0' && *r->p != ';' && *r->p != ' ' &&
		       *r->p != '\t')
			r->p++;
		return dup_token(start, (size_t)(r->p - start));
	}
	if (*r->p != '"')
		return read_token(r);
	for (q = r->p + 1; *q != '"'; q++) {
		if (*q == '\0')
			return NULL;
		if (*q == '\\' && q[1] != '\0')
			q++;
	}
	imap_str_init(&v, 0);
	read_quoted(r, &v);
	if (v.failed) {
		imap_str_free(&v);
		return NULL;
	}
	return v.data != NULL ? v.data : strdup("");
}

/* "name*12*" -> base length, section 12, extended 1. Section -1 when
 * the name has no section. Returns 0 for a plain name. */
static int split_2231(const char *name, size_t *base_len, long *section,
		      int *extended)
{
	const char *star = strchr(name, '*');
	char *end;

	*section = -1;
	*extended = 0;
	if (star == NULL)
		return 0;
	*base_len = (size_t)(star - name);
	if (star[1] == '\0') {
		*extended = 1;
		return 1;
	}
	if (star[1] < '0' || star[1] > '9')
		return 0;
	*section = strtol(star + 1, &end, 10);
	if (*section > 1000 || (end[0] != '\0' && strcmp(end, "*") != 0))
		return 0;
	*extended = end[0] == '*';
	return 1;
}

static int param_base_cmp(const void *a, const void *b)
{
	const struct mime_param *x = a, *y = b;
	size_t lx = strcspn(x->name, "*"), ly = strcspn(y->name, "*");
	int c = strncasecmp(x->name, y->name, lx < ly ? lx : ly);

	return c != 0 ? c : (lx > ly) - (lx < ly);
}

/* Merges RFC 2231 continuations: every "base*N[*]" becomes one "base" (or
 * "base*" when a piece was extended). Like Dovecot, plain parameters come
 * first in their order, then the RFC 2231 ones sorted by name. */
static int merge_2231(struct mime_content_type *ct)
{
	unsigned i, j, out = 0, nplain = 0;

	if (ct->nparams == 0)
		return PH_OK;
	/* plain ones first, keeping their order (a stable partition) */
	for (i = 0; i < ct->nparams; i++) {
		if (strchr(ct->params[i].name, '*') == NULL) {
			struct mime_param t = ct->params[i];

			memmove(&ct->params[nplain + 1], &ct->params[nplain],
				(i - nplain) * sizeof(t));
			ct->params[nplain++] = t;
		}
	}
	qsort(ct->params + nplain, ct->nparams - nplain, sizeof(*ct->params),
	      param_base_cmp);
	out = nplain;
	for (i = nplain; i < ct->nparams; i++) {
		struct mime_param *pi = &ct->params[i];
		size_t base_len;
		long sec, want;
		int ext, any_ext = 0;
		struct imap_str v;

		if (pi->name == NULL)
			continue; /* merged into an earlier one */
		if (!split_2231(pi->name, &base_len, &sec, &ext) || sec < 0) {
			ct->params[out++] = *pi;
			continue;
		}
		imap_str_init(&v, 0);
		for (want = 0;; want++) {
			for (j = i; j < ct->nparams; j++) {
				size_t bl;
				long sn;
				int e;

				if (ct->params[j].name == NULL ||
				    !split_2231(ct->params[j].name, &bl, &sn,
						&e) ||
				    sn != want || bl != base_len ||
				    strncasecmp(ct->params[j].name, pi->name,
						base_len) != 0)
					continue;
				imap_str_appends(&v, ct->params[j].value);
				any_ext |= e;
				if (j != i) {
					free(ct->params[j].name);
					free(ct->params[j].value);
					ct->params[j].name = NULL;
				}
				break;
			}
			if (j == ct->nparams)
				break;
		}
		if (v.failed) {
			imap_str_free(&v);
			return PH_ENOMEM;
		}
		if (v.data == NULL) {
			/* no piece 0: keep it as it was */
			ct->params[out++] = *pi;
			continue;
		}
		pi->name[base_len] = any_ext ? '*' : '\0';
		if (any_ext)
			pi->name[base_len + 1] = '\0';
		free(pi->value);
		pi->value = v.data;
		ct->params[out++] = *pi;
	}
	ct->nparams = out;
	return PH_OK;
}

int mime_content_type_parse(const char *value, int want_subtype,
			    struct mime_content_type *ct)
{
	struct rfc822 r = {.p = value};
	int ret = PH_OK;

	memset(ct, 0, sizeof(*ct));
	imap_str_init(&r.comment, 1024);
	skip_cfws(&r);
	ct->type = read_token(&r);
	if (want_subtype) {
		skip_cfws(&r);
		if (*r.p == '/') {
			r.p++;
			skip_cfws(&r);
			ct->subtype = read_token(&r);
		}
	}
	for (;;) {
		char *name, *val;

		/* to the next ';', skipping junk */
		skip_cfws(&r);
		if (*r.p != '\0' && *r.p != ';')
			ct->trailing_junk = 1;
		while (*r.p != '\0' && *r.p != ';') {
			if (*r.p == '"') {
				struct imap_str junk;

				imap_str_init(&junk, 1);
				read_quoted(&r, &junk);
				imap_str_free(&junk);
			} else if (*r.p == '(') {
				skip_cfws(&r);
			} else {
				r.p++;
			}
		}
		if (*r.p == '\0')
			break;
		r.p++;
		skip_cfws(&r);
		if (*r.p == '\0')
			break; /* a trailing ';' */
		name = read_token(&r);
		if (name == NULL)
			break; /* ";;" and other junk end the list (Dovecot) */
		skip_cfws(&r);
		if (*r.p != '=') {
			free(name);
			break;
		}
		r.p++;
		skip_cfws(&r);
		val = read_param_value(&r);
		if (val == NULL || *val == '\0' || ct->nparams == MAX_PARAMS) {
			free(name);
			free(val);
			if (val == NULL)
				break;
			continue;
		}
		if (ct->nparams % 8 == 0) {
			struct mime_param *np = realloc(
			    ct->params, (ct->nparams + 8) * sizeof(*np));

			if (np == NULL) {
				free(name);
				free(val);
				ret = PH_ENOMEM;
				break;
			}
			ct->params = np;
		}
		ct->params[ct->nparams].name = name;
		ct->params[ct->nparams].value = val;
		ct->nparams++;
	}
	imap_str_free(&r.comment);
	if (ret == PH_OK)
		ret = merge_2231(ct);
	return ret;
}

void mime_content_type_free(struct mime_content_type *ct)
{
	unsigned i;

	for (i = 0; i < ct->nparams; i++) {
		free(ct->params[i].name);
		free(ct->params[i].value);
	}
	free(ct->params);
	free(ct->type);
	free(ct->subtype);
	memset(ct, 0, sizeof(*ct));
}

const char *mime_param_get(const struct mime_content_type *ct, const char *name)
{
	unsigned i;

	for (i = 0; i < ct->nparams; i++) {
		if (strcasecmp(ct->params[i].name, name) == 0)
			return ct->params[i].value;
	}
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *mime_param_get_decoded(const struct mime_content_type *ct,
			     const char *name)
{
	const char *v = mime_param_get(ct, name);
	char ext[128];
	const char *p;
	char *out, *o;

	if (v != NULL)
		return strdup(v);
	if (strlen(name) + 2 > sizeof(ext))
		return NULL;
	snprintf(ext, sizeof(ext), "%s*", name);
	v = mime_param_get(ct, ext);
	if (v == NULL)
		return NULL;
	/* charset'language'percent-encoded */
	p = strchr(v, '\'');
	if (p != NULL && strchr(p + 1, '\'') != NULL)
		v = strchr(p + 1, '\'') + 1;
	out = o = malloc(strlen(v) + 1);
	if (out == NULL)
		return NULL;
	for (p = v; *p != '\0'; p++) {
		if (*p == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			*o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

/* ---- Addresses ---- */

struct addr_list {
	struct mime_address *a;
	unsigned count, max;
	int failed;
};

static char *str_take(struct imap_str *s)
{
	char *d;

	if (s->failed || s->len == 0) {
		imap_str_free(s);
		return NULL;
	}
	d = s->data;
	s->data = NULL;
	s->len = s->cap = 0;
	return d;
}

static void addr_add(struct addr_list *l, char *name, char *route,
		     char *mailbox, char *domain)
{
	if (l->count == l->max) {
		free(name);
		free(route);
		free(mailbox);
		free(domain);
		return;
	}
	if (l->count % 16 == 0) {
		struct mime_address *na =
		    realloc(l->a, (l->count + 16) * sizeof(*na));

		if (na == NULL) {
			l->failed = 1;
			free(name);
			free(route);
			free(mailbox);
			free(domain);
			return;
		}
		l->a = na;
	}
	l->a[l->count].name = name;
	l->a[l->count].route = route;
	l->a[l->count].mailbox = mailbox;
	l->a[l->count].domain = domain;
	l->count++;
}

/* A phrase: words (atoms with dots, quoted strings) joined by one space.
 * Stops at any other special. */
static void read_phrase(struct rfc822 *r, struct imap_str *out)
{
	for (;;) {
		skip_cfws(r);
		if (*r->p == '"') {
			if (out->len > 0)
				imap_str_appendc(out, ' ');
			read_quoted(r, out);
		} else if (is_atext((unsigned char)*r->p) || *r->p == '.') {
			const char *start = r->p;

			while (is_atext((unsigned char)*r->p) || *r->p == '.')
				r->p++;
			if (out->len > 0)
				imap_str_appendc(out, ' ');
			imap_str_append(out, start, (size_t)(r->p - start));
		} else {
			return;
		}
	}
}

/* local-part or domain: words joined by '.', no spaces kept. */
static void read_dotted(struct rfc822 *r, struct imap_str *out, int domain)
{
	for (;;) {
		skip_cfws(r);
		if (*r->p == '"' && !domain) {
			read_quoted(r, out);
		} else if (*r->p == '[' && domain) {
			const char *start = r->p;

			while (*r->p != '\0' && *r->p != ']')
				r->p++;
			if (*r->p == ']')
				r->p++;
			imap_str_append(out, start, (size_t)(r->p - start));
		} else if (is_atext((unsigned char)*r->p)) {
			const char *start = r->p;

			while (is_atext((unsigned char)*r->p))
				r->p++;
			imap_str_append(out, start, (size_t)(r->p - start));
		} else {
			return;
		}
		skip_cfws(r);
		if (*r->p != '.')
			return;
		imap_str_appendc(out, '.');
		r->p++;
	}
}

static char *or_missing(char *s, const char *missing)
{
	return s != NULL ? s : strdup(missing);
}

/* "<[@route,@route:]local@domain>" after '<'. Returns -1 on a syntax
 * error (the list ends there, as in Dovecot). */
static int read_angle(struct rfc822 *r, struct addr_list *l, char *name)
{
	struct imap_str route, local, domain;
	int ret = 0;

	imap_str_init(&route, 4096);
	imap_str_init(&local, 4096);
	imap_str_init(&domain, 4096);
	r->p++;
	skip_cfws(r);
	if (*r->p == '@') {
		/* obs-route: @a,@b: */
		while (*r->p == '@' || *r->p == ',') {
			char c = *r->p++;

			imap_str_appendc(&route, c);
			if (c == '@')
				read_dotted(r, &route, 1);
			skip_cfws(r);
		}
		if (*r->p == ':')
			r->p++;
	}
	read_dotted(r, &local, 0);
	skip_cfws(r);
	if (*r->p == '@') {
		r->p++;
		read_dotted(r, &domain, 1);
		skip_cfws(r);
	} else if (*r->p != '>') {
		imap_str_appends(&domain, "SYNTAX_ERROR");
		ret = -1;
	}
	if (*r->p == '>')
		r->p++;
	else
		ret = -1;
	addr_add(l, name, str_take(&route),
		 or_missing(str_take(&local), "MISSING_MAILBOX"),
		 or_missing(str_take(&domain), "MISSING_DOMAIN"));
	return ret;
}

static int at_address_end(const struct rfc822 *r)
{
	return *r->p == '\0' || *r->p == ',' || *r->p == ';';
}

/* One mailbox (not a group). Returns -1 on a syntax error: Dovecot keeps
 * what it has and ignores the rest of the list. */
static int read_mailbox(struct rfc822 *r, struct addr_list *l)
{
	const char *start = r->p;
	struct imap_str phrase, local, domain;
	char *name = NULL;

	imap_str_init(&phrase, 4096);
	imap_str_truncate(&r->comment, 0);
	read_phrase(r, &phrase);
	if (*r->p == '<')
		return read_angle(r, l, str_take(&phrase));
	/* addr-spec: read again as local-part "@" domain */
	r->p = start;
	imap_str_init(&local, 4096);
	imap_str_init(&domain, 4096);
	imap_str_truncate(&r->comment, 0);
	read_dotted(r, &local, 0);
	skip_cfws(r);
	if (*r->p == '@') {
		r->p++;
		read_dotted(r, &domain, 1);
		skip_cfws(r);
	} else if (!at_address_end(r)) {
		/* "Big Bug bb@x": a phrase with no address */
		imap_str_free(&local);
		imap_str_free(&domain);
		addr_add(l, str_take(&phrase), NULL, strdup("MISSING_MAILBOX"),
			 strdup("MISSING_DOMAIN"));
		return -1;
	}
	imap_str_free(&phrase);
	if (r->comment.len > 0)
		name = strdup(r->comment.data);
	addr_add(l, name, NULL, or_missing(str_take(&local), "MISSING_MAILBOX"),
		 or_missing(str_take(&domain), "MISSING_DOMAIN"));
	return at_address_end(r) ? 0 : -1;
}

/* An empty list element (", ,"): Dovecot reports it as an address. */
static void add_empty(struct addr_list *l)
{
	addr_add(l, NULL, NULL, strdup("MISSING_MAILBOX"),
		 strdup("MISSING_DOMAIN"));
}

int mime_address_parse(const char *value, unsigned max,
		       struct mime_address **addrs_r)
{
	struct rfc822 r = {.p = value};
	struct addr_list l = {.max = max};

	imap_str_init(&r.comment, 4096);
	for (;;) {
		const char *start;
		struct imap_str phrase;

		skip_cfws(&r);
		if (*r.p == '\0')
			break;
		if (*r.p == ',') {
			add_empty(&l);
			r.p++;
			continue;
		}
		start = r.p;
		imap_str_init(&phrase, 4096);
		read_phrase(&r, &phrase);
		if (*r.p == ':') {
			/* group: name ":" [mailbox-list] ";" */
			int err = 0;

			r.p++;
			addr_add(&l, NULL, NULL,
				 phrase.len > 0 ? str_take(&phrase)
						: strdup(""),
				 NULL);
			imap_str_free(&phrase);
			for (;;) {
				skip_cfws(&r);
				if (*r.p == '\0')
					break;
				if (*r.p == ';') {
					r.p++;
					break;
				}
				if (*r.p == ',') {
					r.p++;
					continue;
				}
				if (read_mailbox(&r, &l) < 0) {
					err = 1;
					break;
				}
			}
			addr_add(&l, NULL, NULL, NULL, NULL);
			if (err)
				break;
			skip_cfws(&r);
			if (*r.p == ',')
				r.p++;
			continue;
		}
		imap_str_free(&phrase);
		r.p = start;
		if (read_mailbox(&r, &l) < 0)
			break;
		if (*r.p == ',')
			r.p++;
		else if (*r.p != '\0')
			break; /* ';' outside a group */
	}
	imap_str_free(&r.comment);
	if (l.failed) {
		mime_address_free(l.a, l.count);
		*addrs_r = NULL;
		return PH_ENOMEM;
	}
	*addrs_r = l.a;
	return (int)l.count;
}

void mime_address_free(struct mime_address *addrs, unsigned count)
{
	unsigned i;

	for (i = 0; i < count; i++) {
		free(addrs[i].name);
		free(addrs[i].route);
		free(addrs[i].mailbox);
		free(addrs[i].domain);
	}
	free(addrs);
}
