/* The input buffer behind conn_read_line / conn_read_bytes. */
#include <string.h>

#include "core/inbuf.h"
#include "cunit-main.h"

static void feed(struct ph__inbuf *b, const void *data, size_t len)
{
	unsigned char *tail;
	size_t room = ph__inbuf_prepare(b, &tail);

	CU_ASSERT_FATAL(room >= len);
	memcpy(tail, data, len);
	ph__inbuf_commit(b, len);
}

#define FEED(b, s) feed(b, s, sizeof(s) - 1)

static void expect_line(struct ph__inbuf *b, size_t max, const char *want,
			size_t want_len)
{
	struct ph_str line;

	CU_ASSERT_EQUAL_FATAL(ph__inbuf_read_line(b, max, &line), PH_OK);
	CU_ASSERT_EQUAL(line.len, want_len);
	CU_ASSERT(memcmp(line.data, want, want_len) == 0);
}

static void expect_code(struct ph__inbuf *b, size_t max, int code)
{
	struct ph_str line;

	CU_ASSERT_EQUAL(ph__inbuf_read_line(b, max, &line), code);
}

static void test_crlf_split(void)
{
	struct ph__inbuf b;

	ph__inbuf_init(&b, 256);
	FEED(&b, "abc\r");
	expect_code(&b, 100, PH_AGAIN);
	FEED(&b, "\ndef");
	expect_line(&b, 100, "abc", 3);
	expect_code(&b, 100, PH_AGAIN);
	FEED(&b, "\r\n");
	expect_line(&b, 100, "def", 3);
	expect_code(&b, 100, PH_AGAIN);
	ph__inbuf_free(&b);
}

static void test_bare_lf_and_empty(void)
{
	struct ph__inbuf b;

	ph__inbuf_init(&b, 256);
	FEED(&b, "one\ntwo\r\n\n\r\nx\rz\n");
	expect_line(&b, 100, "one", 3);
	expect_line(&b, 100, "two", 3);
	expect_line(&b, 100, "", 0);
	expect_line(&b, 100, "", 0);
	/* A CR not before the LF stays in the line. */
	expect_line(&b, 100, "x\rz", 3);
	ph__inbuf_free(&b);
}

static void test_nul_inside(void)
{
	struct ph__inbuf b;

	ph__inbuf_init(&b, 256);
	feed(&b, "a\0b\r\n", 5);
	expect_line(&b, 100, "a\0b", 3);
	ph__inbuf_free(&b);
}

static void test_too_long_then_next(void)
{
	struct ph__inbuf b;
	char big[200];

	memset(big, 'x', sizeof(big));
	ph__inbuf_init(&b, 256);
	/* Over the limit with no LF yet: reported once, then dropped as it
	 * arrives (never buffered), then the next line works. */
	feed(&b, big, 20);
	expect_code(&b, 10, PH_ETOOBIG);
	CU_ASSERT_EQUAL(ph__inbuf_used(&b), 0);
	feed(&b, big, 200);
	CU_ASSERT_EQUAL(ph__inbuf_used(&b), 0);
	expect_code(&b, 10, PH_AGAIN);
	FEED(&b, "xx\r\nok\r\n");
	expect_line(&b, 10, "ok", 2);
	/* Over the limit with the LF in the same read. */
	FEED(&b, "0123456789A\r\nnext\n");
	expect_code(&b, 10, PH_ETOOBIG);
	expect_line(&b, 10, "next", 4);
	ph__inbuf_free(&b);
}

static void test_exact_limit(void)
{
	struct ph__inbuf b;

	ph__inbuf_init(&b, 256);
	/* max_len bytes + CR, LF still to come: not too long yet. */
	FEED(&b, "0123456789\r");
	expect_code(&b, 10, PH_AGAIN);
	FEED(&b, "\n");
	expect_line(&b, 10, "0123456789", 10);
	ph__inbuf_free(&b);
}

static void test_line_fills_buffer(void)
{
	struct ph__inbuf b;
	char big[64];

	memset(big, 'y', sizeof(big));
	ph__inbuf_init(&b, 64);
	feed(&b, big, 64);
	CU_ASSERT(ph__inbuf_full(&b));
	expect_code(&b, 1000, PH_ETOOBIG);
	CU_ASSERT(!ph__inbuf_full(&b));
	FEED(&b, "tail\nnew\n");
	expect_line(&b, 1000, "new", 3);
	ph__inbuf_free(&b);
}

static void test_bytes(void)
{
	struct ph__inbuf b;
	struct ph_str d;

	ph__inbuf_init(&b, 256);
	CU_ASSERT_EQUAL(ph__inbuf_read_bytes(&b, 5, &d), PH_AGAIN);
	FEED(&b, "abcdefgh\r\nline\r\n");
	CU_ASSERT_EQUAL(ph__inbuf_read_bytes(&b, 3, &d), PH_OK);
	CU_ASSERT_EQUAL(d.len, 3);
	CU_ASSERT_NSTRING_EQUAL(d.data, "abc", 3);
	CU_ASSERT_EQUAL(ph__inbuf_read_bytes(&b, 5, &d), PH_OK);
	CU_ASSERT_EQUAL(d.len, 5);
	CU_ASSERT_NSTRING_EQUAL(d.data, "defgh", 5);
	expect_line(&b, 100, "", 0);
	expect_line(&b, 100, "line", 4);
	FEED(&b, "xy");
	CU_ASSERT_EQUAL(ph__inbuf_read_bytes(&b, 100, &d), PH_OK);
	CU_ASSERT_EQUAL(d.len, 2);
	CU_ASSERT_EQUAL(ph__inbuf_read_bytes(&b, 100, &d), PH_AGAIN);
	ph__inbuf_free(&b);
}

static void test_compaction(void)
{
	struct ph__inbuf b;
	unsigned char *tail;

	ph__inbuf_init(&b, 16);
	FEED(&b, "0123456789\nab");
	expect_line(&b, 100, "0123456789", 10);
	/* Room after compaction: 16 - 2 unread. */
	CU_ASSERT_EQUAL(ph__inbuf_prepare(&b, &tail), 14);
	FEED(&b, "c\n");
	expect_line(&b, 100, "abc", 3);
	ph__inbuf_free(&b);
}

static CU_TestInfo tests[] = {
    {"CRLF split across reads", test_crlf_split},
    {"bare LF and empty lines", test_bare_lf_and_empty},
    {"NUL inside a line", test_nul_inside},
    {"over-long line dropped, next works", test_too_long_then_next},
    {"line of exactly max_len", test_exact_limit},
    {"line filling the buffer", test_line_fills_buffer},
    {"exact byte reads", test_bytes},
    {"compaction", test_compaction},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"inbuf", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

PH_CUNIT_MAIN(suites)
