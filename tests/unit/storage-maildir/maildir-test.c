/* See maildir-test.h. */
#include "maildir-test.h"
#include "mock-core.h"

#include <CUnit/CUnit.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void mt_setup(struct mt *t, const char *const *kv)
{
	const char *all[32];
	char root_tmpl[300];
	const char *error = NULL;
	size_t n = 0;

	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/ph-maildir-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(t->dir));
	snprintf(root_tmpl, sizeof(root_tmpl), "%s/%%u/Maildir", t->dir);
	snprintf(t->root, sizeof(t->root), "%s/alice/Maildir", t->dir);
	all[n++] = "root";
	all[n++] = root_tmpl;
	all[n++] = "fsync";
	all[n++] = "no";
	for (size_t i = 0; kv && kv[i] && kv[i + 1] && n < 28; i += 2) {
		all[n++] = kv[i];
		all[n++] = kv[i + 1];
	}
	all[n] = NULL;
	t->cfg = ph_mock_config_create(all, posthorn_plugin.settings);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->cfg);
	CU_ASSERT_EQUAL_FATAL(
	    posthorn_plugin.init(ph_mock_core_api(), t->cfg, &t->state, &error),
	    PH_OK);
	t->ops = posthorn_plugin.ops;
	t->user = ph_mock_user_create("alice");
	CU_ASSERT_EQUAL_FATAL(
	    t->ops->user_open(t->state, t->user, &t->mu, &error), PH_OK);
}

static void rm_rf(const char *path)
{
	struct dirent *d;
	DIR *dp = opendir(path);

	if (dp == NULL) {
		unlink(path);
		return;
	}
	while ((d = readdir(dp)) != NULL) {
		char p[1024];
		struct stat st;

		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, d->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rm_rf(p);
		else
			unlink(p);
	}
	closedir(dp);
	rmdir(path);
}

void mt_teardown(struct mt *t)
{
	if (t->mu)
		t->ops->user_close(&t->mu);
	CU_ASSERT_PTR_NULL(t->mu);
	posthorn_plugin.fini(t->state);
	ph_mock_user_destroy(&t->user);
	ph_mock_config_destroy(&t->cfg);
	if (getenv("PH_KEEP_TMP") == NULL)
		rm_rf(t->dir);
}

uint32_t mt_append(struct mt *t, const char *box, const char *text,
		   uint32_t flags)
{
	struct ph_append_request req = PH_APPEND_REQUEST_INIT;
	ph_append *ap = NULL;
	const char *error = NULL;
	uint32_t uid = 0, uidv = 0;

	req.flags = flags;
	if (t->ops->append_begin(t->mu, box, &req, &ap, &error) != PH_OK)
		return 0;
	if (t->ops->append_write(ap, text, strlen(text), &error) != PH_OK) {
		t->ops->append_abort(&ap);
		return 0;
	}
	if (t->ops->append_commit(&ap, &uidv, &uid, &error) != PH_OK)
		return 0;
	CU_ASSERT_PTR_NULL(ap);
	return uid;
}

unsigned mt_count_files(const char *dir, const char *sub)
{
	char p[1024];
	struct dirent *d;
	unsigned n = 0;
	DIR *dp;

	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	if ((dp = opendir(p)) == NULL)
		return 0;
	while ((d = readdir(dp)) != NULL)
		if (d->d_name[0] != '.')
			n++;
	closedir(dp);
	return n;
}

int mt_read(struct mt *t, ph_mailbox *box, uint32_t seq, char *buf, size_t size)
{
	struct ph_message_body body = PH_MESSAGE_BODY_INIT;
	const char *error;
	ssize_t n;
	int ret = t->ops->message_open(box, seq, &body, &error);

	buf[0] = '\0';
	if (ret < 0)
		return ret;
	n = pread(body.fd, buf, size - 1, (off_t)body.offset);
	buf[n > 0 ? n : 0] = '\0';
	t->ops->message_close(box, &body);
	CU_ASSERT_EQUAL(body.fd, -1);
	return PH_OK;
}

static unsigned count_tree(const char *path, const char *skip)
{
	struct dirent *d;
	unsigned n = 0;
	DIR *dp = opendir(path);

	if (dp == NULL)
		return 0;
	while ((d = readdir(dp)) != NULL) {
		char p[1024];
		struct stat st;

		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, d->d_name);
		if (strcmp(p, skip) == 0)
			continue;
		n++;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			n += count_tree(p, skip);
	}
	closedir(dp);
	return n;
}

unsigned mt_outside_entries(struct mt *t)
{
	/* DIR/alice is the only thing expected besides the root itself. */
	return count_tree(t->dir, t->root);
}

void mt_deliver_new(const char *maildir, const char *name, const char *text)
{
	char tmp[1024], dst[1024];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", maildir, name);
	snprintf(dst, sizeof(dst), "%s/new/%s", maildir, name);
	f = fopen(tmp, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
	CU_ASSERT_EQUAL(rename(tmp, dst), 0);
}

ph_mailbox *mt_open(struct mt *t, const char *name, unsigned flags)
{
	ph_mailbox *box = NULL;
	const char *error = NULL;

	CU_ASSERT_EQUAL_FATAL(
	    t->ops->mailbox_open(t->mu, name, flags, &box, &error), PH_OK);
	return box;
}
