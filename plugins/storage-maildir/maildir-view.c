/* maildir-view.c - mailbox views: a snapshot numbered 1..count that only
 * changes in mailbox_sync() and through this session's own changes. */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define POP3_LOCK_FILE "posthorn-pop3-lock"
#define LOCK_FILE      "posthorn-lock"

static void view_persist_dates(ph_mailbox *box, bool adopt);
static int view_grow(struct ph_mailbox *box, uint32_t n);

static void vmsg_from_rec(struct maildir_vmsg *m, const struct maildir_rec *r,
			  uint32_t pos)
{
	m->uid = r->uid;
	m->flags = (m->flags & ~PH_FLAGS_STORABLE) | r->flags;
	m->rec = pos;
	m->keywords = r->keywords;
	m->modseq = r->modseq;
	m->vsize = r->vsize;
	m->psize = r->psize;
	m->date = r->date;
}

static void view_keywords(struct ph_mailbox *box)
{
	while (box->kw_count < box->idx->kw_count) {
		char *k = strdup(box->idx->kw[box->kw_count]);

		if (k == NULL)
			return;
		box->kw[box->kw_count++] = k;
	}
}

int maildir_view_msgs(ph_mailbox *box)
{
	const struct maildir_index *idx = box->idx;
	uint32_t recent = box->deferred_recent;

	if (!box->msgs_deferred)
		return PH_OK;
	if (view_grow(box, box->count ? box->count : 1) < 0)
		return PH_ENOMEM;
	for (uint32_t i = 0; i < box->count; i++) {
		struct maildir_vmsg *m = &box->msgs[i];

		m->flags = recent != 0 && idx->recs[i].uid >= recent
			       ? PH_FLAG_RECENT
			       : 0;
		vmsg_from_rec(m, &idx->recs[i], i);
		m->pad = 0;
	}
	box->msgs_deferred = false;
	return PH_OK;
}

void maildir_view_adopt(struct ph_mailbox *box, struct maildir_index *idx)
{
	uint32_t j = 0;

	/* The new index may carry other sessions' changes: the view must
	 * keep showing its own snapshot. */
	if (maildir_view_msgs(box) < 0) {
		if (box->idx != idx)
			maildir_index_free(&idx);
		return; /* out of memory: keep the old index */
	}

	for (uint32_t i = 0; i < box->count; i++) {
		struct maildir_vmsg *m = &box->msgs[i];

		while (j < idx->count && idx->recs[j].uid < m->uid)
			j++;
		m->rec = j < idx->count && idx->recs[j].uid == m->uid &&
				 !(idx->recs[j].flags & MAILDIR_REC_REMOVED)
			     ? j
			     : MAILDIR_NO_REC;
	}
	if (box->idx != idx)
		maildir_index_free(&box->idx);
	box->idx = idx;
	box->diff_pending = true;
	view_keywords(box);
}

static int view_grow(struct ph_mailbox *box, uint32_t n)
{
	struct maildir_vmsg *p;

	if (n <= box->alloc)
		return PH_OK;
	if ((p = realloc(box->msgs, (size_t)n * sizeof(*p))) == NULL)
		return PH_ENOMEM;
	box->msgs = p;
	box->alloc = n;
	return PH_OK;
}

/* Marks messages from first_recent_uid on as \Recent for this view and,
 * unless read-only, claims them so no other view sees them as recent.
 * *recent_r: the first UID recent for this view, 0 when none. */
static int view_claim_recent(struct ph_mailbox *box,
			     struct maildir_index **idxp, uint32_t *recent_r,
			     const char **error_r)
{
	struct maildir_index *idx = *idxp;
	int lock, ret;

	*recent_r = 0;
	if (idx->count == 0 ||
	    idx->recs[idx->count - 1].uid < idx->first_recent_uid)
		return PH_OK;
	if (box->readonly) {
		*recent_r = idx->first_recent_uid;
		return PH_OK;
	}
	if ((lock = maildir_lock_take(box->path, LOCK_FILE)) < 0) {
		*error_r = "mailbox is locked";
		return lock;
	}
	maildir_index_free(idxp);
	ret = maildir_sync_index(box->mu, box->path, true, idxp, error_r);
	if (ret == PH_OK) {
		idx = *idxp;
		*recent_r = idx->first_recent_uid;
		idx->first_recent_uid = idx->uidnext;
		ret = maildir_index_write(box->path, idx, false);
	}
	maildir_lock_release(&lock);
	return ret;
}

/* The SELECT counters of a view opened on idx: from the index header
 * when it has them (no pass over the records), else one read pass.
 * Recent messages are the ones from `recent` on (UIDs ascend). */
static void view_open_counters(ph_mailbox *box, const struct maildir_index *idx,
			       uint32_t recent)
{
	uint32_t lo = 0, hi = idx->count;

	while (recent != 0 && lo < hi) { /* first uid >= recent */
		uint32_t mid = lo + (hi - lo) / 2;

		if (idx->recs[mid].uid < recent)
			lo = mid + 1;
		else
			hi = mid;
	}
	box->st_recent = recent != 0 ? idx->count - lo : 0;
	if (idx->counters_valid) {
		box->st_unseen = idx->unseen;
		box->st_first_unseen = idx->first_unseen;
		box->st_size = idx->size_sum;
	} else {
		box->st_unseen = box->st_first_unseen = 0;
		box->st_size = 0;
		for (uint32_t i = 0; i < idx->count; i++) {
			const struct maildir_rec *r = &idx->recs[i];

			if (!(r->flags & PH_FLAG_SEEN) && box->st_unseen++ == 0)
				box->st_first_unseen = i + 1;
			box->st_size += r->vsize ? r->vsize : r->psize;
		}
	}
	box->status_valid = true;
}

int maildir_mailbox_open(ph_mail_user *mu, const char *name, unsigned flags,
			 ph_mailbox **box_r, const char **error_r)
{
	struct maildir_index *idx = NULL;
	ph_mailbox *box;
	struct stat st;
	bool inbox;
	uint32_t recent;
	int ret;

	if ((box = calloc(1, sizeof(*box))) == NULL)
		return PH_ENOMEM;
	box->mu = mu;
	box->pop3_lock_fd = -1;
	box->watch_fd = -1;
	box->readonly = (flags & PH_OPEN_READONLY) != 0;
	ret = maildir_user_mailbox_path(mu, name, box->path, sizeof(box->path),
					&inbox, error_r);
	if (ret < 0)
		goto fail;
	maildir_fmt(box->name, sizeof(box->name), "%s", inbox ? "INBOX" : name);
	if (!inbox && stat(box->path, &st) < 0) {
		*error_r = "mailbox does not exist";
		ret = PH_ENOTFOUND;
		goto fail;
	}
	if ((ret = maildir_sync_index(mu, box->path, false, &idx, error_r)) < 0)
		goto fail;
	if ((ret = view_claim_recent(box, &idx, &recent, error_r)) < 0)
		goto fail;
	/* The SELECT counters in one read-only pass; the view's own copy
	 * of the records waits until a command needs it. */
	view_open_counters(box, idx, recent);
	box->count = idx->count;
	box->msgs_deferred = true;
	box->deferred_recent = recent;
	box->idx = idx;
	view_keywords(box);
	box->next = mu->views;
	mu->views = box;
	*box_r = box;
	return PH_OK;
fail:
	maildir_index_free(&idx);
	free(box->msgs);
	free(box);
	return ret;
}

/* UID of position i (0-based), deferred or not. */
static uint32_t view_uid(const ph_mailbox *box, uint32_t i)
{
	return box->msgs_deferred ? box->idx->recs[i].uid : box->msgs[i].uid;
}

static bool view_has_uid(void *ctx, uint32_t uid)
{
	uint32_t lo, hi;

	return maildir_message_uid_range(ctx, uid, uid, &lo, &hi) > 0;
}

static void view_cache_close(ph_mailbox *box)
{
	struct maildir_cache_live live = {view_has_uid, box, 0};

	if (box->cache == NULL)
		return;
	if (box->count > 0)
		live.max_uid = view_uid(box, box->count - 1);
	maildir_cache_close(&box->cache, box->path, &live);
}

void maildir_mailbox_close(ph_mailbox **boxp)
{
	ph_mailbox *box = *boxp;

	if (box == NULL)
		return;
	for (ph_mailbox **p = &box->mu->views; *p != NULL; p = &(*p)->next) {
		if (*p == box) {
			*p = box->next;
			break;
		}
	}
	view_persist_dates(box, false);
	maildir_lock_release(&box->pop3_lock_fd);
	maildir_watch_close(box);
	view_cache_close(box);
	maildir_index_free(&box->idx);
	for (unsigned i = 0; i < box->kw_count; i++)
		free(box->kw[i]);
	free(box->msgs);
	free(box);
	*boxp = NULL;
}

int maildir_mailbox_get_status(ph_mailbox *box, struct ph_mailbox_status *st)
{
	if (!box->status_valid) {
		if (maildir_view_msgs(box) < 0)
			return PH_ENOMEM;
		box->st_recent = box->st_unseen = box->st_first_unseen = 0;
		box->st_size = 0;
		for (uint32_t i = 0; i < box->count; i++) {
			const struct maildir_vmsg *m = &box->msgs[i];

			box->st_recent += (m->flags & PH_FLAG_RECENT) != 0;
			if (!(m->flags & PH_FLAG_SEEN) && box->st_unseen++ == 0)
				box->st_first_unseen = i + 1;
			box->st_size += m->vsize ? m->vsize : m->psize;
		}
		box->status_valid = true;
	}
	st->messages = box->count;
	st->recent = box->st_recent;
	st->unseen = box->st_unseen;
	st->first_unseen_seq = box->st_first_unseen;
	st->size = box->st_size;
	st->uidvalidity = box->idx->uidvalidity;
	st->uidnext = box->idx->uidnext;
	st->highestmodseq = box->idx->highestmodseq;
	st->readonly = box->readonly;
	st->keywords_creatable = box->idx->kw_count < MAILDIR_KEYWORDS_MAX;
	return PH_OK;
}

int maildir_view_sync(ph_mailbox *box, unsigned flags,
		      const struct ph_sync_callbacks *cb, void *ctx,
		      const char **error_r)
{
	struct maildir_index *idx = NULL;
	struct maildir_vmsg *old, *nm;
	uint32_t old_count = box->count, n = 0, j = 0, *gone, ngone = 0;
	uint32_t max_uid;
	bool keep = (flags & PH_SYNC_NO_EXPUNGE) != 0, grew = false;
	uint32_t recent = 0;
	int ret;

	maildir_watch_drain(box);
	view_persist_dates(box, true);
	if (!maildir_index_changed(box->path, box->idx) &&
	    maildir_sync_is_fresh(box->path, box->idx)) {
		if (!box->diff_pending)
			return PH_OK; /* nothing changed anywhere */
		idx = box->idx;
	} else {
		ret = maildir_sync_index(box->mu, box->path, false, &idx,
					 error_r);
		if (ret < 0)
			return ret;
	}
	if (maildir_view_msgs(box) < 0) {
		if (idx != box->idx)
			maildir_index_free(&idx);
		return PH_ENOMEM;
	}
	old = box->msgs;
	max_uid = old_count ? old[old_count - 1].uid : 0;
	box->status_valid = false; /* msgs are rebuilt below */
	if (idx->count > 0 && idx->recs[idx->count - 1].uid > max_uid &&
	    idx->recs[idx->count - 1].uid >= idx->first_recent_uid) {
		if (idx == box->idx)
			idx = NULL; /* claim reloads; keep the view's copy */
		if (idx == NULL &&
		    (ret = maildir_sync_index(box->mu, box->path, false, &idx,
					      error_r)) < 0)
			return ret;
		if ((ret = view_claim_recent(box, &idx, &recent, error_r)) <
		    0) {
			maildir_index_free(&idx);
			return ret;
		}
	}
	nm = malloc(((size_t)old_count + idx->count + 1) * sizeof(*nm));
	gone = malloc(((size_t)old_count + 1) * sizeof(*gone));
	if (nm == NULL || gone == NULL) {
		free(nm);
		free(gone);
		if (idx != box->idx)
			maildir_index_free(&idx);
		return PH_ENOMEM;
	}
	/* Merge the view with the index, both ascending by uid. */
	for (uint32_t i = 0; i < old_count; i++) {
		struct maildir_vmsg m = old[i];

		while (j < idx->count && idx->recs[j].uid < m.uid)
			j++;
		if (j < idx->count && idx->recs[j].uid == m.uid &&
		    !(m.flags & MAILDIR_VFLAG_OWN_EXPUNGE)) {
			bool changed = m.modseq != idx->recs[j].modseq ||
				       (m.flags & PH_FLAGS_STORABLE) !=
					   idx->recs[j].flags ||
				       m.keywords != idx->recs[j].keywords;

			vmsg_from_rec(&m, &idx->recs[j], j);
			if (m.date == MAILDIR_DATE_UNKNOWN)
				m.date = old[i].date; /* learned here */
			m.pad = changed;
			nm[n++] = m;
		} else if (keep) {
			m.flags |= MAILDIR_VFLAG_EXPUNGED;
			m.rec = MAILDIR_NO_REC;
			m.pad = 0;
			nm[n++] = m;
		} else {
			gone[ngone++] = i + 1;
		}
	}
	for (; j < idx->count; j++) {
		if (idx->recs[j].uid <= max_uid)
			continue;
		nm[n].flags = recent != 0 && idx->recs[j].uid >= recent
				  ? PH_FLAG_RECENT
				  : 0;
		vmsg_from_rec(&nm[n], &idx->recs[j], j);
		nm[n++].pad = 0;
		grew = true;
	}
	box->msgs = nm; /* old is freed after the reports */
	box->count = box->alloc = n;
	if (idx != box->idx)
		maildir_index_free(&box->idx);
	box->idx = idx;
	box->diff_pending = false;
	view_keywords(box);
	for (uint32_t k = ngone; k > 0; k--)
		if (cb && cb->expunged)
			cb->expunged(ctx, gone[k - 1],
				     old[gone[k - 1] - 1].uid);
	free(gone);
	free(old);
	for (uint32_t k = 0; k < n; k++) {
		if (box->msgs[k].pad && cb && cb->changed) {
			struct ph_message_info info = PH_MESSAGE_INFO_INIT;

			maildir_message_info(box, k + 1, &info);
			cb->changed(ctx, k + 1, &info);
		}
		box->msgs[k].pad = 0;
	}
	if (grew && cb && cb->exists)
		cb->exists(ctx, n);
	return PH_OK;
}

int maildir_mailbox_lock(ph_mailbox *box, const char **error_r)
{
	int fd;

	if (box->pop3_lock_fd >= 0)
		return PH_OK;
	fd = maildir_lock_try(box->path, POP3_LOCK_FILE);
	if (fd < 0) {
		*error_r = fd == PH_EINUSE ? "mailbox is locked by another "
					     "POP3 session"
					   : "cannot lock the mailbox";
		return fd;
	}
	box->pop3_lock_fd = fd;
	return PH_OK;
}

uint32_t maildir_message_count(ph_mailbox *box)
{
	return box->count;
}

static int view_rec_path(ph_mailbox *box, const struct maildir_vmsg *m,
			 char *path, size_t size)
{
	if (m->rec == MAILDIR_NO_REC)
		return PH_ENOTFOUND;
	maildir_fmt(path, size, "%s/cur/%s", box->path,
		    maildir_index_name(box->idx, &box->idx->recs[m->rec]));
	return PH_OK;
}

/* Opens the message file, finding it again when another session renamed
 * it (a flag change) since the view's index was loaded. */
static int view_open_file(ph_mailbox *box, struct maildir_vmsg *m)
{
	char path[PATH_MAX];
	struct maildir_index *fresh = NULL;
	const char *error;
	int64_t pos;
	int fd;

	if (view_rec_path(box, m, path, sizeof(path)) == PH_OK &&
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0)
		return fd;
	if (m->rec == MAILDIR_NO_REC ||
	    maildir_sync_index(box->mu, box->path, false, &fresh, &error) < 0)
		return PH_ENOTFOUND;
	pos = maildir_index_find(fresh, m->uid);
	if (pos >= 0) {
		const char *name = maildir_index_name(fresh, &fresh->recs[pos]);

		maildir_fmt(path, sizeof(path), "%s/cur/%s", box->path, name);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0) {
			/* Remember the new name for the next open. */
			if (maildir_index_make_mutable(box->idx) == PH_OK)
				maildir_index_set_name(box->idx,
						       &box->idx->recs[m->rec],
						       name, strlen(name));
			maildir_index_free(&fresh);
			return fd;
		}
	}
	maildir_index_free(&fresh);
	return PH_ENOTFOUND;
}

/* RFC822.SIZE of files that did not carry ,W= in their name. */
static void view_fill_vsize(ph_mailbox *box, struct maildir_vmsg *m)
{
	int fd;

	if (m->vsize != 0 || (fd = view_open_file(box, m)) < 0)
		return;
	if (maildir_file_vsize(fd, &m->vsize) < 0)
		m->vsize = 0;
	close(fd);
	box->status_valid = false; /* the size sum changed */
}

/* The delivery second a Maildir base name starts with ("SEC."), or 0. */
static int64_t view_name_date(const char *name)
{
	int64_t t = 0;
	size_t i;

	for (i = 0; name[i] >= '0' && name[i] <= '9' && i < 12; i++)
		t = t * 10 + (name[i] - '0');
	return i > 0 && name[i] == '.' ? t : 0;
}

int64_t maildir_view_date(ph_mailbox *box, struct maildir_vmsg *m)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, ret = -1;

	if (m->date != MAILDIR_DATE_UNKNOWN)
		return m->date;
	if (view_rec_path(box, m, path, sizeof(path)) == PH_OK)
		ret = stat(path, &st);
	if (ret < 0 && (fd = view_open_file(box, m)) >= 0) {
		ret = fstat(fd, &st); /* renamed by another session */
		close(fd);
	}
	if (ret < 0) /* vanished: expunged by someone else */
		return m->rec == MAILDIR_NO_REC
			   ? 0
			   : view_name_date(maildir_index_name(
				 box->idx, &box->idx->recs[m->rec]));
	m->date = st.st_mtim.tv_sec;
	box->dates_learned++;
	return m->date;
}

/* Writes the dates this view learned into the index, for the records
 * that still lack one. Best effort (it is a cache of the files' mtimes):
 * skipped when another session holds the lock. Each write is a whole
 * index (10 MB at 100,000 messages), so a client paging through FETCH
 * INTERNALDATE in small batches must not cause one per command: only
 * once a 64th of the mailbox (or 4096 dates) was learned; fewer are
 * cheaper to stat again in a later session. */
static void view_persist_dates(ph_mailbox *box, bool adopt)
{
	struct maildir_index *idx = NULL;
	const char *error;
	uint32_t j = 0, n = 0;
	int lock;

	if (box->dates_learned == 0 || box->msgs_deferred ||
	    ((uint64_t)box->dates_learned * 64 < box->count &&
	     box->dates_learned < 4096))
		return;
	box->dates_learned = 0;
	if ((lock = maildir_lock_try(box->path, LOCK_FILE)) < 0)
		return;
	if (maildir_sync_index(box->mu, box->path, true, &idx, &error) ==
		PH_OK &&
	    maildir_index_make_mutable(idx) == PH_OK) {
		for (uint32_t i = 0; i < box->count; i++) {
			const struct maildir_vmsg *m = &box->msgs[i];

			if (m->date == MAILDIR_DATE_UNKNOWN)
				continue;
			while (j < idx->count && idx->recs[j].uid < m->uid)
				j++;
			if (j < idx->count && idx->recs[j].uid == m->uid &&
			    idx->recs[j].date == MAILDIR_DATE_UNKNOWN) {
				idx->recs[j].date = m->date;
				n++;
			}
		}
		if (n > 0 &&
		    maildir_index_write(box->path, idx, false) == PH_OK &&
		    adopt) {
			maildir_view_adopt(box, idx);
			idx = NULL;
		}
	}
	maildir_index_free(&idx);
	maildir_lock_release(&lock);
}

/* A deferred view's message as maildir_view_msgs() would make it, in
 * `m`; false when answering `omit` from it would learn something (a
 * date, a size) that must be kept in the view. */
static bool deferred_vmsg(const ph_mailbox *box, uint32_t i, uint64_t omit,
			  struct maildir_vmsg *m)
{
	const struct maildir_rec *r = &box->idx->recs[i];
	uint32_t recent = box->deferred_recent;

	if ((!(omit & PH_MESSAGE_INFO_OMIT_DATE) &&
	     r->date == MAILDIR_DATE_UNKNOWN) ||
	    (!(omit & PH_MESSAGE_INFO_OMIT_SIZE) && r->vsize == 0))
		return false;
	*m = (struct maildir_vmsg){
	    .flags = recent != 0 && r->uid >= recent ? PH_FLAG_RECENT : 0};
	vmsg_from_rec(m, r, i);
	return true;
}

int maildir_message_info(ph_mailbox *box, uint32_t seq,
			 struct ph_message_info *info)
{
	struct maildir_vmsg *m, copy;
	uint64_t omit = 0;
	int64_t date;

	if (seq == 0 || seq > box->count)
		return PH_EINVAL;
	/* The date of a message indexed without one costs a stat(), the
	 * size of one without ,W= a read of the file: only when wanted. */
	if (PH_HAS_FIELD(info, omit))
		omit = info->omit;
	/* A view still reading the mapped index answers from it: FETCH
	 * 1:10 of a 100,000-message mailbox copies no 100,000 records. */
	if (box->msgs_deferred && deferred_vmsg(box, seq - 1, omit, &copy)) {
		m = &copy;
	} else {
		if (maildir_view_msgs(box) < 0)
			return PH_ENOMEM;
		m = &box->msgs[seq - 1];
		if (!(omit & PH_MESSAGE_INFO_OMIT_SIZE))
			view_fill_vsize(box, m);
	}
	date = omit & PH_MESSAGE_INFO_OMIT_DATE ? m->date
						: maildir_view_date(box, m);
	info->uid = m->uid;
	info->flags = m->flags & (PH_FLAGS_STORABLE | PH_FLAG_RECENT);
	info->keywords = m->keywords;
	info->modseq = m->modseq;
	info->internal_date = date;
	info->internal_tz = 0;
	info->size = m->vsize ? m->vsize : m->psize;
	info->physical_size = m->psize;
	info->expunged = (m->flags & MAILDIR_VFLAG_EXPUNGED) != 0 ||
			 m->rec == MAILDIR_NO_REC;
	return PH_OK;
}

int maildir_message_uid_range(ph_mailbox *box, uint32_t uid_lo, uint32_t uid_hi,
			      uint32_t *seq_lo_r, uint32_t *seq_hi_r)
{
	uint32_t lo = 0, hi = box->count;

	while (lo < hi) { /* first message with uid >= uid_lo */
		uint32_t mid = lo + (hi - lo) / 2;

		if (view_uid(box, mid) < uid_lo)
			lo = mid + 1;
		else
			hi = mid;
	}
	*seq_lo_r = lo + 1;
	hi = box->count;
	{
		uint32_t a = lo;

		while (a < hi) { /* first message with uid > uid_hi */
			uint32_t mid = a + (hi - a) / 2;

			if (view_uid(box, mid) <= uid_hi)
				a = mid + 1;
			else
				hi = mid;
		}
		hi = a;
	}
	if (hi <= lo || uid_lo > uid_hi) {
		*seq_lo_r = *seq_hi_r = 0;
		return 0;
	}
	*seq_hi_r = hi;
	return (int)(hi - lo);
}

int maildir_message_open(ph_mailbox *box, uint32_t seq,
			 struct ph_message_body *body_r, const char **error_r)
{
	struct maildir_vmsg *m;
	struct stat st;
	int fd;

	if (seq == 0 || seq > box->count) {
		*error_r = "no such message";
		return PH_EINVAL;
	}
	if (maildir_view_msgs(box) < 0) {
		*error_r = "out of memory";
		return PH_ENOMEM;
	}
	m = &box->msgs[seq - 1];
	if ((m->flags & MAILDIR_VFLAG_EXPUNGED) ||
	    (fd = view_open_file(box, m)) < 0) {
		*error_r = "message was expunged";
		return PH_ENOTFOUND;
	}
	if (fstat(fd, &st) < 0) {
		close(fd);
		*error_r = "cannot read the message";
		return PH_EIO;
	}
	if (m->vsize == 0 && maildir_file_vsize(fd, &m->vsize) < 0)
		m->vsize = 0;
	body_r->fd = fd;
	body_r->offset = 0;
	body_r->length = (uint64_t)st.st_size;
	/* No bare LF in the file exactly when both sizes agree. */
	body_r->crlf = m->vsize == (uint64_t)st.st_size;
	return PH_OK;
}

void maildir_message_close(ph_mailbox *box, struct ph_message_body *body)
{
	if (body->fd >= 0)
		close(body->fd);
	body->fd = -1;
}

int maildir_cache_get_op(ph_mailbox *box, uint32_t seq, const char *field,
			 struct ph_str *value_r)
{
	if (seq == 0 || seq > box->count)
		return PH_EINVAL;
	return maildir_cache_get(&box->cache, box->path, box->idx->uidvalidity,
				 view_uid(box, seq - 1), field, value_r);
}

int maildir_cache_set_op(ph_mailbox *box, uint32_t seq, const char *field,
			 struct ph_str value)
{
	if (seq == 0 || seq > box->count)
		return PH_EINVAL;
	return maildir_cache_set(&box->cache, box->path, box->idx->uidvalidity,
				 view_uid(box, seq - 1), field, value);
}

int maildir_keyword_index(ph_mailbox *box, const char *name, int create,
			  unsigned *index_r)
{
	struct maildir_index *idx = NULL;
	const char *error;
	int lock, ret;

	for (unsigned i = 0; i < box->kw_count; i++) {
		if (strcasecmp(box->kw[i], name) == 0) {
			*index_r = i;
			return PH_OK;
		}
	}
	if (!maildir_keyword_valid(name))
		return PH_EINVAL;
	if (!create)
		return PH_ENOTFOUND;
	if (box->readonly)
		return PH_EPERM;
	if ((lock = maildir_lock_take(box->path, LOCK_FILE)) < 0)
		return lock;
	ret = maildir_sync_index(box->mu, box->path, true, &idx, &error);
	if (ret == PH_OK)
		ret = maildir_index_keyword(idx, name, true, index_r);
	if (ret == PH_OK)
		ret = maildir_index_write(box->path, idx,
					  box->mu->storage->set.fsync);
	maildir_lock_release(&lock);
	if (ret < 0) {
		maildir_index_free(&idx);
		return ret;
	}
	/* The view's keyword list is always a prefix of the index's. */
	maildir_view_adopt(box, idx);
	return PH_OK;
}

const char *maildir_keyword_name(ph_mailbox *box, unsigned index)
{
	return index < box->kw_count ? box->kw[index] : NULL;
}
