/* SASL EXTERNAL checked by the auth service: ph__auth_external_verify()
 * against listeners' CAs (a good chain, one through an intermediate,
 * another CA, expired, not yet valid, a server-only certificate, wrong
 * listener, malformed DER, the authzid rule, the user fields) and the
 * EXTERNAL_VERIFY wire encoding with every size limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "certgen.h"
#include "cunit-main.h"
#include "auth-external.h"
#include "auth-proto.h"

static char tmpdir[32], ca_path[64], ca2_path[64];
static struct certgen ca, ca2, mid, good, bob_email, other, expired, future,
    server_only, twocn, via_mid, nocn;
static struct ph__auth_external *ext;

/* DER of each certificate, filled by suite_init */
struct der {
	unsigned char buf[4096];
	size_t len;
};
static struct der d_good, d_email, d_other, d_expired, d_future, d_server,
    d_twocn, d_via_mid, d_mid, d_nocn;

static int der_of(const struct certgen *c, struct der *d)
{
	int n = certgen_der(c, d->buf, sizeof(d->buf));

	d->len = n > 0 ? (size_t)n : 0;
	return n > 0 ? 0 : -1;
}

static struct ph_str str_of(const struct der *d)
{
	struct ph_str s = {(const char *)d->buf, d->len};
	return s;
}

/* Verifies a chain on `listener`; the user named goes to user. */
static int verify(const char *listener, const struct der *const *certs,
		  size_t n, const char *authzid, char *user, const char **why)
{
	struct ph_str chain[PH__AUTH_MAX_CHAIN + 2];
	size_t i;

	for (i = 0; i < n; i++)
		chain[i] = str_of(certs[i]);
	*why = NULL;
	return ph__auth_external_verify(ext, listener, chain, n, authzid, user,
					PH__AUTH_MAX_USER + 1, why);
}

static int verify1(const char *listener, const struct der *d,
		   const char *authzid, char *user, const char **why)
{
	const struct der *certs[] = {d};

	return verify(listener, certs, 1, authzid, user, why);
}

static void test_good(void)
{
	char user[PH__AUTH_MAX_USER + 1];
	const char *why;

	CU_ASSERT_EQUAL(verify1("imaps", &d_good, "", user, &why), PH_OK);
	CU_ASSERT_STRING_EQUAL(user, "alice");
	CU_ASSERT_PTR_NULL(why);
	/* the same listener set names users by email elsewhere */
	CU_ASSERT_EQUAL(verify1("pop3s", &d_email, "", user, &why), PH_OK);
	CU_ASSERT_STRING_EQUAL(user, "bob@example.org");
}

static void test_intermediate(void)
{
	const struct der *chain[] = {&d_via_mid, &d_mid};
	char user[PH__AUTH_MAX_USER + 1];
	const char *why;

	CU_ASSERT_EQUAL(verify("imaps", chain, 2, "", user, &why), PH_OK);
	CU_ASSERT_STRING_EQUAL(user, "carol");
	/* without the intermediate the chain does not reach the CA */
	CU_ASSERT_EQUAL(verify("imaps", chain, 1, "", user, &why), PH_EAUTH);
	CU_ASSERT_PTR_NOT_NULL(why);
	CU_ASSERT_STRING_EQUAL(user, "carol"); /* claimed, for the log */
}

static void test_other_ca(void)
{
	char user[PH__AUTH_MAX_USER + 1];
	const char *why;

	CU_ASSERT_EQUAL(verify1("imaps", &d_other, "", user, &why), PH_EAUTH);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "issuer certificate"));
	/* a listener trusting the other CA takes it */
	CU_ASSERT_EQUAL(verify1("other", &d_other, "", user, &why), PH_OK);
	CU_ASSERT_STRING_EQUAL(user, "mallory");
	/* and not ours */
	CU_ASSERT_EQUAL(verify1("other", &d_good, "", user, &why), PH_EAUTH);
}

static void test_expired(void)
{
	char user[PH__AUTH_MAX_USER + 1];
	const char *why;

	CU_ASSERT_EQUAL(verify1("imaps", &d_expired, "", user, &why), PH_EAUTH);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "expired"));
	CU_ASSERT_EQUAL(verify1("imaps", &d_future, "", user, &why), PH_EAUTH);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "not yet valid"));
}

static void test_purpose(void)
{
	char user[PH__AUTH_MAX_USER + 1];
	const char *why;

	/* extendedKeyUsage serverAuth only: not a client certificate */
	CU_ASSERT_EQUAL(verify1("imaps", &d_server, "", user, &why), PH_EAUTH);
	CU_ASSERT_PTR_NOT_NULL(why);
}

static void test_listener(void)
{
	char user[PH__AUTH_MAX_USER + 1];
	const char *why;

	CU_ASSERT_EQUAL(verify1("nosuch", &d_good, "", user, &why), PH_EAUTH);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "no tls_client_ca"));
	CU_ASSERT_EQUAL(verify1("", &d_good, "", user, &why), PH_EAUTH);
	/* no set at all (a service without any client CA) */
	{
		struct ph_str chain[1] = {str_of(&d_good)};

		CU_ASSERT_EQUAL(ph__auth_external_verify(NULL, "imaps", chain,
							 1, "", user,
							 sizeof(user), &why),
				PH_EAUTH);
	}
}

static void test_malformed(void)
{
	char user[PH__AUTH_MAX_USER + 1];
	const char *why;
	struct der d;
	const struct der *chain[PH__AUTH_MAX_CHAIN + 1];
	size_t i;

	/* garbage */
	memset(d.buf, 0x30, 64);
	d.len = 64;
	CU_ASSERT_EQUAL(verify1("imaps", &d, "", user, &why), PH_EAUTH);
	CU_ASSERT_STRING_EQUAL(why, "malformed certificate");
	/* a good certificate with a byte more */
	d = d_good;
	d.buf[d.len++] = 0;
	CU_ASSERT_EQUAL(verify1("imaps", &d, "", user, &why), PH_EAUTH);
	CU_ASSERT_STRING_EQUAL(why, "malformed certificate");
	/* truncated */
	d = d_good;
	d.len--;
	CU_ASSERT_EQUAL(verify1("imaps", &d, "", user, &why), PH_EAUTH);
	CU_ASSERT_STRING_EQUAL(why, "malformed certificate");
	/* empty */
	d.len = 0;
	CU_ASSERT_EQUAL(verify1("imaps", &d, "", user, &why), PH_EAUTH);
	/* a bad intermediate spoils the chain */
	d.len = 3;
	chain[0] = &d_good;
	chain[1] = &d;
	CU_ASSERT_EQUAL(verify("imaps", chain, 2, "", user, &why), PH_EAUTH);
	CU_ASSERT_STRING_EQUAL(why, "malformed certificate");
	/* no certificate, too many */
	CU_ASSERT_EQUAL(verify("imaps", chain, 0, "", user, &why), PH_EAUTH);
	for (i = 0; i <= PH__AUTH_MAX_CHAIN; i++)
		chain[i] = &d_good;
	CU_ASSERT_EQUAL(
	    verify("imaps", chain, PH__AUTH_MAX_CHAIN + 1, "", user, &why),
	    PH_EAUTH);
	/* the limit itself is fine (extra copies are just untrusted) */
	CU_ASSERT_EQUAL(
	    verify("imaps", chain, PH__AUTH_MAX_CHAIN, "", user, &why), PH_OK);
}

static void test_authzid(void)
{
	char user[PH__AUTH_MAX_USER + 1];
	const char *why;

	CU_ASSERT_EQUAL(verify1("imaps", &d_good, "alice", user, &why), PH_OK);
	CU_ASSERT_EQUAL(verify1("imaps", &d_good, "bob", user, &why), PH_EAUTH);
	CU_ASSERT_STRING_EQUAL(why, "authorization identity not allowed");
	CU_ASSERT_STRING_EQUAL(user, "alice"); /* for the log line */
	CU_ASSERT_EQUAL(verify1("imaps", &d_good, "alicex", user, &why),
			PH_EAUTH);
	CU_ASSERT_EQUAL(verify1("imaps", &d_good, NULL, user, &why), PH_OK);
}

static void test_no_user(void)
{
	char user[PH__AUTH_MAX_USER + 1];
	const char *why;

	/* two CNs: nobody (the worker's rule) */
	CU_ASSERT_EQUAL(verify1("imaps", &d_twocn, "", user, &why), PH_EAUTH);
	CU_ASSERT_STRING_EQUAL(why, "no user in the certificate");
	/* email field, certificate without one */
	CU_ASSERT_EQUAL(verify1("pop3s", &d_good, "", user, &why), PH_EAUTH);
	CU_ASSERT_STRING_EQUAL(why, "no user in the certificate");
	CU_ASSERT_EQUAL(verify1("imaps", &d_nocn, "", user, &why), PH_EAUTH);
}

static void test_add_errors(void)
{
	struct ph__auth_external *x = ph__auth_external_create();
	char *error = NULL, path[80];

	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(
	    ph__auth_external_add(x, "a", "/nonexistent/ca.pem", "cn", &error),
	    PH_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(error);
	if (error != NULL)
		CU_ASSERT_PTR_NOT_NULL(strstr(error, "[listener.a]"));
	free(error);
	/* a file without a certificate */
	snprintf(path, sizeof(path), "%s/empty.pem", tmpdir);
	fclose(fopen(path, "w"));
	error = NULL;
	CU_ASSERT_EQUAL(ph__auth_external_add(x, "a", path, "cn", &error),
			PH_EINVAL);
	free(error);
	unlink(path);
	ph__auth_external_destroy(&x);
	CU_ASSERT_PTR_NULL(x);
}

/* tls_client_crl: a revoked certificate is refused, the others of the
 * CA still pass; a CRL file of another CA leaves our certificates
 * without a CRL, so they fail (fail closed); a file with no CRL in it is
 * refused when added. */
static void test_crl(void)
{
	const struct certgen *revoke[] = {&bob_email};
	struct ph__auth_external *x = ph__auth_external_create();
	char user[PH__AUTH_MAX_USER + 1], crl[80], crl2[80], *error = NULL;
	struct ph__auth_external *saved = ext;
	const char *why;

	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	snprintf(crl, sizeof(crl), "%s/crl.pem", tmpdir);
	snprintf(crl2, sizeof(crl2), "%s/crl2.pem", tmpdir);
	CU_ASSERT_EQUAL_FATAL(certgen_crl(&ca, revoke, 1, crl), 0);
	CU_ASSERT_EQUAL_FATAL(certgen_crl(&ca2, NULL, 0, crl2), 0);
	CU_ASSERT_EQUAL(
	    ph__auth_external_add(x, "imaps", ca_path, "cn", &error), PH_OK);
	CU_ASSERT_EQUAL(ph__auth_external_add_crl(x, "imaps", crl, &error),
			PH_OK);
	CU_ASSERT_EQUAL(
	    ph__auth_external_add(x, "wrong", ca_path, "cn", &error), PH_OK);
	CU_ASSERT_EQUAL(ph__auth_external_add_crl(x, "wrong", crl2, &error),
			PH_OK);
	CU_ASSERT_EQUAL(ph__auth_external_add_crl(x, "nope", crl, &error),
			PH_ENOTFOUND);
	/* a certificate is no CRL */
	CU_ASSERT_EQUAL(ph__auth_external_add_crl(x, "imaps", ca_path, &error),
			PH_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(error);
	free(error);
	ext = x;
	CU_ASSERT_EQUAL(verify1("imaps", &d_good, "", user, &why), PH_OK);
	CU_ASSERT_EQUAL(verify1("imaps", &d_email, "", user, &why), PH_EAUTH);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "revoked"));
	CU_ASSERT_EQUAL(verify1("wrong", &d_good, "", user, &why), PH_EAUTH);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "CRL"));
	ext = saved;
	ph__auth_external_destroy(&x);
	unlink(crl);
	unlink(crl2);
}

/* ---- the wire ---- */

static void ext_msg(struct ph__auth_request_msg *m, size_t count)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->type = PH__AUTH_MSG_EXTERNAL_VERIFY;
	m->request_id = 7;
	m->secured = 1;
	m->service = PH_STR_LIT("imap4");
	m->user = PH_STR_LIT("alice");
	m->password = m->scheme = m->local_ip = m->cbind = PH_STR_LIT("");
	m->remote_ip = PH_STR_LIT("192.0.2.1");
	m->listener = PH_STR_LIT("imaps");
	m->chain_count = count;
	for (i = 0; i < count && i < PH__AUTH_MAX_CHAIN; i++)
		m->chain[i] = str_of(&d_good);
}

static void test_wire_round_trip(void)
{
	unsigned char buf[PH__AUTH_MSG_MAX], copy[PH__AUTH_MSG_MAX];
	struct ph__auth_request_msg m, d;
	int len, len2;
	size_t n;

	for (n = 1; n <= PH__AUTH_MAX_CHAIN; n++) {
		ext_msg(&m, n);
		m.chain[0] = str_of(&d_via_mid);
		len = ph__auth_encode_request(buf, &m);
		CU_ASSERT_FATAL(len > 0);
		memcpy(copy, buf, (size_t)len);
		CU_ASSERT_EQUAL_FATAL(
		    ph__auth_decode_request(buf, (size_t)len, &d), PH_OK);
		CU_ASSERT_EQUAL(d.type, PH__AUTH_MSG_EXTERNAL_VERIFY);
		CU_ASSERT_EQUAL(d.chain_count, n);
		CU_ASSERT_STRING_EQUAL(d.listener.data, "imaps");
		CU_ASSERT_STRING_EQUAL(d.user.data, "alice");
		CU_ASSERT_EQUAL(d.chain[0].len, d_via_mid.len);
		CU_ASSERT(
		    memcmp(d.chain[0].data, d_via_mid.buf, d_via_mid.len) == 0);
		len2 = ph__auth_encode_request(buf, &d);
		CU_ASSERT_EQUAL(len2, len);
		CU_ASSERT(memcmp(buf, copy, (size_t)len) == 0);
	}
	/* an empty authzid */
	ext_msg(&m, 1);
	m.user = PH_STR_LIT("");
	len = ph__auth_encode_request(buf, &m);
	CU_ASSERT_EQUAL(ph__auth_decode_request(buf, (size_t)len, &d), PH_OK);
	CU_ASSERT_EQUAL(d.user.len, 0);
}

static void test_wire_encode_limits(void)
{
	unsigned char buf[PH__AUTH_MSG_MAX];
	static char big[PH__AUTH_MAX_CHAIN_BYTES + 1];
	struct ph__auth_request_msg m;

	ext_msg(&m, 0);
	CU_ASSERT_EQUAL(ph__auth_encode_request(buf, &m), PH_EINVAL);
	ext_msg(&m, PH__AUTH_MAX_CHAIN + 1);
	CU_ASSERT_EQUAL(ph__auth_encode_request(buf, &m), PH_EINVAL);
	ext_msg(&m, 1);
	m.chain[0].len = 0;
	CU_ASSERT_EQUAL(ph__auth_encode_request(buf, &m), PH_EINVAL);
	/* one byte over the chain's total */
	ext_msg(&m, 2);
	m.chain[0] = (struct ph_str){big, PH__AUTH_MAX_CHAIN_BYTES - 100};
	m.chain[1] = (struct ph_str){big, 101};
	CU_ASSERT_EQUAL(ph__auth_encode_request(buf, &m), PH_EINVAL);
	/* exactly the total fits a message, with every field at its max */
	m.chain[1].len = 100;
	m.service = m.remote_ip = m.local_ip = m.listener =
	    (struct ph_str){big, PH__AUTH_MAX_FIELD};
	memset(big, 'a', sizeof(big));
	m.user = (struct ph_str){big, PH__AUTH_MAX_USER};
	CU_ASSERT(ph__auth_encode_request(buf, &m) > 0);
	ext_msg(&m, 1);
	m.chain[0] = (struct ph_str){big, PH__AUTH_MAX_CHAIN_BYTES + 1};
	CU_ASSERT_EQUAL(ph__auth_encode_request(buf, &m), PH_EINVAL);
	/* fields another type carries are not allowed here */
	ext_msg(&m, 1);
	m.password = PH_STR_LIT("x");
	CU_ASSERT_EQUAL(ph__auth_encode_request(buf, &m), PH_EINVAL);
	ext_msg(&m, 1);
	m.scheme = PH_STR_LIT("x");
	CU_ASSERT_EQUAL(ph__auth_encode_request(buf, &m), PH_EINVAL);
	ext_msg(&m, 1);
	m.cbind = PH_STR_LIT("x");
	CU_ASSERT_EQUAL(ph__auth_encode_request(buf, &m), PH_EINVAL);
	ext_msg(&m, 1);
	m.listener = PH_STR_LIT("");
	CU_ASSERT_EQUAL(ph__auth_encode_request(buf, &m), PH_EINVAL);
	/* and a chain only travels in EXTERNAL_VERIFY */
	ext_msg(&m, 1);
	m.type = PH__AUTH_MSG_PLAIN;
	CU_ASSERT_EQUAL(ph__auth_encode_request(buf, &m), PH_EINVAL);
	ext_msg(&m, 0);
	m.type = PH__AUTH_MSG_LOOKUP;
	CU_ASSERT_EQUAL(ph__auth_encode_request(buf, &m), PH_EINVAL);
	m.listener = PH_STR_LIT("");
	CU_ASSERT(ph__auth_encode_request(buf, &m) > 0);
}

/* Builds a datagram by hand: header, common fields, then `tail`. */
static size_t wire_raw(unsigned char *buf, uint32_t type, const char *password,
		       const void *tail, size_t tail_len)
{
	struct ph__auth_request_msg m;
	int len;

	memset(&m, 0, sizeof(m));
	m.type = PH__AUTH_MSG_LOOKUP;
	m.request_id = 3;
	m.service = PH_STR_LIT("imap4");
	m.user = m.scheme = m.local_ip = PH_STR_LIT("");
	m.password = (struct ph_str){password, strlen(password)};
	m.remote_ip = PH_STR_LIT("192.0.2.9");
	len = ph__auth_encode_request(buf, &m);
	memcpy(buf + len, tail, tail_len);
	len += (int)tail_len;
	{
		uint32_t hdr[3] = {type, (uint32_t)len - 12, 3};

		memcpy(buf, hdr, sizeof(hdr));
	}
	return (size_t)len;
}

/* listener "imaps", then count, then `n` strings of `each` bytes */
static size_t wire_tail(unsigned char *t, uint32_t count, size_t n,
			uint32_t each)
{
	size_t pos = 0, i;
	uint32_t five = 5;

	memcpy(t + pos, &five, 4);
	memcpy(t + pos + 4, "imaps", 6);
	pos += 10;
	memcpy(t + pos, &count, 4);
	pos += 4;
	for (i = 0; i < n; i++) {
		memcpy(t + pos, &each, 4);
		memset(t + pos + 4, 0x30, each);
		t[pos + 4 + each] = 0;
		pos += 5 + each;
	}
	return pos;
}

static void test_wire_decode_strict(void)
{
	static unsigned char buf[PH__AUTH_MSG_MAX + 64], tail[PH__AUTH_MSG_MAX];
	struct ph__auth_request_msg d;
	size_t len, tl, cut;

	/* well formed by hand */
	tl = wire_tail(tail, 2, 2, 10);
	len = wire_raw(buf, PH__AUTH_MSG_EXTERNAL_VERIFY, "", tail, tl);
	CU_ASSERT_EQUAL(ph__auth_decode_request(buf, len, &d), PH_OK);
	CU_ASSERT_EQUAL(d.chain_count, 2);
	/* every truncation */
	for (cut = 0; cut < len; cut++) {
		len = wire_raw(buf, PH__AUTH_MSG_EXTERNAL_VERIFY, "", tail, tl);
		{
			uint32_t plen =
			    (uint32_t)cut > 12 ? (uint32_t)cut - 12 : 0;
			memcpy(buf + 4, &plen, 4);
		}
		CU_ASSERT_EQUAL(ph__auth_decode_request(buf, cut, &d),
				PH_EINVAL);
	}
	/* count says more (or fewer) than there are */
	tl = wire_tail(tail, 3, 2, 10);
	len = wire_raw(buf, PH__AUTH_MSG_EXTERNAL_VERIFY, "", tail, tl);
	CU_ASSERT_EQUAL(ph__auth_decode_request(buf, len, &d), PH_EINVAL);
	tl = wire_tail(tail, 1, 2, 10);
	len = wire_raw(buf, PH__AUTH_MSG_EXTERNAL_VERIFY, "", tail, tl);
	CU_ASSERT_EQUAL(ph__auth_decode_request(buf, len, &d), PH_EINVAL);
	/* zero and nine certificates */
	tl = wire_tail(tail, 0, 0, 0);
	len = wire_raw(buf, PH__AUTH_MSG_EXTERNAL_VERIFY, "", tail, tl);
	CU_ASSERT_EQUAL(ph__auth_decode_request(buf, len, &d), PH_EINVAL);
	tl = wire_tail(tail, 9, 9, 10);
	len = wire_raw(buf, PH__AUTH_MSG_EXTERNAL_VERIFY, "", tail, tl);
	CU_ASSERT_EQUAL(ph__auth_decode_request(buf, len, &d), PH_EINVAL);
	tl = wire_tail(tail, 0xffffffffu, 1, 10);
	len = wire_raw(buf, PH__AUTH_MSG_EXTERNAL_VERIFY, "", tail, tl);
	CU_ASSERT_EQUAL(ph__auth_decode_request(buf, len, &d), PH_EINVAL);
	/* an empty certificate */
	tl = wire_tail(tail, 1, 1, 0);
	len = wire_raw(buf, PH__AUTH_MSG_EXTERNAL_VERIFY, "", tail, tl);
	CU_ASSERT_EQUAL(ph__auth_decode_request(buf, len, &d), PH_EINVAL);
	/* over the total: two of 12300 bytes */
	tl = wire_tail(tail, 2, 2, 12300);
	len = wire_raw(buf, PH__AUTH_MSG_EXTERNAL_VERIFY, "", tail, tl);
	CU_ASSERT_EQUAL(ph__auth_decode_request(buf, len, &d), PH_EINVAL);
	/* two of 12000 are fine */
	tl = wire_tail(tail, 2, 2, 12000);
	len = wire_raw(buf, PH__AUTH_MSG_EXTERNAL_VERIFY, "", tail, tl);
	CU_ASSERT_EQUAL(ph__auth_decode_request(buf, len, &d), PH_OK);
	/* a password in EXTERNAL_VERIFY */
	tl = wire_tail(tail, 1, 1, 10);
	len = wire_raw(buf, PH__AUTH_MSG_EXTERNAL_VERIFY, "pw", tail, tl);
	CU_ASSERT_EQUAL(ph__auth_decode_request(buf, len, &d), PH_EINVAL);
	/* a trailing byte */
	len = wire_raw(buf, PH__AUTH_MSG_EXTERNAL_VERIFY, "", tail, tl + 1);
	CU_ASSERT_EQUAL(ph__auth_decode_request(buf, len, &d), PH_EINVAL);
	/* the listener and chain on another type: not a cbind either */
	len = wire_raw(buf, PH__AUTH_MSG_LOOKUP, "", tail, tl);
	CU_ASSERT_EQUAL(ph__auth_decode_request(buf, len, &d), PH_EINVAL);
	/* no listener and chain at all */
	len = wire_raw(buf, PH__AUTH_MSG_EXTERNAL_VERIFY, "", tail, 0);
	CU_ASSERT_EQUAL(ph__auth_decode_request(buf, len, &d), PH_EINVAL);
	/* an empty listener */
	tl = wire_tail(tail, 1, 1, 10);
	memset(tail, 0, 4);
	memmove(tail + 5, tail + 10, tl - 10);
	tail[4] = 0;
	len = wire_raw(buf, PH__AUTH_MSG_EXTERNAL_VERIFY, "", tail, tl - 5);
	CU_ASSERT_EQUAL(ph__auth_decode_request(buf, len, &d), PH_EINVAL);
}

/* ---- fixtures ---- */

static int suite_init(void)
{
	char *err = NULL;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ph-ext-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(ca_path, sizeof(ca_path), "%s/ca.pem", tmpdir);
	snprintf(ca2_path, sizeof(ca2_path), "%s/ca2.pem", tmpdir);
	if (certgen_ca(&ca, "Posthorn test CA", NULL) < 0 ||
	    certgen_ca(&ca2, "Another CA", NULL) < 0 ||
	    certgen_ca(&mid, "Posthorn intermediate", &ca) < 0 ||
	    certgen_leaf(&good, &ca, "alice", NULL, NULL, -1, 10,
			 "clientAuth") < 0 ||
	    certgen_leaf(&bob_email, &ca, "Bob", NULL, "bob@example.org", -1,
			 10, NULL) < 0 ||
	    certgen_leaf(&other, &ca2, "mallory", NULL, NULL, -1, 10,
			 "clientAuth") < 0 ||
	    certgen_leaf(&expired, &ca, "alice", NULL, NULL, -10, -1,
			 "clientAuth") < 0 ||
	    certgen_leaf(&future, &ca, "alice", NULL, NULL, 2, 10,
			 "clientAuth") < 0 ||
	    certgen_leaf(&server_only, &ca, "alice", NULL, NULL, -1, 10,
			 "serverAuth") < 0 ||
	    certgen_leaf(&twocn, &ca, "alice", "bob", NULL, -1, 10, NULL) < 0 ||
	    certgen_leaf(&via_mid, &mid, "carol", NULL, NULL, -1, 10, NULL) <
		0 ||
	    certgen_leaf(&nocn, &ca, NULL, NULL, NULL, -1, 10, NULL) < 0)
		return -1;
	if (der_of(&good, &d_good) < 0 || der_of(&bob_email, &d_email) < 0 ||
	    der_of(&other, &d_other) < 0 || der_of(&expired, &d_expired) < 0 ||
	    der_of(&future, &d_future) < 0 ||
	    der_of(&server_only, &d_server) < 0 ||
	    der_of(&twocn, &d_twocn) < 0 || der_of(&via_mid, &d_via_mid) < 0 ||
	    der_of(&mid, &d_mid) < 0 || der_of(&nocn, &d_nocn) < 0)
		return -1;
	if (certgen_pem(&ca, ca_path) < 0 || certgen_pem(&ca2, ca2_path) < 0)
		return -1;
	ext = ph__auth_external_create();
	if (ext == NULL ||
	    ph__auth_external_add(ext, "imaps", ca_path, "cn", &err) < 0 ||
	    ph__auth_external_add(ext, "pop3s", ca_path, "email", &err) < 0 ||
	    ph__auth_external_add(ext, "other", ca2_path, NULL, &err) < 0)
		return -1;
	return 0;
}

static int suite_clean(void)
{
	struct certgen *all[] = {&ca,	       &ca2,   &mid,	 &good,
				 &bob_email,   &other, &expired, &future,
				 &server_only, &twocn, &via_mid, &nocn};
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		certgen_free(all[i]);
	ph__auth_external_destroy(&ext);
	unlink(ca_path);
	unlink(ca2_path);
	rmdir(tmpdir);
	return 0;
}

static CU_TestInfo verify_tests[] = {
    {"good chain, cn and email", test_good},
    {"through an intermediate", test_intermediate},
    {"another CA", test_other_ca},
    {"expired, not yet valid", test_expired},
    {"server certificate (purpose)", test_purpose},
    {"wrong listener, listener without a CA", test_listener},
    {"malformed DER, chain sizes", test_malformed},
    {"authzid rule", test_authzid},
    {"no user in the certificate", test_no_user},
    {"unloadable CA file", test_add_errors},
    {"revocation list", test_crl},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo wire_tests[] = {
    {"round trip", test_wire_round_trip},
    {"encode limits", test_wire_encode_limits},
    {"strict decoding", test_wire_decode_strict},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"verify", suite_init, suite_clean, NULL, NULL, verify_tests},
    {"wire", suite_init, suite_clean, NULL, NULL, wire_tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
