/* maildir-cache-compact.c - rewrites posthorn-cache with its live values
 * in sorted sections and an empty log (format in maildir-cache.h).
 *
 * Only one process compacts at a time (the caller holds the cache lock).
 * Appenders need no lock: a record appended to the old file after it was
 * read here is lost with the old file, which costs a later recomputation
 * and nothing else. Kept: the last intact record of each (field, uid)
 * whose message still exists. The new file is written to CACHE_TMP and
 * renamed over the old one, so mappings of the old file stay valid; no
 * fsync, a crash loses only cache. */
#include "maildir-cache.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct compact_rec {
	uint32_t uid;
	uint32_t order; /* position in the old file: later wins */
	const unsigned char *rec;
	size_t len;
};

struct compact_field {
	char name[CACHE_FIELD_LEN];
	uint16_t len;
	struct compact_rec *recs;
	size_t n, alloc;
};

struct compact {
	struct compact_field fields[CACHE_FIELDS_MAX];
	unsigned nfields;
	uint32_t order;
};

/* Buffered output to the new file. */
struct compact_out {
	int fd;
	bool failed;
	size_t used;
	unsigned char buf[64 * 1024];
};

static struct compact_field *compact_field(struct compact *cp, const char *name,
					   size_t len)
{
	struct compact_field *f;

	for (unsigned k = 0; k < cp->nfields; k++) {
		f = &cp->fields[k];
		if (f->len == len && memcmp(f->name, name, len) == 0)
			return f;
	}
	if (cp->nfields == CACHE_FIELDS_MAX || len == 0 ||
	    len > CACHE_FIELD_LEN)
		return NULL; /* more fields than a file holds: not kept */
	f = &cp->fields[cp->nfields++];
	memcpy(f->name, name, len);
	f->len = (uint16_t)len;
	return f;
}

/* Adds record `rec` (length n) of the map if it is intact; `checked`:
 * its CRC was verified already (a section record found by lookup). */
static int compact_add(struct compact *cp, const unsigned char *rec, size_t n,
		       bool checked)
{
	struct cache_rec_hdr h;
	struct compact_field *f;

	if (!checked && !maildir_cache_rec_crc_ok(rec))
		return PH_OK; /* damaged: dropped */
	memcpy(&h, rec, sizeof(h));
	f = compact_field(cp, (const char *)rec + sizeof(h), h.field_len);
	if (f == NULL)
		return PH_OK;
	if (f->n == f->alloc) {
		size_t na = f->alloc ? f->alloc * 2 : 256;
		struct compact_rec *r = realloc(f->recs, na * sizeof(*r));

		if (r == NULL)
			return PH_ENOMEM;
		f->recs = r;
		f->alloc = na;
	}
	f->recs[f->n++] = (struct compact_rec){h.uid, cp->order++, rec, n};
	return PH_OK;
}

/* Every intact record of the map: sections first, then the log. */
static int compact_collect(struct compact *cp, const struct cache_map *m)
{
	size_t off, n;

	for (uint32_t k = 0; k < m->nfields; k++) {
		struct cache_toc_entry e;
		struct cache_section s;

		memcpy(&e, m->toc + k * sizeof(e), sizeof(e));
		if (e.name_len == 0 || e.name_len > CACHE_FIELD_LEN)
			continue;
		s = maildir_cache_map_section(m, e.name, e.name_len);
		for (uint32_t i = 0; i < s.count; i++) {
			struct cache_index_entry ie;
			const unsigned char *rec;

			memcpy(&ie, s.index + (size_t)i * sizeof(ie),
			       sizeof(ie));
			/* what a view's lookup finds (checked whole), so
			 * compaction keeps exactly the values views see */
			rec = maildir_cache_section_get(m, s, e.name,
							e.name_len, ie.uid);
			if (rec != m->data + ie.off)
				continue;
			n = maildir_cache_rec_len(m->data, ie.off, m->base_len);
			if (compact_add(cp, rec, n, true) < 0)
				return PH_ENOMEM;
		}
	}
	for (off = m->base_len;
	     (n = maildir_cache_rec_len(m->data, off, m->len)) > 0; off += n) {
		if (compact_add(cp, m->data + off, n, false) < 0)
			return PH_ENOMEM;
	}
	return PH_OK;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct compact_rec *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Sorts a field by uid, keeping the last record of each uid whose
 * message is live. */
static void compact_select(struct compact_field *f,
			   const struct maildir_cache_live *live)
{
	size_t out = 0;

	if (f->n > 0)
		qsort(f->recs, f->n, sizeof(*f->recs), rec_cmp);
	for (size_t i = 0; i < f->n; i++) {
		uint32_t uid = f->recs[i].uid;

		if (i + 1 < f->n && f->recs[i + 1].uid == uid)
			continue; /* a later record of the same uid wins */
		if (live != NULL && uid <= live->max_uid &&
		    !live->has_uid(live->ctx, uid))
			continue; /* expunged */
		f->recs[out++] = f->recs[i];
	}
	f->n = out;
}

static void out_write(struct compact_out *o, const void *data, size_t len)
{
	if (o->failed)
		return;
	if (o->used + len > sizeof(o->buf) && o->used > 0) {
		o->failed = write(o->fd, o->buf, o->used) != (ssize_t)o->used;
		o->used = 0;
	}
	if (len > sizeof(o->buf)) {
		o->failed =
		    o->failed || write(o->fd, data, len) != (ssize_t)len;
		return;
	}
	memcpy(o->buf + o->used, data, len);
	o->used += len;
}

/* Writes the selected fields; the header's CRC covers the TOC. */
static int compact_write(struct compact *cp, uint32_t uidvalidity,
			 struct compact_out *o)
{
	struct cache_toc_entry toc[CACHE_FIELDS_MAX];
	struct compact_field *sel[CACHE_FIELDS_MAX];
	struct cache_header h = {.uidvalidity = uidvalidity};
	size_t off;
	unsigned nf = 0;

	memcpy(h.magic, CACHE_MAGIC, 4);
	for (unsigned k = 0; k < cp->nfields; k++)
		nf += cp->fields[k].n > 0;
	off = sizeof(h) + nf * sizeof(toc[0]);
	memset(toc, 0, sizeof(toc));
	nf = 0;
	for (unsigned k = 0; k < cp->nfields; k++) {
		struct compact_field *f = &cp->fields[k];

		if (f->n == 0)
			continue;
		memcpy(toc[nf].name, f->name, f->len);
		toc[nf].name_len = f->len;
		toc[nf].count = (uint32_t)f->n;
		toc[nf].index_off = (uint32_t)off;
		sel[nf] = f;
		off += f->n * sizeof(struct cache_index_entry);
		for (size_t i = 0; i < f->n; i++)
			off += f->recs[i].len;
		nf++;
		if (off > CACHE_MAX_FILE)
			return PH_ETOOBIG;
	}
	h.base_len = (uint32_t)off;
	h.nfields = nf;
	h.toc_crc = maildir_crc32c(maildir_crc32c(0, &h, sizeof(h)), toc,
				   nf * sizeof(toc[0]));
	out_write(o, &h, sizeof(h));
	out_write(o, toc, nf * sizeof(toc[0]));
	for (unsigned k = 0; k < nf; k++) {
		struct compact_field *f = sel[k];
		uint32_t rec_off =
		    toc[k].index_off +
		    (uint32_t)(f->n * sizeof(struct cache_index_entry));

		for (size_t i = 0; i < f->n; i++) {
			struct cache_index_entry ie = {f->recs[i].uid, rec_off};

			out_write(o, &ie, sizeof(ie));
			rec_off += (uint32_t)f->recs[i].len;
		}
		for (size_t i = 0; i < f->n; i++)
			out_write(o, f->recs[i].rec, f->recs[i].len);
	}
	if (!o->failed && o->used > 0)
		o->failed = write(o->fd, o->buf, o->used) != (ssize_t)o->used;
	return o->failed ? PH_EIO : PH_OK;
}

int maildir_cache_write_compacted(const char *dir, uint32_t uidvalidity,
				  const struct cache_map *m,
				  const struct maildir_cache_live *live)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	struct compact *cp = calloc(1, sizeof(*cp));
	struct compact_out *o = malloc(sizeof(*o));
	int ret = PH_ENOMEM;

	if (cp == NULL || o == NULL)
		goto out;
	if (m->data != NULL && (ret = compact_collect(cp, m)) < 0)
		goto out;
	for (unsigned k = 0; k < cp->nfields; k++)
		compact_select(&cp->fields[k], live);
	maildir_fmt(path, sizeof(path), "%s/" CACHE_FILE, dir);
	maildir_fmt(tmp, sizeof(tmp), "%s/" CACHE_TMP, dir);
	o->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		     0600);
	o->failed = false;
	o->used = 0;
	if (o->fd < 0) {
		ret = PH_EIO;
		goto out;
	}
	ret = compact_write(cp, uidvalidity, o);
	if (close(o->fd) < 0 && ret == PH_OK)
		ret = PH_EIO;
	if (ret == PH_OK && rename(tmp, path) < 0)
		ret = PH_EIO;
	if (ret < 0)
		unlink(tmp);
out:
	for (unsigned k = 0; cp != NULL && k < cp->nfields; k++)
		free(cp->fields[k].recs);
	free(cp);
	free(o);
	return ret;
}
