/* Unit tests for core/sasl.c: base64 (RFC 4648 vectors, malformed input),
 * PLAIN (RFC 4616) and LOGIN. */
#include <stdlib.h>
#include <string.h>
#include "cunit-main.h"
#include "core/sasl-scram.h"

/* RFC 4648 section 10 */
static const char *const b64_vectors[][2] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_b64_encode_vectors(void)
{
	size_t i;

	for (i = 0; i < sizeof(b64_vectors) / sizeof(b64_vectors[0]); i++) {
		char *out;
		size_t len;

		CU_ASSERT_EQUAL_FATAL(
		    ph__base64_encode(b64_vectors[i][0],
				      strlen(b64_vectors[i][0]), &out, &len),
		    PH_OK);
		CU_ASSERT_EQUAL(len, strlen(b64_vectors[i][1]));
		CU_ASSERT_STRING_EQUAL(out, b64_vectors[i][1]);
		free(out);
	}
}

static void test_b64_decode_vectors(void)
{
	size_t i;

	for (i = 0; i < sizeof(b64_vectors) / sizeof(b64_vectors[0]); i++) {
		unsigned char *out;
		size_t len;

		CU_ASSERT_EQUAL_FATAL(
		    ph__base64_decode(b64_vectors[i][1],
				      strlen(b64_vectors[i][1]), &out, &len),
		    PH_OK);
		CU_ASSERT_EQUAL(len, strlen(b64_vectors[i][0]));
		CU_ASSERT(memcmp(out, b64_vectors[i][0], len) == 0);
		free(out);
	}
}

static void test_b64_binary(void)
{
	unsigned char in[256], *out;
	char *text;
	size_t i, tlen, olen;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)i;
	CU_ASSERT_EQUAL_FATAL(ph__base64_encode(in, sizeof(in), &text, &tlen),
			      PH_OK);
	CU_ASSERT_EQUAL_FATAL(ph__base64_decode(text, tlen, &out, &olen),
			      PH_OK);
	CU_ASSERT_EQUAL(olen, sizeof(in));
	CU_ASSERT(memcmp(in, out, sizeof(in)) == 0);
	free(text);
	free(out);
}

static int b64_bad(const char *text)
{
	unsigned char *out = NULL;
	size_t len;
	int ret = ph__base64_decode(text, strlen(text), &out, &len);

	free(out);
	return ret == PH_EINVAL;
}

static void test_b64_bad_length(void)
{
	CU_ASSERT(b64_bad("Zm9"));
	CU_ASSERT(b64_bad("Z"));
}

static void test_b64_bad_char(void)
{
	CU_ASSERT(b64_bad("Zm9!"));
	CU_ASSERT(b64_bad("Zm-v"));
}

static void test_b64_whitespace(void)
{
	CU_ASSERT(b64_bad("Zm9v Zm9v"));
	CU_ASSERT(b64_bad(" Zm9v   "));
	CU_ASSERT(b64_bad("Zm9v\r\n=="));
}

static void test_b64_padding_in_middle(void)
{
	CU_ASSERT(b64_bad("Zg==Zm9v"));
	CU_ASSERT(b64_bad("Z=9v"));
}

static void test_b64_too_much_padding(void)
{
	CU_ASSERT(b64_bad("Z==="));
	CU_ASSERT(b64_bad("===="));
}

static void test_b64_nul(void)
{
	unsigned char *out = NULL;
	size_t len;

	CU_ASSERT_EQUAL(ph__base64_decode("Zm\0v", 4, &out, &len), PH_EINVAL);
	free(out);
}

/* ---- PLAIN ---- */

static int plain(const char *resp, size_t len, struct ph__sasl **s_r,
		 struct ph_str *out)
{
	struct ph_str r = {resp, len};

	*s_r = ph__sasl_create("plain");
	CU_ASSERT_PTR_NOT_NULL_FATAL(*s_r);
	return ph__sasl_step(*s_r, &r, out);
}

static void test_plain_rfc4616(void)
{
	/* RFC 4616 section 4: "\0tim\0tanstaaftanstaaf" */
	static const char msg[] = "\0tim\0tanstaaftanstaaf";
	struct ph__sasl *s;
	struct ph_str out, pw;

	CU_ASSERT_EQUAL(plain(msg, sizeof(msg) - 1, &s, &out), PH__SASL_VERIFY);
	CU_ASSERT_STRING_EQUAL(ph__sasl_authcid(s), "tim");
	CU_ASSERT_STRING_EQUAL(ph__sasl_authzid(s), "");
	pw = ph__sasl_password(s);
	CU_ASSERT_EQUAL(pw.len, 16);
	CU_ASSERT(memcmp(pw.data, "tanstaaftanstaaf", 16) == 0);
	ph__sasl_destroy(&s);
	CU_ASSERT_PTR_NULL(s);
}

static void test_plain_authzid_same(void)
{
	static const char msg[] = "Ursel\0Ursel\0secret";
	struct ph__sasl *s;
	struct ph_str out;

	CU_ASSERT_EQUAL(plain(msg, sizeof(msg) - 1, &s, &out), PH__SASL_VERIFY);
	CU_ASSERT_STRING_EQUAL(ph__sasl_authzid(s), "Ursel");
	ph__sasl_destroy(&s);
}

static void test_plain_authzid_other(void)
{
	/* RFC 4616: "Ursel\0Kurt\0xipj3plmq" asks to act as Ursel. */
	static const char msg[] = "Ursel\0Kurt\0xipj3plmq";
	struct ph__sasl *s;
	struct ph_str out;

	CU_ASSERT_EQUAL(plain(msg, sizeof(msg) - 1, &s, &out), PH__SASL_FAIL);
	CU_ASSERT(out.len > 0);
	ph__sasl_destroy(&s);
}

static void test_plain_no_nul(void)
{
	struct ph__sasl *s;
	struct ph_str out;

	CU_ASSERT_EQUAL(plain("timpassword", 11, &s, &out), PH__SASL_FAIL);
	ph__sasl_destroy(&s);
}

static void test_plain_one_nul(void)
{
	struct ph__sasl *s;
	struct ph_str out;

	CU_ASSERT_EQUAL(plain("tim\0pw", 6, &s, &out), PH__SASL_FAIL);
	ph__sasl_destroy(&s);
}

static void test_plain_nul_in_password(void)
{
	/* a third NUL: user or password would contain one */
	struct ph__sasl *s;
	struct ph_str out;

	CU_ASSERT_EQUAL(plain("\0tim\0pw\0x", 9, &s, &out), PH__SASL_FAIL);
	ph__sasl_destroy(&s);
}

static void test_plain_empty_user(void)
{
	struct ph__sasl *s;
	struct ph_str out;

	CU_ASSERT_EQUAL(plain("\0\0pw", 4, &s, &out), PH__SASL_FAIL);
	ph__sasl_destroy(&s);
}

static void test_plain_empty_password(void)
{
	struct ph__sasl *s;
	struct ph_str out;

	CU_ASSERT_EQUAL(plain("\0tim\0", 5, &s, &out), PH__SASL_FAIL);
	ph__sasl_destroy(&s);
}

static void test_plain_oversized(void)
{
	size_t len = PH_SASL_MAX_RESPONSE + 1;
	char *big = malloc(len);
	struct ph__sasl *s;
	struct ph_str out;

	memset(big, 'a', len);
	big[0] = '\0';
	big[4] = '\0';
	CU_ASSERT_EQUAL(plain(big, len, &s, &out), PH__SASL_FAIL);
	ph__sasl_destroy(&s);
	/* exactly the limit is accepted */
	CU_ASSERT_EQUAL(plain(big, len - 1, &s, &out), PH__SASL_VERIFY);
	ph__sasl_destroy(&s);
	free(big);
}

static void test_plain_no_initial_response(void)
{
	static const char msg[] = "\0tim\0pw";
	struct ph_str r = {msg, sizeof(msg) - 1}, out;
	struct ph__sasl *s = ph__sasl_create("PLAIN");

	CU_ASSERT_EQUAL(ph__sasl_step(s, NULL, &out), PH__SASL_CHALLENGE);
	CU_ASSERT_EQUAL(out.len, 0);
	CU_ASSERT_EQUAL(ph__sasl_step(s, &r, &out), PH__SASL_VERIFY);
	/* nothing more after the verdict */
	CU_ASSERT_EQUAL(ph__sasl_step(s, &r, &out), PH__SASL_FAIL);
	ph__sasl_destroy(&s);
}

static void test_no_credentials_scheme(void)
{
	struct ph__sasl *s = ph__sasl_create("PLAIN");

	CU_ASSERT_PTR_NULL(ph__sasl_credentials_scheme(s));
	ph__sasl_destroy(&s);
}

static void test_unknown_mech(void)
{
	CU_ASSERT_PTR_NULL(ph__sasl_create("DIGEST-MD5"));
	CU_ASSERT_PTR_NULL(ph__sasl_create(""));
	CU_ASSERT_PTR_NULL(ph__sasl_create(NULL));
}

/* ---- LOGIN ---- */

static void test_login(void)
{
	struct ph__sasl *s = ph__sasl_create("LOGIN");
	struct ph_str out, user = PH_STR_LIT("alice"),
			   pw = PH_STR_LIT("pass word");

	CU_ASSERT_EQUAL(ph__sasl_step(s, NULL, &out), PH__SASL_CHALLENGE);
	CU_ASSERT(out.len == 9 && memcmp(out.data, "Username:", 9) == 0);
	CU_ASSERT_EQUAL(ph__sasl_step(s, &user, &out), PH__SASL_CHALLENGE);
	CU_ASSERT(out.len == 9 && memcmp(out.data, "Password:", 9) == 0);
	CU_ASSERT_EQUAL(ph__sasl_step(s, &pw, &out), PH__SASL_VERIFY);
	CU_ASSERT_STRING_EQUAL(ph__sasl_authcid(s), "alice");
	CU_ASSERT_EQUAL(ph__sasl_password(s).len, 9);
	ph__sasl_destroy(&s);
}

static void test_login_initial_response(void)
{
	struct ph__sasl *s = ph__sasl_create("login");
	struct ph_str out, user = PH_STR_LIT("bob"), pw = PH_STR_LIT("x");

	CU_ASSERT_EQUAL(ph__sasl_step(s, &user, &out), PH__SASL_CHALLENGE);
	CU_ASSERT(out.len == 9 && memcmp(out.data, "Password:", 9) == 0);
	CU_ASSERT_EQUAL(ph__sasl_step(s, &pw, &out), PH__SASL_VERIFY);
	CU_ASSERT_STRING_EQUAL(ph__sasl_authcid(s), "bob");
	ph__sasl_destroy(&s);
}

static void test_login_nul_user(void)
{
	struct ph__sasl *s = ph__sasl_create("LOGIN");
	struct ph_str out, user = {"al\0ice", 6};

	ph__sasl_step(s, NULL, &out);
	CU_ASSERT_EQUAL(ph__sasl_step(s, &user, &out), PH__SASL_FAIL);
	ph__sasl_destroy(&s);
}

static void test_login_empty_user(void)
{
	struct ph__sasl *s = ph__sasl_create("LOGIN");
	struct ph_str out, user = {"", 0};

	ph__sasl_step(s, NULL, &out);
	CU_ASSERT_EQUAL(ph__sasl_step(s, &user, &out), PH__SASL_FAIL);
	ph__sasl_destroy(&s);
}

static void test_login_missing_response(void)
{
	struct ph__sasl *s = ph__sasl_create("LOGIN");
	struct ph_str out;

	ph__sasl_step(s, NULL, &out);
	CU_ASSERT_EQUAL(ph__sasl_step(s, NULL, &out), PH__SASL_FAIL);
	ph__sasl_destroy(&s);
}

/* ---- SCRAM-SHA-256 (RFC 7677 section 3) ---- */

#define RFC7677_SECRET                                                         \
	"4096,W22ZaJ0SNY7soEsUEjb6gQ==,"                                       \
	"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"                        \
	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
#define RFC7677_SNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC7677_FINAL                                                          \
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"         \
	"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="

static int str_is(struct ph_str s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.data, want, s.len) == 0;
}

/* Runs client-first, hands `secret`, returns the server-first step. */
static struct ph__sasl *scram_begin(const char *first, const char *secret,
				    struct ph_str *out, int *ret_r)
{
	struct ph__sasl *s = ph__sasl_create("scram-sha-256");
	struct ph_str r = {first, strlen(first)};

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	ph__sasl_scram_set_nonce(s, RFC7677_SNONCE);
	*ret_r = ph__sasl_step(s, &r, out);
	if (*ret_r != PH__SASL_VERIFY)
		return s;
	CU_ASSERT_STRING_EQUAL(ph__sasl_credentials_scheme(s), "SCRAM-SHA-256");
	*ret_r = ph__sasl_set_credentials(s, secret, out);
	return s;
}

static int scram_final(struct ph__sasl *s, const char *final,
		       struct ph_str *out)
{
	struct ph_str r = {final, strlen(final)};

	return ph__sasl_step(s, &r, out);
}

static void test_scram_rfc7677(void)
{
	struct ph_str out;
	int ret;
	struct ph__sasl *s = scram_begin("n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
					 RFC7677_SECRET, &out, &ret);

	CU_ASSERT_EQUAL_FATAL(ret, PH__SASL_CHALLENGE);
	CU_ASSERT_STRING_EQUAL(ph__sasl_authcid(s), "user");
	CU_ASSERT(str_is(out, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)"
			      "hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"));
	CU_ASSERT_EQUAL(scram_final(s, RFC7677_FINAL, &out), PH__SASL_SUCCESS);
	CU_ASSERT(
	    str_is(out, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
	ph__sasl_destroy(&s);
}

static void test_scram_no_initial_response(void)
{
	struct ph__sasl *s = ph__sasl_create("SCRAM-SHA-256");
	struct ph_str out;

	CU_ASSERT_EQUAL(ph__sasl_step(s, NULL, &out), PH__SASL_CHALLENGE);
	CU_ASSERT_EQUAL(out.len, 0);
	ph__sasl_destroy(&s);
}

static void test_scram_wrong_proof(void)
{
	struct ph_str out;
	int ret;
	struct ph__sasl *s = scram_begin("n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
					 RFC7677_SECRET, &out, &ret);
	char final[] = RFC7677_FINAL;

	final[strlen(final) - 3] ^= 1; /* one bit of the proof */
	CU_ASSERT_EQUAL(scram_final(s, final, &out), PH__SASL_FAIL);
	ph__sasl_destroy(&s);
}

static void test_scram_unknown_user(void)
{
	struct ph_str out, out2;
	int ret;
	struct ph__sasl *s = scram_begin("n,,n=ghost,r=abc", NULL, &out, &ret);
	struct ph__sasl *s2;
	char first[128];

	/* the exchange goes on as for a real user... */
	CU_ASSERT_EQUAL_FATAL(ret, PH__SASL_CHALLENGE);
	snprintf(first, sizeof(first), "%.*s", (int)out.len, out.data);
	CU_ASSERT(strstr(first, ",i=4096") != NULL);
	/* ...with the same salt every time, and fails at the proof */
	s2 = scram_begin("n,,n=ghost,r=abc", NULL, &out2, &ret);
	CU_ASSERT(str_is(out2, first));
	CU_ASSERT_EQUAL(scram_final(s,
				    "c=biws,r=abc" RFC7677_SNONCE
				    ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsq"
				    "mmiz7AndVQ=",
				    &out),
			PH__SASL_FAIL);
	ph__sasl_destroy(&s);
	ph__sasl_destroy(&s2);
}

static int scram_first_fails(const char *first)
{
	struct ph_str out;
	int ret;
	struct ph__sasl *s = scram_begin(first, RFC7677_SECRET, &out, &ret);

	ph__sasl_destroy(&s);
	return ret == PH__SASL_FAIL;
}

static void test_scram_bad_first(void)
{
	CU_ASSERT(scram_first_fails("p=tls-unique,,n=user,r=x"));
	CU_ASSERT(scram_first_fails("x,,n=user,r=x"));
	CU_ASSERT(scram_first_fails("n,,m=ext,n=user,r=x"));
	CU_ASSERT(scram_first_fails("n,,n=,r=x"));
	CU_ASSERT(scram_first_fails("n,,n=us=er,r=x"));
	CU_ASSERT(scram_first_fails("n,,n=user"));
	CU_ASSERT(scram_first_fails("n,,n=user,r="));
	CU_ASSERT(scram_first_fails("n,"));
	CU_ASSERT(scram_first_fails("n,a=bob,n=user,r=x"));
}

static void test_scram_saslname(void)
{
	struct ph_str out;
	int ret;
	struct ph__sasl *s =
	    scram_begin("y,a=a=2Cb=3D,n=a=2Cb=3D,r=x", NULL, &out, &ret);

	CU_ASSERT_EQUAL(ret, PH__SASL_CHALLENGE);
	CU_ASSERT_STRING_EQUAL(ph__sasl_authcid(s), "a,b=");
	ph__sasl_destroy(&s);
}

static void test_scram_nul(void)
{
	struct ph__sasl *s = ph__sasl_create("SCRAM-SHA-256");
	struct ph_str out, r = {"n,,n=us\0er,r=x", 14};

	CU_ASSERT_EQUAL(ph__sasl_step(s, &r, &out), PH__SASL_FAIL);
	ph__sasl_destroy(&s);
}

static int scram_final_fails(const char *final)
{
	struct ph_str out;
	int ret;
	struct ph__sasl *s = scram_begin("n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
					 RFC7677_SECRET, &out, &ret);

	ret = scram_final(s, final, &out);
	ph__sasl_destroy(&s);
	return ret == PH__SASL_FAIL;
}

static void test_scram_bad_final(void)
{
	/* channel binding data must be base64("n,,") */
	CU_ASSERT(scram_final_fails(
	    "c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
	/* a nonce other than the one combined */
	CU_ASSERT(scram_final_fails(
	    "c=biws,r=rOprNGfwEbeRWgbNEkqO,"
	    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
	/* no proof, short proof, bad base64 */
	CU_ASSERT(scram_final_fails(
	    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"));
	CU_ASSERT(scram_final_fails(
	    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	    "p=dHzbZapW"));
	CU_ASSERT(scram_final_fails(
	    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	    "p=!!!!"));
}

static void test_scram_bad_secret(void)
{
	struct ph_str out;
	int ret;
	/* a malformed stored secret behaves like no secret: it fails */
	struct ph__sasl *s =
	    scram_begin("n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
			"4096,W22ZaJ0SNY7soEsUEjb6gQ==,x,y", &out, &ret);

	CU_ASSERT_EQUAL(ret, PH__SASL_CHALLENGE);
	CU_ASSERT_EQUAL(scram_final(s, RFC7677_FINAL, &out), PH__SASL_FAIL);
	ph__sasl_destroy(&s);
}

static void test_scram_steps_out_of_order(void)
{
	struct ph__sasl *s = ph__sasl_create("SCRAM-SHA-256");
	struct ph_str out, r = PH_STR_LIT("n,,n=user,r=x");

	CU_ASSERT_EQUAL(ph__sasl_set_credentials(s, RFC7677_SECRET, &out),
			PH__SASL_FAIL);
	ph__sasl_destroy(&s);
	s = ph__sasl_create("SCRAM-SHA-256");
	CU_ASSERT_EQUAL(ph__sasl_step(s, &r, &out), PH__SASL_VERIFY);
	/* a client message while the server waits for the secret */
	CU_ASSERT_EQUAL(ph__sasl_step(s, &r, &out), PH__SASL_FAIL);
	ph__sasl_destroy(&s);
}

static CU_TestInfo b64_tests[] = {
    {"encode RFC 4648 vectors", test_b64_encode_vectors},
    {"decode RFC 4648 vectors", test_b64_decode_vectors},
    {"binary round trip", test_b64_binary},
    {"bad length", test_b64_bad_length},
    {"bad character", test_b64_bad_char},
    {"whitespace refused", test_b64_whitespace},
    {"padding in the middle", test_b64_padding_in_middle},
    {"too much padding", test_b64_too_much_padding},
    {"NUL byte", test_b64_nul},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo plain_tests[] = {
    {"RFC 4616 example", test_plain_rfc4616},
    {"authzid equal to authcid", test_plain_authzid_same},
    {"authzid other than authcid refused", test_plain_authzid_other},
    {"no NUL", test_plain_no_nul},
    {"one NUL", test_plain_one_nul},
    {"NUL in password refused", test_plain_nul_in_password},
    {"empty user", test_plain_empty_user},
    {"empty password", test_plain_empty_password},
    {"response over 64 KiB refused", test_plain_oversized},
    {"without initial response", test_plain_no_initial_response},
    {"unknown mechanism", test_unknown_mech},
    {"no stored secret needed", test_no_credentials_scheme},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo login_tests[] = {
    {"two challenges", test_login},
    {"initial response is the user", test_login_initial_response},
    {"NUL in user refused", test_login_nul_user},
    {"empty user refused", test_login_empty_user},
    {"missing response", test_login_missing_response},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo scram_tests[] = {
    {"RFC 7677 example", test_scram_rfc7677},
    {"without initial response", test_scram_no_initial_response},
    {"wrong proof", test_scram_wrong_proof},
    {"unknown user: stable fake salt", test_scram_unknown_user},
    {"malformed client-first", test_scram_bad_first},
    {"saslname escapes and authzid", test_scram_saslname},
    {"NUL refused", test_scram_nul},
    {"malformed client-final", test_scram_bad_final},
    {"malformed stored secret", test_scram_bad_secret},
    {"steps out of order", test_scram_steps_out_of_order},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"base64", NULL, NULL, NULL, NULL, b64_tests},
    {"PLAIN", NULL, NULL, NULL, NULL, plain_tests},
    {"LOGIN", NULL, NULL, NULL, NULL, login_tests},
    {"SCRAM-SHA-256", NULL, NULL, NULL, NULL, scram_tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
