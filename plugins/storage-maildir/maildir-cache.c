/* maildir-cache.c - posthorn-cache, parsed data for cache_get/set.
 *
 * A file of its own, not part of the index, because FETCH fills it one
 * message at a time and the index is rewritten whole on every change:
 *   "PHC1" uidvalidity(u32)
 *   records: crc(u32) uid(u32) field_len(u16) pad(u16) value_len(u32)
 *            field bytes, value bytes         (crc over all after it)
 * Appended with O_APPEND, one write() per record, without the mailbox
 * lock: a record torn by a crash fails its CRC and ends the file. It is
 * read once per view on the first cache_get, into one buffer; each field
 * gets its own hash table of uid -> record, built on the first request
 * for that field by one walk over the buffer that takes only that
 * field's records (FETCH BODYSTRUCTURE does not pay for the 100,000
 * Subject lines a SEARCH cached). A record's CRC is checked when it is
 * first asked for. Later records for the same (uid, field) win. Past
 * 64 MiB, or with another UIDVALIDITY, the file is started afresh: it is
 * only a cache. */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_FILE	"posthorn-cache"
#define CACHE_MAGIC	"PHC1"
#define CACHE_MAX_FILE	(64u * 1024 * 1024)
#define CACHE_FIELD_LEN 64

struct cache_rec_hdr {
	uint32_t crc;
	uint32_t uid;
	uint16_t field_len;
	uint16_t pad;
	uint32_t value_len;
};

/* A record: the header, the field, the value, as in the file. */
struct cache_slot {
	uint32_t uid;
	uint32_t state;		  /* SLOT_* */
	const unsigned char *rec; /* in c->buf, or malloc()ed (SLOT_OWNED) */
};
#define SLOT_USED    1u
#define SLOT_OWNED   2u
#define SLOT_CHECKED 4u /* CRC good */
#define SLOT_BAD     8u /* CRC bad */

/* The records of one field, by uid. */
struct cache_field {
	char name[CACHE_FIELD_LEN + 1];
	size_t len;
	struct cache_slot *slots;
	size_t mask, used;
};
#define CACHE_FIELDS_MAX 32 /* tables per view; more fields: not cached */

struct maildir_cache {
	uint32_t uidvalidity;
	struct cache_field fields[CACHE_FIELDS_MAX];
	unsigned nfields;
	unsigned char *buf; /* the file as loaded; slots point into it */
	size_t buf_len;
	int fd; /* for appends, opened on the first cache_set; -1 */
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
 * to the cache (checked), else it lives in c->buf and its CRC is checked
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

void maildir_cache_free(struct maildir_cache **cp)
{
	struct maildir_cache *c = *cp;

	if (c == NULL)
		return;
	for (unsigned k = 0; k < c->nfields; k++) {
		struct cache_field *f = &c->fields[k];

		for (size_t i = 0; f->slots && i <= f->mask; i++) {
			if (f->slots[i].state & SLOT_OWNED)
				free((void *)f->slots[i].rec);
		}
		free(f->slots);
	}
	free(c->buf);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	*cp = NULL;
}

/* Puts the records of field `f` in c->buf into its table (one walk). */
static int cache_walk(struct maildir_cache *c, struct cache_field *f)
{
	const unsigned char *buf = c->buf;
	size_t off = 8, len = c->buf_len;

	while (buf != NULL && off + sizeof(struct cache_rec_hdr) <= len) {
		struct cache_rec_hdr h;
		size_t n;

		memcpy(&h, buf + off, sizeof(h));
		n = sizeof(h) + h.field_len + (size_t)h.value_len;
		if (h.field_len == 0 || h.field_len > CACHE_FIELD_LEN ||
		    h.value_len > MAILDIR_CACHE_FIELD_MAX || off + n > len)
			break; /* torn or damaged: the rest is lost */
		if (h.field_len == f->len &&
		    memcmp(buf + off + sizeof(h), f->name, f->len) == 0 &&
		    cache_put(f, h.uid, buf + off, false) < 0)
			return PH_ENOMEM;
		off += n;
	}
	return PH_OK;
}

/* The table of `field` (flen bytes), built on first use; NULL when out
 * of memory or of tables. */
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
	if ((f->slots = calloc(f->mask + 1, sizeof(*f->slots))) == NULL)
		return NULL;
	if (cache_walk(c, f) < 0) {
		for (size_t i = 0; i <= f->mask; i++) {
			if (f->slots[i].state & SLOT_OWNED)
				free((void *)f->slots[i].rec);
		}
		free(f->slots);
		return NULL;
	}
	c->nfields++;
	return f;
}

static int cache_load(struct maildir_cache **cp, const char *dir,
		      uint32_t uidvalidity)
{
	struct maildir_cache *c;
	char path[PATH_MAX];
	unsigned char *buf;
	struct stat st;
	int fd;

	if (*cp != NULL && (*cp)->uidvalidity == uidvalidity)
		return PH_OK;
	maildir_cache_free(cp);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PH_ENOMEM;
	c->uidvalidity = uidvalidity;
	c->fd = -1;
	*cp = c;
	maildir_fmt(path, sizeof(path), "%s/" CACHE_FILE, dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return PH_OK;
	if (fstat(fd, &st) == 0 && st.st_size >= 8 &&
	    st.st_size <= CACHE_MAX_FILE &&
	    (buf = malloc((size_t)st.st_size)) != NULL) {
		uint32_t v;

		if (pread(fd, buf, (size_t)st.st_size, 0) == st.st_size &&
		    memcmp(buf, CACHE_MAGIC, 4) == 0 &&
		    (memcpy(&v, buf + 4, 4), v == uidvalidity)) {
			c->buf = buf; /* the slots point into it */
			c->buf_len = (size_t)st.st_size;
		} else {
			free(buf);
		}
	}
	close(fd);
	return PH_OK;
}

int maildir_cache_get(struct maildir_cache **cp, const char *dir,
		      uint32_t uidvalidity, uint32_t uid, const char *field,
		      struct ph_str *value_r)
{
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
	if (!(s->state & SLOT_USED))
		return PH_ENOTFOUND;
	memcpy(&h, s->rec, sizeof(h));
	if (!(s->state & (SLOT_CHECKED | SLOT_BAD)))
		s->state |= maildir_crc32c(0, s->rec + 4,
					   sizeof(h) - 4 + h.field_len +
					       (size_t)h.value_len) == h.crc
				? SLOT_CHECKED
				: SLOT_BAD;
	if (s->state & SLOT_BAD)
		return PH_ENOTFOUND; /* damaged: recomputed and set again */
	value_r->data = (const char *)s->rec + sizeof(h) + h.field_len;
	value_r->len = h.value_len;
	return PH_OK;
}

/* Opens the cache file for appending, starting it afresh when missing,
 * too big or of another UIDVALIDITY. */
static int cache_open_append(const char *dir, uint32_t uidvalidity)
{
	char path[PATH_MAX], head[8];
	struct stat st;
	uint32_t v;
	int fd;

	maildir_fmt(path, sizeof(path), "%s/" CACHE_FILE, dir);
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return PH_EIO;
	}
	if (st.st_size >= 8 && st.st_size < CACHE_MAX_FILE &&
	    pread(fd, head, 8, 0) == 8 && memcmp(head, CACHE_MAGIC, 4) == 0 &&
	    (memcpy(&v, head + 4, 4), v == uidvalidity))
		return fd;
	if (ftruncate(fd, 0) < 0) {
		close(fd);
		return PH_EIO;
	}
	memcpy(head, CACHE_MAGIC, 4);
	memcpy(head + 4, &uidvalidity, 4);
	if (write(fd, head, 8) != 8) {
		close(fd);
		return PH_EIO;
	}
	return fd;
}

int maildir_cache_set(struct maildir_cache **cp, const char *dir,
		      uint32_t uidvalidity, uint32_t uid, const char *field,
		      struct ph_str value)
{
	size_t flen = strlen(field), n;
	struct cache_rec_hdr h = {.uid = uid};
	struct cache_field *f;
	unsigned char *rec;
	int fd, ret;

	if (flen == 0 || flen > CACHE_FIELD_LEN)
		return PH_EINVAL;
	if (value.len > MAILDIR_CACHE_FIELD_MAX)
		return PH_ETOOBIG;
	if ((ret = cache_load(cp, dir, uidvalidity)) < 0)
		return ret;
	h.field_len = (uint16_t)flen;
	h.value_len = (uint32_t)value.len;
	n = sizeof(h) + flen + value.len;
	if ((rec = malloc(n)) == NULL)
		return PH_ENOMEM;
	memcpy(rec + sizeof(h), field, flen);
	if (value.len > 0)
		memcpy(rec + sizeof(h) + flen, value.data, value.len);
	memcpy(rec, &h, sizeof(h));
	h.crc = maildir_crc32c(0, rec + 4, n - 4);
	memcpy(rec, &h, sizeof(h));
	if ((f = cache_field(*cp, field, flen)) == NULL ||
	    (ret = cache_put(f, uid, rec, true)) < 0) {
		free(rec);
		return f == NULL ? PH_ETOOBIG : ret; /* no table left */
	}
	/* One open per view: FETCH 1:* sets a value per message. */
	if ((fd = (*cp)->fd) < 0)
		fd = (*cp)->fd = cache_open_append(dir, uidvalidity);
	/* A failed write only loses a cache entry. */
	if (fd >= 0 && write(fd, rec, n) != (ssize_t)n) {
		maildir_api->log(PH_LOG_WARNING,
				 "%s/" CACHE_FILE ": write failed", dir);
		close(fd);
		(*cp)->fd = -1;
	}
	return PH_OK; /* rec belongs to the cache now */
}
