/* Test certificates made with OpenSSL in process (P-256 keys): a CA, and
 * client certificates it signs with a chosen validity, so the auth
 * service's own chain verification can be tested without fixtures. */
#ifndef PH_TEST_CERTGEN_H
#define PH_TEST_CERTGEN_H

#include <openssl/x509.h>

struct certgen {
	X509 *cert;
	EVP_PKEY *key;
};

/* A self-signed CA (basicConstraints CA:TRUE, keyCertSign); or, with
 * `issuer`, an intermediate CA signed by it. 0 or -1. */
int certgen_ca(struct certgen *out, const char *cn,
	       const struct certgen *issuer);
/* A client certificate signed by `ca`: subject CN `cn` (NULL: none;
 * `cn2`: a second CN), an rfc822Name SAN `email` (NULL: none), valid
 * from now + from_days to now + to_days, extendedKeyUsage `eku`
 * ("clientAuth", "serverAuth"; NULL: none). 0 or -1. */
int certgen_leaf(struct certgen *out, const struct certgen *ca, const char *cn,
		 const char *cn2, const char *email, long from_days,
		 long to_days, const char *eku);
/* DER into buf (at most size bytes); returns the length or -1. */
int certgen_der(const struct certgen *c, unsigned char *buf, size_t size);
/* Appends the certificate as PEM to `path`. 0 or -1. */
int certgen_pem(const struct certgen *c, const char *path);
/* Appends to `path` a PEM CRL issued by `ca` that revokes the `n`
 * certificates in `revoked` (valid from now for a day). 0 or -1. */
int certgen_crl(const struct certgen *ca, const struct certgen *const *revoked,
		size_t n, const char *path);
void certgen_free(struct certgen *c);

#endif
