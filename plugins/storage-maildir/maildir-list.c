/* maildir-list.c - mailbox list, create, delete, rename, status.
 * Mailboxes are the ROOT/.NAME directories; a parent that exists only
 * through its children (".a.b" without ".a") is listed \Noselect. */
#include "maildir-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct list_entry {
	char *name;
	uint32_t attrs;
};

struct list {
	struct list_entry *e;
	size_t n, alloc;
};

static int list_add(struct list *l, const char *name, size_t len,
		    uint32_t attrs)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strlen(l->e[i].name) == len &&
		    memcmp(l->e[i].name, name, len) == 0) {
			if (!(attrs & PH_MBOX_NOSELECT))
				l->e[i].attrs &= ~PH_MBOX_NOSELECT;
			l->e[i].attrs |= attrs & ~PH_MBOX_NOSELECT;
			return PH_OK;
		}
	}
	if (l->n == l->alloc) {
		size_t n = l->alloc ? l->alloc * 2 : 32;
		void *p = realloc(l->e, n * sizeof(*l->e));

		if (p == NULL)
			return PH_ENOMEM;
		l->e = p;
		l->alloc = n;
	}
	if ((l->e[l->n].name = strndup(name, len)) == NULL)
		return PH_ENOMEM;
	l->e[l->n++].attrs = attrs;
	return PH_OK;
}

static void list_free(struct list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->e[i].name);
	free(l->e);
}

static int list_cmp(const void *a, const void *b)
{
	const struct list_entry *x = a, *y = b;
	bool xi = strcmp(x->name, "INBOX") == 0;
	bool yi = strcmp(y->name, "INBOX") == 0;

	if (xi != yi)
		return xi ? -1 : 1;
	return strcmp(x->name, y->name);
}

static bool list_is_dir(const char *root, const char *entry)
{
	char p[PATH_MAX];
	struct stat st;

	maildir_fmt(p, sizeof(p), "%s/%s/cur", root, entry);
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Every mailbox on disk, with implicit parents as \Noselect. */
static int list_collect(ph_mail_user *mu, struct list *l)
{
	char name[MAILDIR_NAME_MAX + 1];
	struct dirent *d;
	DIR *dp;
	int ret = list_add(l, "INBOX", 5, 0);

	if (ret < 0 || (dp = opendir(mu->root)) == NULL)
		return ret < 0 ? ret : PH_EIO;
	while ((d = readdir(dp)) != NULL) {
		if (maildir_dir_to_name(mu->sep, d->d_name, name,
					sizeof(name)) < 0 ||
		    !list_is_dir(mu->root, d->d_name))
			continue;
		for (char *s = strchr(name, mu->sep); s && ret == PH_OK;
		     s = strchr(s + 1, mu->sep))
			ret = list_add(l, name, (size_t)(s - name),
				       PH_MBOX_NOSELECT);
		if (ret == PH_OK)
			ret = list_add(l, name, strlen(name), 0);
		if (ret < 0)
			break;
	}
	closedir(dp);
	return ret;
}

int maildir_mailbox_list(ph_mail_user *mu, ph_mailbox_list_fn *cb, void *ctx,
			 const char **error_r)
{
	struct list l = {0};
	char **subs = NULL;
	size_t nsubs = 0, nreal;
	int ret = list_collect(mu, &l);

	if (ret == PH_OK)
		ret = maildir_user_subscriptions(mu, &subs, &nsubs);
	if (ret < 0) {
		*error_r = "cannot list mailboxes";
		goto out;
	}
	nreal = l.n;
	for (size_t i = 0; i < nsubs && ret == PH_OK; i++) {
		bool found = false;

		for (size_t j = 0; j < nreal; j++) {
			if (strcmp(l.e[j].name, subs[i]) == 0) {
				l.e[j].attrs |= PH_MBOX_SUBSCRIBED;
				found = true;
			}
		}
		if (!found)
			ret =
			    list_add(&l, subs[i], strlen(subs[i]),
				     PH_MBOX_SUBSCRIBED | PH_MBOX_NONEXISTENT);
	}
	for (size_t i = 0; i < nreal && ret == PH_OK; i++) {
		size_t len = strlen(l.e[i].name);
		bool children = false;
		uint32_t su = 0;

		for (size_t j = 0; j < nreal && !children; j++)
			children =
			    strncmp(l.e[j].name, l.e[i].name, len) == 0 &&
			    l.e[j].name[len] == mu->sep;
		l.e[i].attrs |=
		    children ? PH_MBOX_HASCHILDREN : PH_MBOX_HASNOCHILDREN;
		if (!(l.e[i].attrs & PH_MBOX_NOSELECT) &&
		    maildir_user_special_use_get(mu, l.e[i].name, &su) == 0)
			l.e[i].attrs |= su;
	}
	qsort(l.e, l.n, sizeof(*l.e), list_cmp);
	for (size_t i = 0; i < l.n && ret >= 0; i++) {
		struct ph_mailbox_info info = {.struct_size = sizeof(info),
					       .name = l.e[i].name,
					       .attrs = l.e[i].attrs};
		int r = cb(ctx, &info);

		if (r < 0)
			ret = r;
	}
out:
	maildir_strv_free(subs, nsubs);
	list_free(&l);
	return ret < 0 ? ret : PH_OK;
}

static bool path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

int maildir_mailbox_create(ph_mail_user *mu, const char *name,
			   uint32_t special_use, const char **error_r)
{
	char path[PATH_MAX], marker[PATH_MAX];
	struct maildir_index *idx = NULL;
	bool inbox;
	int fd, ret;

	ret = maildir_user_mailbox_path(mu, name, path, sizeof(path), &inbox,
					error_r);
	if (ret < 0)
		return ret;
	if (inbox) {
		*error_r = "INBOX always exists";
		return PH_EEXISTS;
	}
	if (mkdir(path, 0700) < 0) {
		*error_r = errno == EEXIST ? "mailbox already exists"
					   : "cannot create the mailbox";
		return errno == EEXIST ? PH_EEXISTS : PH_EIO;
	}
	maildir_fmt(marker, sizeof(marker), "%s/maildirfolder", path);
	fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0)
		close(fd);
	if (fd < 0 || maildir_dir_create(path) < 0) {
		*error_r = "cannot create the mailbox";
		return PH_EIO;
	}
	/* The index now, so the mailbox gets its UIDVALIDITY at creation. */
	ret = maildir_sync_index(mu, path, false, &idx, error_r);
	maildir_index_free(&idx);
	if (ret < 0)
		return ret;
	if (special_use & PH_MBOX_SPECIAL_USE_MASK)
		maildir_user_special_use_set(mu, name, special_use);
	return PH_OK;
}

/* Removes a mailbox directory already moved aside: files of cur/ new/
 * tmp/, the directories, and our own files. Bounded depth by design. */
static int list_remove_tree(const char *path)
{
	static const char *const subs[] = {"cur", "new", "tmp", "."};
	char dir[PATH_MAX], p[PATH_MAX];
	int ret = PH_OK;

	for (size_t i = 0; i < 4; i++) {
		struct dirent *d;
		DIR *dp;

		maildir_fmt(dir, sizeof(dir), "%s/%s", path, subs[i]);
		if ((dp = opendir(dir)) == NULL)
			continue;
		while ((d = readdir(dp)) != NULL) {
			if (strcmp(d->d_name, ".") == 0 ||
			    strcmp(d->d_name, "..") == 0 ||
			    (i == 3 && (strcmp(d->d_name, "cur") == 0 ||
					strcmp(d->d_name, "new") == 0 ||
					strcmp(d->d_name, "tmp") == 0)))
				continue;
			maildir_fmt(p, sizeof(p), "%s/%s", dir, d->d_name);
			if (unlink(p) < 0 && errno != ENOENT)
				ret = PH_EIO;
		}
		closedir(dp);
		if (i < 3 && rmdir(dir) < 0 && errno != ENOENT)
			ret = PH_EIO;
	}
	if (rmdir(path) < 0)
		ret = PH_EIO;
	return ret;
}

int maildir_mailbox_delete(ph_mail_user *mu, const char *name,
			   const char **error_r)
{
	char path[PATH_MAX], aside[PATH_MAX], base[64];
	bool inbox;
	int ret;

	ret = maildir_user_mailbox_path(mu, name, path, sizeof(path), &inbox,
					error_r);
	if (ret < 0)
		return ret;
	if (inbox) {
		*error_r = "INBOX cannot be deleted";
		return PH_EPERM;
	}
	maildir_filename_new_base(base, sizeof(base));
	maildir_fmt(aside, sizeof(aside), "%s/tmp/posthorn-deleted.%s",
		    mu->root, base);
	/* Atomic: from here on no session sees the mailbox. */
	if (rename(path, aside) < 0) {
		*error_r = errno == ENOENT ? "mailbox does not exist"
					   : "cannot delete the mailbox";
		return errno == ENOENT ? PH_ENOTFOUND : PH_EIO;
	}
	if (list_remove_tree(aside) < 0)
		maildir_api->log(PH_LOG_WARNING, "could not remove all of %s",
				 aside);
	maildir_user_special_use_set(mu, name, 0);
	return PH_OK;
}

/* RENAME INBOX: moves every message to the new mailbox; INBOX stays. */
static int list_rename_inbox(ph_mail_user *mu, const char *to,
			     const char *to_path, const char **error_r)
{
	static const char *const subs[] = {"cur", "new"};
	char from[PATH_MAX], dst[PATH_MAX];
	struct maildir_index *idx = NULL;
	int ret = maildir_mailbox_create(mu, to, 0, error_r);
	int lock;

	if (ret < 0)
		return ret;
	if ((lock = maildir_lock_take(mu->root, "posthorn-lock")) < 0) {
		*error_r = "INBOX is locked";
		return lock;
	}
	for (size_t i = 0; i < 2; i++) {
		struct dirent *d;
		DIR *dp;

		maildir_fmt(from, sizeof(from), "%s/%s", mu->root, subs[i]);
		if ((dp = opendir(from)) == NULL)
			continue;
		while ((d = readdir(dp)) != NULL) {
			char a[PATH_MAX];

			if (d->d_name[0] == '.')
				continue;
			maildir_fmt(a, sizeof(a), "%s/%s", from, d->d_name);
			maildir_fmt(dst, sizeof(dst), "%s/%s/%s", to_path,
				    subs[i], d->d_name);
			if (rename(a, dst) < 0 && errno != ENOENT)
				ret = PH_EIO;
		}
		closedir(dp);
	}
	ret = ret < 0 ? ret
		      : maildir_sync_index(mu, mu->root, true, &idx, error_r);
	maildir_index_free(&idx);
	maildir_lock_release(&lock);
	return ret;
}

/* Whether the directory name `dir` (".a.b") has inferior mailboxes. */
static bool list_has_children(ph_mail_user *mu, const char *dir)
{
	size_t len = strlen(dir);
	bool found = false;
	struct dirent *d;
	DIR *dp;

	if ((dp = opendir(mu->root)) == NULL)
		return false;
	while (!found && (d = readdir(dp)) != NULL)
		found = strncmp(d->d_name, dir, len) == 0 &&
			d->d_name[len] == '.' &&
			list_is_dir(mu->root, d->d_name);
	closedir(dp);
	return found;
}

int maildir_mailbox_rename(ph_mail_user *mu, const char *from, const char *to,
			   const char **error_r)
{
	char fpath[PATH_MAX], tpath[PATH_MAX];
	char fdir[MAILDIR_FILENAME_MAX + 2], tdir[MAILDIR_FILENAME_MAX + 2];
	bool finbox, tinbox;
	size_t flen;
	struct dirent *d;
	DIR *dp;
	int ret;

	if ((ret = maildir_user_mailbox_path(mu, from, fpath, sizeof(fpath),
					     &finbox, error_r)) < 0 ||
	    (ret = maildir_user_mailbox_path(mu, to, tpath, sizeof(tpath),
					     &tinbox, error_r)) < 0)
		return ret;
	if (tinbox || path_exists(tpath)) {
		*error_r = "target mailbox already exists";
		return PH_EEXISTS;
	}
	if (finbox)
		return list_rename_inbox(mu, to, tpath, error_r);
	maildir_name_to_dir(mu->sep, from, fdir, sizeof(fdir), &finbox,
			    error_r);
	maildir_name_to_dir(mu->sep, to, tdir, sizeof(tdir), &tinbox, error_r);
	flen = strlen(fdir);
	if (strncmp(tdir, fdir, flen) == 0 && tdir[flen] == '.') {
		*error_r = "cannot move a mailbox into itself";
		return PH_EINVAL;
	}
	if (rename(fpath, tpath) < 0) {
		int err = errno;

		/* a \Noselect parent: only its inferiors move (RFC 3501
		 * 6.3.5, example A684) */
		if (err != ENOENT || !list_has_children(mu, fdir)) {
			*error_r = err == ENOENT ? "mailbox does not exist"
						 : "cannot rename the mailbox";
			return err == ENOENT ? PH_ENOTFOUND : PH_EIO;
		}
	}
	/* Children move with their parent. */
	if ((dp = opendir(mu->root)) != NULL) {
		while ((d = readdir(dp)) != NULL) {
			char a[PATH_MAX], b[PATH_MAX];

			if (strncmp(d->d_name, fdir, flen) != 0 ||
			    d->d_name[flen] != '.')
				continue;
			maildir_fmt(a, sizeof(a), "%s/%s", mu->root, d->d_name);
			if (maildir_fmt(b, sizeof(b), "%s/%s%s", mu->root, tdir,
					d->d_name + flen) >= (int)sizeof(b) ||
			    strlen(tdir) + strlen(d->d_name + flen) > 255 ||
			    rename(a, b) < 0)
				ret = PH_EIO;
		}
		closedir(dp);
	}
	maildir_user_special_use_rename(mu, from, to);
	if (ret < 0)
		*error_r = "some child mailboxes could not be renamed";
	return ret;
}

int maildir_mailbox_status(ph_mail_user *mu, const char *name,
			   struct ph_mailbox_status *status_r,
			   const char **error_r)
{
	struct maildir_index *idx = NULL;
	char path[PATH_MAX];
	bool inbox;
	int ret;

	ret = maildir_user_mailbox_path(mu, name, path, sizeof(path), &inbox,
					error_r);
	if (ret < 0)
		return ret;
	if (!inbox && !path_exists(path)) {
		*error_r = "mailbox does not exist";
		return PH_ENOTFOUND;
	}
	if ((ret = maildir_sync_index(mu, path, false, &idx, error_r)) < 0)
		return ret;
	status_r->messages = idx->count;
	status_r->recent = 0;
	status_r->unseen = 0;
	status_r->size = 0;
	for (uint32_t i = 0; i < idx->count; i++) {
		const struct maildir_rec *r = &idx->recs[i];

		if (r->uid >= idx->first_recent_uid)
			status_r->recent++;
		if (!(r->flags & PH_FLAG_SEEN))
			status_r->unseen++;
		status_r->size += r->vsize ? r->vsize : r->psize;
	}
	status_r->first_unseen_seq = 0;
	status_r->uidvalidity = idx->uidvalidity;
	status_r->uidnext = idx->uidnext;
	status_r->highestmodseq = idx->highestmodseq;
	if (PH_HAS_FIELD(status_r, keywords_creatable)) {
		status_r->readonly = 0;
		status_r->keywords_creatable =
		    idx->kw_count < MAILDIR_KEYWORDS_MAX;
	}
	maildir_index_free(&idx);
	return PH_OK;
}
