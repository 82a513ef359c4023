/* maildir-index.c - the per-mailbox binary index, posthorn-index.
 *
 * Layout (host byte order; a foreign or unknown-version file fails the
 * checks and is rebuilt from the files, which are the truth; version 1
 * is read as is, see INDEX_VERSION):
 *   header (struct index_header, CRC-32C of itself, SELECT counters)
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
 * Single-command flag changes (the common STORE) do not rewrite it: they
 * append one entry to posthorn-index.log (records' new flags, keywords,
 * modseq and file name, the new cur/ mtime and HIGHESTMODSEQ, one CRC),
 * which readers replay on load. The log names the index generation it
 * belongs to; every full write starts a new generation and removes the
 * log; a STORE that would take the log past LOG_MAX (64 KiB, a few hundred
 * single-message STOREs) writes the index instead, so replay stays cheap.
 *
 * Loading mmap()s the file read-only: opening a big mailbox costs a
 * checksum pass and no copy; the records are copied to the heap only by
 * a writer (maildir_index_make_mutable).
 *
 * The checksum and the per-record checks run once per index file and
 * thread: a file that passed them is remembered by identity (device,
 * inode, size, mtime, ctime, generation and body CRC from its header),
 * and loading the same file again (the next SELECT) checks only its
 * header. An index is replaced by rename(), never written in place, and
 * an in-place write changes its ctime; a mapping in use already trusts
 * the bytes it checked at load for as long as it is held. */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define INDEX_FILE  "posthorn-index"
#define INDEX_TMP   "posthorn-index.tmp"
#define LOG_FILE    "posthorn-index.log"
#define LOG_MAGIC   "PHL1"
#define LOG_MAX	    (64 * 1024)
#define INDEX_MAGIC "PHIX"
/* 2: a record's date may be MAILDIR_DATE_UNKNOWN (indexed without a
 * stat), and the header carries the SELECT counters after header_crc.
 * A version 1 file (104-byte header, every date known) is read as it is;
 * older binaries refuse version 2 and rebuild. */
#define INDEX_VERSION	    2
#define INDEX_VERSION_V1    1
#define INDEX_V1_HEADER_LEN 104
#define INDEX_ENDIAN	    0x01020304u

uint32_t maildir_index_horizon = 10000;

/* Index files this thread checked whole (see the top comment). */
struct index_checked {
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns, ctime_ns;
	uint64_t generation;
	uint32_t body_crc;
	bool used;
};
#define INDEX_CHECKED_MAX 8
static _Thread_local struct index_checked index_checked[INDEX_CHECKED_MAX];
static _Thread_local unsigned index_checked_next;

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
	/* Version 2 and later (pad = 1: valid): */
	uint32_t unseen, first_unseen;
	uint64_t size_sum;
};

struct log_header {
	char magic[4];
	uint32_t pad;
	uint64_t generation;
};

/* One STORE command. `len` counts the bytes after itself; `crc` covers
 * them. Followed by `count` log_recs, each followed by its name padded
 * to 8 bytes. */
struct log_entry {
	uint32_t crc;
	uint32_t len;
	uint64_t highestmodseq;
	int64_t cur_mtime_ns;
	uint32_t count;
	uint32_t pad;
};

struct log_rec {
	uint32_t uid;
	uint32_t flags;
	uint64_t keywords;
	uint64_t modseq;
	uint32_t name_len;
	uint32_t pad;
};

_Static_assert(sizeof(struct index_header) == 120, "index header layout");
_Static_assert(offsetof(struct index_header, unseen) == INDEX_V1_HEADER_LEN,
	       "version 1 header is a prefix");
_Static_assert(sizeof(struct log_entry) == 32, "log entry layout");
_Static_assert(sizeof(struct log_rec) == 32, "log record layout");
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

static struct index_checked index_identity(const struct stat *st,
					   const unsigned char *map, size_t len)
{
	struct index_checked k = {
	    .dev = st->st_dev,
	    .ino = st->st_ino,
	    .size = st->st_size,
	    .mtime_ns = st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec,
	    .ctime_ns = st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec,
	    .used = true,
	};
	struct index_header h;

	if (len >= INDEX_V1_HEADER_LEN) {
		memcpy(&h, map, INDEX_V1_HEADER_LEN);
		k.generation = h.generation;
		k.body_crc = h.body_crc;
	}
	return k;
}

static bool index_was_checked(const struct index_checked *k)
{
	for (unsigned i = 0; i < INDEX_CHECKED_MAX; i++) {
		const struct index_checked *c = &index_checked[i];

		if (c->used && c->dev == k->dev && c->ino == k->ino &&
		    c->size == k->size && c->mtime_ns == k->mtime_ns &&
		    c->ctime_ns == k->ctime_ns &&
		    c->generation == k->generation &&
		    c->body_crc == k->body_crc)
			return true;
	}
	return false;
}

static void index_note_checked(const struct index_checked *k)
{
	index_checked[index_checked_next] = *k;
	index_checked_next = (index_checked_next + 1) % INDEX_CHECKED_MAX;
}

/* `checked`: this thread already checked these bytes whole: only the
 * header is checked again. */
static int index_parse(const char *dir, struct maildir_index *idx,
		       const unsigned char *map, size_t len, bool checked)
{
	struct index_header h = {0};
	uint32_t crc;
	size_t off, need, hlen;
	const char *kw;

	if (len < INDEX_V1_HEADER_LEN)
		return index_corrupt(dir, "truncated header");
	memcpy(&h, map, INDEX_V1_HEADER_LEN);
	hlen = h.version == INDEX_VERSION_V1 ? INDEX_V1_HEADER_LEN : sizeof(h);
	if (memcmp(h.magic, INDEX_MAGIC, 4) != 0 ||
	    (h.version != INDEX_VERSION && h.version != INDEX_VERSION_V1) ||
	    h.endian != INDEX_ENDIAN || h.header_size != hlen ||
	    h.rec_size != sizeof(struct maildir_rec) || len < hlen)
		return index_corrupt(dir, "unknown format");
	memcpy(&h, map, hlen);
	crc = h.header_crc;
	h.header_crc = 0;
	if (maildir_crc32c(0, &h, hlen) != crc)
		return index_corrupt(dir, "header checksum");
	if (h.kw_count > MAILDIR_KEYWORDS_MAX)
		return index_corrupt(dir, "keyword count");
	need = hlen + (size_t)h.count * sizeof(struct maildir_rec) +
	       (size_t)h.expunged_count * sizeof(struct maildir_expunged) +
	       h.kw_len + h.names_len;
	if (need != len)
		return index_corrupt(dir, "size");
	if (!checked && maildir_checksum(map + hlen, len - hlen) != h.body_crc)
		return index_corrupt(dir, "checksum");

	idx->uidvalidity = h.uidvalidity;
	idx->uidnext = h.uidnext;
	idx->first_recent_uid = h.first_recent_uid;
	idx->highestmodseq = h.highestmodseq;
	idx->horizon_modseq = h.horizon_modseq;
	idx->generation = h.generation;
	idx->new_mtime_ns = h.new_mtime_ns;
	idx->cur_mtime_ns = h.cur_mtime_ns;
	idx->counters_valid = h.version != INDEX_VERSION_V1 && h.pad == 1 &&
			      h.unseen <= h.count &&
			      h.first_unseen <= h.count &&
			      (h.unseen == 0) == (h.first_unseen == 0);
	idx->unseen = h.unseen;
	idx->first_unseen = h.first_unseen;
	idx->size_sum = h.size_sum;
	off = hlen;
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
	if (checked)
		return PH_OK;
	/* Names become paths under cur/: none may hold a '/' (one pass over
	 * the blob) or start with '.' or be empty (checked per record). */
	if (h.names_len > 0 && memchr(idx->names, '/', h.names_len) != NULL)
		return index_corrupt(dir, "file name");
	/* Every record must be usable without further checks. */
	for (uint32_t i = 0; i < h.count; i++) {
		const struct maildir_rec *r = &idx->recs[i];

		if ((uint64_t)r->name_off + r->name_len >= h.names_len ||
		    idx->names[r->name_off + r->name_len] != '\0' ||
		    idx->names[r->name_off] == '.' ||
		    idx->names[r->name_off] == '\0' || r->name_len == 0 ||
		    r->uid == 0 || r->uid >= h.uidnext ||
		    (i > 0 && r->uid <= idx->recs[i - 1].uid) ||
		    (r->flags & ~PH_FLAGS_STORABLE) != 0 ||
		    r->modseq > h.highestmodseq)
			return index_corrupt(dir, "record");
	}
	return PH_OK;
}

#define LOG_PAD8(n) (((n) + 7) & ~(size_t)7)

/* Applies one log entry; PH_EINVAL when it does not fit. */
static int log_apply(struct maildir_index *idx, const unsigned char *p,
		     size_t len, const struct log_entry *e)
{
	size_t off = sizeof(*e);

	for (uint32_t i = 0; i < e->count; i++) {
		struct log_rec r;
		int64_t pos;

		if (off + sizeof(r) > len)
			return PH_EINVAL;
		memcpy(&r, p + off, sizeof(r));
		off += sizeof(r);
		if (r.name_len == 0 || r.name_len > MAILDIR_FILENAME_MAX ||
		    off + LOG_PAD8(r.name_len) > len ||
		    (r.flags & ~PH_FLAGS_STORABLE) != 0 ||
		    memchr(p + off, '\0', r.name_len) != NULL ||
		    memchr(p + off, '/', r.name_len) != NULL || p[off] == '.')
			return PH_EINVAL;
		pos = maildir_index_find(idx, r.uid);
		if (pos >= 0) {
			struct maildir_rec *rec = &idx->recs[pos];

			rec->flags = r.flags;
			rec->keywords = r.keywords;
			rec->modseq = r.modseq;
			if (maildir_index_set_name(idx, rec,
						   (const char *)p + off,
						   r.name_len) < 0)
				return PH_ENOMEM;
		}
		off += LOG_PAD8(r.name_len);
	}
	if (e->highestmodseq > idx->highestmodseq)
		idx->highestmodseq = e->highestmodseq;
	idx->cur_mtime_ns = e->cur_mtime_ns;
	return PH_OK;
}

/* Replays posthorn-index.log onto a freshly loaded index. A log of
 * another generation is stale (a crash after the index was rewritten)
 * and ignored; a torn or damaged entry ends the replay. */
static int index_log_replay(const char *dir, struct maildir_index *idx)
{
	char path[PATH_MAX];
	struct log_header h;
	unsigned char *buf;
	struct stat st;
	size_t off;
	int fd, ret = PH_OK;

	maildir_fmt(path, sizeof(path), "%s/" LOG_FILE, dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return PH_OK;
	if (fstat(fd, &st) < 0 || st.st_size > 16 * LOG_MAX ||
	    st.st_size < (off_t)sizeof(h) ||
	    (buf = malloc((size_t)st.st_size)) == NULL) {
		idx->log_size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
		close(fd);
		return PH_OK;
	}
	idx->log_size = (uint64_t)st.st_size;
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
		goto out;
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, LOG_MAGIC, 4) != 0 ||
	    h.generation != idx->generation)
		goto out;
	off = sizeof(h);
	while (off + sizeof(struct log_entry) <= (size_t)st.st_size) {
		struct log_entry e;

		memcpy(&e, buf + off, sizeof(e));
		if (e.len < sizeof(e) - 8 ||
		    off + 8 + e.len > (size_t)st.st_size ||
		    maildir_crc32c(0, buf + off + 8, e.len) != e.crc)
			break; /* torn: the next sync rescans */
		if ((ret = maildir_index_make_mutable(idx)) < 0 ||
		    (ret = log_apply(idx, buf + off, 8 + e.len, &e)) < 0)
			break;
		off += 8 + e.len;
	}
	/* What follows a bad entry is not replayed; the recorded size is
	 * still the whole file so the next check does not loop on it. */
	if (ret == PH_EINVAL)
		ret = PH_OK;
out:
	free(buf);
	close(fd);
	return ret;
}

int maildir_index_log_changes(const char *dir, struct maildir_index *idx,
			      const uint32_t *pos, size_t n, bool do_fsync)
{
	char path[PATH_MAX];
	struct log_header h = {.generation = idx->generation};
	struct log_entry e = {.highestmodseq = idx->highestmodseq,
			      .cur_mtime_ns = idx->cur_mtime_ns,
			      .count = (uint32_t)n};
	size_t len = sizeof(e), off = 0;
	unsigned char *buf;
	struct stat st;
	int fd, ret = PH_OK;

	if (idx->log_size > LOG_MAX || n > 100000)
		return PH_ETOOBIG;
	for (size_t i = 0; i < n; i++)
		len += sizeof(struct log_rec) +
		       LOG_PAD8(idx->recs[pos[i]].name_len);
	/* Readers replay the whole log on every load: keep it short. A
	 * big STORE is one index write anyway. */
	if (idx->log_size + len > LOG_MAX)
		return PH_ETOOBIG;
	if ((buf = calloc(1, sizeof(h) + len)) == NULL)
		return PH_ENOMEM;
	maildir_fmt(path, sizeof(path), "%s/" LOG_FILE, dir);
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	/* Only a log this index has replayed entirely may grow. */
	if (fd < 0 || fstat(fd, &st) < 0 ||
	    (uint64_t)st.st_size != idx->log_size) {
		ret = PH_ETOOBIG;
		goto out;
	}
	if (st.st_size > 0 &&
	    (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	     memcmp(h.magic, LOG_MAGIC, 4) != 0 ||
	     h.generation != idx->generation)) {
		ret = PH_ETOOBIG; /* a stale log: fold it in */
		goto out;
	}
	if (st.st_size == 0) {
		memcpy(h.magic, LOG_MAGIC, 4);
		memcpy(buf, &h, sizeof(h));
		off = sizeof(h);
	}
	e.len = (uint32_t)(len - 8);
	{
		unsigned char *p = buf + off + sizeof(e);

		for (size_t i = 0; i < n; i++) {
			const struct maildir_rec *r = &idx->recs[pos[i]];
			struct log_rec lr = {.uid = r->uid,
					     .flags = r->flags,
					     .keywords = r->keywords,
					     .modseq = r->modseq,
					     .name_len = r->name_len};

			memcpy(p, &lr, sizeof(lr));
			memcpy(p + sizeof(lr), maildir_index_name(idx, r),
			       r->name_len);
			p += sizeof(lr) + LOG_PAD8(r->name_len);
		}
	}
	memcpy(buf + off, &e, sizeof(e));
	e.crc = maildir_crc32c(0, buf + off + 8, e.len);
	memcpy(buf + off, &e, sizeof(e));
	/* One write: an entry is either whole or fails its CRC. */
	if (write(fd, buf, off + len) != (ssize_t)(off + len) ||
	    (do_fsync && fdatasync(fd) < 0)) {
		ret = PH_EIO;
		goto out;
	}
	idx->log_size = (uint64_t)st.st_size + off + len;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

int maildir_index_load(const char *dir, struct maildir_index **idx_r)
{
	char path[PATH_MAX];
	struct maildir_index *idx;
	struct index_checked id;
	struct stat st;
	bool checked;
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
	if (st.st_size < INDEX_V1_HEADER_LEN) {
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
	id = index_identity(&st, map, (size_t)st.st_size);
	checked = index_was_checked(&id);
	ret = index_parse(dir, idx, map, (size_t)st.st_size, checked);
	if (ret == PH_OK && !checked)
		index_note_checked(&id);
	if (ret == PH_OK)
		ret = index_log_replay(dir, idx);
	if (ret < 0) {
		if (!idx->recs_owned)
			idx->recs = NULL;
		if (!idx->expunged_owned)
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
	if (st.st_ino != idx->ino || st.st_dev != idx->dev)
		return true;
	maildir_fmt(path, sizeof(path), "%s/" LOG_FILE, dir);
	if (stat(path, &st) < 0)
		return idx->log_size != 0;
	return (uint64_t)st.st_size != idx->log_size;
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
	idx->counters_valid = false; /* the caller is about to change recs */
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
			 uint64_t modseq)
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
	idx->unseen = idx->first_unseen = 0;
	idx->size_sum = 0;
	for (uint32_t i = 0; i < idx->count; i++) {
		const struct maildir_rec *r = &idx->recs[i];

		if (!(r->flags & PH_FLAG_SEEN) && idx->unseen++ == 0)
			idx->first_unseen = i + 1;
		idx->size_sum += r->vsize ? r->vsize : r->psize;
		out[i] = idx->recs[i];
		out[i].name_off = (uint32_t)names_len;
		memcpy(buf + off + names_len,
		       maildir_index_name(idx, &idx->recs[i]),
		       idx->recs[i].name_len + 1);
		names_len += idx->recs[i].name_len + 1;
	}
	h.pad = 1; /* counters valid */
	h.unseen = idx->unseen;
	h.first_unseen = idx->first_unseen;
	h.size_sum = idx->size_sum;
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
	idx->counters_valid = true;
	/* The log belonged to the previous generation. */
	maildir_fmt(path, sizeof(path), "%s/" LOG_FILE, dir);
	unlink(path);
	idx->log_size = 0;
	return PH_OK;
}
