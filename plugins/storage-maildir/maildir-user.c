/* maildir-user.c - a user's mail store: where it is, first-login
 * creation, and the small per-user files (subscriptions, special-use,
 * the UIDVALIDITY counter), each rewritten with tmp + rename under the
 * user lock (ROOT/posthorn-user-lock). */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define USER_LOCK	   "posthorn-user-lock"
#define SPECIAL_USE_FILE   "posthorn-special-use"
#define UIDVALIDITY_FILE   "posthorn-uidvalidity"
#define SUBSCRIPTIONS_FILE "subscriptions"

static const struct {
	const char *name;
	uint32_t attr;
} special_use_names[] = {
    {"\\All", PH_MBOX_ALL},	  {"\\Archive", PH_MBOX_ARCHIVE},
    {"\\Drafts", PH_MBOX_DRAFTS}, {"\\Flagged", PH_MBOX_FLAGGED},
    {"\\Junk", PH_MBOX_JUNK},	  {"\\Sent", PH_MBOX_SENT},
    {"\\Trash", PH_MBOX_TRASH},
};
#define N_SPECIAL (sizeof(special_use_names) / sizeof(special_use_names[0]))

void maildir_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Expands the root template: %u user, %n local part, %d domain, %%. */
static int user_expand(const char *tmpl, const char *user, char *out,
		       size_t size)
{
	const char *at = strchr(user, '@');
	size_t o = 0;

	for (const char *p = tmpl; *p; p++) {
		const char *s = NULL;
		size_t n = 1;

		if (*p == '%' && p[1] != '\0') {
			p++;
			switch (*p) {
			case 'u':
				s = user;
				n = strlen(user);
				break;
			case 'n':
				s = user;
				n = at ? (size_t)(at - user) : strlen(user);
				break;
			case 'd':
				s = at ? at + 1 : "";
				n = strlen(s);
				break;
			case '%':
				s = "%";
				break;
			default:
				return PH_EINVAL;
			}
		} else {
			s = p;
		}
		if (o + n >= size)
			return PH_ETOOBIG;
		memcpy(out + o, s, n);
		o += n;
	}
	out[o] = '\0';
	return PH_OK;
}

static int user_mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			*p = '/';
			return PH_EIO;
		}
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return PH_EIO;
	return PH_OK;
}

static int user_file_write(ph_mail_user *mu, const char *file, const char *data,
			   size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd, ret = PH_OK;

	maildir_fmt(path, sizeof(path), "%s/%s", mu->root, file);
	maildir_fmt(tmp, sizeof(tmp), "%s/%s.tmp", mu->root, file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0)
		return PH_EIO;
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		ret = PH_EIO;
	if (close(fd) < 0 || (ret == PH_OK && rename(tmp, path) < 0))
		ret = PH_EIO;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

/* Reads a per-user file as lines (at most 100,000, each < 1 KiB). */
static int user_file_lines(ph_mail_user *mu, const char *file, char ***v_r,
			   size_t *n_r)
{
	char path[PATH_MAX], line[1024];
	char **v = NULL;
	size_t n = 0;
	FILE *f;

	*v_r = NULL;
	*n_r = 0;
	maildir_fmt(path, sizeof(path), "%s/%s", mu->root, file);
	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT ? PH_OK : PH_EIO;
	while (n < 100000 && fgets(line, sizeof(line), f) != NULL) {
		size_t len = strcspn(line, "\n");
		char **nv;

		if (len == 0)
			continue;
		line[len] = '\0';
		if ((nv = realloc(v, (n + 1) * sizeof(*v))) == NULL ||
		    (nv[n] = strdup(line)) == NULL) {
			if (nv != NULL)
				v = nv;
			maildir_strv_free(v, n);
			fclose(f);
			return PH_ENOMEM;
		}
		v = nv;
		n++;
	}
	fclose(f);
	*v_r = v;
	*n_r = n;
	return PH_OK;
}

static int user_file_put_lines(ph_mail_user *mu, const char *file, char **v,
			       size_t n)
{
	size_t len = 0, o = 0;
	char *buf;
	int ret;

	for (size_t i = 0; i < n; i++)
		if (v[i] != NULL)
			len += strlen(v[i]) + 1;
	if ((buf = malloc(len + 1)) == NULL)
		return PH_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (v[i] != NULL)
			o += (size_t)sprintf(buf + o, "%s\n", v[i]);
	ret = user_file_write(mu, file, buf, o);
	free(buf);
	return ret;
}

uint32_t maildir_user_new_uidvalidity(ph_mail_user *mu)
{
	char path[PATH_MAX], buf[32];
	uint32_t now = (uint32_t)time(NULL), last = 0, next;
	int lock = maildir_lock_take(mu->root, USER_LOCK);
	FILE *f;

	maildir_fmt(path, sizeof(path), "%s/" UIDVALIDITY_FILE, mu->root);
	if ((f = fopen(path, "re")) != NULL) {
		if (fscanf(f, "%" SCNu32, &last) != 1)
			last = 0;
		fclose(f);
	}
	/* Strictly increasing per user: a re-created mailbox never gets a
	 * UIDVALIDITY it had before. */
	next = now > last ? now : last + 1;
	if (next == 0)
		next = 1;
	maildir_fmt(buf, sizeof(buf), "%" PRIu32 "\n", next);
	user_file_write(mu, UIDVALIDITY_FILE, buf, strlen(buf));
	maildir_lock_release(&lock);
	return next;
}

static uint32_t special_parse_attrs(const char *s)
{
	uint32_t attrs = 0;

	for (size_t i = 0; i < N_SPECIAL; i++) {
		const char *p = strstr(s, special_use_names[i].name);
		size_t n = strlen(special_use_names[i].name);

		if (p != NULL && (p[n] == '\0' || p[n] == ' ' || p[n] == '\\'))
			attrs |= special_use_names[i].attr;
	}
	return attrs;
}

int maildir_user_special_use_get(ph_mail_user *mu, const char *name,
				 uint32_t *attrs_r)
{
	char **v;
	size_t n, len = strlen(name);
	int ret = user_file_lines(mu, SPECIAL_USE_FILE, &v, &n);

	*attrs_r = 0;
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++)
		if (strncmp(v[i], name, len) == 0 && v[i][len] == '\t')
			*attrs_r |= special_parse_attrs(v[i] + len + 1);
	maildir_strv_free(v, n);
	return PH_OK;
}

static int special_line(char **line_r, const char *name, uint32_t attrs)
{
	char buf[MAILDIR_NAME_MAX + 128];
	size_t o = (size_t)maildir_fmt(buf, sizeof(buf), "%s\t", name);

	for (size_t i = 0; i < N_SPECIAL; i++)
		if (attrs & special_use_names[i].attr)
			o += (size_t)maildir_fmt(buf + o, sizeof(buf) - o, "%s",
						 special_use_names[i].name);
	*line_r = strdup(buf);
	return *line_r ? PH_OK : PH_ENOMEM;
}

int maildir_user_special_use_set(ph_mail_user *mu, const char *name,
				 uint32_t attrs)
{
	int lock = maildir_lock_take(mu->root, USER_LOCK);
	size_t n, len = strlen(name);
	char **v, **nv;
	int ret;

	if (lock < 0)
		return lock;
	if ((ret = user_file_lines(mu, SPECIAL_USE_FILE, &v, &n)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(v[i], name, len) == 0 && v[i][len] == '\t') {
			free(v[i]);
			v[i] = NULL;
		}
	}
	if (attrs & PH_MBOX_SPECIAL_USE_MASK) {
		if ((nv = realloc(v, (n + 1) * sizeof(*v))) == NULL) {
			ret = PH_ENOMEM;
			maildir_strv_free(v, n);
			goto out;
		}
		v = nv;
		if ((ret = special_line(&v[n], name, attrs)) == PH_OK)
			n++;
	}
	if (ret == PH_OK)
		ret = user_file_put_lines(mu, SPECIAL_USE_FILE, v, n);
	maildir_strv_free(v, n);
out:
	maildir_lock_release(&lock);
	return ret;
}

int maildir_user_special_use_rename(ph_mail_user *mu, const char *from,
				    const char *to)
{
	int lock = maildir_lock_take(mu->root, USER_LOCK);
	size_t n, len = strlen(from);
	char **v;
	int ret;

	if (lock < 0)
		return lock;
	if ((ret = user_file_lines(mu, SPECIAL_USE_FILE, &v, &n)) < 0)
		goto out;
	for (size_t i = 0; i < n && ret == PH_OK; i++) {
		char *line = v[i], *nl;

		if (strncmp(line, from, len) != 0 ||
		    (line[len] != '\t' && line[len] != mu->sep))
			continue;
		if (to == NULL) {
			free(line);
			v[i] = NULL;
			continue;
		}
		if (asprintf(&nl, "%s%s", to, line + len) < 0) {
			ret = PH_ENOMEM;
			break;
		}
		free(line);
		v[i] = nl;
	}
	if (ret == PH_OK)
		ret = user_file_put_lines(mu, SPECIAL_USE_FILE, v, n);
	maildir_strv_free(v, n);
out:
	maildir_lock_release(&lock);
	return ret;
}

int maildir_user_subscriptions(ph_mail_user *mu, char ***names_r,
			       size_t *count_r)
{
	return user_file_lines(mu, SUBSCRIPTIONS_FILE, names_r, count_r);
}

int maildir_mailbox_subscribe(ph_mail_user *mu, const char *name, int subscribe,
			      const char **error_r)
{
	char dir[MAILDIR_FILENAME_MAX + 2];
	const char *canon = name;
	bool inbox, found = false;
	char **v;
	size_t n;
	int lock, ret;

	ret = maildir_name_to_dir(mu->sep, name, dir, sizeof(dir), &inbox,
				  error_r);
	if (ret < 0)
		return ret;
	if (inbox)
		canon = "INBOX";
	if ((lock = maildir_lock_take(mu->root, USER_LOCK)) < 0)
		return lock;
	if ((ret = user_file_lines(mu, SUBSCRIPTIONS_FILE, &v, &n)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i], canon) == 0) {
			found = true;
			if (!subscribe) {
				free(v[i]);
				v[i] = NULL;
			}
		}
	}
	if (subscribe && !found) {
		char **nv = realloc(v, (n + 1) * sizeof(*v));

		if (nv == NULL || (nv[n] = strdup(canon)) == NULL) {
			v = nv ? nv : v;
			ret = PH_ENOMEM;
			goto free;
		}
		v = nv;
		n++;
	}
	if (subscribe != found)
		ret = user_file_put_lines(mu, SUBSCRIPTIONS_FILE, v, n);
free:
	maildir_strv_free(v, n);
out:
	maildir_lock_release(&lock);
	if (ret < 0)
		*error_r = "cannot update the subscriptions";
	return ret;
}

int maildir_user_mailbox_path(ph_mail_user *mu, const char *name, char *path_r,
			      size_t size, bool *is_inbox_r,
			      const char **error_r)
{
	char dir[MAILDIR_FILENAME_MAX + 2];
	int ret = maildir_name_to_dir(mu->sep, name, dir, sizeof(dir),
				      is_inbox_r, error_r);

	if (ret < 0)
		return ret;
	if (maildir_fmt(path_r, size, "%s%s%s", mu->root, dir[0] ? "/" : "",
			dir) >= (int)size) {
		*error_r = "mailbox path too long";
		return PH_EINVAL;
	}
	return PH_OK;
}

/* Creates the special-use folders of the setting (first login). */
static void user_create_special(ph_mail_user *mu)
{
	const char *p = mu->storage->set.special_use;
	const char *error;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, " \t");
		char item[MAILDIR_NAME_MAX + 32], *colon;

		if (n > 0 && n < sizeof(item)) {
			memcpy(item, p, n);
			item[n] = '\0';
			colon = strchr(item, ':');
			if (colon != NULL) {
				*colon = '\0';
				if (maildir_mailbox_create(
					mu, item,
					special_parse_attrs(colon + 1),
					&error) < 0)
					maildir_api->log(
					    PH_LOG_WARNING,
					    "special-use folder %s: %s", item,
					    error);
			}
		}
		p += n;
		p += strspn(p, " \t");
	}
}

static int user_root(ph_mail_user *mu, const char **error_r)
{
	const char *name = maildir_api->user_get(mu->user, "user");
	const char *mail = maildir_api->user_get(mu->user, "mail");
	const char *home = maildir_api->user_get(mu->user, "home");
	char path[PATH_MAX];

	if (mail != NULL && *mail != '\0') {
		if (strncmp(mail, "maildir:", 8) == 0)
			mail += 8;
		if (strncmp(mail, "~/", 2) == 0 && home != NULL)
			maildir_fmt(path, sizeof(path), "%s/%.*s", home,
				    (int)strcspn(mail + 2, ":"), mail + 2);
		else
			maildir_fmt(path, sizeof(path), "%.*s",
				    (int)strcspn(mail, ":"), mail);
	} else if (mu->storage->set.root != NULL && name != NULL) {
		if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') ||
		    strpbrk(name, "\t\n\r")) {
			*error_r = "user name not usable in a path";
			return PH_EINVAL;
		}
		if (user_expand(mu->storage->set.root, name, path,
				sizeof(path)) < 0) {
			*error_r = "bad root template";
			return PH_EINVAL;
		}
	} else {
		*error_r = "no mail location: set root or the user's mail";
		return PH_EINVAL;
	}
	if (path[0] != '/') {
		*error_r = "mail location must be an absolute path";
		return PH_EINVAL;
	}
	while (strlen(path) > 1 && path[strlen(path) - 1] == '/')
		path[strlen(path) - 1] = '\0';
	if ((mu->root = strdup(path)) == NULL)
		return PH_ENOMEM;
	return PH_OK;
}

int maildir_user_open(void *state, const ph_user *user, ph_mail_user **mu_r,
		      const char **error_r)
{
	struct maildir_storage *st = state;
	ph_mail_user *mu = calloc(1, sizeof(*mu));
	char tmp[PATH_MAX];
	struct stat sb;
	bool first;
	int ret;

	if (mu == NULL) {
		*error_r = "out of memory";
		return PH_ENOMEM;
	}
	mu->storage = st;
	mu->user = user;
	mu->sep = st->set.separator;
	if ((ret = user_root(mu, error_r)) < 0)
		goto fail;
	/* tmp/ is made last (maildir_dir_create): a root another process is
	 * still creating has cur/ but maybe no tmp/ yet, and is completed
	 * here (mkdir tolerates EEXIST) instead of failing the append. */
	maildir_fmt(tmp, sizeof(tmp), "%s/tmp", mu->root);
	first = stat(tmp, &sb) < 0;
	if (first) {
		if (user_mkdirs(mu->root) < 0 ||
		    maildir_dir_create(mu->root) < 0) {
			maildir_api->log(PH_LOG_ERROR, "mkdir %s: %s", mu->root,
					 strerror(errno));
			*error_r = "cannot create the mail root";
			ret = PH_EIO;
			goto fail;
		}
		user_create_special(mu);
	}
	*mu_r = mu;
	return PH_OK;
fail:
	free(mu->root);
	free(mu);
	return ret;
}

void maildir_user_close(ph_mail_user **mup)
{
	ph_mail_user *mu = *mup;

	if (mu == NULL)
		return;
	while (mu->views != NULL) {
		ph_mailbox *box = mu->views;

		maildir_mailbox_close(&box);
	}
	free(mu->root);
	free(mu);
	*mup = NULL;
}

char maildir_mailbox_separator(ph_mail_user *mu)
{
	return mu->sep;
}
