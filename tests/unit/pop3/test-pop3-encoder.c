/* Unit tests of the POP3 dot-stuffing / CR LF encoder. */
#include <stdlib.h>
#include <string.h>
#include "cunit-main.h"
#include "plugins/pop3/pop3-encoder.h"

/* Encodes `in` in pieces of `chunk` bytes; returns a malloc'd string. */
static char *encode(const char *in, size_t len, size_t chunk, uint64_t lines,
		    struct pop3_encoder *enc)
{
	char *out =
	    malloc(POP3_ENCODER_OUT_MAX(len) + POP3_ENCODER_FINISH_MAX + 1);
	size_t o = 0;

	pop3_encoder_init(enc, lines);
	for (size_t i = 0; i < len; i += chunk) {
		size_t n = len - i < chunk ? len - i : chunk;

		o += pop3_encoder_feed(enc, in + i, n, out + o);
	}
	o += pop3_encoder_finish(enc, out + o);
	out[o] = '\0';
	return out;
}

/* Every chunk size from 1 to the length gives the same output. */
static void check(const char *in, uint64_t lines, const char *expect)
{
	struct pop3_encoder enc;
	size_t len = strlen(in);

	for (size_t chunk = 1; chunk <= (len ? len : 1); chunk++) {
		char *out = encode(in, len, chunk, lines, &enc);

		CU_ASSERT_STRING_EQUAL(out, expect);
		free(out);
	}
}

static void test_crlf(void)
{
	check("a\nb\n", POP3_ENCODER_UNLIMITED, "a\r\nb\r\n.\r\n");
	check("a\r\nb\r\n", POP3_ENCODER_UNLIMITED, "a\r\nb\r\n.\r\n");
	check("a\r\nb\n", POP3_ENCODER_UNLIMITED, "a\r\nb\r\n.\r\n");
	/* a lone CR stays */
	check("a\rb\n", POP3_ENCODER_UNLIMITED, "a\rb\r\n.\r\n");
	/* no final line end: one is added before the terminator */
	check("a\nb", POP3_ENCODER_UNLIMITED, "a\r\nb\r\n.\r\n");
	check("a\r", POP3_ENCODER_UNLIMITED, "a\r\n.\r\n");
	check("", POP3_ENCODER_UNLIMITED, ".\r\n");
}

static void test_dot_stuffing(void)
{
	check(".\n", POP3_ENCODER_UNLIMITED, "..\r\n.\r\n");
	check("a\n.b\n..\n", POP3_ENCODER_UNLIMITED,
	      "a\r\n..b\r\n...\r\n.\r\n");
	check("a.b\n", POP3_ENCODER_UNLIMITED, "a.b\r\n.\r\n");
	check("x\r\n.\r\ny", POP3_ENCODER_UNLIMITED, "x\r\n..\r\ny\r\n.\r\n");
}

static void test_top(void)
{
	const char *msg = "H: 1\nH: 2\n\nl1\n.l2\nl3\n";

	check(msg, 0, "H: 1\r\nH: 2\r\n\r\n.\r\n");
	check(msg, 1, "H: 1\r\nH: 2\r\n\r\nl1\r\n.\r\n");
	check(msg, 2, "H: 1\r\nH: 2\r\n\r\nl1\r\n..l2\r\n.\r\n");
	check(msg, 100, "H: 1\r\nH: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
	/* CR LF blank line is the separator too */
	check("H: 1\r\n\r\nbody\r\n", 0, "H: 1\r\n\r\n.\r\n");
	/* no body at all: the header is sent whole */
	check("H: 1\nH: 2\n", 0, "H: 1\r\nH: 2\r\n.\r\n");
}

static void test_done_and_changed(void)
{
	struct pop3_encoder enc;
	char out[64];
	size_t n;

	pop3_encoder_init(&enc, 0);
	n = pop3_encoder_feed(&enc, "A: b\r\n\r\nrest\r\n", 14, out);
	CU_ASSERT_EQUAL(n, 8);
	CU_ASSERT(pop3_encoder_done(&enc));
	CU_ASSERT_FALSE(enc.changed);

	pop3_encoder_init(&enc, POP3_ENCODER_UNLIMITED);
	pop3_encoder_feed(&enc, "A: b\r\n\r\nrest\r\n", 14, out);
	pop3_encoder_finish(&enc, out);
	CU_ASSERT_FALSE(enc.changed);

	pop3_encoder_init(&enc, POP3_ENCODER_UNLIMITED);
	pop3_encoder_feed(&enc, "A: b\r\n\r\n.rest\r\n", 15, out);
	CU_ASSERT(enc.changed);

	pop3_encoder_init(&enc, POP3_ENCODER_UNLIMITED);
	pop3_encoder_feed(&enc, "A: b\n", 5, out);
	CU_ASSERT(enc.changed);
}

/* The output never exceeds the documented bound. */
static void test_worst_case(void)
{
	struct pop3_encoder enc;
	char in[] = "\n\n.\n.\n";
	char out[POP3_ENCODER_OUT_MAX(sizeof(in) - 1)];

	pop3_encoder_init(&enc, POP3_ENCODER_UNLIMITED);
	CU_ASSERT(pop3_encoder_feed(&enc, in, sizeof(in) - 1, out) <=
		  sizeof(out));
}

static CU_TestInfo tests[] = {
    {"crlf", test_crlf},
    {"dot stuffing", test_dot_stuffing},
    {"top", test_top},
    {"done and changed", test_done_and_changed},
    {"worst case", test_worst_case},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"pop3-encoder", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
