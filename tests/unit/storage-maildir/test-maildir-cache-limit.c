/* storage-maildir: the cache file's size limit, built with a 1 MiB limit
 * (CACHE_MAX_FILE) so the test stays small. Appends stop at the limit
 * (the value stays in the view); a compaction whose live values would not
 * fit starts the file afresh, quietly and without failing the close. */
#include "cunit-main.h"
#include "maildir-cache.h"
#include "maildir-test.h"
#include "mock-core.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define MSGS	  300
#define VALUE_LEN 2000 /* a field of MSGS values: 600 KB */

_Static_assert(CACHE_MAX_FILE == 1024 * 1024, "built with the test limit");

static off_t cache_size(struct mt *t)
{
	char path[700];
	struct stat st;

	snprintf(path, sizeof(path), "%s/" CACHE_FILE, t->root);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

static void fill(struct mt *t, const char *field)
{
	static char value[VALUE_LEN];
	const char *error = NULL;
	ph_mailbox *box = NULL;

	memset(value, 'v', sizeof(value));
	CU_ASSERT_EQUAL_FATAL(
	    t->ops->mailbox_open(t->mu, "INBOX", 0, &box, &error), PH_OK);
	for (uint32_t seq = 1; seq <= MSGS; seq++)
		CU_ASSERT_EQUAL(
		    t->ops->cache_set(box, seq, field,
				      (struct ph_str){value, VALUE_LEN}),
		    PH_OK);
	t->ops->mailbox_close(&box);
}

static void test_compaction_past_limit(void)
{
	struct mt t;

	mt_setup(&t, NULL);
	for (int i = 0; i < MSGS; i++)
		CU_ASSERT_FATAL(mt_append(&t, "INBOX", "m\r\n", 0) != 0);
	fill(&t, "a"); /* 600 KB, compacted at close */
	CU_ASSERT(cache_size(&t) > 500 * 1024);
	ph_mock_log_reset();
	fill(&t, "b"); /* appends stop at 1 MiB; a + b do not fit: afresh */
	CU_ASSERT(cache_size(&t) < 1024 * 1024);
	CU_ASSERT(cache_size(&t) < 1024);
	fill(&t, "a"); /* fits again: compacted */
	CU_ASSERT(cache_size(&t) > 500 * 1024);
	CU_ASSERT(cache_size(&t) < 1024 * 1024);
	CU_ASSERT_EQUAL(ph_mock_log_count(PH_LOG_WARNING), 0);
	mt_teardown(&t);
}

static CU_TestInfo tests[] = {
    {"compaction past the limit", test_compaction_past_limit},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"maildir-cache-limit", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
