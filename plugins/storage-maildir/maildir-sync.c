/* maildir-sync.c - keeping the index in step with the directories.
 *
 * The files are the truth. A warm open stats new/ and cur/ and compares
 * their mtimes (ns) with the ones the index recorded; only a difference
 * triggers a rescan, under the mailbox lock:
 *  - cur/ changed behind our back (a crash between a rename and the index
 *    write, another MUA): read every name, match index records by base
 *    name (a renamed file keeps its UID and gets the new flags), forget
 *    records whose file is gone (expunged), give unknown files fresh UIDs;
 *  - new/ changed (an MTA delivered): move each file to cur/ (adding
 *    ,S= and ,W= to its name) and give it the next UID.
 * new/ is written without our lock, so its mtime is trusted only once it
 * is more than a second old (timestamps are coarse: a delivery in the
 * same tick as our scan would otherwise go unseen); cur/ is changed only
 * under the lock, so the mtime after our own change is recorded as is.
 * A missing or corrupt index is rebuilt from the files, keeping UIDs and
 * UIDVALIDITY from posthorn-uidlist when that is readable. */
#include "maildir-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_FILE      "posthorn-lock"
#define TMP_STALE_SECS (36 * 3600)

/* A string table: base name -> slot, open addressing. */
struct strtab {
	const char **key;
	uint32_t *klen;
	uint32_t *val;
	size_t mask;
};

static uint32_t strtab_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static int strtab_init(struct strtab *t, size_t n)
{
	size_t size = 64;

	while (size < n * 2)
		size *= 2;
	t->mask = size - 1;
	t->key = calloc(size, sizeof(*t->key));
	t->klen = calloc(size, sizeof(*t->klen));
	t->val = calloc(size, sizeof(*t->val));
	return t->key && t->klen && t->val ? PH_OK : PH_ENOMEM;
}

static void strtab_free(struct strtab *t)
{
	free(t->key);
	free(t->klen);
	free(t->val);
}

static void strtab_put(struct strtab *t, const char *key, size_t len,
		       uint32_t val)
{
	size_t i = strtab_hash(key, len) & t->mask;

	while (t->key[i] != NULL) {
		if (t->klen[i] == len && memcmp(t->key[i], key, len) == 0)
			return; /* first one wins */
		i = (i + 1) & t->mask;
	}
	t->key[i] = key;
	t->klen[i] = (uint32_t)len;
	t->val[i] = val;
}

static int64_t strtab_get(const struct strtab *t, const char *key, size_t len)
{
	size_t i = strtab_hash(key, len) & t->mask;

	while (t->key[i] != NULL) {
		if (t->klen[i] == len && memcmp(t->key[i], key, len) == 0)
			return t->val[i];
		i = (i + 1) & t->mask;
	}
	return -1;
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static int64_t sub_mtime(const char *path, const char *sub)
{
	char p[PATH_MAX];
	struct stat st;

	maildir_fmt(p, sizeof(p), "%s/%s", path, sub);
	return stat(p, &st) < 0 ? -1 : mtime_ns(&st);
}

int maildir_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = PH_OK;

	if (fd < 0)
		return PH_EIO;
	if (fsync(fd) < 0)
		ret = PH_EIO;
	close(fd);
	return ret;
}

int maildir_dir_create(const char *path)
{
	static const char *const subs[] = {"cur", "new", "tmp"};
	char p[PATH_MAX];

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return errno == ENOENT ? PH_ENOTFOUND : PH_EIO;
	for (size_t i = 0; i < 3; i++) {
		maildir_fmt(p, sizeof(p), "%s/%s", path, subs[i]);
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return PH_EIO;
	}
	return PH_OK;
}

int maildir_file_vsize(int fd, uint64_t *vsize_r)
{
	char buf[65536];
	uint64_t size = 0, lf = 0;
	char prev = 0;
	off_t off = 0;
	ssize_t n;

	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' && prev != '\r')
				lf++;
			prev = buf[i];
		}
		size += (uint64_t)n;
		off += n;
	}
	if (n < 0)
		return PH_EIO;
	*vsize_r = size + lf;
	return PH_OK;
}

struct scan_entry {
	char *name;
	uint32_t base_len;
	unsigned char d_type; /* DT_UNKNOWN when the file system gives none */
	bool used;
};

struct scan {
	ph_mail_user *mu;
	const char *path;
	struct maildir_index *idx;
	uint64_t modseq; /* 0 until this scan changes something */
	bool dirty;
	bool removed; /* records dropped: the uid list is rewritten */
};

static uint64_t scan_modseq(struct scan *s)
{
	if (s->modseq == 0)
		s->modseq = ++s->idx->highestmodseq;
	s->dirty = true;
	return s->modseq;
}

static int scan_cmp(const void *a, const void *b)
{
	const struct scan_entry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static int scan_read_dir(const char *dir, struct scan_entry **v_r, size_t *n_r)
{
	struct scan_entry *v = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *d;
	DIR *dp = opendir(dir);

	if (dp == NULL)
		return errno == ENOENT ? PH_ENOTFOUND : PH_EIO;
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		if (n == alloc) {
			size_t na = alloc ? alloc * 2 : 256;
			void *p = realloc(v, na * sizeof(*v));

			if (p == NULL)
				goto nomem;
			v = p;
			alloc = na;
		}
		if ((v[n].name = strdup(d->d_name)) == NULL)
			goto nomem;
		v[n].base_len = (uint32_t)maildir_filename_base_len(v[n].name);
		v[n].d_type = d->d_type;
		v[n].used = false;
		n++;
	}
	closedir(dp);
	*v_r = v;
	*n_r = n;
	return PH_OK;
nomem:
	closedir(dp);
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return PH_ENOMEM;
}

static void scan_free(struct scan_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* Adds cur/name with `uid` (0: the next one). `st`: the file's stat when
 * the caller has it. Otherwise a regular file whose name carries its
 * size (,S=) is indexed from the directory entry alone, its date left
 * unknown: a cold scan of a big mailbox then reads only the directory,
 * not every inode (the view stats a file when its date is first asked
 * for). Anything else is stat()ed here as before. */
static int scan_add(struct scan *s, const char *name, uint32_t uid,
		    unsigned char d_type, const struct stat *st)
{
	char p[PATH_MAX];
	struct maildir_rec rec = {0};
	struct stat sb;

	maildir_filename_sizes(name, &rec.psize, &rec.vsize);
	rec.date = MAILDIR_DATE_UNKNOWN;
	if (st == NULL && (d_type != DT_REG || rec.psize == 0)) {
		maildir_fmt(p, sizeof(p), "%s/cur/%s", s->path, name);
		if (stat(p, &sb) < 0)
			return PH_OK; /* vanished: skip */
		st = &sb;
	}
	if (st != NULL) {
		if (!S_ISREG(st->st_mode))
			return PH_OK; /* not a message: skip */
		if (rec.psize == 0)
			rec.psize = (uint64_t)st->st_size;
		rec.date = st->st_mtim.tv_sec;
	}
	rec.uid = uid ? uid : s->idx->uidnext;
	rec.flags = maildir_filename_flags(name);
	rec.modseq = scan_modseq(s);
	return maildir_index_append(s->idx, &rec, name);
}

static int scan_cur(struct scan *s, const struct maildir_uidlist *ul)
{
	struct maildir_index *idx = s->idx;
	struct scan_entry *v;
	struct strtab tab = {0}, ultab = {0};
	size_t n, restored = 0;
	char dir[PATH_MAX];
	int ret;

	maildir_fmt(dir, sizeof(dir), "%s/cur", s->path);
	if ((ret = scan_read_dir(dir, &v, &n)) < 0)
		return ret;
	/* Delivery order is roughly name order (names start with the
	 * time), so new UIDs follow it. */
	if (n > 1)
		qsort(v, n, sizeof(*v), scan_cmp);
	if ((ret = strtab_init(&tab, n)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		strtab_put(&tab, v[i].name, v[i].base_len, (uint32_t)i);

	for (uint32_t i = 0; i < idx->count; i++) {
		struct maildir_rec *r = &idx->recs[i];
		const char *name = maildir_index_name(idx, r);
		int64_t e;

		if (r->flags & MAILDIR_REC_REMOVED)
			continue;
		e = strtab_get(&tab, name, maildir_filename_base_len(name));
		if (e < 0 || v[e].used) {
			s->removed = true;
			ret = maildir_index_remove(idx, i, scan_modseq(s));
			if (ret < 0)
				goto out;
			continue;
		}
		v[e].used = true;
		if (strcmp(v[e].name, name) != 0) {
			uint32_t flags = maildir_filename_flags(v[e].name);

			ret = maildir_index_set_name(idx, r, v[e].name,
						     strlen(v[e].name));
			if (ret < 0)
				goto out;
			if (flags != r->flags) {
				r->flags = flags;
				r->modseq = scan_modseq(s);
			}
			s->dirty = true;
		}
	}
	/* A rebuild keeps the UIDs the uid list remembers, in uid order. */
	if (ul != NULL && ul->count > 0) {
		uint32_t last = idx->count ? idx->recs[idx->count - 1].uid : 0;

		if ((ret = strtab_init(&ultab, ul->count)) < 0)
			goto out;
		for (size_t i = 0; i < ul->count; i++)
			strtab_put(&ultab, ul->e[i].base, strlen(ul->e[i].base),
				   (uint32_t)i);
		for (size_t i = 0; i < ul->count; i++) {
			int64_t e = strtab_get(&tab, ul->e[i].base,
					       strlen(ul->e[i].base));

			if (e < 0 || v[e].used || ul->e[i].uid <= last)
				continue;
			last = ul->e[i].uid;
			v[e].used = true;
			if ((ret = scan_add(s, v[e].name, ul->e[i].uid,
					    v[e].d_type, NULL)) < 0)
				goto out;
			restored++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!v[i].used &&
		    (ret = scan_add(s, v[i].name, 0, v[i].d_type, NULL)) < 0)
			goto out;
	}
	if (ul != NULL)
		maildir_api->log(PH_LOG_INFO,
				 "%s: index rebuilt, %zu UIDs kept from the "
				 "uid list",
				 s->path, restored);
	ret = PH_OK;
out:
	strtab_free(&tab);
	strtab_free(&ultab);
	scan_free(v, n);
	return ret;
}

/* Moves new/NAME to cur/BASE[,S=][,W=]:2,INFO and indexes it. */
static int scan_new_one(struct scan *s, const char *name)
{
	char from[PATH_MAX], to[PATH_MAX], newname[MAILDIR_FILENAME_MAX + 1];
	size_t base = maildir_filename_base_len(name);
	uint64_t psize, vsize;
	struct stat st;
	int fd, n;

	maildir_fmt(from, sizeof(from), "%s/new/%s", s->path, name);
	fd = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return PH_OK; /* gone already */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return PH_OK;
	}
	maildir_filename_sizes(name, &psize, &vsize);
	if (vsize == 0 && maildir_file_vsize(fd, &vsize) < 0)
		vsize = 0;
	close(fd);
	n = maildir_fmt(newname, sizeof(newname), "%.*s", (int)base, name);
	if (psize == 0 && vsize != 0)
		n += maildir_fmt(newname + n, sizeof(newname) - (size_t)n,
				 ",S=%lld,W=%" PRIu64, (long long)st.st_size,
				 vsize);
	n += maildir_fmt(newname + n, sizeof(newname) - (size_t)n, ":2,%s",
			 name[base] ? name + base + 3 : "");
	if (n >= (int)sizeof(newname))
		maildir_fmt(newname, sizeof(newname), "%s", name);
	for (int attempt = 0;; attempt++) {
		maildir_fmt(to, sizeof(to), "%s/cur/%s", s->path, newname);
		if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) ==
		    0)
			break;
		if (errno != EEXIST || attempt > 3)
			return errno == ENOENT ? PH_OK : PH_EIO;
		/* Name clash in cur/: give it a fresh base. */
		{
			char fresh[128];

			maildir_filename_new_base(fresh, sizeof(fresh));
			maildir_fmt(newname, sizeof(newname), "%s:2,", fresh);
		}
	}
	s->dirty = true;
	return scan_add(s, newname, 0, DT_REG, &st); /* rename keeps mtime */
}

static int scan_new(struct scan *s)
{
	struct scan_entry *v;
	char dir[PATH_MAX];
	size_t n;
	int ret;

	maildir_fmt(dir, sizeof(dir), "%s/new", s->path);
	if ((ret = scan_read_dir(dir, &v, &n)) < 0)
		return ret;
	if (n > 1)
		qsort(v, n, sizeof(*v), scan_cmp);
	for (size_t i = 0; i < n && ret == PH_OK; i++)
		ret = scan_new_one(s, v[i].name);
	scan_free(v, n);
	return ret;
}

/* Removes files left in tmp/ by crashed writers, after 36 hours like
 * every Maildir reader. */
static void scan_tmp(const char *path)
{
	char dir[PATH_MAX], p[PATH_MAX];
	time_t now = time(NULL);
	struct dirent *d;
	struct stat st;
	DIR *dp;

	maildir_fmt(dir, sizeof(dir), "%s/tmp", path);
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		maildir_fmt(p, sizeof(p), "%s/%s", dir, d->d_name);
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_atime < now - TMP_STALE_SECS &&
		    st.st_mtime < now - TMP_STALE_SECS)
			unlink(p);
	}
	closedir(dp);
}

bool maildir_sync_is_fresh(const char *path, const struct maildir_index *idx)
{
	return idx->new_mtime_ns != 0 &&
	       idx->new_mtime_ns == sub_mtime(path, "new") &&
	       idx->cur_mtime_ns == sub_mtime(path, "cur");
}

void maildir_sync_note_cur(const char *path, struct maildir_index *idx)
{
	idx->cur_mtime_ns = sub_mtime(path, "cur");
}

static int sync_rescan(ph_mail_user *mu, const char *path,
		       struct maildir_index **idxp)
{
	struct maildir_uidlist ul = {0};
	struct scan s = {.mu = mu, .path = path};
	bool fresh = *idxp == NULL, have_ul = false;
	uint32_t before;
	struct timespec now;
	int64_t new_mtime;
	int ret;

	if (fresh) {
		have_ul = maildir_uidlist_read(path, &ul) == PH_OK;
		*idxp = maildir_index_new(
		    have_ul ? ul.uidvalidity
			    : maildir_user_new_uidvalidity(mu));
		if (*idxp == NULL) {
			maildir_uidlist_clear(&ul);
			return PH_ENOMEM;
		}
		if (have_ul)
			(*idxp)->uidnext = ul.uidnext;
		s.dirty = true;
	} else if ((ret = maildir_index_make_mutable(*idxp)) < 0) {
		return ret;
	}
	s.idx = *idxp;
	before = s.idx->count;
	if (fresh || s.idx->cur_mtime_ns != sub_mtime(path, "cur")) {
		if ((ret = scan_cur(&s, have_ul ? &ul : NULL)) < 0)
			goto out;
		if (fresh && !have_ul && s.idx->count > 0)
			maildir_api->log(PH_LOG_WARNING,
					 "%s: uid list missing; %u messages "
					 "get new UIDs, UIDVALIDITY %u",
					 path, s.idx->count,
					 s.idx->uidvalidity);
	}
	new_mtime = sub_mtime(path, "new");
	if (s.idx->new_mtime_ns == 0 || s.idx->new_mtime_ns != new_mtime) {
		if ((ret = scan_new(&s)) < 0)
			goto out;
		scan_tmp(path);
		new_mtime = sub_mtime(path, "new");
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec - new_mtime <
	    1000000000)
		new_mtime = 0; /* too recent to trust; look again next time */
	if (new_mtime != s.idx->new_mtime_ns) {
		s.idx->new_mtime_ns = new_mtime;
		s.dirty = true;
	}
	if (s.idx->cur_mtime_ns != sub_mtime(path, "cur")) {
		maildir_sync_note_cur(path, s.idx);
		s.dirty = true;
	}
	ret = PH_OK;
	if (s.dirty) {
		bool do_fsync = mu->storage->set.fsync;

		/* The uid list first: it must never lag behind the index.
		 * Only new messages (an MTA's delivery): append to it. */
		ret =
		    fresh || s.removed
			? maildir_uidlist_rewrite(path, s.idx, do_fsync)
			: maildir_uidlist_append(path, s.idx, before, do_fsync);
		if (ret == PH_OK)
			ret = maildir_index_write(path, s.idx, do_fsync);
	}
out:
	maildir_uidlist_clear(&ul);
	return ret;
}

int maildir_sync_index(ph_mail_user *mu, const char *path, bool locked,
		       struct maildir_index **idx_r, const char **error_r)
{
	struct maildir_index *idx = NULL;
	int lock_fd = -1, ret;

	ret = maildir_index_load(path, &idx);
	if (ret == PH_ENOMEM)
		return ret;
	if (idx != NULL && maildir_sync_is_fresh(path, idx)) {
		*idx_r = idx;
		return PH_OK;
	}
	if (!locked) {
		lock_fd = maildir_lock_take(path, LOCK_FILE);
		if (lock_fd < 0) {
			maildir_index_free(&idx);
			*error_r = lock_fd == PH_ENOTFOUND
				       ? "mailbox does not exist"
				       : "mailbox is locked, try again";
			return lock_fd;
		}
		/* Someone may have synced while we waited. */
		maildir_index_free(&idx);
		ret = maildir_index_load(path, &idx);
		if (ret == PH_ENOMEM)
			goto out;
		if (idx != NULL && maildir_sync_is_fresh(path, idx))
			goto out;
	}
	ret = sync_rescan(mu, path, &idx);
	if (ret < 0) {
		maildir_index_free(&idx);
		*error_r = ret == PH_ENOMEM ? "out of memory"
					    : "cannot read the mailbox";
	}
out:
	maildir_lock_release(&lock_fd);
	if (ret >= 0) {
		*idx_r = idx;
		ret = PH_OK;
	}
	return ret;
}
