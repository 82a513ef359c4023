/* storage-maildir: bad mailbox names, one test each. Every bad name must
 * give PH_EINVAL from create, open, append and status alike, and touch
 * nothing outside the user's root. */
#include "cunit-main.h"
#include "maildir-test.h"

#include <string.h>
#include <sys/stat.h>

static void expect_invalid(const char *sep, const char *name)
{
	static const char *kv_slash[] = {"separator", "/", NULL};
	static const char *kv_dot[] = {"separator", ".", NULL};
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;
	struct ph_append_request req = PH_APPEND_REQUEST_INIT;
	ph_append *ap = NULL;
	ph_mailbox *box = NULL;
	const char *error = NULL;
	unsigned outside;
	struct mt t;

	mt_setup(&t, sep[0] == '.' ? kv_dot : kv_slash);
	outside = mt_outside_entries(&t);
	CU_ASSERT_EQUAL(t.ops->mailbox_create(t.mu, name, 0, &error),
			PH_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(error);
	CU_ASSERT_EQUAL(t.ops->mailbox_open(t.mu, name, 0, &box, &error),
			PH_EINVAL);
	CU_ASSERT_EQUAL(t.ops->mailbox_status(t.mu, name, &st, &error),
			PH_EINVAL);
	CU_ASSERT_EQUAL(t.ops->append_begin(t.mu, name, &req, &ap, &error),
			PH_EINVAL);
	CU_ASSERT_EQUAL(t.ops->mailbox_delete(t.mu, name, &error), PH_EINVAL);
	CU_ASSERT_EQUAL(t.ops->mailbox_rename(t.mu, "Sent", name, &error),
			PH_EINVAL);
	CU_ASSERT_EQUAL(t.ops->mailbox_subscribe(t.mu, name, 1, &error),
			PH_EINVAL);
	CU_ASSERT_EQUAL(mt_outside_entries(&t), outside);
	mt_teardown(&t);
}

static void test_dotdot(void)
{
	expect_invalid("/", "..");
	expect_invalid("/", "a/../../b");
	expect_invalid("/", "a..b");
}

static void test_dotdot_dot_separator(void)
{
	expect_invalid(".", "..");
	expect_invalid(".", "a..b");
}

static void test_slash_with_dot_separator(void)
{
	expect_invalid(".", "a/b");
	expect_invalid(".", "../../etc");
}

static void test_nul(void)
{
	/* A NUL cannot cross a C string; its overlong UTF-8 form can. */
	expect_invalid("/", "a\xc0\x80"
			    "b");
}

static void test_control(void)
{
	expect_invalid("/", "a\tb");
	expect_invalid("/", "a\nb");
	expect_invalid("/", "a\x7f");
	expect_invalid("/", "a\xc2\x85"); /* C1 NEL */
}

static void test_leading_separator(void)
{
	expect_invalid("/", "/etc");
	expect_invalid(".", ".hidden");
}

static void test_trailing_and_empty_component(void)
{
	expect_invalid("/", "a/");
	expect_invalid("/", "a//b");
}

static void test_too_long(void)
{
	char name[300];

	memset(name, 'x', 256);
	name[256] = '\0';
	expect_invalid("/", name);
}

static void test_too_long_on_disk(void)
{
	char big[256];

	/* 100 dots in 200 bytes become 300 bytes of %2E: over NAME_MAX. */
	for (int i = 0; i < 200; i++)
		big[i] = (i % 2) ? '.' : 'x';
	big[200] = '\0';
	expect_invalid("/", big);
}

static void test_bad_utf8(void)
{
	expect_invalid("/", "caf\xe9");		 /* Latin-1 */
	expect_invalid("/", "\xed\xa0\x80");	 /* surrogate */
	expect_invalid("/", "\xe0\x80\xaf");	 /* overlong '/' */
	expect_invalid("/", "\xf4\x90\x80\x80"); /* > U+10FFFF */
	expect_invalid("/", "a\xe2\x82");	 /* truncated */
}

static void test_wildcards(void)
{
	expect_invalid("/", "a*");
	expect_invalid("/", "100%");
}

static void test_empty(void)
{
	expect_invalid("/", "");
}

/* Names that are fine, and where they land on disk. */
static void test_good_names(void)
{
	const char *error = NULL;
	char path[1024];
	struct stat st;
	struct mt t;

	mt_setup(&t, NULL);
	CU_ASSERT_EQUAL(t.ops->mailbox_separator(t.mu), '/');
	CU_ASSERT_EQUAL(t.ops->mailbox_create(t.mu, "a.b/c", 0, &error), PH_OK);
	snprintf(path, sizeof(path), "%s/.a%%2Eb.c/cur", t.root);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(
	    t.ops->mailbox_create(t.mu, "Caf\xc3\xa9 \xe2\x9c\x89", 0, &error),
	    PH_OK);
	snprintf(path, sizeof(path),
		 "%s/.Caf\xc3\xa9 \xe2\x9c\x89/maildirfolder", t.root);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/.Caf\xc3\xa9 \xe2\x9c\x89", t.root);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
	mt_teardown(&t);
}

static CU_TestInfo tests[] = {
    {"dotdot", test_dotdot},
    {"dotdot_dot_separator", test_dotdot_dot_separator},
    {"slash_with_dot_separator", test_slash_with_dot_separator},
    {"nul", test_nul},
    {"control", test_control},
    {"leading_separator", test_leading_separator},
    {"trailing_and_empty_component", test_trailing_and_empty_component},
    {"too_long", test_too_long},
    {"too_long_on_disk", test_too_long_on_disk},
    {"bad_utf8", test_bad_utf8},
    {"wildcards", test_wildcards},
    {"empty", test_empty},
    {"good_names", test_good_names},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"maildir-names", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
