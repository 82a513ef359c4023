/* storage-maildir: users and mailboxes (first login, list, create,
 * delete, rename, subscriptions, status). */
#include "cunit-main.h"
#include "maildir-test.h"
#include "mock-core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct seen {
	char names[32][64];
	uint32_t attrs[32];
	unsigned n;
};

static int collect(void *ctx, const struct ph_mailbox_info *info)
{
	struct seen *s = ctx;

	if (s->n < 32) {
		snprintf(s->names[s->n], 64, "%s", info->name);
		s->attrs[s->n++] = info->attrs;
	}
	return 0;
}

static int find(const struct seen *s, const char *name)
{
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return (int)i;
	return -1;
}

static void list(struct mt *t, struct seen *s)
{
	const char *error;

	memset(s, 0, sizeof(*s));
	CU_ASSERT_EQUAL(t->ops->mailbox_list(t->mu, collect, s, &error), PH_OK);
}

static void test_first_login(void)
{
	struct seen s;
	struct stat st;
	struct mt t;
	int i;

	mt_setup(&t, NULL);
	CU_ASSERT_EQUAL(stat(t.root, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
	list(&t, &s);
	CU_ASSERT_STRING_EQUAL(s.names[0], "INBOX");
	CU_ASSERT_EQUAL(s.n, 6);
	CU_ASSERT((i = find(&s, "Sent")) >= 0);
	CU_ASSERT(i >= 0 && (s.attrs[i] & PH_MBOX_SENT));
	CU_ASSERT((i = find(&s, "Trash")) >= 0);
	CU_ASSERT(i >= 0 && (s.attrs[i] & PH_MBOX_TRASH));
	CU_ASSERT((i = find(&s, "Archive")) >= 0);
	CU_ASSERT(i >= 0 && (s.attrs[i] & PH_MBOX_ARCHIVE));
	CU_ASSERT((i = find(&s, "Drafts")) >= 0);
	CU_ASSERT(i >= 0 && (s.attrs[i] & PH_MBOX_DRAFTS) &&
		  (s.attrs[i] & PH_MBOX_HASNOCHILDREN));
	mt_teardown(&t);
}

static void test_mail_field_wins(void)
{
	const struct ph_core_api *api = ph_mock_core_api();
	ph_mail_user *mu = NULL;
	const char *error;
	char path[600];
	struct stat st;
	struct mt t;

	mt_setup(&t, NULL);
	snprintf(path, sizeof(path), "%s/elsewhere/Maildir", t.dir);
	CU_ASSERT_EQUAL(api->user_set(t.user, "mail", path), PH_OK);
	CU_ASSERT_EQUAL(t.ops->user_open(t.state, t.user, &mu, &error), PH_OK);
	strcat(path, "/cur");
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	t.ops->user_close(&mu);
	mt_teardown(&t);
}

static void test_expansions(void)
{
	static const char *kv[] = {"special_use_folders", "", NULL};
	const struct ph_core_api *api = ph_mock_core_api();
	ph_user *u = ph_mock_user_create("bob@example.org");
	ph_mail_user *mu = NULL;
	const char *error;
	char path[600], tmpl[600];
	struct stat st;
	struct mt t;
	ph_config *cfg;
	void *state;
	const char *kv2[] = {"root", tmpl, NULL};

	mt_setup(&t, kv);
	snprintf(tmpl, sizeof(tmpl), "%s/%%d/%%n/M%%%%", t.dir);
	cfg = ph_mock_config_create(kv2, posthorn_plugin.settings);
	CU_ASSERT_EQUAL(posthorn_plugin.init(api, cfg, &state, &error), PH_OK);
	CU_ASSERT_EQUAL(t.ops->user_open(state, u, &mu, &error), PH_OK);
	snprintf(path, sizeof(path), "%s/example.org/bob/M%%/cur", t.dir);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	t.ops->user_close(&mu);
	/* A user name that would climb out of the root is refused. */
	api->user_set(u, "user", "../evil");
	CU_ASSERT_EQUAL(t.ops->user_open(state, u, &mu, &error), PH_EINVAL);
	posthorn_plugin.fini(state);
	ph_mock_config_destroy(&cfg);
	ph_mock_user_destroy(&u);
	mt_teardown(&t);
}

static void test_create_delete(void)
{
	const char *error;
	struct seen s;
	struct mt t;
	int i;

	mt_setup(&t, NULL);
	CU_ASSERT_EQUAL(t.ops->mailbox_create(t.mu, "a/b/c", 0, &error), PH_OK);
	CU_ASSERT_EQUAL(t.ops->mailbox_create(t.mu, "a/b/c", 0, &error),
			PH_EEXISTS);
	CU_ASSERT_EQUAL(t.ops->mailbox_create(t.mu, "inbox", 0, &error),
			PH_EEXISTS);
	list(&t, &s);
	CU_ASSERT((i = find(&s, "a")) >= 0);
	CU_ASSERT(i >= 0 && (s.attrs[i] & PH_MBOX_NOSELECT) &&
		  (s.attrs[i] & PH_MBOX_HASCHILDREN));
	CU_ASSERT((i = find(&s, "a/b/c")) >= 0);
	CU_ASSERT(i >= 0 && !(s.attrs[i] & PH_MBOX_NOSELECT));
	CU_ASSERT_EQUAL(t.ops->mailbox_delete(t.mu, "INBOX", &error), PH_EPERM);
	CU_ASSERT_EQUAL(t.ops->mailbox_delete(t.mu, "nope", &error),
			PH_ENOTFOUND);
	CU_ASSERT_EQUAL(t.ops->mailbox_delete(t.mu, "Trash", &error), PH_OK);
	list(&t, &s);
	CU_ASSERT_EQUAL(find(&s, "Trash"), -1);
	/* Re-created: no special-use left over. */
	CU_ASSERT_EQUAL(t.ops->mailbox_create(t.mu, "Trash", 0, &error), PH_OK);
	list(&t, &s);
	CU_ASSERT((i = find(&s, "Trash")) >= 0);
	CU_ASSERT(i >= 0 && !(s.attrs[i] & PH_MBOX_TRASH));
	mt_teardown(&t);
}

static void test_uidvalidity_new_on_recreate(void)
{
	struct ph_mailbox_status a = PH_MAILBOX_STATUS_INIT,
				 b = PH_MAILBOX_STATUS_INIT;
	const char *error;
	struct mt t;

	mt_setup(&t, NULL);
	CU_ASSERT_EQUAL(t.ops->mailbox_create(t.mu, "X", 0, &error), PH_OK);
	CU_ASSERT_EQUAL(mt_append(&t, "X", "m1\r\n", 0), 1);
	CU_ASSERT_EQUAL(t.ops->mailbox_status(t.mu, "X", &a, &error), PH_OK);
	CU_ASSERT_EQUAL(t.ops->mailbox_delete(t.mu, "X", &error), PH_OK);
	CU_ASSERT_EQUAL(t.ops->mailbox_create(t.mu, "X", 0, &error), PH_OK);
	CU_ASSERT_EQUAL(t.ops->mailbox_status(t.mu, "X", &b, &error), PH_OK);
	CU_ASSERT_NOT_EQUAL(a.uidvalidity, b.uidvalidity);
	CU_ASSERT_EQUAL(b.messages, 0);
	CU_ASSERT_EQUAL(b.uidnext, 1);
	mt_teardown(&t);
}

static void test_rename_with_children(void)
{
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;
	const char *error;
	struct seen s;
	struct mt t;

	mt_setup(&t, NULL);
	CU_ASSERT_EQUAL(t.ops->mailbox_create(t.mu, "p", 0, &error), PH_OK);
	CU_ASSERT_EQUAL(t.ops->mailbox_create(t.mu, "p/q", 0, &error), PH_OK);
	CU_ASSERT_EQUAL(mt_append(&t, "p/q", "m\r\n", 0), 1);
	CU_ASSERT_EQUAL(t.ops->mailbox_rename(t.mu, "p", "Sent", &error),
			PH_EEXISTS);
	CU_ASSERT_EQUAL(t.ops->mailbox_rename(t.mu, "p", "p/q/r", &error),
			PH_EINVAL);
	CU_ASSERT_EQUAL(t.ops->mailbox_rename(t.mu, "nope", "z", &error),
			PH_ENOTFOUND);
	CU_ASSERT_EQUAL(t.ops->mailbox_rename(t.mu, "p", "r", &error), PH_OK);
	list(&t, &s);
	CU_ASSERT_EQUAL(find(&s, "p"), -1);
	CU_ASSERT_EQUAL(find(&s, "p/q"), -1);
	CU_ASSERT(find(&s, "r") >= 0);
	CU_ASSERT(find(&s, "r/q") >= 0);
	CU_ASSERT_EQUAL(t.ops->mailbox_status(t.mu, "r/q", &st, &error), PH_OK);
	CU_ASSERT_EQUAL(st.messages, 1);
	/* Special-use follows a rename. */
	CU_ASSERT_EQUAL(t.ops->mailbox_rename(t.mu, "Sent", "Sent2", &error),
			PH_OK);
	list(&t, &s);
	CU_ASSERT(find(&s, "Sent2") >= 0 &&
		  (s.attrs[find(&s, "Sent2")] & PH_MBOX_SENT));
	mt_teardown(&t);
}

static void test_rename_inbox(void)
{
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;
	const char *error;
	struct mt t;

	mt_setup(&t, NULL);
	CU_ASSERT_EQUAL(mt_append(&t, "INBOX", "one\r\n", 0), 1);
	CU_ASSERT_EQUAL(mt_append(&t, "INBOX", "two\r\n", 0), 2);
	CU_ASSERT_EQUAL(t.ops->mailbox_rename(t.mu, "INBOX", "Old", &error),
			PH_OK);
	CU_ASSERT_EQUAL(t.ops->mailbox_status(t.mu, "Old", &st, &error), PH_OK);
	CU_ASSERT_EQUAL(st.messages, 2);
	CU_ASSERT_EQUAL(t.ops->mailbox_status(t.mu, "INBOX", &st, &error),
			PH_OK);
	CU_ASSERT_EQUAL(st.messages, 0);
	CU_ASSERT_EQUAL(st.uidnext, 3); /* UIDs are never reused */
	mt_teardown(&t);
}

static void test_subscriptions(void)
{
	const char *error;
	struct seen s;
	struct mt t;
	int i;

	mt_setup(&t, NULL);
	CU_ASSERT_EQUAL(t.ops->mailbox_subscribe(t.mu, "Sent", 1, &error),
			PH_OK);
	CU_ASSERT_EQUAL(t.ops->mailbox_subscribe(t.mu, "Gone", 1, &error),
			PH_OK);
	CU_ASSERT_EQUAL(t.ops->mailbox_subscribe(t.mu, "Sent", 1, &error),
			PH_OK);
	list(&t, &s);
	CU_ASSERT((i = find(&s, "Sent")) >= 0);
	CU_ASSERT(i >= 0 && (s.attrs[i] & PH_MBOX_SUBSCRIBED));
	CU_ASSERT((i = find(&s, "Gone")) >= 0);
	CU_ASSERT(i >= 0 && (s.attrs[i] & PH_MBOX_NONEXISTENT));
	CU_ASSERT_EQUAL(t.ops->mailbox_subscribe(t.mu, "Sent", 0, &error),
			PH_OK);
	list(&t, &s);
	CU_ASSERT((i = find(&s, "Sent")) >= 0);
	CU_ASSERT(i >= 0 && !(s.attrs[i] & PH_MBOX_SUBSCRIBED));
	mt_teardown(&t);
}

static void test_status(void)
{
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;
	const char *error;
	struct mt t;

	mt_setup(&t, NULL);
	CU_ASSERT_EQUAL(mt_append(&t, "INBOX", "a\nb\n", PH_FLAG_SEEN), 1);
	CU_ASSERT_EQUAL(mt_append(&t, "INBOX", "c\r\n", 0), 2);
	CU_ASSERT_EQUAL(t.ops->mailbox_status(t.mu, "inbox", &st, &error),
			PH_OK);
	CU_ASSERT_EQUAL(st.messages, 2);
	CU_ASSERT_EQUAL(st.unseen, 1);
	CU_ASSERT_EQUAL(st.recent, 2);
	CU_ASSERT_EQUAL(st.uidnext, 3);
	CU_ASSERT_EQUAL(st.size, 6 + 3); /* CRLF sizes */
	CU_ASSERT(st.uidvalidity != 0);
	CU_ASSERT_EQUAL(t.ops->mailbox_status(t.mu, "nope", &st, &error),
			PH_ENOTFOUND);
	mt_teardown(&t);
}

static CU_TestInfo tests[] = {
    {"first_login", test_first_login},
    {"mail_field_wins", test_mail_field_wins},
    {"expansions", test_expansions},
    {"create_delete", test_create_delete},
    {"uidvalidity_new_on_recreate", test_uidvalidity_new_on_recreate},
    {"rename_with_children", test_rename_with_children},
    {"rename_inbox", test_rename_inbox},
    {"subscriptions", test_subscriptions},
    {"status", test_status},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"maildir-mailbox", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
