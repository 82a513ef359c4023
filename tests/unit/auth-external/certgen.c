/* Test certificates made with OpenSSL in process (see certgen.h). */
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "certgen.h"

#include <time.h>

static long certgen_serial = 1;

static int certgen_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

static X509 *certgen_new(EVP_PKEY *key, long from_days, long to_days)
{
	X509 *cert = X509_new();

	if (cert == NULL)
		return NULL;
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), certgen_serial++);
	X509_gmtime_adj(X509_getm_notBefore(cert), from_days * 86400);
	X509_gmtime_adj(X509_getm_notAfter(cert), to_days * 86400);
	X509_set_pubkey(cert, key);
	return cert;
}

int certgen_ca(struct certgen *out, const char *cn,
	       const struct certgen *issuer)
{
	X509_NAME *name;

	out->key = EVP_EC_gen("P-256");
	out->cert = out->key != NULL ? certgen_new(out->key, -1, 30) : NULL;
	if (out->cert == NULL)
		return -1;
	name = X509_get_subject_name(out->cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(
	    out->cert,
	    issuer != NULL ? X509_get_subject_name(issuer->cert) : name);
	if (certgen_ext(out->cert, out->cert, NID_basic_constraints,
			"critical,CA:TRUE") < 0 ||
	    certgen_ext(out->cert, out->cert, NID_key_usage,
			"critical,keyCertSign,cRLSign") < 0 ||
	    certgen_ext(out->cert, out->cert, NID_subject_key_identifier,
			"hash") < 0)
		return -1;
	return X509_sign(out->cert, issuer != NULL ? issuer->key : out->key,
			 EVP_sha256()) > 0
		   ? 0
		   : -1;
}

int certgen_leaf(struct certgen *out, const struct certgen *ca, const char *cn,
		 const char *cn2, const char *email, long from_days,
		 long to_days, const char *eku)
{
	X509_NAME *name;
	char san[300];

	out->key = EVP_EC_gen("P-256");
	out->cert =
	    out->key != NULL ? certgen_new(out->key, from_days, to_days) : NULL;
	if (out->cert == NULL)
		return -1;
	name = X509_get_subject_name(out->cert);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
				   (const unsigned char *)"Posthorn tests", -1,
				   -1, 0);
	if (cn != NULL)
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					   (const unsigned char *)cn, -1, -1,
					   0);
	if (cn2 != NULL)
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					   (const unsigned char *)cn2, -1, -1,
					   0);
	X509_set_issuer_name(out->cert, X509_get_subject_name(ca->cert));
	if (certgen_ext(out->cert, NULL, NID_basic_constraints, "CA:FALSE") <
		0 ||
	    certgen_ext(out->cert, NULL, NID_key_usage,
			"critical,digitalSignature") < 0)
		return -1;
	if (eku != NULL &&
	    certgen_ext(out->cert, NULL, NID_ext_key_usage, eku) < 0)
		return -1;
	if (email != NULL) {
		snprintf(san, sizeof(san), "email:%s", email);
		if (certgen_ext(out->cert, NULL, NID_subject_alt_name, san) < 0)
			return -1;
	}
	return X509_sign(out->cert, ca->key, EVP_sha256()) > 0 ? 0 : -1;
}

int certgen_der(const struct certgen *c, unsigned char *buf, size_t size)
{
	int len = i2d_X509(c->cert, NULL);
	unsigned char *p = buf;

	if (len <= 0 || (size_t)len > size)
		return -1;
	return i2d_X509(c->cert, &p);
}

int certgen_pem(const struct certgen *c, const char *path)
{
	FILE *fp = fopen(path, "a");
	int ok;

	if (fp == NULL)
		return -1;
	ok = PEM_write_X509(fp, c->cert);
	return fclose(fp) == 0 && ok == 1 ? 0 : -1;
}

int certgen_crl(const struct certgen *ca, const struct certgen *const *revoked,
		size_t n, const char *path)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *now = ASN1_TIME_adj(NULL, time(NULL), 0, 0);
	ASN1_TIME *next = ASN1_TIME_adj(NULL, time(NULL), 1, 0);
	FILE *fp = NULL;
	int ok = crl != NULL && now != NULL && next != NULL &&
		 X509_CRL_set_version(crl, 1) == 1 &&
		 X509_CRL_set_issuer_name(
		     crl, X509_get_subject_name(ca->cert)) == 1 &&
		 X509_CRL_set1_lastUpdate(crl, now) == 1 &&
		 X509_CRL_set1_nextUpdate(crl, next) == 1;

	for (size_t i = 0; ok && i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();

		ok = r != NULL &&
		     X509_REVOKED_set_serialNumber(
			 r, X509_get_serialNumber(revoked[i]->cert)) == 1 &&
		     X509_REVOKED_set_revocationDate(r, now) == 1 &&
		     X509_CRL_add0_revoked(crl, r) == 1;
		if (!ok)
			X509_REVOKED_free(r);
	}
	ok = ok && X509_CRL_sort(crl) == 1 &&
	     X509_CRL_sign(crl, ca->key, EVP_sha256()) > 0 &&
	     (fp = fopen(path, "a")) != NULL &&
	     PEM_write_X509_CRL(fp, crl) == 1;
	if (fp != NULL && fclose(fp) != 0)
		ok = 0;
	ASN1_TIME_free(now);
	ASN1_TIME_free(next);
	X509_CRL_free(crl);
	return ok ? 0 : -1;
}

void certgen_free(struct certgen *c)
{
	X509_free(c->cert);
	EVP_PKEY_free(c->key);
	c->cert = NULL;
	c->key = NULL;
}
