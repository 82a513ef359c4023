/* maildir-store.c - flag stores, expunges, copies and moves of a view's
 * messages. Each call is one short critical section under the mailbox
 * lock: bring the index up to date, change the files (rename, unlink,
 * link), write the index once. A crash between the file change and the
 * index write is repaired by the next rescan (cur/ mtime changed). */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_FILE "posthorn-lock"

static int store_check_seqs(ph_mailbox *box, const uint32_t *seqs, size_t count,
			    const char **error_r)
{
	for (size_t i = 0; i < count; i++) {
		if (seqs[i] == 0 || seqs[i] > box->count) {
			*error_r = "no such message";
			return PH_EINVAL;
		}
	}
	if (maildir_view_msgs(box) < 0) {
		*error_r = "out of memory";
		return PH_ENOMEM;
	}
	return PH_OK;
}

/* Locks the view's mailbox and returns its up-to-date index. */
static int store_begin(ph_mailbox *box, int *lock_r,
		       struct maildir_index **idx_r, const char **error_r)
{
	int ret;

	*lock_r = maildir_lock_take(box->path, LOCK_FILE);
	if (*lock_r < 0) {
		*error_r = *lock_r == PH_ENOTFOUND ? "mailbox was deleted"
						   : "mailbox is locked";
		return *lock_r == PH_ENOTFOUND ? PH_ENOTFOUND : PH_ETEMP;
	}
	ret = maildir_sync_index(box->mu, box->path, true, idx_r, error_r);
	if (ret == PH_OK && (ret = maildir_index_make_mutable(*idx_r)) < 0)
		maildir_index_free(idx_r);
	if (ret < 0)
		maildir_lock_release(lock_r);
	return ret;
}

/* Writes the index (when changed) and releases the lock; the view adopts
 * the new index. */
static int store_end(ph_mailbox *box, int *lock, struct maildir_index *idx,
		     bool changed, const char **error_r)
{
	int ret = PH_OK;

	if (changed) {
		maildir_sync_note_cur(box->path, idx);
		ret = maildir_index_write(box->path, idx,
					  box->mu->storage->set.fsync);
		if (ret < 0)
			*error_r = "cannot write the index";
	}
	maildir_lock_release(lock);
	if (ret < 0) {
		maildir_index_free(&idx);
		return ret;
	}
	maildir_view_adopt(box, idx);
	return PH_OK;
}

int maildir_messages_store(ph_mailbox *box, const uint32_t *seqs, size_t count,
			   const struct ph_store_request *req,
			   uint32_t *conflicts_r, size_t *conflict_count_r,
			   const char **error_r)
{
	struct maildir_index *idx;
	uint64_t modseq = 0;
	size_t nconf = 0, nchanged = 0;
	uint32_t *changed;
	int lock, ret;

	box->status_valid = false; /* flags of the view change below */
	if (conflict_count_r != NULL)
		*conflict_count_r = 0;
	if (box->readonly) {
		*error_r = "mailbox is read-only";
		return PH_EPERM;
	}
	if ((ret = store_check_seqs(box, seqs, count, error_r)) < 0)
		return ret;
	if ((changed = malloc((count ? count : 1) * sizeof(*changed))) == NULL)
		return PH_ENOMEM;
	if ((ret = store_begin(box, &lock, &idx, error_r)) < 0) {
		free(changed);
		return ret;
	}
	for (size_t i = 0; i < count; i++) {
		struct maildir_vmsg *m = &box->msgs[seqs[i] - 1];
		struct maildir_rec *r;
		uint32_t nf;
		uint64_t nk;
		int64_t pos;

		if (m->flags &
			(MAILDIR_VFLAG_EXPUNGED | MAILDIR_VFLAG_OWN_EXPUNGE) ||
		    (pos = maildir_index_find(idx, m->uid)) < 0 ||
		    (idx->recs[pos].flags & MAILDIR_REC_REMOVED))
			continue; /* expunged meanwhile: nothing to store */
		r = &idx->recs[pos];
		if (req->unchangedsince != 0 &&
		    r->modseq > req->unchangedsince) {
			if (conflicts_r != NULL)
				conflicts_r[nconf] = seqs[i];
			nconf++;
			continue;
		}
		switch (req->mode) {
		case PH_STORE_ADD:
			nf = r->flags | (req->flags & PH_FLAGS_STORABLE);
			nk = r->keywords | req->keywords;
			break;
		case PH_STORE_REMOVE:
			nf = r->flags & ~req->flags;
			nk = r->keywords & ~req->keywords;
			break;
		default:
			nf = req->flags & PH_FLAGS_STORABLE;
			nk = req->keywords;
			break;
		}
		if (nf != r->flags) {
			char from[PATH_MAX], to[PATH_MAX];
			char name[MAILDIR_FILENAME_MAX + 1];
			const char *old = maildir_index_name(idx, r);
			int len = maildir_filename_set_flags(old, nf, name,
							     sizeof(name));

			if (len < 0)
				continue;
			maildir_fmt(from, sizeof(from), "%s/cur/%s", box->path,
				    old);
			maildir_fmt(to, sizeof(to), "%s/cur/%s", box->path,
				    name);
			if (rename(from, to) < 0)
				continue; /* vanished: the next sync tells */
			if (maildir_index_set_name(idx, r, name, (size_t)len) <
			    0)
				continue;
		} else if (nk == r->keywords) {
			/* No change: keep the modseq; the view learns the
			 * current state. */
			m->flags = (m->flags & ~PH_FLAGS_STORABLE) | r->flags;
			m->keywords = r->keywords;
			m->modseq = r->modseq;
			continue;
		}
		if (modseq == 0)
			modseq = ++idx->highestmodseq;
		r->flags = nf;
		r->keywords = nk;
		r->modseq = modseq;
		changed[nchanged++] = (uint32_t)pos;
		m->flags = (m->flags & ~PH_FLAGS_STORABLE) | nf;
		m->keywords = nk;
		m->modseq = modseq;
	}
	if (conflict_count_r != NULL)
		*conflict_count_r = nconf;
	if (modseq != 0) {
		/* The common case: log the changes, no index rewrite. */
		maildir_sync_note_cur(box->path, idx);
		ret =
		    maildir_index_log_changes(box->path, idx, changed, nchanged,
					      box->mu->storage->set.fsync);
		if (ret == PH_OK) {
			free(changed);
			maildir_lock_release(&lock);
			maildir_view_adopt(box, idx);
			return PH_OK;
		}
	}
	free(changed);
	return store_end(box, &lock, idx, modseq != 0, error_r);
}

int maildir_messages_expunge(ph_mailbox *box, const uint32_t *seqs,
			     size_t count, const char **error_r)
{
	struct maildir_index *idx;
	uint64_t modseq = 0;
	int lock, ret;

	if (box->readonly) {
		*error_r = "mailbox is read-only";
		return PH_EPERM;
	}
	if ((ret = store_check_seqs(box, seqs, count, error_r)) < 0 ||
	    (ret = store_begin(box, &lock, &idx, error_r)) < 0)
		return ret;
	for (size_t i = 0; i < count; i++) {
		struct maildir_vmsg *m = &box->msgs[seqs[i] - 1];
		char path[PATH_MAX];
		int64_t pos = maildir_index_find(idx, m->uid);

		if (pos < 0 || (idx->recs[pos].flags & MAILDIR_REC_REMOVED))
			continue;
		maildir_fmt(path, sizeof(path), "%s/cur/%s", box->path,
			    maildir_index_name(idx, &idx->recs[pos]));
		if (unlink(path) < 0 && errno != ENOENT)
			continue;
		if (modseq == 0)
			modseq = ++idx->highestmodseq;
		if (maildir_index_remove(idx, (uint32_t)pos, modseq) < 0)
			break;
		m->flags |= MAILDIR_VFLAG_OWN_EXPUNGE;
	}
	return store_end(box, &lock, idx, modseq != 0, error_r);
}

/* Copies a file's bytes when link() cannot (another file system). */
static int copy_bytes(const char *from, const char *tmp_path)
{
	char buf[65536];
	struct stat st;
	int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), out, ret = 0;
	ssize_t n;

	if (in < 0)
		return -1;
	out = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			ret = -1;
			break;
		}
	if (n < 0)
		ret = -1;
	if (ret == 0 && fstat(in, &st) == 0) {
		struct timespec ts[2] = {st.st_atim, st.st_mtim};

		futimens(out, ts);
	}
	if (fsync(out) < 0)
		ret = -1;
	close(in);
	if (close(out) < 0)
		ret = -1;
	return ret;
}

struct copy_item {
	struct maildir_rec rec;
	char name[MAILDIR_FILENAME_MAX + 1];
};

/* Links (or copies) the file of view message m into dest/cur. */
static int copy_one(ph_mailbox *box, struct maildir_vmsg *m, const char *dest,
		    struct copy_item *it)
{
	char from[PATH_MAX], to[PATH_MAX], tmp[PATH_MAX], base[128];
	const char *src;
	size_t sbase;

	if (m->rec == MAILDIR_NO_REC || (m->flags & MAILDIR_VFLAG_EXPUNGED))
		return PH_ENOTFOUND;
	src = maildir_index_name(box->idx, &box->idx->recs[m->rec]);
	sbase = maildir_filename_base_len(src);
	maildir_filename_new_base(base, sizeof(base));
	maildir_fmt(it->name, sizeof(it->name),
		    "%s,S=%" PRIu64 ",W=%" PRIu64 "%s", base, m->psize,
		    m->vsize ? m->vsize : m->psize,
		    src[sbase] ? src + sbase : "");
	it->rec = (struct maildir_rec){.flags = m->flags & PH_FLAGS_STORABLE,
				       .vsize = m->vsize,
				       .psize = m->psize,
				       .date = maildir_view_date(box, m)};
	if (m->vsize == 0) /* size unknown: no ,W= in the new name */
		maildir_fmt(it->name, sizeof(it->name), "%s,S=%" PRIu64 "%s",
			    base, m->psize, src[sbase] ? src + sbase : "");
	maildir_fmt(to, sizeof(to), "%s/cur/%s", dest, it->name);
	for (int attempt = 0; attempt < 2; attempt++) {
		maildir_fmt(from, sizeof(from), "%s/cur/%s", box->path, src);
		if (link(from, to) == 0)
			return PH_OK;
		if (errno == EXDEV) {
			maildir_fmt(tmp, sizeof(tmp), "%s/tmp/%s", dest, base);
			if (copy_bytes(from, tmp) < 0 || rename(tmp, to) < 0) {
				unlink(tmp);
				return PH_EIO;
			}
			return PH_OK;
		}
		if (errno != ENOENT || attempt > 0)
			break;
		/* Renamed by another session since the view loaded: ask the
		 * index for the current name once. */
		{
			struct maildir_index *fresh = NULL;
			const char *error;
			int64_t pos;

			if (maildir_sync_index(box->mu, box->path, false,
					       &fresh, &error) < 0)
				return PH_ENOTFOUND;
			pos = maildir_index_find(fresh, m->uid);
			if (pos < 0) {
				maildir_index_free(&fresh);
				return PH_ENOTFOUND;
			}
			if (maildir_index_make_mutable(box->idx) < 0) {
				maildir_index_free(&fresh);
				return PH_ENOMEM;
			}
			maildir_index_set_name(
			    box->idx, &box->idx->recs[m->rec],
			    maildir_index_name(fresh, &fresh->recs[pos]),
			    fresh->recs[pos].name_len);
			src = maildir_index_name(box->idx,
						 &box->idx->recs[m->rec]);
			maildir_index_free(&fresh);
		}
	}
	return errno == ENOENT ? PH_ENOTFOUND : PH_EIO;
}

int maildir_messages_copy(ph_mailbox *box, const uint32_t *seqs, size_t count,
			  const char *dest, int move,
			  uint32_t *dest_uidvalidity_r, uint32_t *dest_uids_r,
			  const char **error_r)
{
	char dpath[PATH_MAX];
	struct maildir_index *didx = NULL;
	struct copy_item *items;
	struct stat st;
	uint32_t first;
	uint64_t modseq;
	bool inbox, same;
	size_t done = 0;
	int lock, ret;

	if (move && box->readonly) {
		*error_r = "mailbox is read-only";
		return PH_EPERM;
	}
	if ((ret = store_check_seqs(box, seqs, count, error_r)) < 0 ||
	    (ret = maildir_user_mailbox_path(
		 box->mu, dest, dpath, sizeof(dpath), &inbox, error_r)) < 0)
		return ret;
	if (!inbox && stat(dpath, &st) < 0) {
		*error_r = "destination mailbox does not exist";
		return PH_ENOTFOUND;
	}
	same = strcmp(dpath, box->path) == 0;
	if ((items = calloc(count ? count : 1, sizeof(*items))) == NULL)
		return PH_ENOMEM;
	if ((lock = maildir_lock_take(dpath, LOCK_FILE)) < 0) {
		free(items);
		*error_r = "destination mailbox is locked";
		return lock;
	}
	if ((ret = maildir_sync_index(box->mu, dpath, true, &didx, error_r)) <
	    0)
		goto out;
	for (done = 0; done < count; done++) {
		ret = copy_one(box, &box->msgs[seqs[done] - 1], dpath,
			       &items[done]);
		if (ret < 0) {
			*error_r = ret == PH_ENOTFOUND
				       ? "some messages were expunged"
				       : "cannot copy the message";
			goto out;
		}
	}
	if (box->mu->storage->set.fsync) {
		char cur[PATH_MAX];

		maildir_fmt(cur, sizeof(cur), "%s/cur", dpath);
		maildir_fsync_dir(cur);
	}
	first = didx->count;
	modseq = ++didx->highestmodseq;
	for (size_t i = 0; i < count; i++) {
		struct maildir_vmsg *m = &box->msgs[seqs[i] - 1];
		struct maildir_rec *r = &items[i].rec;

		r->uid = didx->uidnext;
		r->modseq = modseq;
		/* Keywords travel by name. */
		for (unsigned k = 0; k < box->kw_count; k++) {
			unsigned di;

			if ((m->keywords & (1ull << k)) &&
			    maildir_index_keyword(didx, box->kw[k], true,
						  &di) == PH_OK)
				r->keywords |= 1ull << di;
		}
		if ((ret = maildir_index_append(didx, r, items[i].name)) < 0)
			goto out;
		if (dest_uids_r != NULL)
			dest_uids_r[i] = r->uid;
	}
	maildir_sync_note_cur(dpath, didx);
	ret = maildir_uidlist_append(dpath, didx, first,
				     box->mu->storage->set.fsync);
	if (ret == PH_OK)
		ret = maildir_index_write(dpath, didx,
					  box->mu->storage->set.fsync);
	if (ret < 0)
		*error_r = "cannot write the index";
	else if (dest_uidvalidity_r != NULL)
		*dest_uidvalidity_r = didx->uidvalidity;
out:
	if (ret < 0) {
		/* Nothing was indexed: take the links back. */
		for (size_t i = 0; i < done; i++) {
			char p[PATH_MAX];

			maildir_fmt(p, sizeof(p), "%s/cur/%s", dpath,
				    items[i].name);
			unlink(p);
		}
	}
	maildir_lock_release(&lock);
	free(items);
	if (ret == PH_OK && same)
		maildir_view_adopt(box, didx);
	else
		maildir_index_free(&didx);
	if (ret == PH_OK && move)
		ret = maildir_messages_expunge(box, seqs, count, error_r);
	return ret;
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int maildir_mailbox_expunged_since(ph_mailbox *box, uint64_t modseq,
				   ph_uid_fn *cb, void *ctx)
{
	const struct maildir_index *idx = box->idx;
	uint32_t *uids, n = 0;

	if (modseq < idx->horizon_modseq)
		return PH_ETOOBIG;
	uids = malloc(((size_t)idx->expunged_count + 1) * sizeof(*uids));
	if (uids == NULL)
		return PH_ENOMEM;
	for (uint32_t i = 0; i < idx->expunged_count; i++)
		if (idx->expunged[i].modseq > modseq)
			uids[n++] = idx->expunged[i].uid;
	if (n > 1)
		qsort(uids, n, sizeof(*uids), uid_cmp);
	for (uint32_t i = 0; i < n; i++)
		cb(ctx, uids[i]);
	free(uids);
	return PH_OK;
}
