/* maildir-save.c - streaming append: write tmp/BASE, fsync it, then under
 * the lock rename it into cur/BASE,S=..,W=..:2,FLAGS, fsync cur/, and
 * index it. append_commit returns only once the message is durable;
 * append_commit_all does the same for several messages under one lock,
 * one cur/ fsync and one index write, and rolls all back when one fails. */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_FILE "posthorn-lock"

struct ph_append {
	ph_mail_user *mu;
	char path[PATH_MAX];
	char tmp[PATH_MAX];
	char base[128];
	int fd;
	uint64_t size, lf;
	char prev;
	bool failed;
	uint32_t flags;
	char **kw;
	size_t kw_count;
	int64_t date;
};

static void append_free(ph_append **app)
{
	ph_append *ap = *app;

	if (ap->fd >= 0)
		close(ap->fd);
	maildir_strv_free(ap->kw, ap->kw_count);
	free(ap);
	*app = NULL;
}

int maildir_append_begin(ph_mail_user *mu, const char *name,
			 const struct ph_append_request *req, ph_append **ap_r,
			 const char **error_r)
{
	ph_append *ap = calloc(1, sizeof(*ap));
	struct stat st;
	bool inbox;
	int ret;

	if (ap == NULL)
		return PH_ENOMEM;
	ap->mu = mu;
	ap->fd = -1;
	ret = maildir_user_mailbox_path(mu, name, ap->path, sizeof(ap->path),
					&inbox, error_r);
	if (ret < 0)
		goto fail;
	if (!inbox && stat(ap->path, &st) < 0) {
		*error_r = "mailbox does not exist";
		ret = PH_ENOTFOUND;
		goto fail;
	}
	ap->flags = req->flags & PH_FLAGS_STORABLE;
	ap->date = req->internal_date;
	if (req->keyword_count > MAILDIR_KEYWORDS_MAX) {
		*error_r = "too many keywords";
		ret = PH_ETOOBIG;
		goto fail;
	}
	if (req->keyword_count > 0 &&
	    (ap->kw = calloc(req->keyword_count, sizeof(char *))) == NULL) {
		ret = PH_ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < req->keyword_count; i++) {
		if (!maildir_keyword_valid(req->keywords[i])) {
			*error_r = "invalid keyword";
			ret = PH_EINVAL;
			goto fail;
		}
		if ((ap->kw[i] = strdup(req->keywords[i])) == NULL) {
			ret = PH_ENOMEM;
			goto fail;
		}
		ap->kw_count++;
	}
	maildir_filename_new_base(ap->base, sizeof(ap->base));
	maildir_fmt(ap->tmp, sizeof(ap->tmp), "%s/tmp/%s", ap->path, ap->base);
	ap->fd =
	    open(ap->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		 0600);
	if (ap->fd < 0) {
		*error_r = "cannot create a temporary file";
		ret = errno == ENOSPC || errno == EDQUOT ? PH_ENOQUOTA : PH_EIO;
		goto fail;
	}
	*ap_r = ap;
	return PH_OK;
fail:
	append_free(&ap);
	return ret;
}

int maildir_append_write(ph_append *ap, const void *data, size_t len,
			 const char **error_r)
{
	const char *p = data;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n' && ap->prev != '\r')
			ap->lf++;
		ap->prev = p[i];
	}
	while (len > 0 && !ap->failed) {
		ssize_t n = write(ap->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ap->failed = true;
			*error_r = errno == ENOSPC || errno == EDQUOT
				       ? "out of disk space"
				       : "cannot write the message";
			return errno == ENOSPC || errno == EDQUOT ? PH_ENOQUOTA
								  : PH_EIO;
		}
		p += n;
		len -= (size_t)n;
		ap->size += (uint64_t)n;
	}
	return ap->failed ? PH_EIO : PH_OK;
}

/* Moves the files of aps[0..n) into cur/ under their final names and
 * indexes them, under the lock: either all are in the index, in order,
 * or none is in cur/. */
static int append_index(ph_append **aps,
			char (*names)[MAILDIR_FILENAME_MAX + 1], size_t n,
			uint32_t *uids_r, uint32_t *uidvalidity_r,
			const char **error_r)
{
	char to[PATH_MAX], cur[PATH_MAX];
	struct maildir_index *idx = NULL;
	const char *path = aps[0]->path;
	bool do_fsync = aps[0]->mu->storage->set.fsync;
	uint32_t first;
	size_t moved = 0;
	int lock, ret;

	if ((lock = maildir_lock_take(path, LOCK_FILE)) < 0) {
		*error_r = "mailbox is locked, try again";
		return lock == PH_ENOTFOUND ? PH_ENOTFOUND : PH_ETEMP;
	}
	if ((ret = maildir_sync_index(aps[0]->mu, path, true, &idx, error_r)) <
	    0)
		goto out;
	for (; moved < n; moved++) {
		ph_append *ap = aps[moved];
		struct timespec ts[2] = {{.tv_sec = ap->date},
					 {.tv_sec = ap->date}};

		maildir_fmt(to, sizeof(to), "%s/cur/%s", path, names[moved]);
		if (renameat2(AT_FDCWD, ap->tmp, AT_FDCWD, to,
			      RENAME_NOREPLACE) < 0) {
			*error_r = "cannot move the message into cur/";
			ret = PH_EIO;
			goto out;
		}
		/* The internal date is the mtime; set only now that the
		 * file is out of tmp/, where an old mtime marks it stale. */
		futimens(ap->fd, ts);
	}
	maildir_fmt(cur, sizeof(cur), "%s/cur", path);
	if (do_fsync && maildir_fsync_dir(cur) < 0) {
		*error_r = "cannot fsync cur/";
		ret = PH_EIO;
		goto out;
	}
	first = idx->count;
	for (size_t i = 0; i < n; i++) {
		ph_append *ap = aps[i];
		struct maildir_rec rec = {0};

		for (size_t k = 0; k < ap->kw_count; k++) {
			unsigned bit;

			if (maildir_index_keyword(idx, ap->kw[k], true, &bit) ==
			    PH_OK)
				rec.keywords |= 1ull << bit;
		}
		rec.uid = idx->uidnext;
		rec.flags = ap->flags;
		rec.modseq = ++idx->highestmodseq;
		rec.vsize = ap->size + ap->lf;
		rec.psize = ap->size;
		rec.date = ap->date;
		if ((ret = maildir_index_append(idx, &rec, names[i])) < 0)
			goto out;
		uids_r[i] = rec.uid;
	}
	maildir_sync_note_cur(path, idx);
	for (uint32_t i = first; i < idx->count && ret == PH_OK; i++)
		ret = maildir_uidlist_append(path, idx, i,
					     do_fsync && i + 1 == idx->count);
	if (ret == PH_OK)
		ret = maildir_index_write(path, idx, do_fsync);
	if (ret < 0)
		*error_r = "cannot write the index";
	else
		*uidvalidity_r = idx->uidvalidity;
out:
	/* Not indexed: out of cur/ again, so no later scan adopts them. */
	for (size_t i = 0; ret < 0 && i < moved; i++) {
		maildir_fmt(to, sizeof(to), "%s/cur/%s", path, names[i]);
		unlink(to);
	}
	maildir_index_free(&idx);
	maildir_lock_release(&lock);
	return ret;
}

/* Makes one message durable in tmp/ and gives it its final name. */
static int append_prepare(ph_append *ap, char *name, const char **error_r)
{
	char sized[MAILDIR_FILENAME_MAX + 1];

	if (ap->failed) {
		*error_r = "the message could not be written";
		return PH_EIO;
	}
	if (ap->mu->storage->set.fsync && fsync(ap->fd) < 0) {
		*error_r = "cannot fsync the message";
		return PH_EIO;
	}
	if (ap->date == 0)
		ap->date = time(NULL);
	maildir_fmt(sized, sizeof(sized), "%s,S=%" PRIu64 ",W=%" PRIu64,
		    ap->base, ap->size, ap->size + ap->lf);
	if (maildir_filename_set_flags(sized, ap->flags, name,
				       MAILDIR_FILENAME_MAX + 1) < 0) {
		*error_r = "file name too long";
		return PH_EINTERNAL;
	}
	return PH_OK;
}

int maildir_append_commit_all(ph_append **aps, size_t count,
			      uint32_t *uidvalidity_r, uint32_t *uids_r,
			      const char **error_r)
{
	char(*names)[MAILDIR_FILENAME_MAX + 1] = NULL;
	uint32_t uidvalidity = 0;
	int ret = PH_OK;

	if (count == 0)
		return PH_OK;
	for (size_t i = 1; i < count && ret == PH_OK; i++) {
		if (strcmp(aps[i]->path, aps[0]->path) != 0) {
			*error_r = "appends to different mailboxes";
			ret = PH_EINVAL;
		}
	}
	if (ret == PH_OK && (names = calloc(count, sizeof(*names))) == NULL)
		ret = PH_ENOMEM;
	for (size_t i = 0; i < count && ret == PH_OK; i++)
		ret = append_prepare(aps[i], names[i], error_r);
	if (ret == PH_OK)
		ret = append_index(aps, names, count, uids_r, &uidvalidity,
				   error_r);
	for (size_t i = 0; i < count; i++) {
		if (ret < 0)
			unlink(aps[i]->tmp);
		append_free(&aps[i]);
	}
	free(names);
	if (ret == PH_OK && uidvalidity_r != NULL)
		*uidvalidity_r = uidvalidity;
	return ret;
}

int maildir_append_commit(ph_append **app, uint32_t *uidvalidity_r,
			  uint32_t *uid_r, const char **error_r)
{
	uint32_t uid = 0;
	int ret =
	    maildir_append_commit_all(app, 1, uidvalidity_r, &uid, error_r);

	if (ret == PH_OK && uid_r != NULL)
		*uid_r = uid;
	return ret;
}

void maildir_append_abort(ph_append **app)
{
	if (*app == NULL)
		return;
	unlink((*app)->tmp);
	append_free(app);
}
