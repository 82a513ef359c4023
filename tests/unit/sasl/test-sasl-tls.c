/* Unit tests for the SASL mechanisms tied to TLS: SCRAM-SHA-256-PLUS
 * channel binding (RFC 5802 sections 6 and 7: the gs2 flag rules, each
 * server-error) and EXTERNAL (RFC 4422 appendix A: authzid rules). The
 * client side is computed here with OpenSSL from the RFC 7677 password. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "cunit-main.h"
#include "core/sasl-scram.h"

/* RFC 7677 section 3: password "pencil", this salt and 4096 rounds */
#define SECRET                                                                 \
	"4096,W22ZaJ0SNY7soEsUEjb6gQ==,"                                       \
	"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"                        \
	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
#define SNONCE "srvnonce"
#define CNONCE "clinonce"

static const unsigned char exporter_data[32] = {
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
    0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
    0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20};
static const unsigned char end_point_data[32] = {
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
    0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5,
    0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf};

/* The bindings a TLS connection would hand the mechanism. */
static const struct ph__sasl_cbind tls_types[] = {
    {"tls-exporter", exporter_data, sizeof(exporter_data)},
    {"tls-server-end-point", end_point_data, sizeof(end_point_data)},
};

static char *b64(const void *data, size_t len)
{
	char *out;
	size_t out_len;

	CU_ASSERT_FATAL(ph__base64_encode(data, len, &out, &out_len) == PH_OK);
	return out;
}

/* Builds the client-final message for `gs2` + `cb_data` as a correct
 * client with password "pencil" would, given the server-first text. */
static char *client_final(const char *first_bare, struct ph_str server_first,
			  const char *gs2, const unsigned char *cb_data,
			  size_t cb_len)
{
	unsigned char salted[32], ckey[32], stored[32], sig[32], proof[32];
	unsigned char input[256], *salt;
	size_t glen = strlen(gs2), salt_len, i;
	unsigned len;
	char *c, *p, *nonce, *auth, *without_proof, *final, sfirst[256];
	const char *r, *s;

	snprintf(sfirst, sizeof(sfirst), "%.*s", (int)server_first.len,
		 server_first.data);
	r = strstr(sfirst, "r=");
	s = strstr(sfirst, ",s=");
	CU_ASSERT_FATAL(r != NULL && s != NULL);
	nonce = strndup(r + 2, (size_t)(s - r - 2));
	CU_ASSERT_FATAL(ph__base64_decode(s + 3, strcspn(s + 3, ","), &salt,
					  &salt_len) == PH_OK);
	PKCS5_PBKDF2_HMAC("pencil", 6, salt, (int)salt_len, 4096, EVP_sha256(),
			  32, salted);
	free(salt);
	HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10,
	     ckey, &len);
	EVP_Digest(ckey, 32, stored, NULL, EVP_sha256(), NULL);
	memcpy(input, gs2, glen);
	if (cb_len > 0)
		memcpy(input + glen, cb_data, cb_len);
	c = b64(input, glen + cb_len);
	CU_ASSERT_FATAL(asprintf(&without_proof, "c=%s,r=%s", c, nonce) > 0);
	CU_ASSERT_FATAL(
	    asprintf(&auth, "%s,%s,%s", first_bare, sfirst, without_proof) > 0);
	HMAC(EVP_sha256(), stored, 32, (unsigned char *)auth, strlen(auth), sig,
	     &len);
	for (i = 0; i < 32; i++)
		proof[i] = ckey[i] ^ sig[i];
	p = b64(proof, 32);
	CU_ASSERT_FATAL(asprintf(&final, "%s,p=%s", without_proof, p) > 0);
	free(c);
	free(p);
	free(nonce);
	free(auth);
	free(without_proof);
	return final;
}

/* One SCRAM exchange: `mech`, the connection's binding state, the
 * client's gs2 header and the binding data it puts into c=. Returns the
 * last step; *msg_r gets its output text (static buffer). */
static int scram_run(const char *mech, int advertised,
		     const struct ph__sasl_cbind *types, size_t count,
		     const char *gs2, const unsigned char *cb_data,
		     size_t cb_len, const char **msg_r)
{
	static char msg[256];
	const char *bare = "n=user,r=" CNONCE;
	struct ph__sasl *s = ph__sasl_create(mech);
	struct ph_str out, r;
	char first[128], *final;
	int ret;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	ph__sasl_scram_set_nonce(s, SNONCE);
	CU_ASSERT_EQUAL(ph__sasl_set_cbind(s, advertised, types, count), PH_OK);
	snprintf(first, sizeof(first), "%s%s", gs2, bare);
	r.data = first;
	r.len = strlen(first);
	ret = ph__sasl_step(s, &r, &out);
	if (ret == PH__SASL_VERIFY)
		ret = ph__sasl_set_credentials(s, SECRET, &out);
	if (ret == PH__SASL_CHALLENGE) {
		final = client_final(bare, out, gs2, cb_data, cb_len);
		r.data = final;
		r.len = strlen(final);
		ret = ph__sasl_step(s, &r, &out);
		free(final);
	}
	snprintf(msg, sizeof(msg), "%.*s", (int)out.len, out.data);
	*msg_r = msg;
	ph__sasl_destroy(&s);
	return ret;
}

static void test_plus_exporter(void)
{
	const char *msg;

	CU_ASSERT_EQUAL(scram_run("SCRAM-SHA-256-PLUS", 1, tls_types, 2,
				  "p=tls-exporter,,", exporter_data,
				  sizeof(exporter_data), &msg),
			PH__SASL_SUCCESS);
	CU_ASSERT(strncmp(msg, "v=", 2) == 0);
}

static void test_plus_end_point(void)
{
	const char *msg;

	CU_ASSERT_EQUAL(scram_run("scram-sha-256-plus", 1, tls_types, 2,
				  "p=tls-server-end-point,,", end_point_data,
				  sizeof(end_point_data), &msg),
			PH__SASL_SUCCESS);
	/* with an authzid equal to the user */
	CU_ASSERT_EQUAL(scram_run("SCRAM-SHA-256-PLUS", 1, tls_types, 2,
				  "p=tls-server-end-point,a=user,",
				  end_point_data, sizeof(end_point_data), &msg),
			PH__SASL_SUCCESS);
}

static void test_plus_wrong_data(void)
{
	const char *msg;
	unsigned char bad[32];

	memcpy(bad, exporter_data, sizeof(bad));
	bad[31] ^= 1;
	CU_ASSERT_EQUAL(scram_run("SCRAM-SHA-256-PLUS", 1, tls_types, 2,
				  "p=tls-exporter,,", bad, sizeof(bad), &msg),
			PH__SASL_FAIL);
	CU_ASSERT_STRING_EQUAL(msg, "e=channel-bindings-dont-match");
}

static void test_plus_other_types_data(void)
{
	const char *msg;

	/* the end-point hash sent while naming tls-exporter */
	CU_ASSERT_EQUAL(scram_run("SCRAM-SHA-256-PLUS", 1, tls_types, 2,
				  "p=tls-exporter,,", end_point_data,
				  sizeof(end_point_data), &msg),
			PH__SASL_FAIL);
	CU_ASSERT_STRING_EQUAL(msg, "e=channel-bindings-dont-match");
}

static void test_plus_no_data(void)
{
	const char *msg;

	/* c= carries the gs2 header only: the data is missing */
	CU_ASSERT_EQUAL(scram_run("SCRAM-SHA-256-PLUS", 1, tls_types, 2,
				  "p=tls-exporter,,", NULL, 0, &msg),
			PH__SASL_FAIL);
	CU_ASSERT_STRING_EQUAL(msg, "e=channel-bindings-dont-match");
}

static void test_plus_unsupported_type(void)
{
	const char *msg;

	CU_ASSERT_EQUAL(scram_run("SCRAM-SHA-256-PLUS", 1, tls_types, 2,
				  "p=tls-unique,,", NULL, 0, &msg),
			PH__SASL_FAIL);
	CU_ASSERT_STRING_EQUAL(msg, "e=unsupported-channel-binding-type");
	/* a type the connection lacks (TLS 1.2: no exporter) */
	CU_ASSERT_EQUAL(scram_run("SCRAM-SHA-256-PLUS", 1, tls_types + 1, 1,
				  "p=tls-exporter,,", exporter_data,
				  sizeof(exporter_data), &msg),
			PH__SASL_FAIL);
	CU_ASSERT_STRING_EQUAL(msg, "e=unsupported-channel-binding-type");
}

static void test_plus_needs_p(void)
{
	const char *msg;

	CU_ASSERT_EQUAL(scram_run("SCRAM-SHA-256-PLUS", 1, tls_types, 2, "n,,",
				  NULL, 0, &msg),
			PH__SASL_FAIL);
	CU_ASSERT_EQUAL(scram_run("SCRAM-SHA-256-PLUS", 1, tls_types, 2, "y,,",
				  NULL, 0, &msg),
			PH__SASL_FAIL);
}

static void test_plus_without_tls(void)
{
	const char *msg;

	/* 'p' where the connection has no channel (not TLS) */
	CU_ASSERT_EQUAL(scram_run("SCRAM-SHA-256-PLUS", 0, NULL, 0,
				  "p=tls-exporter,,", exporter_data,
				  sizeof(exporter_data), &msg),
			PH__SASL_FAIL);
	CU_ASSERT_STRING_EQUAL(msg, "e=channel-binding-not-supported");
	CU_ASSERT_EQUAL(scram_run("SCRAM-SHA-256", 0, NULL, 0,
				  "p=tls-exporter,,", exporter_data,
				  sizeof(exporter_data), &msg),
			PH__SASL_FAIL);
	CU_ASSERT_STRING_EQUAL(msg, "e=channel-binding-not-supported");
}

static void test_p_with_plain_scram_on_tls(void)
{
	const char *msg;

	/* binding asked for through the mechanism that cannot carry it */
	CU_ASSERT_EQUAL(scram_run("SCRAM-SHA-256", 1, tls_types, 2,
				  "p=tls-exporter,,", exporter_data,
				  sizeof(exporter_data), &msg),
			PH__SASL_FAIL);
}

static void test_y_downgrade(void)
{
	const char *msg;

	/* the server offers -PLUS: 'y' means someone hid it */
	CU_ASSERT_EQUAL(
	    scram_run("SCRAM-SHA-256", 1, tls_types, 2, "y,,", NULL, 0, &msg),
	    PH__SASL_FAIL);
	CU_ASSERT_STRING_EQUAL(msg, "e=server-does-support-channel-binding");
	/* without -PLUS on offer 'y' is honest */
	CU_ASSERT_EQUAL(
	    scram_run("SCRAM-SHA-256", 0, NULL, 0, "y,,", NULL, 0, &msg),
	    PH__SASL_SUCCESS);
}

static void test_n_on_tls(void)
{
	const char *msg;

	/* a client without channel binding support may still log in */
	CU_ASSERT_EQUAL(
	    scram_run("SCRAM-SHA-256", 1, tls_types, 2, "n,,", NULL, 0, &msg),
	    PH__SASL_SUCCESS);
}

static void test_bad_cb_name(void)
{
	const char *msg;

	CU_ASSERT_EQUAL(scram_run("SCRAM-SHA-256-PLUS", 1, tls_types, 2, "p=,,",
				  NULL, 0, &msg),
			PH__SASL_FAIL);
	CU_ASSERT_EQUAL(scram_run("SCRAM-SHA-256-PLUS", 1, tls_types, 2,
				  "p=tls_exporter,,", NULL, 0, &msg),
			PH__SASL_FAIL);
	CU_ASSERT_EQUAL(scram_run("SCRAM-SHA-256-PLUS", 1, tls_types, 2, "p,,",
				  NULL, 0, &msg),
			PH__SASL_FAIL);
	CU_ASSERT_EQUAL(scram_run("SCRAM-SHA-256-PLUS", 1, tls_types, 2,
				  "q=tls-exporter,,", NULL, 0, &msg),
			PH__SASL_FAIL);
}

/* ---- EXTERNAL ---- */

static struct ph__sasl *external(const char *identity)
{
	struct ph__sasl *s = ph__sasl_create("external");

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT(ph__sasl_is_external(s));
	CU_ASSERT_EQUAL(ph__sasl_set_external(s, identity), PH_OK);
	return s;
}

static int external_step(const char *identity, const char *authzid, size_t len)
{
	struct ph__sasl *s = external(identity);
	struct ph_str out, r = {authzid, len};
	int ret = ph__sasl_step(s, &r, &out);

	if (ret == PH__SASL_VERIFY) {
		CU_ASSERT_STRING_EQUAL(ph__sasl_authcid(s), identity);
		CU_ASSERT_EQUAL(ph__sasl_password(s).len, 0);
	}
	ph__sasl_destroy(&s);
	return ret;
}

static void test_external_empty_authzid(void)
{
	CU_ASSERT_EQUAL(external_step("alice", "", 0), PH__SASL_VERIFY);
}

static void test_external_same_authzid(void)
{
	CU_ASSERT_EQUAL(external_step("alice", "alice", 5), PH__SASL_VERIFY);
}

static void test_external_other_authzid(void)
{
	CU_ASSERT_EQUAL(external_step("alice", "bob", 3), PH__SASL_FAIL);
	CU_ASSERT_EQUAL(external_step("alice", "alic", 4), PH__SASL_FAIL);
	CU_ASSERT_EQUAL(external_step("alice", "alicex", 6), PH__SASL_FAIL);
}

static void test_external_nul(void)
{
	CU_ASSERT_EQUAL(external_step("alice", "alice\0", 6), PH__SASL_FAIL);
}

static void test_external_no_certificate(void)
{
	struct ph__sasl *s = ph__sasl_create("EXTERNAL");
	struct ph_str out, r = {"", 0};

	CU_ASSERT_EQUAL(ph__sasl_step(s, &r, &out), PH__SASL_FAIL);
	ph__sasl_destroy(&s);
}

static void test_external_no_initial_response(void)
{
	struct ph__sasl *s = external("alice");
	struct ph_str out, r = {"", 0};

	CU_ASSERT_EQUAL(ph__sasl_step(s, NULL, &out), PH__SASL_CHALLENGE);
	CU_ASSERT_EQUAL(out.len, 0);
	CU_ASSERT_EQUAL(ph__sasl_step(s, &r, &out), PH__SASL_VERIFY);
	CU_ASSERT_STRING_EQUAL(ph__sasl_authcid(s), "alice");
	CU_ASSERT_PTR_NULL(ph__sasl_credentials_scheme(s));
	/* nothing after the outcome */
	CU_ASSERT_EQUAL(ph__sasl_step(s, &r, &out), PH__SASL_FAIL);
	ph__sasl_destroy(&s);
}

static void test_external_twice_null(void)
{
	struct ph__sasl *s = external("alice");
	struct ph_str out;

	CU_ASSERT_EQUAL(ph__sasl_step(s, NULL, &out), PH__SASL_CHALLENGE);
	CU_ASSERT_EQUAL(ph__sasl_step(s, NULL, &out), PH__SASL_FAIL);
	ph__sasl_destroy(&s);
}

static void test_other_mechs_not_external(void)
{
	struct ph__sasl *s = ph__sasl_create("PLAIN");

	CU_ASSERT_FALSE(ph__sasl_is_external(s));
	/* cbind is a no-op outside SCRAM */
	CU_ASSERT_EQUAL(ph__sasl_set_cbind(s, 1, tls_types, 2), PH_OK);
	ph__sasl_destroy(&s);
}

static CU_TestInfo plus_tests[] = {
    {"tls-exporter binding", test_plus_exporter},
    {"tls-server-end-point binding", test_plus_end_point},
    {"wrong binding data", test_plus_wrong_data},
    {"another type's data", test_plus_other_types_data},
    {"binding data missing from c=", test_plus_no_data},
    {"unsupported binding type", test_plus_unsupported_type},
    {"-PLUS needs the p flag", test_plus_needs_p},
    {"p without TLS", test_plus_without_tls},
    {"p through plain SCRAM on TLS", test_p_with_plain_scram_on_tls},
    {"y while -PLUS is offered", test_y_downgrade},
    {"n on TLS", test_n_on_tls},
    {"malformed cb-name", test_bad_cb_name},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo external_tests[] = {
    {"empty authzid", test_external_empty_authzid},
    {"authzid equal to the certificate user", test_external_same_authzid},
    {"other authzid refused", test_external_other_authzid},
    {"NUL refused", test_external_nul},
    {"no certificate identity", test_external_no_certificate},
    {"without initial response", test_external_no_initial_response},
    {"no response twice", test_external_twice_null},
    {"other mechanisms", test_other_mechs_not_external},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"SCRAM-SHA-256-PLUS", NULL, NULL, NULL, NULL, plus_tests},
    {"EXTERNAL", NULL, NULL, NULL, NULL, external_tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
