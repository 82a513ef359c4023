/* maildir-index.c - the per-mailbox binary index, posthorn-index.
 *
 * Layout (host byte order; a foreign or older file fails the checks and
 * is rebuilt from the files, which are the truth):
 *   header (struct index_header, CRC-32C of itself)
 *   records[count]            struct maildir_rec, ascending uid
 *   expunged[expunged_count]  struct maildir_expunged, oldest first
 *   keywords                  kw_count NUL-terminated names
 *   names                     NUL-terminated file names
 * with one CRC-32C over everything after the header.
 *
 * Updates rewrite the whole file to posthorn-index.tmp and rename() it
 * over the old one, under the mailbox lock. Why not an append-only log:
 * readers never see a half-written state (rename is atomic), there is no
 * log replay or torn-record recovery to get wrong, and a reader keeps the
 * old inode mapped safely while a writer replaces it. The cost is O(n)
 * bytes per update (about 6 MB at 100,000 messages); every multi-message
 * operation (STORE, EXPUNGE, COPY of a set) is one update, and cache
 * values live in their own append-only file so FETCH never rewrites it.
 *
 * Loading mmap()s the file read-only: opening a big mailbox costs a
 * checksum pass and no copy; the records are copied to the heap only by
 * a writer (maildir_index_make_mutable). */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define INDEX_FILE    "posthorn-index"
#define INDEX_TMP     "posthorn-index.tmp"
#define INDEX_MAGIC   "PHIX"
#define INDEX_VERSION 1
#define INDEX_ENDIAN  0x01020304u

uint32_t maildir_index_horizon = 10000;

struct index_header {
	char magic[4];
	uint32_t version;
	uint32_t header_size;
	uint32_t rec_size;
	uint32_t endian;
	uint32_t uidvalidity, uidnext, first_recent_uid;
	uint32_t count, expunged_count, kw_count, kw_len, names_len;
	uint32_t pad;
	uint64_t highestmodseq, horizon_modseq, generation;
	int64_t new_mtime_ns, cur_mtime_ns;
	uint32_t body_crc;
	uint32_t header_crc;
};

_Static_assert(sizeof(struct index_header) == 104, "index header layout");
_Static_assert(sizeof(struct maildir_rec) == 56, "index record layout");
_Static_assert(sizeof(struct maildir_expunged) == 16, "expunged layout");

struct maildir_index *maildir_index_new(uint32_t uidvalidity)
{
	struct maildir_index *idx = calloc(1, sizeof(*idx));

	if (idx == NULL)
		return NULL;
	idx->uidvalidity = uidvalidity;
	idx->uidnext = 1;
	idx->first_recent_uid = 1;
	idx->highestmodseq = 1;
	idx->recs_owned = true;
	idx->expunged_owned = true;
	return idx;
}

void maildir_index_free(struct maildir_index **idxp)
{
	struct maildir_index *idx = *idxp;

	if (idx == NULL)
		return;
	if (idx->recs_owned)
		free(idx->recs);
	if (idx->expunged_owned)
		free(idx->expunged);
	for (unsigned i = 0; i < idx->kw_count; i++)
		free(idx->kw[i]);
	free(idx->extra);
	if (idx->map != NULL)
		munmap(idx->map, idx->map_len);
	free(idx);
	*idxp = NULL;
}

static int index_corrupt(const char *dir, const char *why)
{
	maildir_api->log(PH_LOG_WARNING,
			 "%s/" INDEX_FILE " is corrupt (%s)"
			 "; rebuilding it from the files",
			 dir, why);
	return PH_EIO;
}

static int index_parse(const char *dir, struct maildir_index *idx,
		       const unsigned char *map, size_t len)
{
	struct index_header h;
	uint32_t crc;
	size_t off, need;
	const char *kw;

	if (len < sizeof(h))
		return index_corrupt(dir, "truncated header");
	memcpy(&h, map, sizeof(h));
	if (memcmp(h.magic, INDEX_MAGIC, 4) != 0 ||
	    h.version != INDEX_VERSION || h.endian != INDEX_ENDIAN ||
	    h.header_size != sizeof(h) ||
	    h.rec_size != sizeof(struct maildir_rec))
		return index_corrupt(dir, "unknown format");
	crc = h.header_crc;
	h.header_crc = 0;
	if (maildir_crc32c(0, &h, sizeof(h)) != crc)
		return index_corrupt(dir, "header checksum");
	if (h.kw_count > MAILDIR_KEYWORDS_MAX)
		return index_corrupt(dir, "keyword count");
	need = sizeof(h) + (size_t)h.count * sizeof(struct maildir_rec) +
	       (size_t)h.expunged_count * sizeof(struct maildir_expunged) +
	       h.kw_len + h.names_len;
	if (need != len)
		return index_corrupt(dir, "size");
	if (maildir_checksum(map + sizeof(h), len - sizeof(h)) != h.body_crc)
		return index_corrupt(dir, "checksum");

	idx->uidvalidity = h.uidvalidity;
	idx->uidnext = h.uidnext;
	idx->first_recent_uid = h.first_recent_uid;
	idx->highestmodseq = h.highestmodseq;
	idx->horizon_modseq = h.horizon_modseq;
	idx->generation = h.generation;
	idx->new_mtime_ns = h.new_mtime_ns;
	idx->cur_mtime_ns = h.cur_mtime_ns;
	off = sizeof(h);
	idx->recs = (struct maildir_rec *)(map + off);
	idx->count = idx->recs_alloc = h.count;
	idx->recs_owned = false;
	off += (size_t)h.count * sizeof(struct maildir_rec);
	idx->expunged = (struct maildir_expunged *)(map + off);
	idx->expunged_count = idx->expunged_alloc = h.expunged_count;
	idx->expunged_owned = false;
	off += (size_t)h.expunged_count * sizeof(struct maildir_expunged);
	kw = (const char *)map + off;
	for (uint32_t i = 0; i < h.kw_count; i++) {
		size_t n = strnlen(kw, (const char *)map + off + h.kw_len - kw);

		if (kw + n >= (const char *)map + off + h.kw_len)
			return index_corrupt(dir, "keywords");
		if ((idx->kw[i] = strdup(kw)) == NULL)
			return PH_ENOMEM;
		idx->kw_count++;
		kw += n + 1;
	}
	off += h.kw_len;
	idx->names = (const char *)map + off;
	idx->names_len = h.names_len;
	/* Every record must be usable without further checks. */
	for (uint32_t i = 0; i < h.count; i++) {
		const struct maildir_rec *r = &idx->recs[i];

		if ((uint64_t)r->name_off + r->name_len >= h.names_len ||
		    idx->names[r->name_off + r->name_len] != '\0' ||
		    r->name_len == 0 || r->uid == 0 || r->uid >= h.uidnext ||
		    (i > 0 && r->uid <= idx->recs[i - 1].uid) ||
		    (r->flags & ~PH_FLAGS_STORABLE) != 0 ||
		    r->modseq > h.highestmodseq)
			return index_corrupt(dir, "record");
	}
	return PH_OK;
}

int maildir_index_load(const char *dir, struct maildir_index **idx_r)
{
	char path[PATH_MAX];
	struct maildir_index *idx;
	struct stat st;
	void *map;
	int fd, ret;

	maildir_fmt(path, sizeof(path), "%s/" INDEX_FILE, dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? PH_ENOTFOUND : PH_EIO;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return PH_EIO;
	}
	if (st.st_size < (off_t)sizeof(struct index_header)) {
		close(fd);
		return index_corrupt(dir, "truncated");
	}
	/* Read-only and pre-faulted: a writable private mapping would be
	 * populated by copying every page. Writers copy the records first
	 * (maildir_index_make_mutable). */
	map = mmap(NULL, (size_t)st.st_size, PROT_READ,
		   MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return PH_EIO;
	idx = calloc(1, sizeof(*idx));
	if (idx == NULL) {
		munmap(map, (size_t)st.st_size);
		return PH_ENOMEM;
	}
	idx->map = map;
	idx->map_len = (size_t)st.st_size;
	idx->dev = st.st_dev;
	idx->ino = st.st_ino;
	ret = index_parse(dir, idx, map, (size_t)st.st_size);
	if (ret < 0) {
		idx->recs = NULL;
		idx->expunged = NULL;
		maildir_index_free(&idx);
		return ret;
	}
	*idx_r = idx;
	return PH_OK;
}

bool maildir_index_changed(const char *dir, const struct maildir_index *idx)
{
	char path[PATH_MAX];
	struct stat st;

	maildir_fmt(path, sizeof(path), "%s/" INDEX_FILE, dir);
	if (stat(path, &st) < 0)
		return true;
	return st.st_ino != idx->ino || st.st_dev != idx->dev;
}

const char *maildir_index_name(const struct maildir_index *idx,
			       const struct maildir_rec *rec)
{
	if (rec->name_off < idx->names_len)
		return idx->names + rec->name_off;
	return idx->extra + (rec->name_off - idx->names_len);
}

int64_t maildir_index_find(const struct maildir_index *idx, uint32_t uid)
{
	uint32_t lo = 0, hi = idx->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (idx->recs[mid].uid == uid)
			return mid;
		if (idx->recs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int maildir_index_set_name(struct maildir_index *idx, struct maildir_rec *rec,
			   const char *name, size_t len)
{
	uint64_t off = (uint64_t)idx->names_len + idx->extra_len;

	/* rec must already point into mutable records. */

	if (len == 0 || len > MAILDIR_FILENAME_MAX ||
	    off + len + 1 > UINT32_MAX)
		return PH_EINVAL;
	if (idx->extra_len + len + 1 > idx->extra_alloc) {
		uint32_t n = idx->extra_alloc ? idx->extra_alloc * 2 : 4096;
		char *p;

		while (n < idx->extra_len + len + 1)
			n *= 2;
		if ((p = realloc(idx->extra, n)) == NULL)
			return PH_ENOMEM;
		idx->extra = p;
		idx->extra_alloc = n;
	}
	memcpy(idx->extra + idx->extra_len, name, len);
	idx->extra[idx->extra_len + len] = '\0';
	rec->name_off = (uint32_t)off;
	rec->name_len = (uint32_t)len;
	idx->extra_len += (uint32_t)len + 1;
	return PH_OK;
}

int maildir_index_make_mutable(struct maildir_index *idx)
{
	if (!idx->recs_owned) {
		size_t n = idx->count ? idx->count : 1;
		struct maildir_rec *r = malloc(n * sizeof(*r));

		if (r == NULL)
			return PH_ENOMEM;
		if (idx->count > 0)
			memcpy(r, idx->recs, idx->count * sizeof(*r));
		idx->recs = r;
		idx->recs_alloc = (uint32_t)n;
		idx->recs_owned = true;
	}
	if (!idx->expunged_owned) {
		size_t n = idx->expunged_count ? idx->expunged_count : 1;
		struct maildir_expunged *e = malloc(n * sizeof(*e));

		if (e == NULL)
			return PH_ENOMEM;
		if (idx->expunged_count > 0)
			memcpy(e, idx->expunged,
			       idx->expunged_count * sizeof(*e));
		idx->expunged = e;
		idx->expunged_alloc = (uint32_t)n;
		idx->expunged_owned = true;
	}
	return PH_OK;
}

int maildir_index_append(struct maildir_index *idx,
			 const struct maildir_rec *rec, const char *name)
{
	int ret = maildir_index_make_mutable(idx);

	if (ret < 0)
		return ret;
	if (idx->count == idx->recs_alloc) {
		uint32_t n = idx->recs_alloc < 64 ? 64 : idx->recs_alloc * 2;
		struct maildir_rec *r = realloc(idx->recs, n * sizeof(*r));

		if (r == NULL)
			return PH_ENOMEM;
		idx->recs = r;
		idx->recs_alloc = n;
	}
	idx->recs[idx->count] = *rec;
	ret = maildir_index_set_name(idx, &idx->recs[idx->count], name,
				     strlen(name));
	if (ret < 0)
		return ret;
	idx->count++;
	if (rec->uid >= idx->uidnext)
		idx->uidnext = rec->uid + 1;
	return PH_OK;
}

int maildir_index_remove(struct maildir_index *idx, uint32_t pos,
			 uint64_t modseq, uint32_t horizon)
{
	int ret = maildir_index_make_mutable(idx);

	if (ret < 0)
		return ret;
	if (idx->expunged_count == idx->expunged_alloc) {
		uint32_t n =
		    idx->expunged_alloc < 64 ? 64 : idx->expunged_alloc * 2;
		struct maildir_expunged *e =
		    realloc(idx->expunged, n * sizeof(*e));

		if (e == NULL)
			return PH_ENOMEM;
		idx->expunged = e;
		idx->expunged_alloc = n;
	}
	idx->expunged[idx->expunged_count++] = (struct maildir_expunged){
	    .uid = idx->recs[pos].uid, .modseq = modseq};
	idx->recs[pos].flags |= MAILDIR_REC_REMOVED; /* dropped by compaction */
	(void)horizon;
	return PH_OK;
}

/* Drops removed records and expunges beyond the horizon. */
static void index_compact(struct maildir_index *idx, uint32_t horizon)
{
	uint32_t o = 0;

	/* Only a mutable index has removed records; a mapped one is left
	 * untouched unless the horizon forces a trim. */
	if (idx->recs_owned) {
		for (uint32_t i = 0; i < idx->count; i++)
			if ((idx->recs[i].flags & MAILDIR_REC_REMOVED) == 0)
				idx->recs[o++] = idx->recs[i];
		idx->count = o;
	}
	if (idx->expunged_count > horizon &&
	    maildir_index_make_mutable(idx) == PH_OK) {
		uint32_t drop = idx->expunged_count - horizon;

		for (uint32_t i = 0; i < drop; i++)
			if (idx->expunged[i].modseq > idx->horizon_modseq)
				idx->horizon_modseq = idx->expunged[i].modseq;
		memmove(idx->expunged, idx->expunged + drop,
			horizon * sizeof(*idx->expunged));
		idx->expunged_count = horizon;
	}
}

int maildir_index_keyword(struct maildir_index *idx, const char *name,
			  bool create, unsigned *index_r)
{
	for (unsigned i = 0; i < idx->kw_count; i++) {
		if (strcasecmp(idx->kw[i], name) == 0) {
			*index_r = i;
			return PH_OK;
		}
	}
	if (!maildir_keyword_valid(name))
		return PH_EINVAL;
	if (!create)
		return PH_ENOTFOUND;
	if (idx->kw_count == MAILDIR_KEYWORDS_MAX)
		return PH_ETOOBIG;
	if ((idx->kw[idx->kw_count] = strdup(name)) == NULL)
		return PH_ENOMEM;
	*index_r = idx->kw_count++;
	return PH_OK;
}

static int index_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return PH_EIO;
		p += n;
		len -= (size_t)n;
	}
	return PH_OK;
}

int maildir_index_write(const char *dir, struct maildir_index *idx,
			bool do_fsync)
{
	struct index_header h = {.version = INDEX_VERSION,
				 .header_size = sizeof(h),
				 .rec_size = sizeof(struct maildir_rec),
				 .endian = INDEX_ENDIAN};
	char path[PATH_MAX], tmp[PATH_MAX];
	size_t kw_len = 0, names_len = 0, off, total;
	unsigned char *buf;
	struct maildir_rec *out;
	struct stat st;
	int fd, ret;

	index_compact(idx, maildir_index_horizon);
	for (unsigned i = 0; i < idx->kw_count; i++)
		kw_len += strlen(idx->kw[i]) + 1;
	for (uint32_t i = 0; i < idx->count; i++)
		names_len += idx->recs[i].name_len + 1;
	if (names_len >= UINT32_MAX)
		return PH_ETOOBIG;
	memcpy(h.magic, INDEX_MAGIC, 4);
	h.uidvalidity = idx->uidvalidity;
	h.uidnext = idx->uidnext;
	h.first_recent_uid = idx->first_recent_uid;
	h.count = idx->count;
	h.expunged_count = idx->expunged_count;
	h.kw_count = idx->kw_count;
	h.kw_len = (uint32_t)kw_len;
	h.names_len = (uint32_t)names_len;
	h.highestmodseq = idx->highestmodseq;
	h.horizon_modseq = idx->horizon_modseq;
	h.generation = ++idx->generation;
	h.new_mtime_ns = idx->new_mtime_ns;
	h.cur_mtime_ns = idx->cur_mtime_ns;

	total = sizeof(h) + idx->count * sizeof(struct maildir_rec) +
		idx->expunged_count * sizeof(struct maildir_expunged) + kw_len +
		names_len;
	if ((buf = malloc(total)) == NULL)
		return PH_ENOMEM;
	off = sizeof(h);
	out = (struct maildir_rec *)(buf + off);
	off += idx->count * sizeof(struct maildir_rec);
	if (idx->expunged_count > 0)
		memcpy(buf + off, idx->expunged,
		       idx->expunged_count * sizeof(struct maildir_expunged));
	off += idx->expunged_count * sizeof(struct maildir_expunged);
	for (unsigned i = 0; i < idx->kw_count; i++) {
		size_t n = strlen(idx->kw[i]) + 1;

		memcpy(buf + off, idx->kw[i], n);
		off += n;
	}
	names_len = 0;
	for (uint32_t i = 0; i < idx->count; i++) {
		out[i] = idx->recs[i];
		out[i].name_off = (uint32_t)names_len;
		memcpy(buf + off + names_len,
		       maildir_index_name(idx, &idx->recs[i]),
		       idx->recs[i].name_len + 1);
		names_len += idx->recs[i].name_len + 1;
	}
	h.body_crc = maildir_checksum(buf + sizeof(h), total - sizeof(h));
	h.header_crc = maildir_crc32c(0, &h, sizeof(h));
	memcpy(buf, &h, sizeof(h));

	maildir_fmt(tmp, sizeof(tmp), "%s/" INDEX_TMP, dir);
	maildir_fmt(path, sizeof(path), "%s/" INDEX_FILE, dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		free(buf);
		return PH_EIO;
	}
	ret = index_write_all(fd, buf, total);
	free(buf);
	if (ret == PH_OK && do_fsync && fdatasync(fd) < 0)
		ret = PH_EIO;
	if (ret == PH_OK && fstat(fd, &st) < 0)
		ret = PH_EIO;
	close(fd);
	if (ret == PH_OK && rename(tmp, path) < 0)
		ret = PH_EIO;
	if (ret < 0) {
		unlink(tmp);
		maildir_api->log(PH_LOG_ERROR, "writing %s failed", path);
		return ret;
	}
	idx->dev = st.st_dev;
	idx->ino = st.st_ino;
	return PH_OK;
}
