/* imap4-cmd-fetch.c - FETCH and UID FETCH. Runs as a job: one message at
 * a time, body sections streamed from the file (sendfile when the stored
 * bytes are the wire bytes, else converted LF -> CRLF in 16 KiB steps),
 * producing only while the output queue is under the low-water mark.
 * ENVELOPE / BODYSTRUCTURE / part offsets come from the storage cache, or
 * from one streaming MIME parse whose results are cached. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "imap4-mime.h"
#include "imap4-private.h"

#define FETCH_MAX_ITEMS	 64
#define FETCH_MAX_FIELDS 64
#define FETCH_MAX_PATH	 32
#define FETCH_HEADER_MAX (1024 * 1024) /* HEADER.FIELDS reads this much */
#define FETCH_CHUNK	 16384
#define FETCH_BATCH	 32768 /* response bytes gathered before a write */

/* What of the parsed message the items need (fetch_job.want). */
enum fetch_want {
	W_PARTS = 1, /* the part tree: sections other than BODY[] */
	W_ENV = 2,
	W_BS = 4,
	W_BODY = 8,
};

enum fetch_type {
	F_FLAGS = 1,
	F_UID,
	F_INTERNALDATE,
	F_RFC822_SIZE,
	F_ENVELOPE,
	F_BODYSTRUCTURE,
	F_BODY,
	F_SECTION,
};

struct fetch_item {
	enum fetch_type type;
	/* F_SECTION */
	char *name; /* response name, e.g. "BODY[1.MIME]" or "RFC822" */
	int peek;
	uint32_t path[FETCH_MAX_PATH];
	unsigned depth;
	enum mime_section_kind kind;
	int fields; /* 0, 1 HEADER.FIELDS, 2 HEADER.FIELDS.NOT */
	char **field_names;
	unsigned nfields;
	int partial;
	uint64_t start, len;
};

/* The bytes still to send of one section. */
struct fetch_range {
	int active;
	int direct;    /* stored bytes are the wire bytes */
	uint64_t pos;  /* stored offset of the next byte to read */
	uint64_t end;  /* stored end */
	uint64_t skip; /* wire bytes to drop first (partial) */
	uint64_t left; /* wire bytes still to send */
	int prev_cr;
	char *mem; /* HEADER.FIELDS result, sent from memory */
	size_t mem_off;
};

struct fetch_job {
	struct imap_client *c;
	struct fetch_item items[FETCH_MAX_ITEMS];
	unsigned nitems;
	int uid, need_tree, need_body, set_seen;
	unsigned want;	    /* enum fetch_want */
	uint64_t info_omit; /* what no item reads of the message info */
	uint32_t *seqs;
	size_t nseqs, i;
	unsigned item;	/* next item of the current message */
	int in_message; /* "* n FETCH (" written */
	int add_flags;	/* \Seen was set: send FLAGS at the end */
	int expunged;	/* some messages were gone */
	struct ph_message_info info;
	struct ph_message_body body;
	struct mime_part *tree;
	char *env, *bs, *bodys; /* cached strings of this message */
	struct fetch_range range;
	char tag[128];
};

static void tree_free(struct fetch_job *j)
{
	mime_part_free(&j->tree);
	free(j->env);
	free(j->bs);
	free(j->bodys);
	j->env = j->bs = j->bodys = NULL;
}

static void fetch_message_done(struct imap_client *c, struct fetch_job *j)
{
	if (j->body.fd >= 0)
		c->storage->message_close(c->box, &j->body);
	j->body = (struct ph_message_body)PH_MESSAGE_BODY_INIT;
	tree_free(j);
	free(j->range.mem);
	memset(&j->range, 0, sizeof(j->range));
	j->in_message = 0;
	j->add_flags = 0;
}

static void fetch_job_free(void *ctx)
{
	struct fetch_job *j = ctx;
	unsigned i, k;

	if (j->c != NULL && j->c->box != NULL)
		fetch_message_done(j->c, j);
	for (i = 0; i < j->nitems; i++) {
		free(j->items[i].name);
		for (k = 0; k < j->items[i].nfields; k++)
			free(j->items[i].field_names[k]);
		free(j->items[i].field_names);
	}
	free(j->seqs);
	free(j->range.mem);
	mime_part_free(&j->tree);
	free(j->env);
	free(j->bs);
	free(j->bodys);
	free(j);
}

/* ---- parsing the request ---- */

static int add_simple(struct fetch_job *j, enum fetch_type t)
{
	if (j->nitems == FETCH_MAX_ITEMS)
		return -1;
	j->items[j->nitems++].type = t;
	if (t == F_ENVELOPE || t == F_BODYSTRUCTURE || t == F_BODY)
		j->need_tree = 1;
	j->want |= t == F_ENVELOPE	  ? W_ENV
		   : t == F_BODYSTRUCTURE ? W_BS
		   : t == F_BODY	  ? W_BODY
					  : 0;
	return 0;
}

/* "1.2.HEADER.FIELDS (A B)" (the part inside the brackets). */
static int parse_section(struct fetch_item *it, const char *s, const char *end)
{
	while (s < end && *s >= '1' && *s <= '9') {
		uint64_t n = 0;

		while (s < end && *s >= '0' && *s <= '9') {
			n = n * 10 + (uint64_t)(*s++ - '0');
			if (n > UINT32_MAX)
				return -1;
		}
		if (it->depth == FETCH_MAX_PATH)
			return -1;
		it->path[it->depth++] = (uint32_t)n;
		if (s == end)
			return 0;
		if (*s++ != '.')
			return -1;
	}
	if (s == end)
		return it->depth == 0 ? 0 : -1; /* "1." */
	if ((size_t)(end - s) == 4 && strncasecmp(s, "TEXT", 4) == 0) {
		it->kind = MIME_SEC_TEXT;
		return 0;
	}
	if ((size_t)(end - s) == 4 && strncasecmp(s, "MIME", 4) == 0) {
		it->kind = MIME_SEC_MIME;
		return it->depth > 0 ? 0 : -1;
	}
	if ((size_t)(end - s) == 6 && strncasecmp(s, "HEADER", 6) == 0) {
		it->kind = MIME_SEC_HEADER;
		return 0;
	}
	if (strncasecmp(s, "HEADER.FIELDS.NOT ", 18) == 0) {
		it->fields = 2;
		s += 18;
	} else if (strncasecmp(s, "HEADER.FIELDS ", 14) == 0) {
		it->fields = 1;
		s += 14;
	} else {
		return -1;
	}
	it->kind = MIME_SEC_HEADER;
	if (s >= end || *s++ != '(' || end[-1] != ')')
		return -1;
	end--;
	it->field_names = calloc(FETCH_MAX_FIELDS, sizeof(char *));
	if (it->field_names == NULL)
		return -1;
	while (s < end) {
		const char *start;
		size_t len;

		while (s < end && *s == ' ')
			s++;
		if (s == end)
			break;
		if (*s == '"') {
			start = ++s;
			while (s < end && *s != '"' && *s != '\\')
				s++;
			if (s == end || *s != '"')
				return -1;
			len = (size_t)(s - start);
			s++;
		} else {
			start = s;
			while (s < end && *s != ' ' && *s != '"' && *s != '(' &&
			       *s != ')' && *s != ':')
				s++;
			len = (size_t)(s - start);
			if (s < end && *s != ' ')
				return -1;
		}
		if (len == 0 || it->nfields == FETCH_MAX_FIELDS)
			return -1;
		it->field_names[it->nfields] = strndup(start, len);
		if (it->field_names[it->nfields] == NULL)
			return -1;
		it->nfields++;
	}
	return it->nfields > 0 ? 0 : -1;
}

/* "BODY[...]<a.b>", "BODY.PEEK[...]" */
static int parse_body_item(struct fetch_job *j, const char *s)
{
	struct fetch_item *it;
	const char *open = strchr(s, '['), *close;
	size_t name_len;

	if (j->nitems == FETCH_MAX_ITEMS || open == NULL)
		return -1;
	close = strchr(open, ']');
	if (close == NULL)
		return -1;
	it = &j->items[j->nitems];
	memset(it, 0, sizeof(*it));
	it->type = F_SECTION;
	name_len = (size_t)(open - s);
	if (name_len == 9 && strncasecmp(s, "BODY.PEEK", 9) == 0)
		it->peek = 1;
	else if (!(name_len == 4 && strncasecmp(s, "BODY", 4) == 0))
		return -1;
	j->nitems++; /* owned now: freed with the job */
	if (parse_section(it, open + 1, close) < 0)
		return -1;
	if (close[1] == '<') {
		char *e;

		if (close[2] < '0' || close[2] > '9')
			return -1;
		errno = 0;
		it->start = strtoull(close + 2, &e, 10);
		if (*e != '.' || e[1] < '1' || e[1] > '9')
			return -1;
		it->len = strtoull(e + 1, &e, 10);
		if (e[0] != '>' || e[1] != '\0' || errno == ERANGE)
			return -1;
		it->partial = 1;
	} else if (close[1] != '\0') {
		return -1;
	}
	/* the response names the section as asked, without PEEK */
	it->name = malloc(6 + (size_t)(close - open) + 1);
	if (it->name == NULL)
		return -1;
	memcpy(it->name, "BODY", 4);
	memcpy(it->name + 4, open, (size_t)(close - open) + 1);
	it->name[4 + (close - open) + 1] = '\0';
	if (it->depth > 0 || it->kind != MIME_SEC_ALL) {
		j->need_tree = 1;
		j->want |= W_PARTS;
	}
	j->need_body = 1;
	if (!it->peek)
		j->set_seen = 1;
	return 0;
}

static int add_rfc822(struct fetch_job *j, const char *name,
		      enum mime_section_kind kind, int peek)
{
	struct fetch_item *it;

	if (j->nitems == FETCH_MAX_ITEMS)
		return -1;
	it = &j->items[j->nitems++];
	memset(it, 0, sizeof(*it));
	it->type = F_SECTION;
	it->kind = kind;
	it->peek = peek;
	it->name = strdup(name);
	if (it->name == NULL)
		return -1;
	if (kind != MIME_SEC_ALL) {
		j->need_tree = 1;
		j->want |= W_PARTS;
	}
	j->need_body = 1;
	if (!peek)
		j->set_seen = 1;
	return 0;
}

static int parse_item(struct fetch_job *j, const char *s)
{
	if (strcasecmp(s, "FLAGS") == 0)
		return add_simple(j, F_FLAGS);
	if (strcasecmp(s, "UID") == 0)
		return add_simple(j, F_UID);
	if (strcasecmp(s, "INTERNALDATE") == 0)
		return add_simple(j, F_INTERNALDATE);
	if (strcasecmp(s, "RFC822.SIZE") == 0)
		return add_simple(j, F_RFC822_SIZE);
	if (strcasecmp(s, "ENVELOPE") == 0)
		return add_simple(j, F_ENVELOPE);
	if (strcasecmp(s, "BODYSTRUCTURE") == 0)
		return add_simple(j, F_BODYSTRUCTURE);
	if (strcasecmp(s, "BODY") == 0)
		return add_simple(j, F_BODY);
	if (strcasecmp(s, "RFC822") == 0)
		return add_rfc822(j, "RFC822", MIME_SEC_ALL, 0);
	if (strcasecmp(s, "RFC822.HEADER") == 0)
		return add_rfc822(j, "RFC822.HEADER", MIME_SEC_HEADER, 1);
	if (strcasecmp(s, "RFC822.TEXT") == 0)
		return add_rfc822(j, "RFC822.TEXT", MIME_SEC_TEXT, 0);
	if (strncasecmp(s, "BODY", 4) == 0 && strchr(s, '[') != NULL)
		return parse_body_item(j, s);
	return -1;
}

static int parse_macro(struct fetch_job *j, const char *s)
{
	int full = strcasecmp(s, "FULL") == 0, all = strcasecmp(s, "ALL") == 0;

	if (!full && !all && strcasecmp(s, "FAST") != 0)
		return 1; /* not a macro */
	if (add_simple(j, F_FLAGS) < 0 || add_simple(j, F_INTERNALDATE) < 0 ||
	    add_simple(j, F_RFC822_SIZE) < 0)
		return -1;
	if ((full || all) && add_simple(j, F_ENVELOPE) < 0)
		return -1;
	if (full && add_simple(j, F_BODY) < 0)
		return -1;
	return 0;
}

/* ---- per message ---- */

/* What the items want of ENVELOPE, BODYSTRUCTURE, BODY and the part
 * tree, from the cache alone (the file is not opened); 0 when all of it
 * was there. */
static int load_cached(struct imap_client *c, struct fetch_job *j, uint32_t seq)
{
	static const char *const fields[3] = {"imap4.env", "imap4.bs",
					      "imap4.body"};
	char **dst[3] = {&j->env, &j->bs, &j->bodys};
	struct ph_str v;
	unsigned k;

	if ((j->want & W_PARTS) &&
	    (c->storage->cache_get(c->box, seq, "imap4.parts", &v) != PH_OK ||
	     mime_parts_deserialize(v.data, v.len, &j->tree) != PH_OK))
		return -1;
	for (k = 0; k < 3; k++) {
		if (!(j->want & (W_ENV << k)))
			continue;
		if (c->storage->cache_get(c->box, seq, fields[k], &v) !=
			PH_OK ||
		    memchr(v.data, '\0', v.len) != NULL ||
		    (*dst[k] = strndup(v.data, v.len)) == NULL)
			return -1;
	}
	return 0;
}

/* ENVELOPE, BODYSTRUCTURE, BODY and the part tree: cache or parse. */
static int load_tree(struct imap_client *c, struct fetch_job *j, uint32_t seq)
{
	static const char *const fields[4] = {"imap4.parts", "imap4.env",
					      "imap4.bs", "imap4.body"};
	char **dst[3] = {&j->env, &j->bs, &j->bodys};
	const char *error = NULL;
	struct imap_str s;
	unsigned k;
	int ret;

	if (load_cached(c, j, seq) == 0)
		return 0;
	tree_free(j);
	/* not cached (or damaged): one streaming parse of the file */
	if (j->body.fd < 0 &&
	    c->storage->message_open(c->box, seq, &j->body, &error) < 0)
		return PH_ENOTFOUND;
	ret = mime_parse_fd(j->body.fd, j->body.offset, j->body.length, NULL,
			    &j->tree);
	if (ret < 0)
		return ret;
	for (k = 0; k < 3; k++) {
		imap_str_init(&s, 0);
		if (k == 0)
			mime_write_envelope(&s, j->tree);
		else
			mime_write_bodystructure(&s, j->tree, k == 1);
		if (s.failed || s.data == NULL) {
			imap_str_free(&s);
			return PH_ENOMEM;
		}
		*dst[k] = s.data;
		(void)c->storage->cache_set(c->box, seq, fields[k + 1],
					    (struct ph_str){s.data, s.len});
	}
	imap_str_init(&s, 0);
	if (mime_parts_serialize(j->tree, &s) == PH_OK)
		(void)c->storage->cache_set(c->box, seq, fields[0],
					    (struct ph_str){s.data, s.len});
	imap_str_free(&s);
	return 0;
}

static int field_wanted(const struct fetch_item *it, const char *line,
			size_t len)
{
	const char *colon = memchr(line, ':', len);
	size_t nl;
	unsigned k;

	if (colon == NULL)
		return it->fields == 2;
	nl = (size_t)(colon - line);
	while (nl > 0 && (line[nl - 1] == ' ' || line[nl - 1] == '\t'))
		nl--;
	for (k = 0; k < it->nfields; k++) {
		if (strlen(it->field_names[k]) == nl &&
		    strncasecmp(it->field_names[k], line, nl) == 0)
			return it->fields == 1;
	}
	return it->fields == 2;
}

/* HEADER.FIELDS(.NOT): the chosen fields with CRLF ends and the empty
 * line, built in memory from at most FETCH_HEADER_MAX header bytes. */
static char *header_fields(struct imap_client *c, struct fetch_job *j,
			   const struct fetch_item *it,
			   const struct mime_range *r, size_t *len_r)
{
	size_t n =
	    r->len < FETCH_HEADER_MAX ? (size_t)r->len : FETCH_HEADER_MAX;
	char *buf = malloc(n + 1), *p, *end;
	struct imap_str out;
	int keep = 0;
	ssize_t got;

	if (buf == NULL)
		return NULL;
	got = pread(j->body.fd, buf, n, (off_t)(j->body.offset + r->off));
	if (got < 0)
		got = 0;
	imap_str_init(&out, 0);
	p = buf;
	end = buf + got;
	while (p < end) {
		char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t ll = (size_t)((lf != NULL ? lf : end) - p);

		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (ll == 0)
			break; /* the empty line ending the header */
		if (p[0] != ' ' && p[0] != '\t')
			keep = field_wanted(it, p, ll);
		if (keep) {
			imap_str_append(&out, p, ll);
			imap_str_appends(&out, "\r\n");
		}
		if (lf == NULL)
			break;
		p = lf + 1;
	}
	imap_str_appends(&out, "\r\n");
	free(buf);
	if (out.failed) {
		imap_str_free(&out);
		return NULL;
	}
	*len_r = out.len;
	return out.data;
}

/* Starts sending one section: writes "NAME<o> {n}\r\n" and arms the
 * range. Returns 0, or < 0 on a fatal error. */
static int start_section(struct imap_client *c, struct fetch_job *j,
			 const struct fetch_item *it)
{
	struct fetch_range *rg = &j->range;
	struct mime_range r;
	uint64_t wire;
	int ret;

	memset(rg, 0, sizeof(*rg));
	if (it->depth == 0 && it->kind == MIME_SEC_ALL) {
		r.off = 0;
		r.len = j->body.length;
		r.wire = j->info.size;
		ret = PH_OK;
	} else {
		ret = mime_section_find(j->tree, it->path, it->depth, it->kind,
					&r);
	}
	imap_str_appends(&c->out, it->name);
	if (it->partial)
		imap_str_printf(&c->out, "<%llu>",
				(unsigned long long)it->start);
	if (ret < 0) {
		/* no such part: NIL, as Dovecot does */
		imap_str_appends(&c->out, " NIL");
		return 0;
	}
	if (it->fields != 0) {
		size_t len = 0;

		rg->mem = header_fields(c, j, it, &r, &len);
		if (rg->mem == NULL)
			return PH_ENOMEM;
		r.wire = len;
		rg->end = len;
	}
	wire = r.wire;
	rg->skip = 0;
	if (it->partial) {
		rg->skip = it->start < wire ? it->start : wire;
		wire -= rg->skip;
		if (wire > it->len)
			wire = it->len;
	}
	rg->left = wire;
	rg->pos = r.off;
	rg->end = rg->mem != NULL ? rg->end : r.off + r.len;
	rg->direct = rg->mem == NULL && r.len == r.wire;
	imap_str_printf(&c->out, " {%llu}\r\n", (unsigned long long)wire);
	imap_client_flush(c);
	rg->active = wire > 0;
	return 0;
}

/* in[0..n) with every bare LF made CR LF into out (room for 2n bytes);
 * *prev_cr carries a CR at the end of one piece into the next. Copies
 * the runs between LFs whole: a FETCH of a big LF-only message is
 * memcpy, not a look at every byte. */
static size_t crlf_convert(const char *in, size_t n, char *out, int *prev_cr)
{
	size_t i = 0, o = 0;

	while (i < n) {
		const char *lf = memchr(in + i, '\n', n - i);
		size_t end = lf != NULL ? (size_t)(lf - in) : n;

		memcpy(out + o, in + i, end - i);
		o += end - i;
		if (end > i)
			*prev_cr = in[end - 1] == '\r';
		if (lf == NULL)
			break;
		if (!*prev_cr)
			out[o++] = '\r';
		out[o++] = '\n';
		*prev_cr = 0;
		i = end + 1;
	}
	return o;
}

/* Sends the next piece of the armed range; 1 when done. */
static int stream_range(struct imap_client *c, struct fetch_job *j)
{
	struct fetch_range *rg = &j->range;
	char in[FETCH_CHUNK], out[FETCH_CHUNK * 2];
	size_t n, o = 0, i;
	ssize_t got;

	if (rg->mem != NULL) {
		size_t off = (size_t)rg->skip;

		c->api->conn_write(c->conn, rg->mem + off, (size_t)rg->left);
		rg->left = 0;
		return 1;
	}
	if (rg->direct) {
		/* stored bytes are the wire bytes: let the core sendfile */
		if (c->api->conn_write_file(c->conn, j->body.fd,
					    j->body.offset + rg->pos + rg->skip,
					    rg->left) < 0)
			return -1;
		rg->left = 0;
		return 1;
	}
	n = rg->end - rg->pos < FETCH_CHUNK ? (size_t)(rg->end - rg->pos)
					    : FETCH_CHUNK;
	got = n > 0
		  ? pread(j->body.fd, in, n, (off_t)(j->body.offset + rg->pos))
		  : 0;
	if (got <= 0) {
		/* the file shrank under us: pad so the literal stays valid */
		memset(out, ' ', sizeof(out));
		n = rg->left < sizeof(out) ? (size_t)rg->left : sizeof(out);
		c->api->conn_write(c->conn, out, n);
		rg->left -= n;
		return rg->left == 0;
	}
	rg->pos += (uint64_t)got;
	o = crlf_convert(in, (size_t)got, out, &rg->prev_cr);
	i = 0;
	if (rg->skip > 0) {
		i = rg->skip < o ? (size_t)rg->skip : o;
		rg->skip -= i;
	}
	if (o - i > rg->left)
		o = i + (size_t)rg->left;
	if (o > i) {
		c->api->conn_write(c->conn, out + i, o - i);
		rg->left -= o - i;
	}
	return rg->left == 0;
}

static int open_message(struct imap_client *c, struct fetch_job *j,
			uint32_t seq)
{
	const char *error = NULL;
	unsigned k;
	int ret;

	j->info = (struct ph_message_info)PH_MESSAGE_INFO_INIT;
	j->info.omit = j->info_omit;
	if (c->storage->message_info(c->box, seq, &j->info) < 0 ||
	    j->info.expunged)
		return PH_ENOTFOUND;
	/* the file is opened only when a section is sent or the cache
	 * lacks what the items want */
	if (j->need_body) {
		if (c->storage->message_open(c->box, seq, &j->body, &error) < 0)
			return PH_ENOTFOUND;
	}
	if (j->need_tree && (ret = load_tree(c, j, seq)) < 0)
		return ret == PH_ENOTFOUND ? ret : PH_EIO;
	if (j->set_seen && !c->readonly && !(j->info.flags & PH_FLAG_SEEN)) {
		struct ph_store_request req = PH_STORE_REQUEST_INIT;

		req.mode = PH_STORE_ADD;
		req.flags = PH_FLAG_SEEN;
		if (c->storage->messages_store(c->box, &seq, 1, &req, NULL,
					       NULL, &error) == 0) {
			j->info.flags |= PH_FLAG_SEEN;
			j->add_flags = 1;
			for (k = 0; k < j->nitems; k++) {
				if (j->items[k].type == F_FLAGS)
					j->add_flags = 0;
			}
		}
	}
	return 0;
}

/* Appends the decimal digits of n (printf is the hot spot of a FETCH of
 * 100,000 short items). */
static void append_uint(struct imap_str *out, uint32_t n)
{
	char buf[10];
	unsigned i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	imap_str_append(out, buf + i, sizeof(buf) - i);
}

static void write_simple(struct imap_client *c, struct fetch_job *j,
			 const struct fetch_item *it)
{
	char date[32];

	switch (it->type) {
	case F_FLAGS:
		imap_str_appends(&c->out, "FLAGS ");
		imap_write_flags(c, &c->out, j->info.flags, j->info.keywords);
		break;
	case F_UID:
		imap_str_appends(&c->out, "UID ");
		append_uint(&c->out, j->info.uid);
		break;
	case F_INTERNALDATE:
		imap_format_datetime(j->info.internal_date, j->info.internal_tz,
				     date);
		imap_str_printf(&c->out, "INTERNALDATE \"%s\"", date);
		break;
	case F_RFC822_SIZE:
		imap_str_printf(&c->out, "RFC822.SIZE %llu",
				(unsigned long long)j->info.size);
		break;
	case F_ENVELOPE:
		imap_str_appends(&c->out, "ENVELOPE ");
		imap_str_appends(&c->out, j->env);
		break;
	case F_BODYSTRUCTURE:
		imap_str_appends(&c->out, "BODYSTRUCTURE ");
		imap_str_appends(&c->out, j->bs);
		break;
	case F_BODY:
		imap_str_appends(&c->out, "BODY ");
		imap_str_appends(&c->out, j->bodys);
		break;
	case F_SECTION:
		break;
	}
}

/* One step of the job: messages until FETCH_BATCH bytes are gathered or
 * a section is streamed. */
static int fetch_step(struct imap_client *c)
{
	struct fetch_job *j = c->job_ctx;

	if (j->range.active) {
		int ret = stream_range(c, j);

		if (ret < 0)
			return -1;
		if (ret == 0)
			return 0;
		j->range.active = 0;
		free(j->range.mem);
		j->range.mem = NULL;
		j->item++;
	}
	for (;;) {
		if (!j->in_message) {
			uint32_t seq;

			if (j->i == j->nseqs) {
				imap_client_flush(c);
				imap_sync(c, 1);
				if (j->expunged)
					imap_tagged(c, j->tag, "NO",
						    "[EXPUNGEISSUED] Some "
						    "messages no longer "
						    "exist.");
				else
					imap_tagged(c, j->tag, "OK",
						    "Fetch completed.");
				return 1;
			}
			seq = j->seqs[j->i];
			if (open_message(c, j, seq) < 0) {
				fetch_message_done(c, j);
				j->expunged = 1;
				j->i++;
				continue;
			}
			imap_str_appends(&c->out, "* ");
			append_uint(&c->out, seq);
			imap_str_appends(&c->out, " FETCH (");
			if (j->uid) {
				imap_str_appends(&c->out, "UID ");
				append_uint(&c->out, j->info.uid);
			}
			j->in_message = 1;
			j->item = 0;
		}
		while (j->item < j->nitems) {
			const struct fetch_item *it = &j->items[j->item];

			if (it->type == F_UID && j->uid) {
				j->item++;
				continue; /* already first */
			}
			if (c->out.len == 0 ||
			    c->out.data[c->out.len - 1] != '(')
				imap_str_appendc(&c->out, ' ');
			if (it->type != F_SECTION) {
				write_simple(c, j, it);
				j->item++;
				continue;
			}
			if (start_section(c, j, it) < 0)
				return -1;
			if (j->range.active)
				return 0; /* stream it, then come back */
			j->item++;
		}
		if (j->add_flags) {
			imap_str_appends(&c->out, " FLAGS ");
			imap_write_flags(c, &c->out, j->info.flags,
					 j->info.keywords);
		}
		imap_str_appends(&c->out, ")\r\n");
		fetch_message_done(c, j);
		j->i++;
		if (c->out.len >= FETCH_BATCH || c->out.failed) {
			imap_client_flush(c);
			return 0;
		}
	}
}

/* FETCH FLAGS of a fresh mailbox should not stat() every file for a
 * date, nor read it for its size: ask only for what the items send. */
static uint64_t info_omit(const struct fetch_job *j)
{
	uint64_t omit = PH_MESSAGE_INFO_OMIT_DATE | PH_MESSAGE_INFO_OMIT_SIZE;

	for (unsigned k = 0; k < j->nitems; k++) {
		if (j->items[k].type == F_INTERNALDATE)
			omit &= ~(uint64_t)PH_MESSAGE_INFO_OMIT_DATE;
		if (j->items[k].type == F_RFC822_SIZE ||
		    j->items[k].type == F_SECTION)
			omit &= ~(uint64_t)PH_MESSAGE_INFO_OMIT_SIZE;
	}
	return omit;
}

void imap_cmd_fetch(struct imap_client *c, const char *tag,
		    const struct imap_arg *args, int uid)
{
	const struct imap_arg *items = ARG_NEXT(c, args), *a;
	struct fetch_job *j;
	int ret = 0;

	if (items == NULL || ARG_NEXT(c, items) != NULL) {
		imap_tagged(c, tag, "BAD", "FETCH needs a set and items");
		return;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		imap_tagged(c, tag, "NO", "[SERVERBUG] Out of memory");
		return;
	}
	j->body = (struct ph_message_body)PH_MESSAGE_BODY_INIT;
	j->c = c;
	j->uid = uid;
	snprintf(j->tag, sizeof(j->tag), "%s", tag);
	if (items->type == IMAP_ARG_ATOM &&
	    (ret = parse_macro(j, ARG_STR(c, items))) <= 0) {
		/* a macro (or a failed one) */
	} else if (items->type == IMAP_ARG_ATOM) {
		ret = parse_item(j, ARG_STR(c, items));
	} else if (items->type == IMAP_ARG_LIST && items->count > 0) {
		for (a = imap_arg_child(c->parser, items);
		     a != NULL && ret == 0; a = ARG_NEXT(c, a))
			ret = a->type == IMAP_ARG_ATOM
				  ? parse_item(j, ARG_STR(c, a))
				  : -1;
	} else {
		ret = -1;
	}
	if (ret < 0) {
		fetch_job_free(j);
		imap_tagged(c, tag, "BAD", "Invalid FETCH item");
		return;
	}
	if (c->readonly)
		j->set_seen = 0;
	j->info_omit = info_omit(j);
	if (imap_seqset_arg(c, tag, args, uid, &j->seqs, &j->nseqs) < 0) {
		fetch_job_free(j);
		return;
	}
	imap_job_start(c, fetch_step, j, fetch_job_free);
}
