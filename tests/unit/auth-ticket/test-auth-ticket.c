/* The session ticket table: issue, redeem once, reuse, expiry, binding
 * to service and address, the cap (oldest evicted), wrong tickets; and
 * the wire messages that carry tickets (the reply's ticket, ATTACH). */
#include <stdlib.h>
#include <string.h>

#include "core/auth-proto.h"
#include "core/auth-ticket.h"
#include "cunit-main.h"

#define REC "user=alice\tuid=1001\tgid=1001\thome=/home/alice"

static struct ph__auth_tickets *t;
static unsigned char k[PH__AUTH_TICKET_LEN];

static int redeem(double now, const unsigned char *ticket, char **rec_r,
		  const char **why_r)
{
	return ph__auth_tickets_redeem(t, now, ticket, PH__AUTH_TICKET_LEN,
				       "imap4", "192.0.2.7", rec_r, why_r);
}

static void setup(void)
{
	t = ph__auth_tickets_create(4, 60.);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
}

static void teardown(void)
{
	ph__auth_tickets_destroy(&t);
	CU_ASSERT_PTR_NULL(t);
}

static void test_issue_redeem_once(void)
{
	char *rec = NULL;
	const char *why = NULL;

	setup();
	CU_ASSERT_EQUAL_FATAL(
	    ph__auth_tickets_issue(t, 100., REC, "imap4", "192.0.2.7", k),
	    PH_OK);
	CU_ASSERT_EQUAL(ph__auth_tickets_count(t), 1);
	CU_ASSERT_EQUAL(redeem(101., k, &rec, &why), PH_OK);
	CU_ASSERT_PTR_NULL(why);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
	CU_ASSERT_STRING_EQUAL(rec, REC);
	free(rec);
	CU_ASSERT_EQUAL(ph__auth_tickets_count(t), 0);
	/* reuse: gone */
	CU_ASSERT_EQUAL(redeem(101., k, &rec, &why), PH_EAUTH);
	CU_ASSERT_PTR_NULL(rec);
	CU_ASSERT_STRING_EQUAL(why, "unknown ticket");
	teardown();
}

static void test_tickets_differ(void)
{
	unsigned char k2[PH__AUTH_TICKET_LEN];

	setup();
	CU_ASSERT_EQUAL(
	    ph__auth_tickets_issue(t, 1., REC, "imap4", "192.0.2.7", k), 0);
	CU_ASSERT_EQUAL(
	    ph__auth_tickets_issue(t, 1., REC, "imap4", "192.0.2.7", k2), 0);
	CU_ASSERT(memcmp(k, k2, sizeof(k)) != 0);
	teardown();
}

static void test_expiry(void)
{
	char *rec = NULL;
	const char *why = NULL;

	setup();
	ph__auth_tickets_issue(t, 100., REC, "imap4", "192.0.2.7", k);
	CU_ASSERT_EQUAL(redeem(160., k, &rec, &why), PH_EAUTH);
	CU_ASSERT_PTR_NULL(rec);
	CU_ASSERT_STRING_EQUAL(why, "expired ticket");
	/* an expired ticket is swept by the next issue too */
	ph__auth_tickets_issue(t, 100., REC, "imap4", "192.0.2.7", k);
	ph__auth_tickets_issue(t, 200., REC, "imap4", "192.0.2.7", k);
	CU_ASSERT_EQUAL(ph__auth_tickets_count(t), 1);
	teardown();
}

static void test_just_before_expiry(void)
{
	char *rec = NULL;
	const char *why = NULL;

	setup();
	ph__auth_tickets_issue(t, 100., REC, "imap4", "192.0.2.7", k);
	CU_ASSERT_EQUAL(redeem(159.9, k, &rec, &why), PH_OK);
	free(rec);
	teardown();
}

static void test_cap_evicts_oldest(void)
{
	unsigned char keys[5][PH__AUTH_TICKET_LEN];
	char *rec = NULL;
	const char *why = NULL;

	setup();
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(ph__auth_tickets_issue(t, 10. + i, REC, "imap4",
						       "192.0.2.7", keys[i]),
				PH_OK);
	CU_ASSERT_EQUAL(ph__auth_tickets_count(t), 4);
	CU_ASSERT_EQUAL(redeem(20., keys[0], &rec, &why), PH_EAUTH);
	CU_ASSERT_STRING_EQUAL(why, "unknown ticket");
	for (int i = 1; i < 5; i++) {
		CU_ASSERT_EQUAL(redeem(20., keys[i], &rec, &why), PH_OK);
		free(rec);
		rec = NULL;
	}
	CU_ASSERT_EQUAL(ph__auth_tickets_count(t), 0);
	teardown();
}

static void test_wrong_ticket(void)
{
	unsigned char other[PH__AUTH_TICKET_LEN];
	char *rec = NULL;
	const char *why = NULL;

	setup();
	ph__auth_tickets_issue(t, 1., REC, "imap4", "192.0.2.7", k);
	memcpy(other, k, sizeof(other));
	other[PH__AUTH_TICKET_LEN - 1] ^= 1; /* same bucket, last byte */
	CU_ASSERT_EQUAL(redeem(2., other, &rec, &why), PH_EAUTH);
	CU_ASSERT_STRING_EQUAL(why, "unknown ticket");
	/* a short one never matches, even as a prefix */
	CU_ASSERT_EQUAL(ph__auth_tickets_redeem(t, 2., k, 16, "imap4",
						"192.0.2.7", &rec, &why),
			PH_EAUTH);
	/* the right one still works: failures above did not consume it */
	CU_ASSERT_EQUAL(redeem(2., k, &rec, &why), PH_OK);
	free(rec);
	teardown();
}

static void test_binding(void)
{
	char *rec = NULL;
	const char *why = NULL;

	setup();
	ph__auth_tickets_issue(t, 1., REC, "imap4", "192.0.2.7", k);
	CU_ASSERT_EQUAL(ph__auth_tickets_redeem(t, 2., k, sizeof(k), "pop3",
						"192.0.2.7", &rec, &why),
			PH_EAUTH);
	CU_ASSERT_PTR_NULL(rec);
	CU_ASSERT_STRING_EQUAL(why,
			       "ticket issued for another service or address");
	/* deleted at that first use */
	CU_ASSERT_EQUAL(redeem(2., k, &rec, &why), PH_EAUTH);
	ph__auth_tickets_issue(t, 1., REC, "imap4", "192.0.2.7", k);
	CU_ASSERT_EQUAL(ph__auth_tickets_redeem(t, 2., k, sizeof(k), "imap4",
						"192.0.2.8", &rec, &why),
			PH_EAUTH);
	teardown();
}

static CU_TestInfo tests[] = {
    {"issue, redeem once, reuse refused", test_issue_redeem_once},
    {"tickets are random", test_tickets_differ},
    {"expiry", test_expiry},
    {"just before expiry", test_just_before_expiry},
    {"cap evicts the oldest", test_cap_evicts_oldest},
    {"wrong ticket", test_wrong_ticket},
    {"bound to service and address", test_binding},
    CU_TEST_INFO_NULL,
};

/* ---- the wire ---- */

static unsigned char wbuf[PH__AUTH_MSG_MAX];

static struct ph__auth_reply_msg ok_reply(void)
{
	static const char tk[PH__AUTH_TICKET_LEN] =
	    "ticket\0with a NUL inside...,,,";
	struct ph__auth_reply_msg r = {
	    .request_id = 9,
	    .result = PH_OK,
	    .message = PH_STR_LIT("ok"),
	    .record = PH_STR_LIT("user=alice\tuid=1001"),
	    .ticket = {tk, PH__AUTH_TICKET_LEN},
	};
	return r;
}

static void test_reply_ticket_round_trip(void)
{
	struct ph__auth_reply_msg r = ok_reply(), d;
	int n = ph__auth_encode_reply(wbuf, &r);

	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL_FATAL(ph__auth_decode_reply(wbuf, (size_t)n, &d), 0);
	CU_ASSERT_EQUAL(d.ticket.len, PH__AUTH_TICKET_LEN);
	CU_ASSERT(memcmp(d.ticket.data, r.ticket.data, PH__AUTH_TICKET_LEN) ==
		  0);
	CU_ASSERT_STRING_EQUAL(d.record.data, "user=alice\tuid=1001");
	/* without: the old layout, ticket empty */
	r.ticket.len = 0;
	n = ph__auth_encode_reply(wbuf, &r);
	CU_ASSERT_EQUAL_FATAL(ph__auth_decode_reply(wbuf, (size_t)n, &d), 0);
	CU_ASSERT_EQUAL(d.ticket.len, 0);
}

static void test_reply_ticket_only_with_success(void)
{
	struct ph__auth_reply_msg r = ok_reply(), d;
	int n = ph__auth_encode_reply(wbuf, &r);
	int32_t fail = PH_EAUTH;

	r.result = PH_EAUTH;
	CU_ASSERT_EQUAL(ph__auth_encode_reply(wbuf, &r), PH_EINVAL);
	/* on the wire: the result flipped under a ticket */
	r = ok_reply();
	n = ph__auth_encode_reply(wbuf, &r);
	memcpy(wbuf + sizeof(struct ph__auth_msg_hdr), &fail, sizeof(fail));
	CU_ASSERT_EQUAL(ph__auth_decode_reply(wbuf, (size_t)n, &d), PH_EINVAL);
}

static void test_reply_ticket_length(void)
{
	struct ph__auth_reply_msg r = ok_reply(), d;
	struct ph__auth_msg_hdr hdr;
	int n;

	r.ticket.len = PH__AUTH_TICKET_LEN - 1;
	CU_ASSERT_EQUAL(ph__auth_encode_reply(wbuf, &r), PH_EINVAL);
	/* a 16-byte ticket written by hand after a valid reply */
	r.ticket.len = 0;
	n = ph__auth_encode_reply(wbuf, &r);
	{
		uint32_t len = 16;

		memcpy(wbuf + n, &len, 4);
		memset(wbuf + n + 4, 'k', 16);
		wbuf[n + 20] = '\0';
	}
	memcpy(&hdr, wbuf, sizeof(hdr));
	hdr.len += 21;
	memcpy(wbuf, &hdr, sizeof(hdr));
	CU_ASSERT_EQUAL(ph__auth_decode_reply(wbuf, (size_t)n + 21, &d),
			PH_EINVAL);
	/* every truncation of a reply with a ticket, the header's length
	 * adjusted: only the cut right before the ticket (a reply without
	 * one) decodes */
	r = ok_reply();
	n = ph__auth_encode_reply(wbuf, &r);
	for (int i = 0; i < n; i++) {
		struct ph__auth_msg_hdr h;
		int whole = i == n - (5 + PH__AUTH_TICKET_LEN);

		memcpy(&h, wbuf, sizeof(h));
		if (i >= (int)sizeof(h)) {
			h.len = (uint32_t)i - sizeof(h);
			memcpy(wbuf, &h, sizeof(h));
		}
		CU_ASSERT_EQUAL(ph__auth_decode_reply(wbuf, (size_t)i, &d),
				whole ? PH_OK : PH_EINVAL);
		n = ph__auth_encode_reply(wbuf, &r);
	}
}

static void test_attach(void)
{
	struct ph__auth_msg_hdr hdr;
	int n = ph__auth_encode_attach(wbuf);

	CU_ASSERT_EQUAL_FATAL(n, (int)sizeof(hdr));
	CU_ASSERT_EQUAL(ph__auth_msg_type(wbuf, (size_t)n),
			PH__AUTH_MSG_ATTACH);
	CU_ASSERT_EQUAL(ph__auth_decode_attach(wbuf, (size_t)n), PH_OK);
	/* a payload, a request id, another type: refused */
	memcpy(&hdr, wbuf, sizeof(hdr));
	hdr.len = 1;
	memcpy(wbuf, &hdr, sizeof(hdr));
	wbuf[n] = 'x';
	CU_ASSERT_EQUAL(ph__auth_decode_attach(wbuf, (size_t)n + 1), PH_EINVAL);
	hdr.len = 0;
	hdr.request_id = 3;
	memcpy(wbuf, &hdr, sizeof(hdr));
	CU_ASSERT_EQUAL(ph__auth_decode_attach(wbuf, (size_t)n), PH_EINVAL);
	hdr.request_id = 0;
	hdr.type = PH__AUTH_MSG_REDEEM;
	memcpy(wbuf, &hdr, sizeof(hdr));
	CU_ASSERT_EQUAL(ph__auth_decode_attach(wbuf, (size_t)n), PH_EINVAL);
	CU_ASSERT_EQUAL(ph__auth_decode_attach(wbuf, 5), PH_EINVAL);
}

/* REDEEM is an ordinary request: the ticket rides in `password`, which
 * may hold NULs. */
static void test_redeem_request(void)
{
	unsigned char tk[PH__AUTH_TICKET_LEN] = {0, 1, 2, 0, 4};
	struct ph__auth_request_msg m = {0}, d;
	int n;

	m.type = PH__AUTH_MSG_REDEEM;
	m.request_id = 1;
	m.service = PH_STR_LIT("imap4");
	m.user = m.scheme = m.local_ip = PH_STR_LIT("");
	m.remote_ip = PH_STR_LIT("192.0.2.7");
	m.password = (struct ph_str){(const char *)tk, sizeof(tk)};
	n = ph__auth_encode_request(wbuf, &m);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL_FATAL(ph__auth_decode_request(wbuf, (size_t)n, &d),
			      PH_OK);
	CU_ASSERT_EQUAL(d.type, PH__AUTH_MSG_REDEEM);
	CU_ASSERT_EQUAL(d.password.len, sizeof(tk));
	CU_ASSERT(memcmp(d.password.data, tk, sizeof(tk)) == 0);
}

static CU_TestInfo wire_tests[] = {
    {"reply with a ticket: round trip", test_reply_ticket_round_trip},
    {"a ticket only with success", test_reply_ticket_only_with_success},
    {"a ticket has one length", test_reply_ticket_length},
    {"ATTACH", test_attach},
    {"REDEEM request", test_redeem_request},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"tickets", NULL, NULL, NULL, NULL, tests},
    {"wire", NULL, NULL, NULL, NULL, wire_tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
