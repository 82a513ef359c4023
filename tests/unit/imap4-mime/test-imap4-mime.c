/* Unit tests of the MIME engine: exact structures and offsets for crafted
 * messages, limits, the header helpers, and the whole corpus parsed in
 * chunks of several sizes (same result every time, sane offsets, valid
 * IMAP syntax, cache round trip). Dovecot comparisons are in
 * diff-dovecot.py. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cunit-main.h"
#include "imap4-mime-decode.h"
#include "imap4-mime.h"
#include "imap4-parser.h"

static struct mime_part *parse_chunked(const char *msg, size_t len,
				       size_t chunk,
				       const struct mime_limits *lim)
{
	struct mime_parser *mp = mime_parser_create(lim);
	size_t off;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mp);
	for (off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		CU_ASSERT_EQUAL(mime_parser_feed(mp, msg + off, n), PH_OK);
	}
	return mime_parser_finish(&mp);
}

static char *bodystructure(const struct mime_part *root, int ext)
{
	struct imap_str s;

	imap_str_init(&s, 0);
	mime_write_bodystructure(&s, root, ext);
	CU_ASSERT_FALSE(s.failed);
	return s.data;
}

static char *envelope(const struct mime_part *root)
{
	struct imap_str s;

	imap_str_init(&s, 0);
	mime_write_envelope(&s, root);
	return s.data;
}

/* The bytes of a section, from the message in memory. */
static void check_section(const char *msg, const struct mime_part *root,
			  const uint32_t *path, unsigned count,
			  enum mime_section_kind kind, const char *expect)
{
	struct mime_range r;

	CU_ASSERT_EQUAL_FATAL(mime_section_find(root, path, count, kind, &r),
			      PH_OK);
	CU_ASSERT_EQUAL(r.len, strlen(expect));
	CU_ASSERT(r.len == strlen(expect) &&
		  memcmp(msg + r.off, expect, r.len) == 0);
}

static const char multipart_msg[] =
    "From: a@b\r\n"
    "Subject: x\r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n"
    "\r\n"
    "pre\r\n"
    "--b\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "hello\r\n"
    "--b\r\n"
    "\r\n"
    "line1\r\n"
    "line2\r\n"
    "\r\n"
    "--b\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "noeol--b--\r\n"
    "epi\r\n";

static void test_multipart(void)
{
	static const size_t chunks[] = {1, 2, 3, 5, 64, 100000};
	uint32_t path[2];
	unsigned i;

	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct mime_part *root = parse_chunked(
		    multipart_msg, strlen(multipart_msg), chunks[i], NULL);
		char *bs = bodystructure(root, 1);

		/* what Dovecot 2.3 answers for the same file */
		CU_ASSERT_STRING_EQUAL(
		    bs, "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL "
			"NIL \"7bit\" 5 0 NIL NIL NIL NIL)(\"text\" \"plain\" "
			"(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 14 2 NIL "
			"NIL NIL NIL)(\"text\" \"plain\" (\"charset\" "
			"\"us-ascii\") NIL NIL \"7bit\" 17 2 NIL NIL NIL NIL) "
			"\"mixed\" (\"boundary\" \"b\") NIL NIL NIL)");
		free(bs);
		CU_ASSERT_EQUAL(root->hdr_wire + root->body_wire, 186);
		CU_ASSERT_EQUAL(root->nchildren, 3);
		path[0] = 1;
		check_section(multipart_msg, root, path, 1, MIME_SEC_ALL,
			      "hello");
		check_section(multipart_msg, root, path, 1, MIME_SEC_MIME,
			      "Content-Type: text/plain\r\n\r\n");
		path[0] = 2;
		check_section(multipart_msg, root, path, 1, MIME_SEC_ALL,
			      "line1\r\nline2\r\n");
		check_section(multipart_msg, root, path, 1, MIME_SEC_MIME,
			      "\r\n");
		path[0] = 3;
		check_section(multipart_msg, root, path, 1, MIME_SEC_ALL,
			      "noeol--b--\r\nepi\r\n");
		check_section(multipart_msg, root, NULL, 0, MIME_SEC_HEADER,
			      "From: a@b\r\nSubject: x\r\nContent-Type: "
			      "multipart/mixed; boundary=b\r\n\r\n");
		check_section(multipart_msg, root, NULL, 0, MIME_SEC_ALL,
			      multipart_msg);
		/* no such parts / kinds */
		path[0] = 4;
		{
			struct mime_range r;

			CU_ASSERT_EQUAL(
			    mime_section_find(root, path, 1, MIME_SEC_ALL, &r),
			    PH_ENOTFOUND);
			path[0] = 1;
			path[1] = 1;
			CU_ASSERT_EQUAL(
			    mime_section_find(root, path, 2, MIME_SEC_ALL, &r),
			    PH_ENOTFOUND);
			CU_ASSERT_EQUAL(mime_section_find(root, path, 1,
							  MIME_SEC_HEADER, &r),
					PH_EINVAL);
			CU_ASSERT_EQUAL(
			    mime_section_find(root, NULL, 0, MIME_SEC_MIME, &r),
			    PH_EINVAL);
			path[0] = 0;
			CU_ASSERT_EQUAL(
			    mime_section_find(root, path, 1, MIME_SEC_ALL, &r),
			    PH_ENOTFOUND);
		}
		mime_part_free(&root);
	}
}

static const char rfc822_msg[] =
    "Subject: outer\n"
    "Content-Type: multipart/mixed; boundary=\"x y\"\n"
    "\n"
    "--x y\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "first\n"
    "--x y\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "From: \"Joe Q. Public\" <john.q.public@example.com>\n"
    "\n"
    "inner body\n"
    "--x y--\n";

static void test_rfc822_lf(void)
{
	struct mime_part *root =
	    parse_chunked(rfc822_msg, strlen(rfc822_msg), 3, NULL);
	uint32_t path[2] = {2, 1};
	char *bs = bodystructure(root, 0), *env;

	/* what Dovecot 2.3 answers for FETCH BODY */
	CU_ASSERT_STRING_EQUAL(
	    bs, "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL "
		"\"7bit\" 5 0)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" "
		"79 (NIL \"inner\" ((\"Joe Q. Public\" NIL "
		"\"john.q.public\" \"example.com\")) ((\"Joe Q. Public\" "
		"NIL \"john.q.public\" \"example.com\")) ((\"Joe Q. "
		"Public\" NIL \"john.q.public\" \"example.com\")) NIL NIL "
		"NIL NIL NIL) (\"text\" \"plain\" (\"charset\" "
		"\"us-ascii\") NIL NIL \"7bit\" 10 0) 3) \"mixed\")");
	free(bs);
	/* sizes on the wire count LF as CR LF */
	CU_ASSERT_EQUAL(root->hdr_wire + root->body_wire,
			strlen(rfc822_msg) + 15);
	check_section(rfc822_msg, root, path, 2, MIME_SEC_ALL, "inner body");
	check_section(rfc822_msg, root, path, 1, MIME_SEC_HEADER,
		      "Subject: inner\nFrom: \"Joe Q. Public\" "
		      "<john.q.public@example.com>\n\n");
	check_section(rfc822_msg, root, path, 1, MIME_SEC_TEXT, "inner body");
	check_section(rfc822_msg, root, path, 1, MIME_SEC_MIME,
		      "Content-Type: message/rfc822\n\n");
	env = envelope(root);
	CU_ASSERT_STRING_EQUAL(env, "(NIL \"outer\" NIL NIL NIL NIL NIL NIL "
				    "NIL NIL)");
	free(env);
	mime_part_free(&root);
}

static void test_no_header_end(void)
{
	/* a message that is only a header, and a multipart without parts */
	static const char m1[] = "Subject: a\r\nContent-Type: multipart/"
				 "mixed; boundary=z\r\n";
	struct mime_part *root = parse_chunked(m1, strlen(m1), 1, NULL);
	char *bs = bodystructure(root, 0);

	CU_ASSERT_STRING_EQUAL(bs, "((\"text\" \"plain\" (\"charset\" "
				   "\"us-ascii\") NIL NIL \"7bit\" 0 0) "
				   "\"mixed\")");
	CU_ASSERT_EQUAL(root->body_off, strlen(m1));
	free(bs);
	mime_part_free(&root);
}

static void test_depth_limit(void)
{
	struct imap_str m;
	struct mime_part *root, *p;
	unsigned i, depth = 0;
	char *bs;

	imap_str_init(&m, 0);
	for (i = 0; i < 1000; i++)
		imap_str_printf(
		    &m,
		    "Content-Type: multipart/mixed; boundary=b%u\r\n"
		    "\r\n--b%u\r\n",
		    i, i);
	imap_str_appends(&m, "\r\nleaf\r\n");
	root = parse_chunked(m.data, m.len, 4096, NULL);
	for (p = root; p->children != NULL; p = p->children)
		depth++;
	CU_ASSERT(depth < mime_default_limits.max_depth);
	bs = bodystructure(root, 1);
	CU_ASSERT_PTR_NOT_NULL(bs);
	free(bs);
	mime_part_free(&root);

	/* message/rfc822 nesting is limited the same way */
	imap_str_truncate(&m, 0);
	for (i = 0; i < 1000; i++)
		imap_str_appends(&m, "Content-Type: message/rfc822\r\n\r\n");
	root = parse_chunked(m.data, m.len, 4096, NULL);
	depth = 0;
	for (p = root; p->children != NULL; p = p->children)
		depth++;
	CU_ASSERT(depth < mime_default_limits.max_depth);
	bs = bodystructure(root, 1);
	free(bs);
	mime_part_free(&root);
	imap_str_free(&m);
}

static void test_parts_limit(void)
{
	struct mime_limits lim = mime_default_limits;
	struct imap_str m;
	struct mime_part *root;
	unsigned i;

	lim.max_parts = 10;
	imap_str_init(&m, 0);
	imap_str_appends(&m, "Content-Type: multipart/mixed; boundary=b\r\n");
	for (i = 0; i < 100; i++)
		imap_str_appends(&m, "\r\n--b\r\n\r\nx");
	root = parse_chunked(m.data, m.len, 100000, &lim);
	CU_ASSERT(root->nchildren <= 9);
	mime_part_free(&root);
	imap_str_free(&m);
}

static void test_header_cap(void)
{
	struct mime_limits lim = mime_default_limits;
	struct imap_str m;
	struct mime_part *root;
	unsigned i;

	lim.max_header = 1000;
	imap_str_init(&m, 0);
	imap_str_appends(&m, "Subject: ");
	for (i = 0; i < 10000; i++)
		imap_str_appends(&m, "word ");
	imap_str_appends(&m, "\r\n folded\r\nTo: a@b\r\n\r\nbody\r\n");
	root = parse_chunked(m.data, m.len, 777, &lim);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root->hdr[MH_SUBJECT]);
	CU_ASSERT(strlen(root->hdr[MH_SUBJECT]) <= 1000);
	CU_ASSERT_STRING_EQUAL(root->hdr[MH_TO], "a@b");
	CU_ASSERT_EQUAL(root->body_wire, 6);
	mime_part_free(&root);
	imap_str_free(&m);
}

static char *addresses(const char *value)
{
	struct imap_str s;
	struct mime_address *a;
	int n, i;

	imap_str_init(&s, 0);
	n = mime_address_parse(value, 100, &a);
	for (i = 0; i < n; i++) {
		imap_str_printf(&s, "[%s|%s|%s|%s]",
				a[i].name ? a[i].name : "NIL",
				a[i].route ? a[i].route : "NIL",
				a[i].mailbox ? a[i].mailbox : "NIL",
				a[i].domain ? a[i].domain : "NIL");
	}
	if (n > 0)
		mime_address_free(a, (unsigned)n);
	if (s.data == NULL)
		imap_str_appends(&s, "");
	return s.data;
}

#define CHECK_ADDR(in, out)                                                    \
	do {                                                                   \
		char *got_ = addresses(in);                                    \
		CU_ASSERT_STRING_EQUAL(got_, out);                             \
		free(got_);                                                    \
	} while (0)

static void test_addresses(void)
{
	CHECK_ADDR("a@b", "[NIL|NIL|a|b]");
	CHECK_ADDR("\"Joe Q. Public\" <john.q.public@example.com>",
		   "[Joe Q. Public|NIL|john.q.public|example.com]");
	CHECK_ADDR("Mary Smith <@machine.tld:mary@example.net>, , "
		   "jdoe@test.example",
		   "[Mary Smith|@machine.tld|mary|example.net]"
		   "[NIL|NIL|MISSING_MAILBOX|MISSING_DOMAIN]"
		   "[NIL|NIL|jdoe|test.example]");
	CHECK_ADDR("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one."
		   "test>;",
		   "[NIL|NIL|A Group|NIL][Ed Jones|NIL|c|a.test]"
		   "[NIL|NIL|joe|where.test][John|NIL|jdoe|one.test]"
		   "[NIL|NIL|NIL|NIL]");
	CHECK_ADDR("undisclosed-recipients:;",
		   "[NIL|NIL|undisclosed-recipients|NIL][NIL|NIL|NIL|NIL]");
	CHECK_ADDR("bbb@ddd.com (John X. Doe)",
		   "[John X. Doe|NIL|bbb|ddd.com]");
	CHECK_ADDR("nsb", "[NIL|NIL|nsb|MISSING_DOMAIN]");
	CHECK_ADDR("Big Bug bb@bug.com",
		   "[Big Bug bb|NIL|MISSING_MAILBOX|MISSING_DOMAIN]");
	CHECK_ADDR("a@b (unterminated (nested comment",
		   "[unterminated (nested comment|NIL|a|b]");
	CHECK_ADDR("", "");
	CHECK_ADDR(" , ", "[NIL|NIL|MISSING_MAILBOX|MISSING_DOMAIN]");
	CHECK_ADDR("\"quoted \\\"name\\\"\" <x@[1.2.3.4]>",
		   "[quoted \"name\"|NIL|x|[1.2.3.4]]");
	CHECK_ADDR("<>", "[NIL|NIL|MISSING_MAILBOX|MISSING_DOMAIN]");
}

static char *params(const char *value)
{
	struct mime_content_type ct;
	struct imap_str s;
	unsigned i;

	CU_ASSERT_EQUAL(mime_content_type_parse(value, 1, &ct), PH_OK);
	imap_str_init(&s, 0);
	imap_str_printf(&s, "%s/%s", ct.type ? ct.type : "NIL",
			ct.subtype ? ct.subtype : "NIL");
	for (i = 0; i < ct.nparams; i++)
		imap_str_printf(&s, ";%s=%s", ct.params[i].name,
				ct.params[i].value);
	mime_content_type_free(&ct);
	return s.data;
}

#define CHECK_CT(in, out)                                                      \
	do {                                                                   \
		char *got_ = params(in);                                       \
		CU_ASSERT_STRING_EQUAL(got_, out);                             \
		free(got_);                                                    \
	} while (0)

static void test_content_type(void)
{
	struct mime_content_type ct;
	char *b;

	CHECK_CT("text/plain", "text/plain");
	CHECK_CT(" Text / HTML (comment) ; charset = \"utf-8\" ; a=b",
		 "Text/HTML;charset=utf-8;a=b");
	/* RFC 2231 continuations, sorted after the plain ones */
	CHECK_CT("multipart/mixed; boundary*0=ab; boundary*1=cd; z=1; "
		 "x*0*=utf-8''a; x*1=b",
		 "multipart/mixed;z=1;boundary=abcd;x*=utf-8''ab");
	CHECK_CT("text/plain; charset=\"unterminated", "text/plain");
	CHECK_CT("text/plain;; charset=x", "text/plain");
	CHECK_CT("text/calendar; method=text/calendar",
		 "text/calendar;method=text");
	CHECK_CT("application/pdf; name==?utf-8?B?dGVzdA==?=",
		 "application/pdf;name==?utf-8?B?dGVzdA==?=");
	CHECK_CT("", "NIL/NIL");
	CHECK_CT("text", "text/NIL");

	CU_ASSERT_EQUAL(
	    mime_content_type_parse("multipart/signed; boundary*=\"us-ascii'en'"
				    "a%20b%zz\"",
				    1, &ct),
	    PH_OK);
	b = mime_param_get_decoded(&ct, "boundary");
	CU_ASSERT_STRING_EQUAL(b, "a b%zz");
	free(b);
	mime_content_type_free(&ct);
}

static void test_cache_roundtrip_garbage(void)
{
	static const unsigned char junk[][8] = {
	    {0},
	    {1},
	    {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff},
	    {2, 1, 2, 3},
	};
	struct mime_part *root;
	unsigned i;
	unsigned char big[1 + 56 * 2];

	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		CU_ASSERT_EQUAL(
		    mime_parts_deserialize(junk[i], sizeof(junk[i]), &root),
		    PH_EINVAL);
		CU_ASSERT_PTR_NULL(root);
	}
	CU_ASSERT_EQUAL(mime_parts_deserialize("", 0, &root), PH_EINVAL);
	/* a part claiming a million children */
	memset(big, 0, sizeof(big));
	big[0] = 1;
	big[5] = 0x0f;
	big[6] = 0x42;
	CU_ASSERT_EQUAL(mime_parts_deserialize(big, sizeof(big), &root),
			PH_EINVAL);
}

/* ---- the corpus ---- */

static void check_tree(const struct mime_part *p, uint64_t size)
{
	const struct mime_part *c;
	unsigned n = 0;

	CU_ASSERT(p->hdr_off <= p->body_off);
	CU_ASSERT(p->body_off <= p->body_end);
	CU_ASSERT(p->body_end <= size);
	CU_ASSERT(p->hdr_wire >= p->body_off - p->hdr_off);
	CU_ASSERT(p->body_wire >= p->body_end - p->body_off);
	for (c = p->children; c != NULL; c = c->next) {
		CU_ASSERT(c->parent == p);
		CU_ASSERT(c->hdr_off >= p->body_off);
		CU_ASSERT(c->body_end <= p->body_end);
		check_tree(c, size);
		n++;
	}
	CU_ASSERT_EQUAL(n, p->nchildren);
}

/* Every part's ALL and MIME sections are found, walking part numbers. */
static void check_sections(const struct mime_part *root)
{
	uint32_t path[64];
	unsigned depth = 0;
	struct mime_range r;

	/* depth-first over part numbers, probing 1..n at each level */
	path[0] = 1;
	depth = 1;
	while (depth > 0) {
		if (mime_section_find(root, path, depth, MIME_SEC_ALL, &r) ==
		    PH_OK) {
			CU_ASSERT_EQUAL(mime_section_find(root, path, depth,
							  MIME_SEC_MIME, &r),
					PH_OK);
			if (depth < 64) {
				path[depth++] = 1;
				continue;
			}
		}
		/* next sibling at the level above */
		depth--;
		if (depth > 0)
			path[depth - 1]++;
		if (depth > 0 && path[depth - 1] > 10000)
			break;
	}
}

/* Copies a server answer so the command parser can read it: responses
 * write ")(" (1*body, address lists) where commands need ") (". Quoted
 * strings and literals are copied as they are. */
static void add_list_spaces(struct imap_str *out, const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (s[i] == '"') {
			size_t j = i + 1;

			while (j < len && s[j] != '"')
				j += s[j] == '\\' ? 2 : 1;
			imap_str_append(out, s + i, j + 1 - i);
			i = j + 1;
		} else if (s[i] == '{') {
			char *end;
			unsigned long n = strtoul(s + i + 1, &end, 10);
			size_t hdr = (size_t)(end - (s + i)) + 3; /* }CRLF */

			imap_str_append(out, s + i, hdr + n);
			i += hdr + n;
		} else {
			imap_str_appendc(out, s[i]);
			if (s[i] == ')' && i + 1 < len && s[i + 1] == '(')
				imap_str_appendc(out, ' ');
			i++;
		}
	}
}

/* The answer must parse as IMAP (balanced lists, valid literals). */
static void check_syntax(const char *bs, size_t len)
{
	struct imap_parser *p = imap_parser_create(NULL);
	struct imap_str line;
	size_t off = 0, used;
	int done = 0;

	imap_str_init(&line, 0);
	imap_str_appends(&line, "x BODYSTRUCTURE ");
	add_list_spaces(&line, bs, len);
	imap_str_appends(&line, "\r\n");
	while (off < line.len && !done) {
		struct imap_event ev;

		switch (imap_parser_feed(p, line.data + off, line.len - off,
					 &used, &ev)) {
		case IMAP_EV_LITERAL:
			CU_ASSERT_EQUAL(
			    imap_parser_literal_begin(p, IMAP_LITERAL_BUFFER),
			    PH_OK);
			break;
		case IMAP_EV_COMMAND:
			CU_ASSERT_EQUAL(imap_parser_root(p)->count, 1);
			CU_ASSERT_EQUAL(
			    imap_arg_child(p, imap_parser_root(p))->type,
			    IMAP_ARG_LIST);
			done = 1;
			break;
		case IMAP_EV_ERROR:
			CU_FAIL("BODYSTRUCTURE is not valid IMAP");
			fprintf(stderr, "bad syntax: %s: %.300s\n", ev.error,
				bs);
			done = 1;
			break;
		default:
			break;
		}
		off += used;
	}
	CU_ASSERT_TRUE(done);
	CU_ASSERT_EQUAL(off, line.len);
	imap_str_free(&line);
	imap_parser_destroy(&p);
}

static char *describe(const struct mime_part *root)
{
	struct imap_str s;

	imap_str_init(&s, 0);
	mime_write_envelope(&s, root);
	mime_write_bodystructure(&s, root, 1);
	mime_parts_serialize(root, &s);
	return s.data;
}

static unsigned corpus_files;

static void check_file(const char *path)
{
	struct stat st;
	struct mime_part *root, *again;
	char *data, *ref, *got;
	int fd = open(path, O_RDONLY);
	static const size_t chunks[] = {1, 7, 4093};
	struct imap_str s1, s2, bs;
	uint64_t bare = 0;
	unsigned i;

	CU_ASSERT_FATAL(fd >= 0 && fstat(fd, &st) == 0);
	CU_ASSERT_EQUAL_FATAL(
	    mime_parse_fd(fd, 0, (uint64_t)st.st_size, NULL, &root), PH_OK);
	data = malloc((size_t)st.st_size + 1);
	CU_ASSERT_FATAL(pread(fd, data, (size_t)st.st_size, 0) == st.st_size);
	close(fd);
	for (i = 0; i < (size_t)st.st_size; i++)
		bare += data[i] == '\n' && (i == 0 || data[i - 1] != '\r');
	CU_ASSERT_EQUAL(root->hdr_wire + root->body_wire,
			(uint64_t)st.st_size + bare);
	CU_ASSERT_EQUAL(root->hdr_off, 0);
	check_tree(root, (uint64_t)st.st_size);
	check_sections(root);
	ref = describe(root);

	imap_str_init(&bs, 0);
	mime_write_bodystructure(&bs, root, 1);
	check_syntax(bs.data, bs.len);
	imap_str_truncate(&bs, 0);
	mime_write_bodystructure(&bs, root, 0);
	check_syntax(bs.data, bs.len);
	imap_str_truncate(&bs, 0);
	mime_write_envelope(&bs, root);
	check_syntax(bs.data, bs.len);
	imap_str_free(&bs);

	/* the cache form reads back to the same offsets */
	imap_str_init(&s1, 0);
	imap_str_init(&s2, 0);
	CU_ASSERT_EQUAL(mime_parts_serialize(root, &s1), PH_OK);
	CU_ASSERT_EQUAL(mime_parts_deserialize(s1.data, s1.len, &again), PH_OK);
	CU_ASSERT_EQUAL(mime_parts_serialize(again, &s2), PH_OK);
	CU_ASSERT(s1.len == s2.len && memcmp(s1.data, s2.data, s1.len) == 0);
	mime_part_free(&again);
	imap_str_free(&s1);
	imap_str_free(&s2);

	/* any chunking gives the same result */
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		if (chunks[i] == 1 && st.st_size > 64 * 1024)
			continue;
		again =
		    parse_chunked(data, (size_t)st.st_size, chunks[i], NULL);
		got = describe(again);
		CU_ASSERT_STRING_EQUAL(got, ref);
		if (strcmp(got, ref) != 0)
			fprintf(stderr, "chunk %zu differs: %s\n", chunks[i],
				path);
		free(got);
		mime_part_free(&again);
	}
	free(ref);
	free(data);
	mime_part_free(&root);
	corpus_files++;
}

static void walk(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((e = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			walk(path);
		else if (strstr(e->d_name, ".md") == NULL)
			check_file(path);
	}
	closedir(d);
}

static void test_corpus(void)
{
	const char *dir = getenv("PH_CORPUS_DIR");

	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	walk(dir);
	CU_ASSERT(corpus_files >= 250);
}

static char *hdr_decode(const char *raw)
{
	struct imap_str s;

	imap_str_init(&s, 0);
	mime_header_decode(raw, &s);
	imap_str_appends(&s, "");
	return s.data;
}

#define CHECK_HDR(in, out)                                                     \
	do {                                                                   \
		char *got_ = hdr_decode(in);                                   \
		CU_ASSERT_STRING_EQUAL(got_, out);                             \
		free(got_);                                                    \
	} while (0)

static void test_header_decode(void)
{
	CHECK_HDR("plain text", "plain text");
	CHECK_HDR("=?UTF-8?B?R3LDvMOfZQ==?= =?UTF-8?Q?_aus_K=C3=B6ln?=",
		  "Gr\xc3\xbc\xc3\x9f"
		  "e aus K\xc3\xb6ln");
	CHECK_HDR("=?ISO-8859-1?Q?Andr=E9?= <a@b>", "Andr\xc3\xa9 <a@b>");
	CHECK_HDR("=?utf-8?b?R3LDvMOfZQ?=", "Gr\xc3\xbc\xc3\x9f"
					    "e");
	CHECK_HDR("a =?bogus?Q?x?= b", "a x b");
	CHECK_HDR("=?UTF-8?X?abc?= =?", "=?UTF-8?X?abc?= =?");
	CHECK_HDR("=?UTF-8*en?Q?hi?=", "hi");
	CHECK_HDR("=?ISO-2022-JP?B?GyRAOjRGI0stGyhK?=",
		  "\xe4\xbd\x90\xe8\x97\xa4\xe8\xb1\x8a");
}

/* Feeds `in` to a decoder one byte at a time. */
static char *body_decode(const char *cte, const char *charset, const char *in)
{
	struct mime_body_decoder d;
	struct imap_str s;
	size_t i;

	imap_str_init(&s, 0);
	mime_body_decoder_init(&d, cte, charset);
	for (i = 0; in[i] != '\0'; i++)
		mime_body_decoder_feed(&d, in + i, 1, &s);
	mime_body_decoder_free(&d);
	imap_str_appends(&s, "");
	return s.data;
}

static void test_body_decode(void)
{
	char *got;

	/* line breaks inside base64, fed one byte at a time */
	got = body_decode("base64", "utf-8",
			  "RGFzIFdldHRlciBp\r\nbiBLw7ZsbiE=\r\n");
	CU_ASSERT_STRING_EQUAL(got, "Das Wetter in K\xc3\xb6ln!");
	free(got);
	got = body_decode("Quoted-Printable", "iso-8859-1",
			  "Caf=E9 super=\r\ncali=\nfragil=3D=xyz\r\n");
	CU_ASSERT_STRING_EQUAL(got, "Caf\xc3\xa9 supercalifragil==xyz\r\n");
	free(got);
	got = body_decode(NULL, "iso-8859-1", "\xe9t\xe9");
	CU_ASSERT_STRING_EQUAL(got, "\xc3\xa9t\xc3\xa9");
	free(got);
	/* an unknown charset passes bytes through */
	got = body_decode("7bit", "no-such-charset", "keep");
	CU_ASSERT_STRING_EQUAL(got, "keep");
	free(got);
}

static void test_matcher(void)
{
	struct mime_matcher m;
	const char *text = "the Quick brown fox";
	size_t i;

	CU_ASSERT_EQUAL(mime_matcher_init(&m, "quick BROWN"), PH_OK);
	for (i = 0; text[i] != '\0'; i++)
		mime_matcher_feed(&m, text + i, 1);
	CU_ASSERT_TRUE(m.found);
	mime_matcher_free(&m);
	CU_ASSERT_EQUAL(mime_matcher_init(&m, "fox!"), PH_OK);
	mime_matcher_feed(&m, text, strlen(text));
	CU_ASSERT_FALSE(m.found);
	mime_matcher_free(&m);
	CU_ASSERT_EQUAL(mime_matcher_init(&m, ""), PH_OK);
	CU_ASSERT_TRUE(m.found);
	mime_matcher_free(&m);
}

static CU_TestInfo mime_tests[] = {
    {"header decode", test_header_decode},
    {"body decode", test_body_decode},
    {"matcher", test_matcher},
    {"multipart offsets and sections", test_multipart},
    {"message/rfc822 with LF ends", test_rfc822_lf},
    {"header without end", test_no_header_end},
    {"depth limit", test_depth_limit},
    {"parts limit", test_parts_limit},
    {"header cap", test_header_cap},
    {"addresses", test_addresses},
    {"content-type parameters", test_content_type},
    {"cache garbage", test_cache_roundtrip_garbage},
    {"corpus", test_corpus},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"imap4-mime", NULL, NULL, NULL, NULL, mime_tests},
    CU_SUITE_INFO_NULL,
};

PH_CUNIT_MAIN(suites)
