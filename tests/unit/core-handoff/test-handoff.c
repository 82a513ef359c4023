/* The session handoff: the policy that decides which users get a
 * process of their own, and the message a worker sends the master
 * (round trip, every limit, every malformed shape). */
#include <stdlib.h>
#include <string.h>

#include "core/auth-proto.h"
#include "core/handoff.h"
#include "cunit-main.h"

static unsigned char buf[PH__HANDOFF_MSG_MAX];
/* 32 bytes, a NUL among them: the ticket is binary */
static const char ticket[PH__AUTH_TICKET_LEN] =
    "0123456789\0bcdefghijklmnopqrstu";

#define S(lit) ((struct ph_str){(lit), sizeof(lit) - 1})

static struct ph__handoff_msg sample(void)
{
	struct ph__handoff_msg m = {
	    .flags = PH__HANDOFF_TLS,
	    .peer_port = 40000,
	    .local_port = 993,
	    .listener = S("imaps"),
	    .protocol = S("imap4"),
	    .session_id = S("Xk3f9a2Q"),
	    .peer_ip = S("2001:db8::1"),
	    .local_ip = S("127.0.0.1"),
	    .tls_version = S("TLSv1.3"),
	    .tls_cipher = S("TLS_AES_256_GCM_SHA384"),
	    .user = S("user=alice\tuid=1001\tgid=1001\thome=/home/alice"),
	    .ticket = {ticket, PH__AUTH_TICKET_LEN},
	    .state = S("imap4/1\na1"),
	    .input = S("b SELECT INBOX\r\n\0c"),
	};
	return m;
}

static int eq(struct ph_str a, struct ph_str b)
{
	return a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
}

static void test_round_trip(void)
{
	struct ph__handoff_msg m = sample(), d;
	int n = ph__handoff_encode(buf, &m);

	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL_FATAL(ph__handoff_decode(buf, (size_t)n, &d), PH_OK);
	CU_ASSERT_EQUAL(d.flags, PH__HANDOFF_TLS);
	CU_ASSERT_EQUAL(d.peer_port, 40000);
	CU_ASSERT_EQUAL(d.local_port, 993);
	CU_ASSERT(eq(d.listener, m.listener));
	CU_ASSERT(eq(d.protocol, m.protocol));
	CU_ASSERT(eq(d.session_id, m.session_id));
	CU_ASSERT(eq(d.peer_ip, m.peer_ip));
	CU_ASSERT(eq(d.local_ip, m.local_ip));
	CU_ASSERT(eq(d.tls_version, m.tls_version));
	CU_ASSERT(eq(d.tls_cipher, m.tls_cipher));
	CU_ASSERT(eq(d.user, m.user));
	CU_ASSERT(eq(d.ticket, m.ticket)); /* binary, NUL inside */
	CU_ASSERT(eq(d.state, m.state));
	CU_ASSERT(eq(d.input, m.input)); /* a NUL inside input survives */
	/* Text fields are C strings in place. */
	CU_ASSERT_STRING_EQUAL(d.listener.data, "imaps");
	CU_ASSERT_STRING_EQUAL(d.protocol.data, "imap4");
}

static void test_empty_optional_fields(void)
{
	struct ph__handoff_msg m = sample(), d;
	int n;

	m.flags = 0;
	m.tls_version = m.tls_cipher = m.state = m.input = m.ticket =
	    (struct ph_str){NULL, 0};
	n = ph__handoff_encode(buf, &m);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL_FATAL(ph__handoff_decode(buf, (size_t)n, &d), PH_OK);
	CU_ASSERT_EQUAL(d.input.len, 0);
	CU_ASSERT_EQUAL(d.state.len, 0);
	CU_ASSERT_EQUAL(d.ticket.len, 0); /* decodes; the master refuses */
	CU_ASSERT_EQUAL(d.flags, 0);
}

/* A ticket is absent or exactly PH__AUTH_TICKET_LEN bytes. */
static void test_ticket_length(void)
{
	struct ph__handoff_msg m = sample(), d;
	size_t at;
	uint32_t len;
	int n;

	m.ticket.len = PH__AUTH_TICKET_LEN - 1;
	CU_ASSERT_EQUAL(ph__handoff_encode(buf, &m), PH_ETOOBIG);
	m.ticket.len = PH__AUTH_TICKET_LEN + 1;
	CU_ASSERT_EQUAL(ph__handoff_encode(buf, &m), PH_ETOOBIG);
	/* a short ticket on the wire: the length says 31, one byte less
	 * follows (the message shrinks with it) */
	m = sample();
	n = ph__handoff_encode(buf, &m);
	CU_ASSERT_FATAL(n > 0);
	at = (size_t)((const unsigned char *)memmem(buf, (size_t)n, ticket,
						    PH__AUTH_TICKET_LEN) -
		      buf) -
	     4;
	len = PH__AUTH_TICKET_LEN - 1;
	memcpy(buf + at, &len, 4);
	memmove(buf + at + 4 + len, buf + at + 4 + len + 1,
		(size_t)n - (at + 4 + len + 1));
	{
		struct ph__auth_msg_hdr hdr;

		memcpy(&hdr, buf, sizeof(hdr));
		hdr.len--;
		memcpy(buf, &hdr, sizeof(hdr));
	}
	CU_ASSERT_EQUAL(ph__handoff_decode(buf, (size_t)n - 1, &d), PH_EINVAL);
}

static void test_encode_limits(void)
{
	struct ph__handoff_msg m = sample();
	char *big = calloc(1, PH__HANDOFF_MAX_INPUT + 1);

	CU_ASSERT_FATAL(big != NULL);
	m.input = (struct ph_str){big, PH__HANDOFF_MAX_INPUT};
	CU_ASSERT(ph__handoff_encode(buf, &m) > 0);
	m.input.len++;
	CU_ASSERT_EQUAL(ph__handoff_encode(buf, &m), PH_ETOOBIG);
	m = sample();
	m.state = (struct ph_str){big, PH__HANDOFF_MAX_STATE + 1};
	CU_ASSERT_EQUAL(ph__handoff_encode(buf, &m), PH_ETOOBIG);
	m = sample();
	m.user = (struct ph_str){big, PH__HANDOFF_MAX_RECORD + 1};
	CU_ASSERT_EQUAL(ph__handoff_encode(buf, &m), PH_ETOOBIG);
	m = sample();
	m.listener = (struct ph_str){big, PH__HANDOFF_MAX_NAME + 1};
	CU_ASSERT_EQUAL(ph__handoff_encode(buf, &m), PH_ETOOBIG);
	free(big);
}

/* Every prefix of a valid message is malformed. */
static void test_truncated(void)
{
	struct ph__handoff_msg m = sample(), d;
	int n = ph__handoff_encode(buf, &m);

	for (int i = 0; i < n; i++)
		CU_ASSERT_EQUAL(ph__handoff_decode(buf, (size_t)i, &d),
				PH_EINVAL);
}

static void test_trailing_garbage(void)
{
	struct ph__handoff_msg m = sample(), d;
	int n = ph__handoff_encode(buf, &m);
	struct ph__auth_msg_hdr hdr;

	buf[n] = 'x';
	memcpy(&hdr, buf, sizeof(hdr));
	hdr.len++;
	memcpy(buf, &hdr, sizeof(hdr));
	CU_ASSERT_EQUAL(ph__handoff_decode(buf, (size_t)n + 1, &d), PH_EINVAL);
}

static void test_bad_header(void)
{
	struct ph__handoff_msg m = sample(), d;
	int n = ph__handoff_encode(buf, &m);
	struct ph__auth_msg_hdr hdr;

	memcpy(&hdr, buf, sizeof(hdr));
	hdr.type = 1; /* the layout before tickets */
	memcpy(buf, &hdr, sizeof(hdr));
	CU_ASSERT_EQUAL(ph__handoff_decode(buf, (size_t)n, &d), PH_EINVAL);
	hdr.type = 3;
	memcpy(buf, &hdr, sizeof(hdr));
	CU_ASSERT_EQUAL(ph__handoff_decode(buf, (size_t)n, &d), PH_EINVAL);
	hdr.type = PH__HANDOFF_MSG_SESSION;
	hdr.request_id = 7;
	memcpy(buf, &hdr, sizeof(hdr));
	CU_ASSERT_EQUAL(ph__handoff_decode(buf, (size_t)n, &d), PH_EINVAL);
}

static void test_unknown_flag(void)
{
	struct ph__handoff_msg m = sample(), d;
	int n;

	m.flags = 0x2;
	n = ph__handoff_encode(buf, &m);
	CU_ASSERT_EQUAL(ph__handoff_decode(buf, (size_t)n, &d), PH_EINVAL);
}

static void test_nul_in_text_field(void)
{
	struct ph__handoff_msg m = sample(), d;
	int n;

	m.user = (struct ph_str){"user=a\0uid=0", 12};
	n = ph__handoff_encode(buf, &m);
	CU_ASSERT_EQUAL(ph__handoff_decode(buf, (size_t)n, &d), PH_EINVAL);
	m = sample();
	m.listener = (struct ph_str){"imap\0s", 6};
	n = ph__handoff_encode(buf, &m);
	CU_ASSERT_EQUAL(ph__handoff_decode(buf, (size_t)n, &d), PH_EINVAL);
}

static void test_missing_required(void)
{
	struct ph__handoff_msg m = sample(), d;
	int n;

	m.user = (struct ph_str){"", 0};
	n = ph__handoff_encode(buf, &m);
	CU_ASSERT_EQUAL(ph__handoff_decode(buf, (size_t)n, &d), PH_EINVAL);
	m = sample();
	m.protocol = (struct ph_str){"", 0};
	n = ph__handoff_encode(buf, &m);
	CU_ASSERT_EQUAL(ph__handoff_decode(buf, (size_t)n, &d), PH_EINVAL);
}

/* A length field pointing past the end, and one without its NUL. */
static void test_bad_lengths(void)
{
	struct ph__handoff_msg m = sample(), d;
	int n = ph__handoff_encode(buf, &m);
	size_t first = sizeof(struct ph__auth_msg_hdr) + 12;
	uint32_t len;

	len = 0xffffffffu;
	memcpy(buf + first, &len, 4);
	CU_ASSERT_EQUAL(ph__handoff_decode(buf, (size_t)n, &d), PH_EINVAL);
	n = ph__handoff_encode(buf, &m);
	buf[first + 4 + m.listener.len] = 'x'; /* the listener's NUL */
	CU_ASSERT_EQUAL(ph__handoff_decode(buf, (size_t)n, &d), PH_EINVAL);
}

static void test_port_range(void)
{
	struct ph__handoff_msg m = sample(), d;
	int n = ph__handoff_encode(buf, &m);
	uint32_t port = 65536;

	memcpy(buf + sizeof(struct ph__auth_msg_hdr) + 4, &port, 4);
	CU_ASSERT_EQUAL(ph__handoff_decode(buf, (size_t)n, &d), PH_EINVAL);
}

/* ---- policy ---- */

static const struct ph__session_policy root_master = {
    .euid = 65534,
    .first_valid_uid = 500,
    .master_root = 1,
    .have_channel = 1,
    .can_resume = 1,
};

static enum ph__session_decision decide(const struct ph__session_policy *p,
					const char *uid, const char *gid,
					const char **why)
{
	uid_t u = 0;
	gid_t g = 0;

	return ph__session_decide(p, uid, gid, &u, &g, why);
}

static void test_policy_virtual_stays(void)
{
	const char *why;

	CU_ASSERT_EQUAL(decide(&root_master, NULL, NULL, &why),
			PH__SESSION_STAY);
	CU_ASSERT_EQUAL(decide(&root_master, "", "", &why), PH__SESSION_STAY);
	CU_ASSERT_EQUAL(decide(&root_master, "65534", "65534", &why),
			PH__SESSION_STAY);
}

static void test_policy_system_user_moves(void)
{
	const char *why;
	uid_t u = 0;
	gid_t g = 0;

	CU_ASSERT_EQUAL(
	    ph__session_decide(&root_master, "1001", "1002", &u, &g, &why),
	    PH__SESSION_HANDOFF);
	CU_ASSERT_EQUAL(u, 1001);
	CU_ASSERT_EQUAL(g, 1002);
	CU_ASSERT_EQUAL(decide(&root_master, "500", "500", &why),
			PH__SESSION_HANDOFF);
}

static void test_policy_refusals(void)
{
	struct ph__session_policy p = root_master;
	const char *why;

	CU_ASSERT_EQUAL(decide(&p, "0", "0", &why), PH__SESSION_REFUSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "uid 0"));
	CU_ASSERT_EQUAL(decide(&p, "499", "499", &why), PH__SESSION_REFUSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "first_valid_uid"));
	CU_ASSERT_EQUAL(decide(&p, "1001", NULL, &why), PH__SESSION_REFUSE);
	CU_ASSERT_EQUAL(decide(&p, "1001", "0", &why), PH__SESSION_REFUSE);
	CU_ASSERT_EQUAL(decide(&p, "-1", "1", &why), PH__SESSION_REFUSE);
	CU_ASSERT_EQUAL(decide(&p, "1001x", "1", &why), PH__SESSION_REFUSE);
	CU_ASSERT_EQUAL(decide(&p, " 1001", "1", &why), PH__SESSION_REFUSE);
	CU_ASSERT_EQUAL(decide(&p, "4294967295", "1", &why),
			PH__SESSION_REFUSE);
	CU_ASSERT_EQUAL(decide(&p, "99999999999", "1", &why),
			PH__SESSION_REFUSE);
	p.master_root = 0;
	CU_ASSERT_EQUAL(decide(&p, "1001", "1001", &why), PH__SESSION_REFUSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "root"));
	p = root_master;
	p.have_channel = 0;
	CU_ASSERT_EQUAL(decide(&p, "1001", "1001", &why), PH__SESSION_REFUSE);
	p = root_master;
	p.can_resume = 0;
	CU_ASSERT_EQUAL(decide(&p, "1001", "1001", &why), PH__SESSION_REFUSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "ABI 1.0"));
}

/* A worker running as root (no [core] user): uid 0 records are its own
 * uid and stay; everyone else still moves. */
static void test_policy_root_worker(void)
{
	struct ph__session_policy p = root_master;
	const char *why;

	p.euid = 0;
	CU_ASSERT_EQUAL(decide(&p, "0", "0", &why), PH__SESSION_STAY);
	CU_ASSERT_EQUAL(decide(&p, "1001", "1001", &why), PH__SESSION_HANDOFF);
}

/* ---- the outcome of a handoff ---- */

static void test_result_round_trip(void)
{
	unsigned char r[PH__HANDOFF_RESULT_MAX];
	struct ph_str sid;
	int result = 1, n;

	n = ph__handoff_encode_result(r, sizeof(r), PH_ETEMP, S("Xk3f9a2Q"));
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(ph__handoff_decode_result(r, (size_t)n, &result, &sid),
			PH_OK);
	CU_ASSERT_EQUAL(result, PH_ETEMP);
	CU_ASSERT(eq(sid, S("Xk3f9a2Q")));
	n = ph__handoff_encode_result(r, sizeof(r), PH_OK, S("a"));
	CU_ASSERT_EQUAL(ph__handoff_decode_result(r, (size_t)n, &result, &sid),
			PH_OK);
	CU_ASSERT_EQUAL(result, PH_OK);
}

static void test_result_malformed(void)
{
	unsigned char r[PH__HANDOFF_RESULT_MAX], c[PH__HANDOFF_RESULT_MAX];
	char big[PH__HANDOFF_MAX_NAME + 2];
	struct ph__auth_msg_hdr hdr;
	struct ph_str sid;
	int result, n, v;

	n = ph__handoff_encode_result(r, sizeof(r), PH_ETEMP, S("Xk3f9a2Q"));
	CU_ASSERT_FATAL(n > 0);
	/* every truncation, and a byte too many */
	for (int len = 0; len < n; len++) {
		memcpy(c, r, (size_t)n);
		CU_ASSERT_EQUAL(
		    ph__handoff_decode_result(c, (size_t)len, &result, &sid),
		    PH_EINVAL);
	}
	/* a handoff's type, a request id */
	memcpy(&hdr, r, sizeof(hdr));
	hdr.type = PH__HANDOFF_MSG_SESSION;
	memcpy(c, r, (size_t)n);
	memcpy(c, &hdr, sizeof(hdr));
	CU_ASSERT_EQUAL(ph__handoff_decode_result(c, (size_t)n, &result, &sid),
			PH_EINVAL);
	memcpy(&hdr, r, sizeof(hdr));
	hdr.request_id = 7;
	memcpy(c, r, (size_t)n);
	memcpy(c, &hdr, sizeof(hdr));
	CU_ASSERT_EQUAL(ph__handoff_decode_result(c, (size_t)n, &result, &sid),
			PH_EINVAL);
	/* a positive result, or one below every PH_E code */
	for (int i = 0; i < 2; i++) {
		v = i == 0 ? 1 : PH_EINTERNAL - 1;
		memcpy(c, r, (size_t)n);
		memcpy(c + sizeof(hdr), &v, sizeof(v));
		CU_ASSERT_EQUAL(
		    ph__handoff_decode_result(c, (size_t)n, &result, &sid),
		    PH_EINVAL);
	}
	/* a NUL inside the session id, no NUL after it */
	memcpy(c, r, (size_t)n);
	c[sizeof(hdr) + 9] = '\0';
	CU_ASSERT_EQUAL(ph__handoff_decode_result(c, (size_t)n, &result, &sid),
			PH_EINVAL);
	memcpy(c, r, (size_t)n);
	c[n - 1] = 'x';
	CU_ASSERT_EQUAL(ph__handoff_decode_result(c, (size_t)n, &result, &sid),
			PH_EINVAL);
	/* limits when encoding */
	memset(big, 'a', sizeof(big));
	CU_ASSERT_EQUAL(ph__handoff_encode_result(
			    r, sizeof(r), PH_ETEMP,
			    (struct ph_str){big, PH__HANDOFF_MAX_NAME + 1}),
			PH_ETOOBIG);
	CU_ASSERT_EQUAL(
	    ph__handoff_encode_result(r, 16, PH_ETEMP, S("Xk3f9a2Q")),
	    PH_ETOOBIG);
}

static void test_status_reports(void)
{
	char b[PH__SESSION_STATUS_MAX], why[32], longwhy[1000];
	size_t n;

	n = ph__session_status_format(b, 1, NULL);
	CU_ASSERT_EQUAL(ph__session_status_parse(b, n, why, sizeof(why)), 1);
	n = ph__session_status_format(b, 0, "fork: no");
	CU_ASSERT_EQUAL(ph__session_status_parse(b, n, why, sizeof(why)), 0);
	CU_ASSERT_STRING_EQUAL(why, "fork: no");
	/* no reason given, a reason longer than a report */
	n = ph__session_status_format(b, 0, NULL);
	CU_ASSERT_EQUAL(ph__session_status_parse(b, n, why, sizeof(why)), 0);
	CU_ASSERT_STRING_EQUAL(why, "unknown");
	memset(longwhy, 'x', sizeof(longwhy) - 1);
	longwhy[sizeof(longwhy) - 1] = '\0';
	n = ph__session_status_format(b, 0, longwhy);
	CU_ASSERT(n <= PH__SESSION_STATUS_MAX);
	CU_ASSERT_EQUAL(ph__session_status_parse(b, n, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(strlen(why), sizeof(why) - 1);
	/* control characters from the child never reach the log */
	CU_ASSERT_EQUAL(ph__session_status_parse("fail: a\x1b[1m\0b\n", 14, why,
						 sizeof(why)),
			0);
	CU_ASSERT_STRING_EQUAL(why, "a?[1m?b");
	/* anything else is malformed */
	CU_ASSERT_EQUAL(ph__session_status_parse("ok", 2, why, sizeof(why)),
			PH_EINVAL);
	CU_ASSERT_EQUAL(
	    ph__session_status_parse("ok\nok\n", 6, why, sizeof(why)),
	    PH_EINVAL);
	CU_ASSERT_EQUAL(
	    ph__session_status_parse("fail: x", 7, why, sizeof(why)),
	    PH_EINVAL);
	CU_ASSERT_EQUAL(
	    ph__session_status_parse("failed\n", 7, why, sizeof(why)),
	    PH_EINVAL);
	CU_ASSERT_EQUAL(ph__session_status_parse("", 0, why, sizeof(why)),
			PH_EINVAL);
}

static CU_TestInfo tests[] = {
    {"round trip", test_round_trip},
    {"empty optional fields", test_empty_optional_fields},
    {"ticket length", test_ticket_length},
    {"encode limits", test_encode_limits},
    {"every truncation refused", test_truncated},
    {"trailing garbage refused", test_trailing_garbage},
    {"bad header refused", test_bad_header},
    {"unknown flag refused", test_unknown_flag},
    {"NUL in a text field refused", test_nul_in_text_field},
    {"missing user/protocol refused", test_missing_required},
    {"bad lengths refused", test_bad_lengths},
    {"port out of range refused", test_port_range},
    {"policy: virtual users stay", test_policy_virtual_stays},
    {"policy: system users move", test_policy_system_user_moves},
    {"policy: refusals", test_policy_refusals},
    {"policy: root worker", test_policy_root_worker},
    {"result: round trip", test_result_round_trip},
    {"result: malformed refused", test_result_malformed},
    {"status reports", test_status_reports},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"handoff", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

PH_CUNIT_MAIN(suites)
