/* maildir-cache.c - posthorn-cache, parsed data for cache_get/set.
 *
 * A file of its own, not part of the index, because FETCH fills it one
 * message at a time and the index is rewritten whole on every change:
 *   "PHC1" uidvalidity(u32)
 *   records: crc(u32) uid(u32) field_len(u16) pad(u16) value_len(u32)
 *            field bytes, value bytes         (crc over all after it)
 * Appended with O_APPEND, one write() per record, without the mailbox
 * lock: a record torn by a crash fails its CRC and ends the file. It is
 * read once per view on the first cache_get, into a hash table; later
 * records for the same (uid, field) win. Past 64 MiB, or with another
 * UIDVALIDITY, the file is started afresh: it is only a cache. */
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

struct cache_slot {
	uint32_t uid;
	char *field;
	char *value;
	uint32_t value_len;
};

struct maildir_cache {
	uint32_t uidvalidity;
	struct cache_slot *slots;
	size_t mask, used;
	int fd; /* for appends, opened on the first cache_set; -1 */
};

static uint32_t cache_hash(uint32_t uid, const char *field)
{
	uint32_t h = 2166136261u ^ uid;

	for (; *field; field++)
		h = (h ^ (unsigned char)*field) * 16777619u;
	return h;
}

static struct cache_slot *cache_find(struct maildir_cache *c, uint32_t uid,
				     const char *field)
{
	size_t i = cache_hash(uid, field) & c->mask;

	while (c->slots[i].field != NULL) {
		if (c->slots[i].uid == uid &&
		    strcmp(c->slots[i].field, field) == 0)
			return &c->slots[i];
		i = (i + 1) & c->mask;
	}
	return &c->slots[i];
}

static int cache_put(struct maildir_cache *c, uint32_t uid, const char *field,
		     size_t field_len, const void *value, size_t len)
{
	struct cache_slot *s;
	char *v, key[CACHE_FIELD_LEN + 1];

	if ((c->used + 1) * 2 > c->mask + 1) {
		struct maildir_cache n = {.mask = c->mask * 2 + 1};

		if ((n.slots = calloc(n.mask + 1, sizeof(*n.slots))) == NULL)
			return PH_ENOMEM;
		for (size_t i = 0; i <= c->mask; i++)
			if (c->slots[i].field != NULL)
				*cache_find(&n, c->slots[i].uid,
					    c->slots[i].field) = c->slots[i];
		free(c->slots);
		c->slots = n.slots;
		c->mask = n.mask;
	}
	memcpy(key, field, field_len);
	key[field_len] = '\0';
	if ((v = malloc(len ? len : 1)) == NULL)
		return PH_ENOMEM;
	if (len > 0)
		memcpy(v, value, len);
	s = cache_find(c, uid, key);
	if (s->field == NULL) {
		if ((s->field = strdup(key)) == NULL) {
			free(v);
			return PH_ENOMEM;
		}
		s->uid = uid;
		c->used++;
	}
	free(s->value);
	s->value = v;
	s->value_len = (uint32_t)len;
	return PH_OK;
}

void maildir_cache_free(struct maildir_cache **cp)
{
	struct maildir_cache *c = *cp;

	if (c == NULL)
		return;
	for (size_t i = 0; c->slots && i <= c->mask; i++) {
		free(c->slots[i].field);
		free(c->slots[i].value);
	}
	free(c->slots);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	*cp = NULL;
}

static void cache_parse(struct maildir_cache *c, const unsigned char *buf,
			size_t len)
{
	size_t off = 8;

	while (off + sizeof(struct cache_rec_hdr) <= len) {
		struct cache_rec_hdr h;
		size_t n;

		memcpy(&h, buf + off, sizeof(h));
		n = sizeof(h) + h.field_len + (size_t)h.value_len;
		if (h.field_len == 0 || h.field_len > CACHE_FIELD_LEN ||
		    h.value_len > MAILDIR_CACHE_FIELD_MAX || off + n > len ||
		    maildir_crc32c(0, buf + off + 4, n - 4) != h.crc)
			break; /* torn or damaged: the rest is lost */
		if (memchr(buf + off + sizeof(h), '\0', h.field_len) == NULL &&
		    cache_put(c, h.uid, (const char *)buf + off + sizeof(h),
			      h.field_len, buf + off + sizeof(h) + h.field_len,
			      h.value_len) < 0)
			break;
		off += n;
	}
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
		    (memcpy(&v, buf + 4, 4), v == uidvalidity))
			cache_parse(c, buf, (size_t)st.st_size);
		free(buf);
	}
	close(fd);
	return PH_OK;
}

int maildir_cache_get(struct maildir_cache **cp, const char *dir,
		      uint32_t uidvalidity, uint32_t uid, const char *field,
		      struct ph_str *value_r)
{
	struct cache_slot *s;
	int ret = cache_load(cp, dir, uidvalidity);

	if (ret < 0)
		return ret;
	if (strlen(field) > CACHE_FIELD_LEN)
		return PH_ENOTFOUND;
	s = cache_find(*cp, uid, field);
	if (s->field == NULL)
		return PH_ENOTFOUND;
	value_r->data = s->value;
	value_r->len = s->value_len;
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
	if ((ret = cache_load(cp, dir, uidvalidity)) < 0 ||
	    (ret = cache_put(*cp, uid, field, flen, value.data, value.len)) < 0)
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
	free(rec);
	return PH_OK;
}
