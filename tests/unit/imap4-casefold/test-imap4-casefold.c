/* test-imap4-casefold.c - Unicode simple case folding and the SEARCH
 * substring matcher built on it: Latin, Greek (final sigma), Cyrillic,
 * the sharp s under simple folding, invalid UTF-8, and sequences torn
 * between the pieces of a stream. */
#include <stdlib.h>
#include <string.h>
#include "imap4-casefold.h"
#include "imap4-mime-decode.h"
#include "../../support/cunit-main.h"

static char *fold(const char *s)
{
	static char buf[256];
	struct imap_str out;

	imap_str_init(&out, 0);
	CU_ASSERT_EQUAL(imap_casefold_utf8(s, strlen(s), 0, &out), strlen(s));
	snprintf(buf, sizeof(buf), "%s", out.data != NULL ? out.data : "");
	imap_str_free(&out);
	return buf;
}

/* Feeds `hay` to a matcher for `needle` in pieces of `step` bytes. */
static int matches(const char *needle, const char *hay, size_t step)
{
	struct mime_matcher m;
	size_t i, len = strlen(hay);
	int found;

	CU_ASSERT_EQUAL_FATAL(mime_matcher_init(&m, needle), 0);
	for (i = 0; i < len; i += step)
		mime_matcher_feed(&m, hay + i, len - i < step ? len - i : step);
	found = m.found;
	mime_matcher_free(&m);
	return found;
}

/* Every piece size from 1 to 9 and the whole string agree. */
static int match_all_steps(const char *needle, const char *hay)
{
	int whole = matches(needle, hay, strlen(hay) + 1);
	size_t step;

	for (step = 1; step < 10; step++)
		CU_ASSERT_EQUAL(matches(needle, hay, step), whole);
	return whole;
}

static void test_code_points(void)
{
	CU_ASSERT_EQUAL(imap_casefold_cp('A'), 'a');
	CU_ASSERT_EQUAL(imap_casefold_cp('z'), 'z');
	CU_ASSERT_EQUAL(imap_casefold_cp(0xC4), 0xE4); /* Ä ä */
	CU_ASSERT_EQUAL(imap_casefold_cp(0xE4), 0xE4);
	CU_ASSERT_EQUAL(imap_casefold_cp(0x3A3), 0x3C3);     /* Σ σ */
	CU_ASSERT_EQUAL(imap_casefold_cp(0x3C2), 0x3C3);     /* ς σ */
	CU_ASSERT_EQUAL(imap_casefold_cp(0x414), 0x434);     /* Д д */
	CU_ASSERT_EQUAL(imap_casefold_cp(0x401), 0x451);     /* Ё ё */
	CU_ASSERT_EQUAL(imap_casefold_cp(0x212A), 'k');	     /* Kelvin */
	CU_ASSERT_EQUAL(imap_casefold_cp(0x1E9E), 0xDF);     /* ẞ ß (S) */
	CU_ASSERT_EQUAL(imap_casefold_cp(0xDF), 0xDF);	     /* ß: F only */
	CU_ASSERT_EQUAL(imap_casefold_cp(0x130), 0x130);     /* İ: F/T only */
	CU_ASSERT_EQUAL(imap_casefold_cp(0x1F88), 0x1F80);   /* ᾈ ᾀ (S) */
	CU_ASSERT_EQUAL(imap_casefold_cp(0x10400), 0x10428); /* Deseret */
	CU_ASSERT_EQUAL(imap_casefold_cp(0x4E2D), 0x4E2D);   /* 中 */
}

static void test_table_sorted(void)
{
	unsigned i;

	CU_ASSERT(imap_casefold_table_len > 1000);
	for (i = 1; i < imap_casefold_table_len; i++)
		CU_ASSERT(imap_casefold_table[i - 1].from <
			  imap_casefold_table[i].from);
	CU_ASSERT(imap_casefold_table[0].from >= 0x80);
}

static void test_strings(void)
{
	CU_ASSERT_STRING_EQUAL(fold("Hello WORLD"), "hello world");
	CU_ASSERT_STRING_EQUAL(fold("ÄÖÜ äöü"), "äöü äöü");
	CU_ASSERT_STRING_EQUAL(fold("ΣΊΣΥΦΟΣ σίσυφος"), "σίσυφοσ σίσυφοσ");
	CU_ASSERT_STRING_EQUAL(fold("МОСКВА Москва"), "москва москва");
	CU_ASSERT_STRING_EQUAL(fold("STRASSE Straße STRAẞE"),
			       "strasse straße straße");
	/* lengths change: Kelvin (3 bytes) to k, Ⱥ (2) to ⱥ (3) */
	CU_ASSERT_STRING_EQUAL(fold("\xe2\x84\xaa"), "k");
	CU_ASSERT_STRING_EQUAL(fold("\xc8\xba"), "\xe2\xb1\xa5");
	CU_ASSERT_STRING_EQUAL(fold("\xf0\x90\x90\x80"), "\xf0\x90\x90\xa8");
}

static void test_invalid_utf8(void)
{
	/* overlong, surrogate, stray continuation, bad lead, torn at the
	 * end of the last piece: copied as they are, ASCII still folded */
	CU_ASSERT_STRING_EQUAL(fold("\xc0\xaf"
				    "A"),
			       "\xc0\xaf"
			       "a");
	CU_ASSERT_STRING_EQUAL(fold("\xed\xa0\x80"
				    "B"),
			       "\xed\xa0\x80"
			       "b");
	CU_ASSERT_STRING_EQUAL(fold("\x80\xbf"
				    "C"),
			       "\x80\xbf"
			       "c");
	CU_ASSERT_STRING_EQUAL(fold("\xff"
				    "D\xc3"),
			       "\xff"
			       "d\xc3");
	CU_ASSERT_STRING_EQUAL(fold("\xc3"
				    "E"),
			       "\xc3"
			       "e");
	CU_ASSERT_STRING_EQUAL(fold("\xf4\x90\x80\x80"), "\xf4\x90\x80\x80");
}

static void test_torn_sequence(void)
{
	struct imap_str out;

	imap_str_init(&out, 0);
	/* "AÄ" torn inside Ä: the lead byte is left for the next piece */
	CU_ASSERT_EQUAL(imap_casefold_utf8("A\xc3", 2, 1, &out), 1);
	CU_ASSERT_EQUAL(out.len, 1);
	CU_ASSERT_EQUAL(imap_casefold_utf8("\xe2\x84", 2, 1, &out), 0);
	imap_str_free(&out);
}

static void test_matcher(void)
{
	CU_ASSERT_TRUE(match_all_steps("ä", "GRÜSSE AUS KÄRNTEN"));
	CU_ASSERT_TRUE(match_all_steps("KÄRNTEN", "grüsse aus kärnten"));
	CU_ASSERT_TRUE(match_all_steps("σίσυφος", "Ο ΣΊΣΥΦΟΣ ΚΑΙ"));
	CU_ASSERT_TRUE(match_all_steps("ΣΊΣΥΦΟΣ", "ο σίσυφος και"));
	CU_ASSERT_TRUE(match_all_steps("ς", "ΣΑΣ"));
	CU_ASSERT_TRUE(match_all_steps("привет", "ПРИВЕТ, МИР"));
	CU_ASSERT_TRUE(match_all_steps("Straße", "IN DER STRAẞE"));
	CU_ASSERT_TRUE(match_all_steps("report", "Quarterly REPORT"));
	CU_ASSERT_TRUE(match_all_steps("", "anything"));
	/* simple folding: ß is not ss */
	CU_ASSERT_FALSE(match_all_steps("strasse", "Straße"));
	CU_ASSERT_FALSE(match_all_steps("straße", "STRASSE"));
	CU_ASSERT_FALSE(match_all_steps("kärnten", "karnten"));
	CU_ASSERT_FALSE(match_all_steps("привет", "ПРИВЯТ"));
	/* bytes that are not UTF-8 compare exactly */
	CU_ASSERT_TRUE(match_all_steps("caf\xe9", "CAF\xe9 au lait"));
	CU_ASSERT_FALSE(match_all_steps("caf\xe9", "CAF\xc9"));
}

static void test_matcher_long_needle(void)
{
	/* needles longer than any joint buffer still match across pieces */
	char needle[2001], hay[6001];

	memset(needle, 'x', 2000);
	needle[2000] = '\0';
	memset(hay, 'X', 6000);
	hay[6000] = '\0';
	hay[1000] = 'y';
	CU_ASSERT_TRUE(matches(needle, hay, 700));
	hay[2500] = hay[4000] = hay[5500] = 'y'; /* runs of 1499 */
	CU_ASSERT_FALSE(matches(needle, hay, 700));
	hay[2500] = 'X'; /* a run of 2999 across five pieces */
	CU_ASSERT_TRUE(matches(needle, hay, 700));
}

static CU_TestInfo casefold_tests[] = {
    {"code points", test_code_points},
    {"table sorted", test_table_sorted},
    {"strings", test_strings},
    {"invalid UTF-8", test_invalid_utf8},
    {"torn sequence", test_torn_sequence},
    {"matcher", test_matcher},
    {"matcher long needle", test_matcher_long_needle},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"imap4-casefold", NULL, NULL, NULL, NULL, casefold_tests},
    CU_SUITE_INFO_NULL,
};

PH_CUNIT_MAIN(suites)
