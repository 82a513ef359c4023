/* Unit tests of the streaming IMAP command parser. Most inputs are fed
 * one byte at a time: every byte before the line end must give "need
 * more" (IMAP_EV_NONE), as in Dovecot's test-imap-parser.c. */
#include <string.h>
#include "cunit-main.h"
#include "imap4-parser.h"

/* Feeds `in` one byte at a time; returns the first event; asserts that
 * nothing was reported before the last byte. */
static enum imap_event_type feed_bytewise(struct imap_parser *p, const char *in,
					  size_t len, struct imap_event *ev)
{
	size_t i, used;
	enum imap_event_type t = IMAP_EV_NONE;

	for (i = 0; i < len; i++) {
		t = imap_parser_feed(p, in + i, 1, &used, ev);
		CU_ASSERT_EQUAL(used, 1);
		if (t != IMAP_EV_NONE) {
			CU_ASSERT_EQUAL(i, len - 1);
			return t;
		}
	}
	return t;
}

#define FEED_STR(p, s, ev) feed_bytewise((p), (s), strlen(s), (ev))

static struct imap_parser *new_parser(void)
{
	struct imap_parser *p = imap_parser_create(NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return p;
}

static void test_simple(void)
{
	struct imap_parser *p = new_parser();
	struct imap_event ev;

	CU_ASSERT_EQUAL(FEED_STR(p, "a1 NOOP\r\n", &ev), IMAP_EV_COMMAND);
	CU_ASSERT_STRING_EQUAL(ev.tag, "a1");
	CU_ASSERT_STRING_EQUAL(imap_parser_command(p), "NOOP");
	CU_ASSERT_EQUAL(imap_parser_root(p)->count, 0);
	/* bare LF works too, and the parser is ready for the next one */
	CU_ASSERT_EQUAL(FEED_STR(p, "a2 CAPABILITY\n", &ev), IMAP_EV_COMMAND);
	CU_ASSERT_STRING_EQUAL(imap_parser_command(p), "CAPABILITY");
	imap_parser_destroy(&p);
	CU_ASSERT_PTR_NULL(p);
}

static void test_args(void)
{
	struct imap_parser *p = new_parser();
	struct imap_event ev;
	const struct imap_arg *root, *a, *l;

	CU_ASSERT_EQUAL(
	    FEED_STR(p,
		     "x UID FETCH 1:*,7 (FLAGS BODY.PEEK[HEADER.FIELDS "
		     "(From To)]<0.100> \\Seen NIL ()) \"q\"\r\n",
		     &ev),
	    IMAP_EV_COMMAND);
	CU_ASSERT_STRING_EQUAL(imap_parser_command(p), "UID");
	root = imap_parser_root(p);
	CU_ASSERT_EQUAL(root->count, 4);
	a = imap_arg_child(p, root);
	CU_ASSERT(imap_arg_atom_is(p, a, "fetch"));
	a = imap_arg_next(p, a);
	CU_ASSERT_STRING_EQUAL(imap_arg_str(p, a), "1:*,7");
	l = imap_arg_next(p, a);
	CU_ASSERT_EQUAL(l->type, IMAP_ARG_LIST);
	CU_ASSERT_EQUAL(l->count, 5);
	CU_ASSERT_STRING_EQUAL(imap_arg_str(p, imap_arg_nth(p, l, 0)), "FLAGS");
	CU_ASSERT_STRING_EQUAL(imap_arg_str(p, imap_arg_nth(p, l, 1)),
			       "BODY.PEEK[HEADER.FIELDS (From To)]<0.100>");
	CU_ASSERT_STRING_EQUAL(imap_arg_str(p, imap_arg_nth(p, l, 2)),
			       "\\Seen");
	CU_ASSERT(imap_arg_atom_is(p, imap_arg_nth(p, l, 3), "NIL"));
	a = imap_arg_nth(p, l, 4);
	CU_ASSERT_EQUAL(a->type, IMAP_ARG_LIST);
	CU_ASSERT_EQUAL(a->count, 0);
	CU_ASSERT_PTR_NULL(imap_arg_child(p, a));
	CU_ASSERT_PTR_NULL(imap_arg_nth(p, l, 5));
	a = imap_arg_nth(p, root, 3);
	CU_ASSERT_EQUAL(a->type, IMAP_ARG_QUOTED);
	CU_ASSERT_STRING_EQUAL(imap_arg_str(p, a), "q");
	imap_parser_destroy(&p);
}

static void test_quoted(void)
{
	struct imap_parser *p = new_parser();
	struct imap_event ev;
	const struct imap_arg *root;

	CU_ASSERT_EQUAL(
	    FEED_STR(p, "t LOGIN \"al\\\"ice\" \"p\\\\w \xc3\xa9\" \"\"\r\n",
		     &ev),
	    IMAP_EV_COMMAND);
	root = imap_parser_root(p);
	CU_ASSERT_EQUAL(root->count, 3);
	CU_ASSERT_STRING_EQUAL(imap_arg_str(p, imap_arg_nth(p, root, 0)),
			       "al\"ice");
	CU_ASSERT_STRING_EQUAL(imap_arg_str(p, imap_arg_nth(p, root, 1)),
			       "p\\w \xc3\xa9");
	CU_ASSERT_EQUAL(imap_arg_nth(p, root, 2)->len, 0);
	/* invalid escape */
	CU_ASSERT_EQUAL(FEED_STR(p, "t LOGIN \"a\\b\" c\r\n", &ev),
			IMAP_EV_ERROR);
	CU_ASSERT_STRING_EQUAL(ev.tag, "t");
	CU_ASSERT_FALSE(ev.close);
	/* unterminated */
	CU_ASSERT_EQUAL(FEED_STR(p, "t LOGIN \"abc\r\n", &ev), IMAP_EV_ERROR);
	imap_parser_destroy(&p);
}

static void test_literals(void)
{
	struct imap_parser *p = new_parser();
	struct imap_event ev;
	const struct imap_arg *root;

	CU_ASSERT_EQUAL(FEED_STR(p, "a LOGIN {5}\r\n", &ev), IMAP_EV_LITERAL);
	CU_ASSERT_EQUAL(ev.literal_size, 5);
	CU_ASSERT_TRUE(ev.literal_sync);
	CU_ASSERT_EQUAL(imap_parser_literal_begin(p, IMAP_LITERAL_BUFFER),
			PH_OK);
	CU_ASSERT_TRUE(imap_parser_in_literal(p));
	CU_ASSERT_EQUAL(imap_parser_literal_left(p), 5);
	/* literal bytes are raw: NUL, CR, LF, parentheses */
	CU_ASSERT_EQUAL(feed_bytewise(p, "a\0\r\n(", 5, &ev), IMAP_EV_NONE);
	CU_ASSERT_EQUAL(FEED_STR(p, " {3+}\r\n", &ev), IMAP_EV_LITERAL);
	CU_ASSERT_FALSE(ev.literal_sync);
	CU_ASSERT_EQUAL(imap_parser_literal_begin(p, IMAP_LITERAL_BUFFER),
			PH_OK);
	CU_ASSERT_EQUAL(FEED_STR(p, "pwd\r\n", &ev), IMAP_EV_COMMAND);
	root = imap_parser_root(p);
	CU_ASSERT_EQUAL(root->count, 2);
	CU_ASSERT_EQUAL(imap_arg_nth(p, root, 0)->type, IMAP_ARG_LITERAL);
	CU_ASSERT_EQUAL(imap_arg_nth(p, root, 0)->len, 5);
	CU_ASSERT(memcmp(imap_arg_str(p, imap_arg_nth(p, root, 0)), "a\0\r\n(",
			 5) == 0);
	CU_ASSERT_STRING_EQUAL(imap_arg_str(p, imap_arg_nth(p, root, 1)),
			       "pwd");

	/* a literal inside a list, and an empty literal */
	CU_ASSERT_EQUAL(FEED_STR(p, "b X ({3}\r\n", &ev), IMAP_EV_LITERAL);
	CU_ASSERT_EQUAL(imap_parser_literal_begin(p, IMAP_LITERAL_BUFFER),
			PH_OK);
	CU_ASSERT_EQUAL(FEED_STR(p, "abc {0}\r\n", &ev), IMAP_EV_LITERAL);
	CU_ASSERT_EQUAL(imap_parser_literal_begin(p, IMAP_LITERAL_BUFFER),
			PH_OK);
	CU_ASSERT_FALSE(imap_parser_in_literal(p));
	CU_ASSERT_EQUAL(FEED_STR(p, ")\r\n", &ev), IMAP_EV_COMMAND);
	root = imap_parser_root(p);
	CU_ASSERT_EQUAL(root->count, 1);
	CU_ASSERT_EQUAL(imap_arg_child(p, root)->count, 2);
	imap_parser_destroy(&p);
}

static void test_literal_stream(void)
{
	struct imap_parser *p = new_parser();
	struct imap_event ev;
	const struct imap_arg *root;
	size_t used;
	const char *rest = "0123456789 extra\r\n";

	CU_ASSERT_EQUAL(FEED_STR(p, "a APPEND INBOX (\\Seen) {10}\r\n", &ev),
			IMAP_EV_LITERAL);
	/* arguments so far are visible to decide where to stream */
	root = imap_parser_root(p);
	CU_ASSERT_EQUAL(root->count, 2);
	CU_ASSERT_STRING_EQUAL(imap_arg_str(p, imap_arg_nth(p, root, 0)),
			       "INBOX");
	CU_ASSERT_EQUAL(imap_parser_literal_begin(p, IMAP_LITERAL_STREAM),
			PH_OK);
	CU_ASSERT_EQUAL(imap_parser_feed(p, rest, 4, &used, &ev),
			IMAP_EV_LITERAL_DATA);
	CU_ASSERT_EQUAL(used, 4);
	CU_ASSERT_EQUAL(ev.data_len, 4);
	CU_ASSERT_EQUAL(ev.literal_left, 6);
	CU_ASSERT_EQUAL(
	    imap_parser_feed(p, rest + 4, strlen(rest) - 4, &used, &ev),
	    IMAP_EV_LITERAL_DATA);
	CU_ASSERT_EQUAL(used, 6);
	CU_ASSERT(memcmp(ev.data, "456789", 6) == 0);
	CU_ASSERT_EQUAL(ev.literal_left, 0);
	CU_ASSERT_EQUAL(FEED_STR(p, rest + 10, &ev), IMAP_EV_COMMAND);
	root = imap_parser_root(p);
	CU_ASSERT_EQUAL(root->count, 4);
	CU_ASSERT_EQUAL(imap_arg_nth(p, root, 2)->type,
			IMAP_ARG_LITERAL_STREAMED);
	CU_ASSERT_EQUAL(imap_arg_nth(p, root, 2)->size, 10);
	CU_ASSERT_FALSE(imap_arg_is_string(imap_arg_nth(p, root, 2)));
	imap_parser_destroy(&p);
}

static void test_literal_too_big(void)
{
	struct imap_parser *p = new_parser();
	struct imap_event ev;

	/* {4294967296}: synchronising, so refused without closing */
	CU_ASSERT_EQUAL(FEED_STR(p, "a LOGIN {4294967296}\r\n", &ev),
			IMAP_EV_LITERAL);
	CU_ASSERT_EQUAL(ev.literal_size, 4294967296ULL);
	CU_ASSERT_EQUAL(imap_parser_literal_begin(p, IMAP_LITERAL_BUFFER),
			PH_ETOOBIG);
	CU_ASSERT_FALSE(imap_parser_must_close(p));
	CU_ASSERT_EQUAL(FEED_STR(p, "b NOOP\r\n", &ev), IMAP_EV_COMMAND);
	CU_ASSERT_STRING_EQUAL(ev.tag, "b");
	/* too big for streaming as well */
	CU_ASSERT_EQUAL(FEED_STR(p, "a APPEND x {4294967296}\r\n", &ev),
			IMAP_EV_LITERAL);
	CU_ASSERT_EQUAL(imap_parser_literal_begin(p, IMAP_LITERAL_STREAM),
			PH_ETOOBIG);
	/* rejected by the caller */
	CU_ASSERT_EQUAL(FEED_STR(p, "a APPEND x {4}\r\n", &ev),
			IMAP_EV_LITERAL);
	CU_ASSERT_EQUAL(imap_parser_literal_begin(p, IMAP_LITERAL_REJECT),
			PH_EPERM);
	CU_ASSERT_FALSE(imap_parser_must_close(p));
	/* non-synchronising and too big: the bytes follow, so close */
	CU_ASSERT_EQUAL(FEED_STR(p, "a LOGIN {4294967296+}\r\n", &ev),
			IMAP_EV_LITERAL);
	CU_ASSERT_FALSE(ev.literal_sync);
	CU_ASSERT_EQUAL(imap_parser_literal_begin(p, IMAP_LITERAL_BUFFER),
			PH_ETOOBIG);
	CU_ASSERT_TRUE(imap_parser_must_close(p));
	imap_parser_destroy(&p);
}

static void test_literal_overflow(void)
{
	struct imap_parser *p = new_parser();
	struct imap_event ev;

	CU_ASSERT_EQUAL(FEED_STR(p, "a X {99999999999999999999999}\r\n", &ev),
			IMAP_EV_ERROR);
	CU_ASSERT_TRUE(ev.toobig);
	CU_ASSERT_FALSE(ev.close);
	CU_ASSERT_EQUAL(FEED_STR(p, "a X {99999999999999999999999+}\r\n", &ev),
			IMAP_EV_ERROR);
	CU_ASSERT_TRUE(ev.close);
	CU_ASSERT_TRUE(imap_parser_must_close(p));
	imap_parser_destroy(&p);
}

static void test_bad_literal_syntax(void)
{
	struct imap_parser *p = new_parser();
	struct imap_event ev;

	CU_ASSERT_EQUAL(FEED_STR(p, "a X {}\r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_EQUAL(FEED_STR(p, "a X {+}\r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_EQUAL(FEED_STR(p, "a X {1a}\r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_EQUAL(FEED_STR(p, "a X {5} y\r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_EQUAL(FEED_STR(p, "a X ab{5}\r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_FALSE(ev.close);
	imap_parser_destroy(&p);
}

/* A syntax error earlier on a line that ends in {n+}: the literal bytes
 * cannot be told apart from commands, so the caller must close. */
static void test_error_then_nonsync(void)
{
	struct imap_parser *p = new_parser();
	struct imap_event ev;
	size_t used;

	CU_ASSERT_EQUAL(FEED_STR(p, "a LOGIN x) {5+}\r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_TRUE(ev.close);
	CU_ASSERT_TRUE(imap_parser_must_close(p));
	/* a dead parser takes nothing more */
	CU_ASSERT_EQUAL(imap_parser_feed(p, "b NOOP\r\n", 8, &used, &ev),
			IMAP_EV_ERROR);
	CU_ASSERT_EQUAL(used, 0);
	CU_ASSERT_TRUE(ev.close);
	imap_parser_destroy(&p);

	/* a synchronising one is fine: the client waits for "+" */
	p = new_parser();
	CU_ASSERT_EQUAL(FEED_STR(p, "a LOGIN x) {5}\r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_FALSE(ev.close);
	CU_ASSERT_EQUAL(FEED_STR(p, "b NOOP\r\n", &ev), IMAP_EV_COMMAND);
	imap_parser_destroy(&p);
}

static void test_unbalanced(void)
{
	struct imap_parser *p = new_parser();
	struct imap_event ev;

	CU_ASSERT_EQUAL(FEED_STR(p, "a NOOP )\r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_STRING_EQUAL(ev.tag, "a");
	CU_ASSERT_EQUAL(FEED_STR(p, "b FETCH 1 (FLAGS (UID)\r\n", &ev),
			IMAP_EV_ERROR);
	CU_ASSERT_STRING_EQUAL(ev.tag, "b");
	CU_ASSERT_EQUAL(FEED_STR(p, "c FETCH 1 (FLAGS))\r\n", &ev),
			IMAP_EV_ERROR);
	CU_ASSERT_EQUAL(FEED_STR(p, "d FETCH 1 BODY[TEXT\r\n", &ev),
			IMAP_EV_ERROR);
	/* resynchronised at the next line */
	CU_ASSERT_EQUAL(FEED_STR(p, "e NOOP\r\n", &ev), IMAP_EV_COMMAND);
	CU_ASSERT_STRING_EQUAL(ev.tag, "e");
	imap_parser_destroy(&p);
}

static void test_bad_tags(void)
{
	struct imap_parser *p = new_parser();
	struct imap_event ev;

	CU_ASSERT_EQUAL(FEED_STR(p, "\r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_PTR_NULL(ev.tag);
	CU_ASSERT_EQUAL(FEED_STR(p, "a+b NOOP\r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_PTR_NULL(ev.tag);
	CU_ASSERT_EQUAL(FEED_STR(p, " NOOP\r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_EQUAL(FEED_STR(p, "a(b NOOP\r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_EQUAL(FEED_STR(p, "abc\r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_EQUAL(FEED_STR(p, "abc \r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_STRING_EQUAL(ev.tag, "abc");
	CU_ASSERT_EQUAL(FEED_STR(p, "a NO\"OP\r\n", &ev), IMAP_EV_ERROR);
	imap_parser_destroy(&p);
}

static void test_bad_bytes(void)
{
	struct imap_parser *p = new_parser();
	struct imap_event ev;

	CU_ASSERT_EQUAL(feed_bytewise(p, "a X \"a\0b\"\r\n", 11, &ev),
			IMAP_EV_ERROR);
	CU_ASSERT_EQUAL(FEED_STR(p, "a X ab\xff\r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_EQUAL(FEED_STR(p, "a X a\rb\r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_EQUAL(FEED_STR(p, "a X a\x7f\r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_EQUAL(FEED_STR(p, "a X [a\tb]\r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_EQUAL(FEED_STR(p, "a X \"a\" \"b\"c\r\n", &ev),
			IMAP_EV_ERROR);
	CU_ASSERT_EQUAL(FEED_STR(p, "a X (a)(b)\r\n", &ev), IMAP_EV_ERROR);
	CU_ASSERT_EQUAL(FEED_STR(p, "a NOOP\r\n", &ev), IMAP_EV_COMMAND);
	imap_parser_destroy(&p);
}

static void test_nesting_limit(void)
{
	struct imap_parser *p = new_parser();
	struct imap_event ev;
	char line[256];
	int i, n = 0;

	n += sprintf(line, "a X ");
	for (i = 0; i < 32; i++)
		line[n++] = '(';
	for (i = 0; i < 32; i++)
		line[n++] = ')';
	strcpy(line + n, "\r\n");
	CU_ASSERT_EQUAL(FEED_STR(p, line, &ev), IMAP_EV_COMMAND);
	n = sprintf(line, "a X ");
	for (i = 0; i < 33; i++)
		line[n++] = '(';
	for (i = 0; i < 33; i++)
		line[n++] = ')';
	strcpy(line + n, "\r\n");
	CU_ASSERT_EQUAL(FEED_STR(p, line, &ev), IMAP_EV_ERROR);
	CU_ASSERT_TRUE(ev.toobig);
	CU_ASSERT_EQUAL(FEED_STR(p, "a NOOP\r\n", &ev), IMAP_EV_COMMAND);
	imap_parser_destroy(&p);
}

static void test_limits(void)
{
	struct imap_parser_limits lim = imap_parser_default_limits;
	struct imap_parser *p;
	struct imap_event ev;
	char line[512];
	int i, n;

	lim.max_line = 100;
	lim.max_args = 10;
	lim.max_literal = 8;
	lim.max_command = 36;
	lim.max_nonsync = 4;
	p = imap_parser_create(&lim);
	/* line length */
	n = sprintf(line, "a X ");
	for (i = 0; i < 120; i++)
		line[n++] = 'x';
	strcpy(line + n, "\r\n");
	CU_ASSERT_EQUAL(FEED_STR(p, line, &ev), IMAP_EV_ERROR);
	CU_ASSERT_TRUE(ev.toobig);
	CU_ASSERT_STRING_EQUAL(ev.tag, "a");
	/* argument count */
	CU_ASSERT_EQUAL(FEED_STR(p, "a X 1 2 3 4 5 6 7 8 9 10\r\n", &ev),
			IMAP_EV_COMMAND);
	CU_ASSERT_EQUAL(FEED_STR(p, "a X 1 2 3 4 5 6 7 8 9 10 11\r\n", &ev),
			IMAP_EV_ERROR);
	CU_ASSERT_TRUE(ev.toobig);
	/* one literal */
	CU_ASSERT_EQUAL(FEED_STR(p, "a X {9}\r\n", &ev), IMAP_EV_LITERAL);
	CU_ASSERT_EQUAL(imap_parser_literal_begin(p, IMAP_LITERAL_BUFFER),
			PH_ETOOBIG);
	/* all literals of a command together */
	CU_ASSERT_EQUAL(FEED_STR(p, "a X {8}\r\n", &ev), IMAP_EV_LITERAL);
	CU_ASSERT_EQUAL(imap_parser_literal_begin(p, IMAP_LITERAL_BUFFER),
			PH_OK);
	CU_ASSERT_EQUAL(FEED_STR(p, "12345678 {8}\r\n", &ev), IMAP_EV_LITERAL);
	CU_ASSERT_EQUAL(imap_parser_literal_begin(p, IMAP_LITERAL_BUFFER),
			PH_OK);
	CU_ASSERT_EQUAL(FEED_STR(p, "12345678 {8}\r\n", &ev), IMAP_EV_LITERAL);
	CU_ASSERT_EQUAL(imap_parser_literal_begin(p, IMAP_LITERAL_BUFFER),
			PH_OK);
	CU_ASSERT_EQUAL(FEED_STR(p, "12345678 {8}\r\n", &ev), IMAP_EV_LITERAL);
	CU_ASSERT_EQUAL(imap_parser_literal_begin(p, IMAP_LITERAL_BUFFER),
			PH_ETOOBIG);
	/* LITERAL- style cap on non-synchronising literals */
	CU_ASSERT_EQUAL(FEED_STR(p, "a X {5+}\r\n", &ev), IMAP_EV_LITERAL);
	CU_ASSERT_EQUAL(imap_parser_literal_begin(p, IMAP_LITERAL_BUFFER),
			PH_ETOOBIG);
	CU_ASSERT_TRUE(imap_parser_must_close(p));
	imap_parser_destroy(&p);
}

static void test_pipelined(void)
{
	struct imap_parser *p = new_parser();
	struct imap_event ev;
	const char *in = "a NOOP\r\nb LOGIN {1+}\r\nx y\r\nc LOGOUT\r\n";
	size_t off = 0, used, len = strlen(in);
	const char *tags[3] = {"a", "b", "c"};
	int ncmd = 0;

	while (off < len) {
		enum imap_event_type t =
		    imap_parser_feed(p, in + off, len - off, &used, &ev);

		off += used;
		if (t == IMAP_EV_LITERAL)
			CU_ASSERT_EQUAL(
			    imap_parser_literal_begin(p, IMAP_LITERAL_BUFFER),
			    PH_OK);
		if (t == IMAP_EV_COMMAND) {
			CU_ASSERT_FATAL(ncmd < 3);
			CU_ASSERT_STRING_EQUAL(ev.tag, tags[ncmd]);
			ncmd++;
		}
		CU_ASSERT_NOT_EQUAL(t, IMAP_EV_ERROR);
	}
	CU_ASSERT_EQUAL(ncmd, 3);
	imap_parser_destroy(&p);
}

static void test_protocol_misuse(void)
{
	struct imap_parser *p = new_parser();
	struct imap_event ev;
	size_t used;

	CU_ASSERT_EQUAL(imap_parser_literal_begin(p, IMAP_LITERAL_BUFFER),
			PH_EINVAL);
	CU_ASSERT_EQUAL(FEED_STR(p, "a X {2}\r\n", &ev), IMAP_EV_LITERAL);
	/* feeding without deciding about the literal */
	CU_ASSERT_EQUAL(imap_parser_feed(p, "ab", 2, &used, &ev),
			IMAP_EV_ERROR);
	CU_ASSERT_TRUE(ev.close);
	imap_parser_reset(p);
	CU_ASSERT_EQUAL(FEED_STR(p, "a NOOP\r\n", &ev), IMAP_EV_COMMAND);
	imap_parser_destroy(&p);
}

static CU_TestInfo parser_tests[] = {
    {"simple", test_simple},
    {"arguments", test_args},
    {"quoted", test_quoted},
    {"literals", test_literals},
    {"literal stream", test_literal_stream},
    {"literal too big", test_literal_too_big},
    {"literal size overflow", test_literal_overflow},
    {"bad literal syntax", test_bad_literal_syntax},
    {"error then non-sync literal", test_error_then_nonsync},
    {"unbalanced", test_unbalanced},
    {"bad tags", test_bad_tags},
    {"bad bytes", test_bad_bytes},
    {"nesting limit", test_nesting_limit},
    {"limits", test_limits},
    {"pipelined", test_pipelined},
    {"protocol misuse", test_protocol_misuse},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"imap4-parser", NULL, NULL, NULL, NULL, parser_tests},
    CU_SUITE_INFO_NULL,
};

PH_CUNIT_MAIN(suites)
