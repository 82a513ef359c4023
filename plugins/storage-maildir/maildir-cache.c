/* maildir-cache.c - posthorn-cache, parsed data for cache_get/set.
 *
 * A file of its own, not part of the index, because FETCH fills it one
 * message at a time and the index is rewritten whole on every change:
 *   "PHC1" uidvalidity(u32)
 *   records: crc(u32) uid(u32) field_len(u16) pad(u16) value_len(u32)
 *            field bytes, value bytes         (crc over all after it)
 * Appended with O_APPEND, one write() per record, without the mailbox
 * lock: a record torn by a crash fails its CRC and ends the file. It is
 * read once per view on the first cache_get, into one buffer that a hash
 * table (sized from a first walk over the records) points into, so a
 * load costs no allocation per record; a record's CRC is checked when it
 * is first asked for (a FETCH of 10,000 BODYSTRUCTUREs needs a quarter of
 * the records). Later records for the same (uid, field) win. Past
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
	uint16_t field_len;	  /* 0: free slot */
	uint16_t state;		  /* SLOT_* */
	const unsigned char *rec; /* in c->buf, or malloc()ed (SLOT_OWNED) */
};
#define SLOT_OWNED   1u
#define SLOT_CHECKED 2u /* CRC good */
#define SLOT_BAD     4u /* CRC bad */

struct maildir_cache {
	uint32_t uidvalidity;
	struct cache_slot *slots;
	size_t mask, used;
	unsigned char *buf; /* the file as loaded; slots point into it */
	int fd;		    /* for appends, opened on the first cache_set; -1 */
};

static uint32_t cache_hash(uint32_t uid, const char *field, size_t len)
{
	uint32_t h = 2166136261u ^ uid;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)field[i]) * 16777619u;
	return h;
}

static struct cache_slot *cache_find(struct maildir_cache *c, uint32_t uid,
				     const char *field, size_t len)
{
	size_t i = cache_hash(uid, field, len) & c->mask;

	while (c->slots[i].field_len != 0) {
		const struct cache_slot *s = &c->slots[i];

		if (s->uid == uid && s->field_len == len &&
		    memcmp(s->rec + sizeof(struct cache_rec_hdr), field, len) ==
			0)
			return &c->slots[i];
		i = (i + 1) & c->mask;
	}
	return &c->slots[i];
}

static int cache_resize(struct maildir_cache *c, size_t mask)
{
	struct maildir_cache n = {.mask = mask};

	if ((n.slots = calloc(n.mask + 1, sizeof(*n.slots))) == NULL)
		return PH_ENOMEM;
	for (size_t i = 0; c->slots != NULL && i <= c->mask; i++) {
		const struct cache_slot *s = &c->slots[i];

		if (s->field_len != 0)
			*cache_find(&n, s->uid,
				    (const char *)s->rec +
					sizeof(struct cache_rec_hdr),
				    s->field_len) = *s;
	}
	free(c->slots);
	c->slots = n.slots;
	c->mask = n.mask;
	return PH_OK;
}

/* Puts record `rec` (header, field, value) of `uid`; `owned`: rec is
 * malloc()ed and now belongs to the cache (checked), else it lives in
 * c->buf and its CRC is checked on first use. */
static int cache_put(struct maildir_cache *c, uint32_t uid,
		     const unsigned char *rec, size_t field_len, bool owned)
{
	struct cache_slot *s;

	if ((c->used + 1) * 2 > c->mask + 1 &&
	    cache_resize(c, c->mask * 2 + 1) < 0)
		return PH_ENOMEM;
	s = cache_find(c, uid, (const char *)rec + sizeof(struct cache_rec_hdr),
		       field_len);
	if (s->field_len == 0)
		c->used++;
	else if (s->state & SLOT_OWNED)
		free((void *)s->rec);
	s->uid = uid;
	s->field_len = (uint16_t)field_len;
	s->state = owned ? SLOT_OWNED | SLOT_CHECKED : 0;
	s->rec = rec;
	return PH_OK;
}

void maildir_cache_free(struct maildir_cache **cp)
{
	struct maildir_cache *c = *cp;

	if (c == NULL)
		return;
	for (size_t i = 0; c->slots && i <= c->mask; i++) {
		if (c->slots[i].state & SLOT_OWNED)
			free((void *)c->slots[i].rec);
	}
	free(c->slots);
	free(c->buf);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	*cp = NULL;
}

/* Walks the records of buf[0..len): puts each when `c` is set; returns
 * how many there are. */
static size_t cache_walk(struct maildir_cache *c, const unsigned char *buf,
			 size_t len)
{
	size_t off = 8, count = 0;

	while (off + sizeof(struct cache_rec_hdr) <= len) {
		struct cache_rec_hdr h;
		size_t n;

		memcpy(&h, buf + off, sizeof(h));
		n = sizeof(h) + h.field_len + (size_t)h.value_len;
		if (h.field_len == 0 || h.field_len > CACHE_FIELD_LEN ||
		    h.value_len > MAILDIR_CACHE_FIELD_MAX || off + n > len)
			break; /* torn or damaged: the rest is lost */
		if (c != NULL &&
		    memchr(buf + off + sizeof(h), '\0', h.field_len) == NULL &&
		    cache_put(c, h.uid, buf + off, h.field_len, false) < 0)
			break;
		count++;
		off += n;
	}
	return count;
}

static void cache_parse(struct maildir_cache *c, const unsigned char *buf,
			size_t len)
{
	size_t want = cache_walk(NULL, buf, len) * 2, mask = c->mask;

	while (mask + 1 < want)
		mask = mask * 2 + 1;
	if (mask != c->mask && cache_resize(c, mask) < 0)
		return;
	cache_walk(c, buf, len);
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
	c->mask = 255;
	if ((c->slots = calloc(c->mask + 1, sizeof(*c->slots))) == NULL) {
		free(c);
		return PH_ENOMEM;
	}
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
			cache_parse(c, buf, (size_t)st.st_size);
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
	struct cache_slot *s;
	struct cache_rec_hdr h;
	size_t flen = strlen(field);
	int ret = cache_load(cp, dir, uidvalidity);

	if (ret < 0)
		return ret;
	if (flen == 0 || flen > CACHE_FIELD_LEN)
		return PH_ENOTFOUND;
	s = cache_find(*cp, uid, field, flen);
	if (s->field_len == 0)
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
	if ((ret = cache_put(*cp, uid, rec, flen, true)) < 0) {
		free(rec);
		return ret;
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
