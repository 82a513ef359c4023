/* Unit tests of sequence sets, dates and response strings. */
#include <string.h>
#include "cunit-main.h"
#include "imap4-args.h"
#include "imap4-str.h"
#include "imap4-utf7.h"

static void test_seqset_parse(void)
{
	struct imap_seqset set;
	const char *err;

	CU_ASSERT_EQUAL(imap_seqset_parse("1:*,5,7:3", 100, &set, &err), PH_OK);
	CU_ASSERT_EQUAL(set.count, 3);
	CU_ASSERT_EQUAL(set.ranges[0].hi, IMAP_SEQ_STAR);
	imap_seqset_resolve(&set, 10);
	CU_ASSERT_EQUAL(set.count, 1);
	CU_ASSERT_EQUAL(set.ranges[0].lo, 1);
	CU_ASSERT_EQUAL(set.ranges[0].hi, 10);
	CU_ASSERT_EQUAL(imap_seqset_count(&set), 10);
	imap_seqset_free(&set);

	CU_ASSERT_EQUAL(imap_seqset_parse("9,2:3,4,20:*", 100, &set, &err),
			PH_OK);
	imap_seqset_resolve(&set, 15);
	CU_ASSERT_EQUAL(set.count, 3);
	CU_ASSERT_EQUAL(set.ranges[0].lo, 2);
	CU_ASSERT_EQUAL(set.ranges[0].hi, 4);
	CU_ASSERT_EQUAL(set.ranges[2].lo, 15); /* 20:* = 15:20 */
	CU_ASSERT_EQUAL(set.ranges[2].hi, 20);
	CU_ASSERT_TRUE(imap_seqset_contains(&set, 9));
	CU_ASSERT_FALSE(imap_seqset_contains(&set, 10));
	CU_ASSERT_FALSE(imap_seqset_contains(&set, 1));
	imap_seqset_free(&set);

	/* the largest UID is a number, not "*" */
	CU_ASSERT_EQUAL(imap_seqset_parse("1:4294967295", 100, &set, &err),
			PH_OK);
	imap_seqset_resolve(&set, 7);
	CU_ASSERT_EQUAL(set.ranges[0].hi, 4294967295u);
	CU_ASSERT_EQUAL(imap_seqset_count(&set), 4294967295ULL);
	imap_seqset_free(&set);

	/* "*" in an empty mailbox matches nothing */
	CU_ASSERT_EQUAL(imap_seqset_parse("*", 100, &set, &err), PH_OK);
	imap_seqset_resolve(&set, 0);
	CU_ASSERT_EQUAL(set.count, 0);
	imap_seqset_free(&set);
}

static void test_seqset_bad(void)
{
	static const char *const bad[] = {
	    "",
	    "0",
	    "1:0",
	    "0:*",
	    ",1",
	    "1,",
	    "1,,2",
	    "1::2",
	    "a",
	    "4294967296",
	    "99999999999999999999",
	    "1:2:3",
	    "-1",
	    "01",
	    "1 ",
	    "*:",
	    ":5",
	    NULL,
	};
	struct imap_seqset set;
	const char *err;
	unsigned i;

	for (i = 0; bad[i] != NULL; i++) {
		CU_ASSERT_EQUAL(imap_seqset_parse(bad[i], 100, &set, &err),
				PH_EINVAL);
		CU_ASSERT_PTR_NULL(set.ranges);
	}
	CU_ASSERT_EQUAL(imap_seqset_parse("$", 100, &set, &err), PH_ENOTSUP);
	CU_ASSERT_EQUAL(imap_seqset_parse("1,2,3,4", 3, &set, &err),
			PH_ETOOBIG);
}

static void test_seqset_many(void)
{
	static char buf[700000];
	struct imap_seqset set;
	const char *err;
	size_t n = 0;
	unsigned i;

	/* 100000 single numbers in reverse order, merged into one range */
	for (i = 100000; i >= 1; i--)
		n += (size_t)sprintf(buf + n, "%u%s", i, i > 1 ? "," : "");
	CU_ASSERT_EQUAL(imap_seqset_parse(buf, 200000, &set, &err), PH_OK);
	CU_ASSERT_EQUAL(set.count, 100000);
	imap_seqset_resolve(&set, 50);
	CU_ASSERT_EQUAL(set.count, 1);
	CU_ASSERT_EQUAL(imap_seqset_count(&set), 100000);
	imap_seqset_free(&set);
}

static void test_dates(void)
{
	int64_t t;
	int32_t tz;
	char out[32];

	CU_ASSERT_EQUAL(imap_parse_date("1-Feb-1994", &t), PH_OK);
	CU_ASSERT_EQUAL(t, 760060800);
	CU_ASSERT_EQUAL(imap_parse_date("01-feb-1994", &t), PH_OK);
	CU_ASSERT_EQUAL(t, 760060800);
	CU_ASSERT_EQUAL(imap_parse_date("29-Feb-1993", &t), PH_EINVAL);
	CU_ASSERT_EQUAL(imap_parse_date("29-Feb-1996", &t), PH_OK);
	CU_ASSERT_EQUAL(imap_parse_date("32-Jan-1994", &t), PH_EINVAL);
	CU_ASSERT_EQUAL(imap_parse_date("1-Foo-1994", &t), PH_EINVAL);
	CU_ASSERT_EQUAL(imap_parse_date("1-Feb-94", &t), PH_EINVAL);
	CU_ASSERT_EQUAL(imap_parse_date("1-Feb-1994x", &t), PH_EINVAL);
	CU_ASSERT_EQUAL(imap_parse_date("", &t), PH_EINVAL);

	CU_ASSERT_EQUAL(
	    imap_parse_datetime("17-Jul-1996 02:44:25 -0700", &t, &tz), PH_OK);
	CU_ASSERT_EQUAL(t, 837596665);
	CU_ASSERT_EQUAL(tz, -420);
	imap_format_datetime(t, tz, out);
	CU_ASSERT_STRING_EQUAL(out, "17-Jul-1996 02:44:25 -0700");
	CU_ASSERT_EQUAL(
	    imap_parse_datetime(" 7-Jul-1996 02:44:25 +0130", &t, &tz), PH_OK);
	CU_ASSERT_EQUAL(tz, 90);
	imap_format_datetime(t, tz, out);
	CU_ASSERT_STRING_EQUAL(out, "07-Jul-1996 02:44:25 +0130");
	CU_ASSERT_EQUAL(
	    imap_parse_datetime("17-Jul-1996 24:44:25 -0700", &t, &tz),
	    PH_EINVAL);
	CU_ASSERT_EQUAL(
	    imap_parse_datetime("17-Jul-1996 02:44:25 0700", &t, &tz),
	    PH_EINVAL);
	CU_ASSERT_EQUAL(imap_parse_datetime("17-Jul-1996", &t, &tz), PH_EINVAL);
}

static void test_strings(void)
{
	struct imap_str s;

	imap_str_init(&s, 0);
	imap_str_append_string(&s, "a \"b\" \\c", 8);
	CU_ASSERT_STRING_EQUAL(s.data, "\"a \\\"b\\\" \\\\c\"");
	imap_str_truncate(&s, 0);
	imap_str_append_string(&s, "x\r\ny", 4);
	CU_ASSERT_STRING_EQUAL(s.data, "{4}\r\nx\r\ny");
	imap_str_truncate(&s, 0);
	imap_str_append_string(&s, "caf\xc3\xa9", 5);
	CU_ASSERT_STRING_EQUAL(s.data, "{5}\r\ncaf\xc3\xa9");
	imap_str_truncate(&s, 0);
	imap_str_append_string(&s, "a\0b", 3);
	CU_ASSERT_EQUAL(s.len, 8);
	CU_ASSERT(memcmp(s.data, "{3}\r\na\0b", 8) == 0);
	imap_str_truncate(&s, 0);
	imap_str_append_nstring(&s, NULL, 0);
	imap_str_appendc(&s, ' ');
	imap_str_append_nstring(&s, "", 0);
	imap_str_appendc(&s, ' ');
	imap_str_append_astring(&s, "INBOX", 5);
	imap_str_appendc(&s, ' ');
	imap_str_append_astring(&s, "nil", 3);
	imap_str_appendc(&s, ' ');
	imap_str_append_astring(&s, "a b", 3);
	CU_ASSERT_STRING_EQUAL(s.data, "NIL \"\" INBOX \"nil\" \"a b\"");
	imap_str_free(&s);

	/* a capped string fails instead of growing */
	imap_str_init(&s, 4);
	imap_str_appends(&s, "abcd");
	CU_ASSERT_FALSE(s.failed);
	imap_str_appends(&s, "e");
	CU_ASSERT_TRUE(s.failed);
	imap_str_free(&s);
}

static void check_utf7(const char *wire, const char *utf8)
{
	struct imap_str s;

	imap_str_init(&s, 0);
	CU_ASSERT_EQUAL(imap_utf7_decode(wire, &s), PH_OK);
	CU_ASSERT_STRING_EQUAL(s.data != NULL ? s.data : "", utf8);
	imap_str_truncate(&s, 0);
	CU_ASSERT_EQUAL(imap_utf7_encode(utf8, &s), PH_OK);
	CU_ASSERT_STRING_EQUAL(s.data != NULL ? s.data : "", wire);
	imap_str_free(&s);
}

static void test_utf7(void)
{
	static const char *const bad[] = {
	    "&Jjo",	  /* no '-' */
	    "&Jjo-&Jjo-", /* two adjacent runs */
	    "&AGE-",	  /* 'a' must be sent directly */
	    "&-&",	  "&ZeVnLIqe",	 "&2D0-", /* lone high surrogate */
	    "&3AA-",				  /* lone low surrogate */
	    "&Jj-",				  /* leftover bits not zero */
	    "&-\x01",	  "caf\xc3\xa9", "a\tb",  "&*-", NULL,
	};
	struct imap_str s;
	unsigned i;

	check_utf7("INBOX", "INBOX");
	check_utf7("&-", "&");
	check_utf7("a&-b", "a&b");
	check_utf7("Caf&AOk-", "Caf\xc3\xa9");
	/* RFC 3501 5.1.3 examples */
	check_utf7("~peter/mail/&U,BTFw-/&ZeVnLIqe-",
		   "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
		   "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	/* outside the BMP: a surrogate pair */
	check_utf7("&2D3cAA-", "\xf0\x9f\x90\x80");
	for (i = 0; bad[i] != NULL; i++) {
		imap_str_init(&s, 0);
		CU_ASSERT_EQUAL(imap_utf7_decode(bad[i], &s), PH_EINVAL);
		imap_str_free(&s);
	}
	imap_str_init(&s, 0);
	CU_ASSERT_EQUAL(imap_utf7_encode("\xc3\x28", &s), PH_EINVAL);
	CU_ASSERT_EQUAL(imap_utf7_encode("\xed\xa0\x80", &s), PH_EINVAL);
	CU_ASSERT_EQUAL(imap_utf7_encode("\xc0\xaf", &s), PH_EINVAL);
	imap_str_free(&s);
}

static CU_TestInfo args_tests[] = {
    {"modified UTF-7", test_utf7},
    {"seqset parse", test_seqset_parse},
    {"seqset bad", test_seqset_bad},
    {"seqset many ranges", test_seqset_many},
    {"dates", test_dates},
    {"strings", test_strings},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"imap4-args", NULL, NULL, NULL, NULL, args_tests},
    CU_SUITE_INFO_NULL,
};

PH_CUNIT_MAIN(suites)
