/* Whole POP3 sessions through the plugin's real code, on a fake core and
 * a fake storage (pop3-fake.c): states, every command, bad input,
 * pipelining, back-pressure, locking, UPDATE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cunit-main.h"
#include "pop3-fake.h"

extern const struct ph_plugin posthorn_plugin;

static void *pstate;
static const char *no_settings[] = {NULL};

static int setup(void)
{
	const char *error = NULL;

	fake_config_set(no_settings);
	return posthorn_plugin.init(fake_core_api(), fake_config(), &pstate,
				    &error);
}

static int teardown(void)
{
	posthorn_plugin.fini(pstate);
	fake_storage_reset();
	return 0;
}

static const char msg1[] = "From: a@example.org\nSubject: one\n\nHello\n"
			   ".dotted line\n..\nbye\n";
static const char msg2[] = "From: b@example.org\r\nSubject: two\r\n\r\n"
			   "body\r\n";
static const char msg3[] = "Subject: three\n\nno final newline";

static uint32_t uid1, uid2, uid3;

static void fill(void)
{
	fake_storage_reset();
	uid1 = fake_storage_add(msg1, sizeof(msg1) - 1, 0);
	uid2 = fake_storage_add(msg2, sizeof(msg2) - 1, 1);
	uid3 = fake_storage_add(msg3, sizeof(msg3) - 1, 0);
}

static struct ph_conn *open_conn(const struct fake_conn_opts *opts)
{
	struct ph_conn *c = fake_conn_open(&posthorn_plugin, pstate, opts);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(fake_conn_take(c),
			       "+OK Posthorn POP3 ready.\r\n");
	return c;
}

static struct ph_conn *conn_default(void)
{
	struct fake_conn_opts o = FAKE_CONN_OPTS_DEFAULT;

	return open_conn(&o);
}

/* Sends a line, runs auth callbacks, returns the new output. */
static const char *cmd(struct ph_conn *c, const char *line)
{
	char buf[2048];

	snprintf(buf, sizeof(buf), "%s\r\n", line);
	fake_conn_sendz(c, buf);
	fake_run(c);
	fake_run(c);
	return fake_conn_take(c);
}

static struct ph_conn *login(void)
{
	struct ph_conn *c = conn_default();

	CU_ASSERT_STRING_EQUAL(cmd(c, "USER alice"),
			       "+OK Send your password\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "PASS secret"),
			       "+OK Logged in, 3 messages (144 octets)\r\n");
	return c;
}

static void test_greeting_idle_timeout(void)
{
	struct ph_conn *c = conn_default();

	CU_ASSERT_EQUAL(c->idle_timeout, 600);
	fake_conn_free(c);
}

static void test_capa(void)
{
	struct ph_conn *c = conn_default();
	const char *out = cmd(c, "CAPA");

	CU_ASSERT(strncmp(out, "+OK", 3) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nTOP\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nUSER\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nUIDL\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nPIPELINING\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nRESP-CODES\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nAUTH-RESP-CODE\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nUTF8 USER\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nSASL PLAIN\r\n"));
	CU_ASSERT_PTR_NULL(strstr(out, "STLS"));
	CU_ASSERT_PTR_NULL(strstr(out, "IMPLEMENTATION"));
	CU_ASSERT_PTR_NULL(strstr(out, "EXPIRE"));
	CU_ASSERT_PTR_NULL(strstr(out, "LOGIN-DELAY"));
	CU_ASSERT(strcmp(out + strlen(out) - 3, ".\r\n") == 0);
	CU_ASSERT_STRING_EQUAL(cmd(c, "UTF8"), "+OK UTF8 enabled\r\n");
	fake_conn_free(c);
}

static void test_capa_settings(void)
{
	static const char *kv[] = {"expire_never",
				   "yes",
				   "login_delay",
				   "900",
				   "implementation",
				   "yes",
				   "idle_timeout",
				   "30",
				   NULL};
	struct fake_conn_opts o = FAKE_CONN_OPTS_DEFAULT;
	struct ph_conn *c;
	const char *out;

	fake_config_set(kv);
	o.tls_mode = PH_TLS_STARTTLS;
	c = open_conn(&o);
	CU_ASSERT_EQUAL(c->idle_timeout, 30);
	out = cmd(c, "capa");
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nEXPIRE NEVER\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nLOGIN-DELAY 900\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nIMPLEMENTATION Posthorn-"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nSTLS\r\n"));
	fake_conn_free(c);
	fake_config_set(no_settings);
}

static void test_capa_expire_days(void)
{
	static const char *days[] = {"expire", "2592000", NULL};
	static const char *never[] = {"expire", "0", "expire_never", "yes",
				      NULL};
	struct ph_conn *c;

	fake_config_set(days);
	c = conn_default();
	CU_ASSERT_PTR_NOT_NULL(strstr(cmd(c, "CAPA"), "\r\nEXPIRE 30\r\n"));
	fake_conn_free(c);
	fake_config_set(never);
	c = conn_default();
	CU_ASSERT_PTR_NOT_NULL(strstr(cmd(c, "CAPA"), "\r\nEXPIRE NEVER\r\n"));
	fake_conn_free(c);
	fake_config_set(no_settings);
}

static void test_login_failures(void)
{
	struct ph_conn *c = conn_default();

	CU_ASSERT_STRING_EQUAL(cmd(c, "PASS secret"),
			       "-ERR No user name given: send USER first\r\n");
	cmd(c, "USER alice");
	CU_ASSERT_STRING_EQUAL(cmd(c, "PASS wrong"),
			       "-ERR [AUTH] Authentication failed\r\n");
	/* after a failure USER must be sent again */
	CU_ASSERT_STRING_EQUAL(cmd(c, "PASS secret"),
			       "-ERR No user name given: send USER first\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "APOP alice 0123456789abcdef"),
			       "-ERR [AUTH] APOP is not supported\r\n");
	for (int i = 0; i < 3; i++) {
		cmd(c, "USER alice");
		cmd(c, "PASS nope");
	}
	CU_ASSERT_FALSE(c->close_requested);
	cmd(c, "USER alice");
	CU_ASSERT_PTR_NOT_NULL(strstr(cmd(c, "PASS nope"), "Too many failed"));
	CU_ASSERT(c->close_requested);
	fake_conn_free(c);
}

static void test_commands_before_auth(void)
{
	static const char *cmds[] = {"STAT", "LIST", "RETR 1",	"DELE 1",
				     "NOOP", "RSET", "TOP 1 1", "UIDL"};
	struct ph_conn *c = conn_default();
	char expect[128];

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(expect, sizeof(expect),
			 "-ERR %.4s not valid in AUTHORIZATION state\r\n",
			 cmds[i]);
		if (strncmp(cmds[i], "TOP", 3) == 0)
			snprintf(
			    expect, sizeof(expect),
			    "-ERR TOP not valid in AUTHORIZATION state\r\n");
		CU_ASSERT_STRING_EQUAL(cmd(c, cmds[i]), expect);
	}
	CU_ASSERT_FALSE(c->close_requested);
	fake_conn_free(c);
}

static void test_transaction(void)
{
	struct ph_conn *c;
	const char *out;
	char expect[256];

	fill();
	c = login();
	CU_ASSERT_STRING_EQUAL(cmd(c, "STAT"), "+OK 3 144\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "LIST"),
			       "+OK 3 messages (144 octets)\r\n1 67\r\n2 "
			       "43\r\n3 34\r\n.\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "LIST 2"), "+OK 2 43\r\n");
	snprintf(expect, sizeof(expect),
		 "+OK Unique-ID listing follows\r\n1 1234567.%u\r\n2 "
		 "1234567.%u\r\n3 1234567.%u\r\n.\r\n",
		 uid1, uid2, uid3);
	CU_ASSERT_STRING_EQUAL(cmd(c, "UIDL"), expect);
	snprintf(expect, sizeof(expect), "+OK 3 1234567.%u\r\n", uid3);
	CU_ASSERT_STRING_EQUAL(cmd(c, "uidl 3"), expect);
	out = cmd(c, "RETR 1");
	CU_ASSERT_STRING_EQUAL(out, "+OK 67 octets\r\nFrom: a@example.org\r\n"
				    "Subject: one\r\n\r\nHello\r\n..dotted "
				    "line\r\n...\r\nbye\r\n.\r\n");
	CU_ASSERT(fake_storage_flags(uid1) & PH_FLAG_SEEN);
	CU_ASSERT_FALSE(fake_storage_flags(uid2) & PH_FLAG_SEEN);
	CU_ASSERT_STRING_EQUAL(cmd(c, "RETR 3"),
			       "+OK 34 octets\r\nSubject: three\r\n\r\nno "
			       "final newline\r\n.\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "TOP 1 0"),
			       "+OK Top of message follows\r\nFrom: "
			       "a@example.org\r\nSubject: one\r\n\r\n.\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "TOP 1 2"),
			       "+OK Top of message follows\r\nFrom: "
			       "a@example.org\r\nSubject: one\r\n\r\nHello\r\n"
			       "..dotted line\r\n.\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "NOOP"), "+OK Nothing to do\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "DELE 2"), "+OK Message 2 deleted\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "STAT"), "+OK 2 101\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "LIST"),
			       "+OK 2 messages (101 octets)\r\n1 67\r\n3 "
			       "34\r\n.\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "RSET"),
			       "+OK 3 messages (144 octets)\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "STAT"), "+OK 3 144\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "USER bob"),
			       "-ERR USER not valid in TRANSACTION state\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "UTF8"),
			       "-ERR UTF8 not valid in TRANSACTION state\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "DELE 1"), "+OK Message 1 deleted\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "DELE 3"), "+OK Message 3 deleted\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "QUIT"),
			       "+OK Logging out, 2 messages deleted\r\n");
	CU_ASSERT(c->close_requested);
	CU_ASSERT_EQUAL(fake_storage_count(), 1);
	CU_ASSERT_EQUAL(fake_storage_flags(uid1), -1);
	CU_ASSERT(fake_storage_flags(uid2) >= 0);
	fake_conn_free(c);
}

static void test_bad_message_numbers(void)
{
	static const struct {
		const char *line, *reply;
	} cases[] = {
	    {"RETR 0", "-ERR No such message\r\n"},
	    {"RETR -1", "-ERR Invalid message number\r\n"},
	    {"RETR 4", "-ERR No such message\r\n"},
	    {"RETR 99999999999", "-ERR Invalid message number\r\n"},
	    {"RETR abc", "-ERR Invalid message number\r\n"},
	    {"RETR", "-ERR Missing argument\r\n"},
	    {"RETR 1 2", "-ERR Too many arguments\r\n"},
	    {"LIST x", "-ERR Invalid message number\r\n"},
	    {"STAT 1", "-ERR Too many arguments\r\n"},
	    {"TOP 1", "-ERR Missing argument\r\n"},
	    {"TOP 1 x", "-ERR Invalid number of lines\r\n"},
	    {"TOP 1 -2", "-ERR Invalid number of lines\r\n"},
	    {"DELE 2", "+OK Message 2 deleted\r\n"},
	    {"DELE 2", "-ERR Message 2 already deleted\r\n"},
	    {"RETR 2", "-ERR Message 2 already deleted\r\n"},
	    {"LIST 2", "-ERR Message 2 already deleted\r\n"},
	    {"UIDL 2", "-ERR Message 2 already deleted\r\n"},
	    {"TOP 2 1", "-ERR Message 2 already deleted\r\n"},
	    {"FOO", "-ERR Unknown command\r\n"},
	    {"", "-ERR Empty command\r\n"},
	};
	struct ph_conn *c;

	fill();
	c = login();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *out = cmd(c, cases[i].line);

		if (strcmp(out, cases[i].reply) != 0)
			fprintf(stderr, "%s -> %s", cases[i].line, out);
		CU_ASSERT_STRING_EQUAL(out, cases[i].reply);
	}
	CU_ASSERT_STRING_EQUAL(cmd(c, "STAT"), "+OK 2 101\r\n");
	fake_conn_free(c);
	/* dropped: nothing expunged */
	CU_ASSERT_EQUAL(fake_storage_count(), 3);
}

static void test_nul_and_long_lines(void)
{
	struct ph_conn *c = conn_default();
	char line[400];

	fake_conn_send(c, "NO\0OP\r\n", 7);
	CU_ASSERT_STRING_EQUAL(fake_conn_take(c),
			       "-ERR Invalid characters in command\r\n");
	memset(line, 'A', sizeof(line));
	memcpy(line + sizeof(line) - 2, "\r\n", 2);
	fake_conn_send(c, line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(fake_conn_take(c), "-ERR Line too long\r\n");
	CU_ASSERT_FALSE(c->close_requested);
	/* good commands reset the count */
	CU_ASSERT_STRING_EQUAL(cmd(c, "quit"), "+OK Logging out\r\n");
	fake_conn_free(c);

	c = conn_default();
	for (int i = 0; i < 9; i++)
		fake_conn_send(c, line, sizeof(line));
	CU_ASSERT_FALSE(c->close_requested);
	fake_conn_send(c, line, sizeof(line));
	CU_ASSERT(c->close_requested);
	CU_ASSERT_PTR_NOT_NULL(strstr(fake_conn_take(c), "Too many bad"));
	fake_conn_free(c);
}

static void test_huge_line_closes(void)
{
	struct ph_conn *c = conn_default();
	size_t n = 70000;
	char *line = malloc(n);

	memset(line, 'x', n);
	line[n - 1] = '\n';
	fake_conn_send(c, line, n);
	CU_ASSERT_STRING_EQUAL(fake_conn_take(c),
			       "-ERR Line too long, closing\r\n");
	CU_ASSERT(c->close_requested);
	free(line);
	fake_conn_free(c);
}

static void test_in_use(void)
{
	struct ph_conn *a, *b;

	fill();
	a = login();
	b = conn_default();
	cmd(b, "USER alice");
	CU_ASSERT_STRING_EQUAL(
	    cmd(b, "PASS secret"),
	    "-ERR [IN-USE] Mailbox is locked by another POP3 session\r\n");
	/* the login is spent on this connection: it closes */
	CU_ASSERT(b->close_requested);
	fake_conn_free(b);
	/* the first session ends (a crash looks the same: the view closes) */
	fake_conn_free(a);
	b = conn_default();
	cmd(b, "USER alice");
	CU_ASSERT(strncmp(cmd(b, "PASS secret"), "+OK", 3) == 0);
	fake_conn_free(b);
}

static void test_expunge_failure(void)
{
	struct ph_conn *c;

	fill();
	c = login();
	cmd(c, "DELE 1");
	fake_storage_fail_expunge(1);
	CU_ASSERT_STRING_EQUAL(
	    cmd(c, "QUIT"),
	    "-ERR [SYS/TEMP] Some deleted messages were not removed\r\n");
	CU_ASSERT(c->close_requested);
	fake_storage_fail_expunge(0);
	CU_ASSERT_EQUAL(fake_storage_count(), 3);
	fake_conn_free(c);
}

static void test_expunged_by_other_session(void)
{
	struct ph_conn *c;

	fill();
	c = login();
	fake_storage_expunge_other(uid2);
	CU_ASSERT_STRING_EQUAL(
	    cmd(c, "RETR 2"),
	    "-ERR Message 2 was removed by another session\r\n");
	CU_ASSERT(strncmp(cmd(c, "RETR 1"), "+OK", 3) == 0);
	fake_conn_free(c);
}

static void test_pipelining(void)
{
	struct ph_conn *c;
	size_t n = 1000, len = 0;
	char *buf = malloc(n * 8 + 64), *out, *p;
	unsigned i;

	fill();
	c = login();
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(buf + len, "LIST %u\r\n", i % 3 + 1);
	fake_conn_send(c, buf, len);
	out = strdup(fake_conn_take(c));
	p = out;
	for (i = 0; i < n; i++) {
		char expect[32];
		static const unsigned sizes[] = {67, 43, 34};

		snprintf(expect, sizeof(expect), "+OK %u %u\r\n", i % 3 + 1,
			 sizes[i % 3]);
		CU_ASSERT_EQUAL_FATAL(strncmp(p, expect, strlen(expect)), 0);
		p += strlen(expect);
	}
	CU_ASSERT_EQUAL(*p, '\0');
	free(out);
	free(buf);
	fake_conn_free(c);
}

/* A client that does not read: the plugin stops at the low-water mark and
 * resumes when output drains; pipelined commands wait their turn. */
static void test_back_pressure(void)
{
	size_t size = 1 << 20, len;
	char *big = malloc(size), *out;
	struct fake_conn_opts o = FAKE_CONN_OPTS_DEFAULT;
	struct ph_conn *c;
	uint32_t uid;
	int rounds = 0;

	fake_storage_reset();
	len = (size_t)sprintf(big, "Subject: big\n\n");
	while (len < size - 100)
		len += (size_t)sprintf(big + len, ".line %zu\n", len);
	uid = fake_storage_add(big, len, 0);
	o.slow_reader = 1;
	c = open_conn(&o);
	fake_conn_drain(c, SIZE_MAX);
	cmd(c, "USER alice");
	fake_conn_drain(c, SIZE_MAX);
	cmd(c, "PASS secret");
	fake_conn_drain(c, SIZE_MAX);
	fake_conn_sendz(c, "RETR 1\r\nNOOP\r\n");
	c->max_pending = 0;
	c->idle_sets = 0;
	while (!strstr(c->out + c->out_read, "+OK Nothing to do\r\n")) {
		CU_ASSERT_FATAL(c->pending >= FAKE_LOWAT);
		fake_conn_drain(c, SIZE_MAX);
		CU_ASSERT_FATAL(++rounds < 10000);
	}
	CU_ASSERT(rounds > 10);
	/* each drain of the answer counts as activity for the autologout */
	CU_ASSERT(c->idle_sets >= (unsigned)rounds - 1);
	/* bounded: the low-water mark plus one encoded chunk */
	CU_ASSERT(c->max_pending <= FAKE_LOWAT + 2 * 16384 + 64);
	out = c->out + c->out_read;
	CU_ASSERT(strncmp(out, "+OK ", 4) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\n..line "));
	CU_ASSERT(fake_storage_flags(uid) & PH_FLAG_SEEN);
	fake_conn_free(c);
	free(big);
}

/* Stored wire form without dot lines: the second RETR goes out as a file
 * range, byte-identical to the first. */
static void test_wire_form_file(void)
{
	struct ph_conn *c;
	char *first;

	fill();
	c = login();
	first = strdup(cmd(c, "RETR 2"));
	CU_ASSERT_STRING_EQUAL(first, "+OK 43 octets\r\nFrom: "
				      "b@example.org\r\nSubject: "
				      "two\r\n\r\nbody\r\n.\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "RETR 2"), first);
	free(first);
	fake_conn_free(c);
}

static void test_mark_seen_off(void)
{
	static const char *kv[] = {"mark_seen", "no", NULL};
	struct ph_conn *c;

	fill();
	fake_config_set(kv);
	c = login();
	cmd(c, "RETR 1");
	CU_ASSERT_FALSE(fake_storage_flags(uid1) & PH_FLAG_SEEN);
	fake_conn_free(c);
	fake_config_set(no_settings);
}

static void test_plaintext_refused(void)
{
	struct fake_conn_opts o = FAKE_CONN_OPTS_DEFAULT;
	struct ph_conn *c;
	const char *out;

	o.allow_plaintext = 0;
	o.tls_mode = PH_TLS_STARTTLS;
	c = open_conn(&o);
	out = cmd(c, "CAPA");
	CU_ASSERT_PTR_NULL(strstr(out, "\r\nUSER\r\n"));
	CU_ASSERT_PTR_NULL(strstr(out, "SASL"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "STLS"));
	CU_ASSERT_STRING_EQUAL(cmd(c, "USER alice"),
			       "-ERR [AUTH] Plaintext authentication "
			       "disallowed on non-secure (SSL/TLS) "
			       "connections\r\n");
	CU_ASSERT(strncmp(cmd(c, "AUTH PLAIN AGFsaWNlAHNlY3JldA=="),
			  "-ERR [AUTH] Plaintext", 21) == 0);
	/* STLS, with a command smuggled behind it */
	fake_conn_sendz(c, "STLS\r\nUSER evil\r\n");
	CU_ASSERT_STRING_EQUAL(fake_conn_take(c),
			       "+OK Begin TLS negotiation now\r\n");
	CU_ASSERT(c->starttls_called);
	/* after the handshake */
	fake_conn_sendz(c, "CAPA\r\n");
	out = fake_conn_take(c);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nUSER\r\n"));
	CU_ASSERT_PTR_NULL(strstr(out, "STLS"));
	CU_ASSERT_STRING_EQUAL(cmd(c, "STLS"),
			       "-ERR TLS is already active\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "PASS secret"),
			       "-ERR No user name given: send USER first\r\n");
	fake_conn_free(c);

	c = conn_default();
	CU_ASSERT_STRING_EQUAL(cmd(c, "STLS"),
			       "-ERR STLS is not available here\r\n");
	fake_conn_free(c);
}

static void test_sasl(void)
{
	struct ph_conn *c;

	fill();
	c = conn_default();
	CU_ASSERT_STRING_EQUAL(cmd(c, "AUTH"),
			       "+OK List of SASL mechanisms follows\r\n"
			       "PLAIN\r\n.\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "AUTH CRAM-MD5"),
			       "-ERR Unsupported authentication mechanism\r\n");
	/* wrong password, initial response */
	CU_ASSERT_STRING_EQUAL(cmd(c, "AUTH PLAIN AGFsaWNlAHdyb25n"),
			       "-ERR [AUTH] Authentication failed\r\n");
	/* no initial response: a "+ " continuation, then the response */
	CU_ASSERT_STRING_EQUAL(cmd(c, "AUTH PLAIN"), "+ \r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "*"), "-ERR Aborted\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "AUTH PLAIN"), "+ \r\n");
	CU_ASSERT(
	    strncmp(cmd(c, "AGFsaWNlAHNlY3JldA=="), "+OK Logged in", 13) == 0);
	CU_ASSERT_STRING_EQUAL(cmd(c, "STAT"), "+OK 3 144\r\n");
	fake_conn_free(c);
}

static void test_goodbye(void)
{
	const struct ph_protocol_ops *ops = posthorn_plugin.ops;
	struct ph_conn *c;

	fill();
	c = login();
	cmd(c, "DELE 1");
	ops->conn_goodbye(c->state, PH_GOODBYE_TIMEOUT);
	CU_ASSERT_STRING_EQUAL(
	    fake_conn_take(c),
	    "-ERR Autologout: idle for too long, closing\r\n");
	fake_conn_free(c);
	CU_ASSERT_EQUAL(fake_storage_count(), 3);
}

/* ---- per-user session processes (ABI 1.1) ---- */

/* The core moves the session: the plugin answers nothing more and reads
 * nothing more (the pipelined STAT travels with the connection). */
static void test_handoff_moves(void)
{
	struct ph_conn *c = conn_default();

	fill();
	fake_set_handoff_result(1);
	CU_ASSERT_STRING_EQUAL(cmd(c, "USER alice"),
			       "+OK Send your password\r\n");
	fake_conn_sendz(c, "PASS secret\r\nSTAT\r\n");
	fake_run(c);
	CU_ASSERT_STRING_EQUAL(fake_conn_take(c), "");
	CU_ASSERT_STRING_EQUAL(fake_handoff_state(), "pop3/1");
	CU_ASSERT_EQUAL(c->in_len - c->in_pos, 6);
	CU_ASSERT(memcmp(c->in + c->in_pos, "STAT\r\n", 6) == 0);
	CU_ASSERT_FALSE(c->close_requested);
	fake_conn_free(c);
	fake_set_handoff_result(0);
}

static void test_handoff_fails(void)
{
	struct ph_conn *c = conn_default();

	fill();
	fake_set_handoff_result(PH_ETEMP);
	cmd(c, "USER alice");
	CU_ASSERT_STRING_EQUAL(
	    cmd(c, "PASS secret"),
	    "-ERR [SYS/TEMP] Temporary failure, try again later\r\n");
	CU_ASSERT_TRUE(c->close_requested);
	fake_conn_free(c);
	fake_set_handoff_result(0);
}

/* The session process never took over (ABI 1.2): the core asks the
 * plugin, whose state for the connection is gone, to answer the login
 * from the blob it handed over; pipelined input gets nothing. */
static void test_handoff_failed_answer(void)
{
	const struct ph_protocol_ops *ops = posthorn_plugin.ops;
	struct ph_conn *c = conn_default();

	fill();
	fake_set_handoff_result(1);
	cmd(c, "USER alice");
	fake_conn_sendz(c, "PASS secret\r\nSTAT\r\n");
	fake_run(c);
	CU_ASSERT_STRING_EQUAL(fake_conn_take(c), "");
	CU_ASSERT_FATAL(PH_HAS_FIELD(ops, conn_handoff_failed) &&
			ops->conn_handoff_failed != NULL);
	ops->conn_handoff_failed(pstate, c, "pop3/1", 6);
	CU_ASSERT_STRING_EQUAL(
	    fake_conn_take(c),
	    "-ERR [SYS/TEMP] Temporary failure, try again later\r\n");
	fake_conn_free(c);
	fake_set_handoff_result(0);
}

/* In the session process: the login is answered there, then the
 * pipelined input. */
static void test_resume(void)
{
	struct ph_conn *c;

	fill();
	c = fake_conn_resume(&posthorn_plugin, pstate, "alice", "pop3/1", 6);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(fake_conn_take(c),
			       "+OK Logged in, 3 messages (144 octets)\r\n");
	CU_ASSERT_STRING_EQUAL(cmd(c, "STAT"), "+OK 3 144\r\n");
	fake_conn_free(c);
}

static void test_resume_bad_state(void)
{
	CU_ASSERT_PTR_NULL(
	    fake_conn_resume(&posthorn_plugin, pstate, "alice", "imap4/1", 7));
	CU_ASSERT_PTR_NULL(
	    fake_conn_resume(&posthorn_plugin, pstate, "alice", "", 0));
}

static CU_TestInfo tests[] = {
    {"session handoff moves", test_handoff_moves},
    {"session handoff fails", test_handoff_fails},
    {"session did not start: answered", test_handoff_failed_answer},
    {"session resume", test_resume},
    {"session resume: foreign state", test_resume_bad_state},
    {"greeting and idle timeout", test_greeting_idle_timeout},
    {"capa", test_capa},
    {"capa from settings", test_capa_settings},
    {"capa EXPIRE in days", test_capa_expire_days},
    {"login failures", test_login_failures},
    {"commands before auth", test_commands_before_auth},
    {"transaction", test_transaction},
    {"bad message numbers", test_bad_message_numbers},
    {"NUL and long lines", test_nul_and_long_lines},
    {"huge line closes", test_huge_line_closes},
    {"in use", test_in_use},
    {"expunge failure", test_expunge_failure},
    {"expunged by another session", test_expunged_by_other_session},
    {"pipelining", test_pipelining},
    {"back-pressure", test_back_pressure},
    {"wire form as file", test_wire_form_file},
    {"mark_seen off", test_mark_seen_off},
    {"plaintext refused, STLS", test_plaintext_refused},
    {"sasl", test_sasl},
    {"goodbye", test_goodbye},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"pop3-session", setup, teardown, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
