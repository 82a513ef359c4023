/* maildir-cache.c - posthorn-cache, parsed data for cache_get/set, as a
 * view sees it (the format: maildir-cache.h).
 *
 * A file of its own, not part of the index, because FETCH fills it one
 * message at a time and the index is rewritten whole on every change.
 * New values are appended with O_APPEND, one write() per record, without
 * the mailbox lock: a record torn by a crash fails its CRC and ends the
 * log. A view maps the file on its first cache_get. Values in the
 * compacted part are found by binary search in their field's section;
 * the log gets a hash table of uid -> record per field, built on the
 * first request for that field by one walk over the log that takes only
 * that field's records (FETCH BODYSTRUCTURE does not pay for the 100,000
 * Subject lines a SEARCH cached). The view's own values go into the same
 * tables. Log records win over the compacted part, later ones over
 * earlier. A record's CRC is checked when it is first asked for.
 *
 * When the view closes with a log big enough to be worth it, the file is
 * compacted (maildir-cache-compact.c): the next view finds everything in
 * sorted sections and walks nothing. Past 256 MiB, or with another
 * UIDVALIDITY, the file is started afresh: it is only a cache. */
#include "maildir-cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Compaction at close once the log is this big and at least a quarter of
 * the compacted part: the walks it saves the next views pay for it. */
#define CACHE_COMPACT_MIN_LOG ((size_t)256 * 1024)

/* A record in the log or of this view: the header, the field, the value. */
struct cache_slot {
	uint32_t uid;
	uint32_t state;		  /* SLOT_* */
	const unsigned char *rec; /* in the map, or malloc()ed (SLOT_OWNED) */
};
#define SLOT_USED    1u
#define SLOT_OWNED   2u
#define SLOT_CHECKED 4u /* CRC good */
#define SLOT_BAD     8u /* CRC bad */

/* One field: its section in the map, its log records by uid. */
struct cache_field {
	char name[CACHE_FIELD_LEN + 1];
	size_t len;
	struct cache_section section;
	struct cache_slot *slots;
	size_t mask, used;
};

struct maildir_cache {
	uint32_t uidvalidity;
	struct cache_map map;
	struct cache_field fields[CACHE_FIELDS_MAX];
	unsigned nfields;
	int fd;		 /* for appends, opened on the first set; -1 */
	size_t appended; /* bytes this view appended */
	uint64_t end;	 /* the file's size as this view's appends left it */
};

static struct cache_slot *cache_find(struct cache_field *f, uint32_t uid)
{
	size_t i = (uid * 2654435761u) & f->mask;

	while ((f->slots[i].state & SLOT_USED) && f->slots[i].uid != uid)
		i = (i + 1) & f->mask;
	return &f->slots[i];
}

static int cache_resize(struct cache_field *f, size_t mask)
{
	struct cache_field n = {.mask = mask};

	if ((n.slots = calloc(n.mask + 1, sizeof(*n.slots))) == NULL)
		return PH_ENOMEM;
	for (size_t i = 0; f->slots != NULL && i <= f->mask; i++) {
		if (f->slots[i].state & SLOT_USED)
			*cache_find(&n, f->slots[i].uid) = f->slots[i];
	}
	free(f->slots);
	f->slots = n.slots;
	f->mask = n.mask;
	return PH_OK;
}

/* Puts record `rec` of `uid`; `owned`: rec is malloc()ed and now belongs
 * to the cache (checked), else it lives in the map and its CRC is checked
 * on first use. */
static int cache_put(struct cache_field *f, uint32_t uid,
		     const unsigned char *rec, bool owned)
{
	struct cache_slot *s;

	if ((f->used + 1) * 2 > f->mask + 1 &&
	    cache_resize(f, f->mask * 2 + 1) < 0)
		return PH_ENOMEM;
	s = cache_find(f, uid);
	if (!(s->state & SLOT_USED))
		f->used++;
	else if (s->state & SLOT_OWNED)
		free((void *)s->rec);
	s->uid = uid;
	s->state = SLOT_USED | (owned ? SLOT_OWNED | SLOT_CHECKED : 0);
	s->rec = rec;
	return PH_OK;
}

static void cache_field_free(struct cache_field *f)
{
	for (size_t i = 0; f->slots != NULL && i <= f->mask; i++) {
		if (f->slots[i].state & SLOT_OWNED)
			free((void *)f->slots[i].rec);
	}
	free(f->slots);
	f->slots = NULL;
}

void maildir_cache_free(struct maildir_cache **cp)
{
	struct maildir_cache *c = *cp;

	if (c == NULL)
		return;
	for (unsigned k = 0; k < c->nfields; k++)
		cache_field_free(&c->fields[k]);
	maildir_cache_map_close(&c->map);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	*cp = NULL;
}

/* Puts the log records of field `f` into its table (one walk). */
static int cache_walk_log(struct maildir_cache *c, struct cache_field *f)
{
	const unsigned char *data = c->map.data;
	size_t off = c->map.base_len, n;

	while (data != NULL &&
	       (n = maildir_cache_rec_len(data, off, c->map.len)) > 0) {
		struct cache_rec_hdr h;

		memcpy(&h, data + off, sizeof(h));
		if (h.field_len == f->len &&
		    memcmp(data + off + sizeof(h), f->name, f->len) == 0 &&
		    cache_put(f, h.uid, data + off, false) < 0)
			return PH_ENOMEM;
		off += n; /* a torn or damaged record ends the log */
	}
	return PH_OK;
}

/* The field `field` (flen bytes), set up on first use; NULL when out of
 * memory or of tables. */
static struct cache_field *cache_field(struct maildir_cache *c,
				       const char *field, size_t flen)
{
	struct cache_field *f;

	for (unsigned k = 0; k < c->nfields; k++) {
		f = &c->fields[k];
		if (f->len == flen && memcmp(f->name, field, flen) == 0)
			return f;
	}
	if (c->nfields == CACHE_FIELDS_MAX)
		return NULL;
	f = &c->fields[c->nfields];
	memset(f, 0, sizeof(*f));
	memcpy(f->name, field, flen);
	f->len = flen;
	f->mask = 255;
	f->section = maildir_cache_map_section(&c->map, field, flen);
	if ((f->slots = calloc(f->mask + 1, sizeof(*f->slots))) == NULL)
		return NULL;
	if (cache_walk_log(c, f) < 0) {
		cache_field_free(f);
		return NULL;
	}
	c->nfields++;
	return f;
}

static int cache_load(struct maildir_cache **cp, const char *dir,
		      uint32_t uidvalidity)
{
	struct maildir_cache *c;

	if (*cp != NULL && (*cp)->uidvalidity == uidvalidity)
		return PH_OK;
	maildir_cache_free(cp);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PH_ENOMEM;
	c->uidvalidity = uidvalidity;
	c->fd = -1;
	*cp = c;
	/* An unreadable file is a cache without values. */
	(void)maildir_cache_map_open(dir, uidvalidity, &c->map);
	return PH_OK;
}

int maildir_cache_get(struct maildir_cache **cp, const char *dir,
		      uint32_t uidvalidity, uint32_t uid, const char *field,
		      struct ph_str *value_r)
{
	const unsigned char *rec = NULL;
	struct cache_field *f;
	struct cache_slot *s;
	struct cache_rec_hdr h;
	size_t flen = strlen(field);
	int ret = cache_load(cp, dir, uidvalidity);

	if (ret < 0)
		return ret;
	if (flen == 0 || flen > CACHE_FIELD_LEN ||
	    (f = cache_field(*cp, field, flen)) == NULL)
		return PH_ENOTFOUND;
	s = cache_find(f, uid);
	if (s->state & SLOT_USED) {
		if (!(s->state & (SLOT_CHECKED | SLOT_BAD)))
			s->state |= maildir_cache_rec_crc_ok(s->rec)
					? SLOT_CHECKED
					: SLOT_BAD;
		if (!(s->state & SLOT_BAD))
			rec = s->rec;
	} else {
		rec = maildir_cache_section_get(&(*cp)->map, f->section, field,
						flen, uid);
	}
	if (rec == NULL)
		return PH_ENOTFOUND; /* damaged: recomputed and set again */
	memcpy(&h, rec, sizeof(h));
	value_r->data = (const char *)rec + sizeof(h) + h.field_len;
	value_r->len = h.value_len;
	return PH_OK;
}

/* Puts an empty cache file of `uidvalidity` in place (by rename(): views
 * that map the old one keep it intact). Under the cache lock, which only
 * one process at a time gets; the others lose their value. */
static int cache_replace_empty(const char *dir, uint32_t uidvalidity)
{
	struct cache_map none = {0};
	int lock = maildir_lock_try(dir, CACHE_LOCK), ret;

	if (lock < 0)
		return lock;
	ret = maildir_cache_write_compacted(dir, uidvalidity, &none, NULL);
	maildir_lock_release(&lock);
	return ret;
}

/* Opens the cache file for appending, starting it afresh when missing,
 * unusable, too big or of another UIDVALIDITY; *size_r: its size. */
static int cache_open_append(const char *dir, uint32_t uidvalidity,
			     uint64_t *size_r)
{
	char path[PATH_MAX];
	struct cache_header h;
	struct stat st;

	maildir_fmt(path, sizeof(path), "%s/" CACHE_FILE, dir);
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);

		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_size >= (off_t)sizeof(h) &&
		    st.st_size < CACHE_MAX_FILE &&
		    pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
		    memcmp(h.magic, CACHE_MAGIC, 4) == 0 &&
		    h.uidvalidity == uidvalidity) {
			*size_r = (uint64_t)st.st_size;
			return fd;
		}
		if (fd >= 0)
			close(fd);
		if (attempt == 0 && cache_replace_empty(dir, uidvalidity) < 0)
			break;
	}
	return PH_EIO;
}

int maildir_cache_set(struct maildir_cache **cp, const char *dir,
		      uint32_t uidvalidity, uint32_t uid, const char *field,
		      struct ph_str value)
{
	size_t flen = strlen(field), n;
	struct cache_field *f;
	unsigned char *rec;
	int fd, ret;

	if (flen == 0 || flen > CACHE_FIELD_LEN)
		return PH_EINVAL;
	if (value.len > MAILDIR_CACHE_FIELD_MAX)
		return PH_ETOOBIG;
	if ((ret = cache_load(cp, dir, uidvalidity)) < 0)
		return ret;
	if ((rec = maildir_cache_rec_make(uid, field, flen, value, &n)) == NULL)
		return PH_ENOMEM;
	if ((f = cache_field(*cp, field, flen)) == NULL ||
	    (ret = cache_put(f, uid, rec, true)) < 0) {
		free(rec);
		return f == NULL ? PH_ETOOBIG : ret; /* no table left */
	}
	/* One open per view: FETCH 1:* sets a value per message. */
	if ((fd = (*cp)->fd) < 0)
		fd = (*cp)->fd =
		    cache_open_append(dir, uidvalidity, &(*cp)->end);
	/* Past the limit the value stays in this view only (the closing
	 * compaction starts the file afresh); a failed write only loses a
	 * cache entry. */
	if (fd < 0 || (*cp)->end + n > CACHE_MAX_FILE)
		return PH_OK;
	if (write(fd, rec, n) != (ssize_t)n) {
		maildir_api->log(PH_LOG_WARNING,
				 "%s/" CACHE_FILE ": write failed", dir);
		close(fd);
		(*cp)->fd = -1;
		return PH_OK;
	}
	(*cp)->appended += n;
	(*cp)->end += n;
	return PH_OK; /* rec belongs to the cache now */
}

void maildir_cache_close(struct maildir_cache **cp, const char *dir,
			 const struct maildir_cache_live *live)
{
	struct maildir_cache *c = *cp;
	struct cache_map now;
	size_t log;
	int lock;

	if (c == NULL)
		return;
	log = c->map.len - c->map.base_len + c->appended;
	if (log >= CACHE_COMPACT_MIN_LOG && log >= c->map.base_len / 4 &&
	    (lock = maildir_lock_try(dir, CACHE_LOCK)) >= 0) {
		int ret = PH_OK;

		/* The file as it is now: other views may have appended. */
		if (maildir_cache_map_open(dir, c->uidvalidity, &now) ==
			PH_OK &&
		    now.data != NULL)
			ret = maildir_cache_write_compacted(dir, c->uidvalidity,
							    &now, live);
		/* Live values past the limit: start afresh, as an append
		 * reaching it would. */
		if (ret == PH_ETOOBIG)
			ret = maildir_cache_write_compacted(
			    dir, c->uidvalidity, &(struct cache_map){0}, NULL);
		if (ret < 0)
			maildir_api->log(PH_LOG_WARNING,
					 "%s/" CACHE_FILE ": compaction failed",
					 dir);
		maildir_cache_map_close(&now);
		maildir_lock_release(&lock);
	}
	maildir_cache_free(cp);
}
