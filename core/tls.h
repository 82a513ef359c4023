/* core/tls.h - OpenSSL server contexts for listeners, and what SASL takes
 * from a TLS connection: channel-binding data and the user a verified
 * client certificate names. */
#ifndef PH_CORE_TLS_H
#define PH_CORE_TLS_H

#include <openssl/ssl.h>
#include <posthorn/abi.h>
#include "config.h"

/* A server SSL_CTX for a listener: cert chain + key, TLS 1.2+ (or the
 * configured minimum), ciphers/ciphersuites, no compression or
 * renegotiation, client certificates as the listener asks, and one more
 * context per [sni.NAME] section chosen by the client's server name
 * (tls-sni.c). NULL with *error_r (malloc'd) on failure, *section_r and
 * *key_r naming the section and setting at fault ("cert", "key",
 * "ciphers", "names"...). Created in the master (keys may be readable by
 * root only) and inherited by workers. */
SSL_CTX *ph__tls_ctx_create(const struct ph__config *cfg,
			    const struct ph__listener_config *l, char **error_r,
			    const ph_config **section_r, const char **key_r);
/* One context with the listener's settings and the certificate `cert`
 * and key `key`; errors name section `where`. */
SSL_CTX *ph__tls_ctx_build(const struct ph__listener_config *l,
			   const char *where, const char *cert, const char *key,
			   char **error_r, const char **key_r);
/* Builds a context for every [sni.NAME] section of `cfg` with `l`'s
 * settings and attaches them to `ctx` (freed with it), with a server
 * name callback that switches a connection to the one whose names match
 * (exact, case-insensitive, or "*.domain" for one more label); no match
 * or no name keeps `ctx`. 0, or -1 with *error_r, *section_r, *key_r. */
int ph__tls_sni_attach(SSL_CTX *ctx, const struct ph__config *cfg,
		       const struct ph__listener_config *l, char **error_r,
		       const ph_config **section_r, const char **key_r);

/* Channel-binding data of an established connection for `type`:
 * "tls-exporter" (RFC 9266: 32 bytes of keying material, label
 * "EXPORTER-Channel-Binding", empty context; TLS 1.3 only, see tls.c) or
 * "tls-server-end-point" (RFC 5929 4.1: the server certificate hashed with its
 * signature's hash, SHA-256 for MD5 and SHA-1). buf must hold EVP_MAX_MD_SIZE
 * bytes. Returns the length, or PH_ENOTSUP when this connection cannot provide
 * that type. */
int ph__tls_cbind(SSL *ssl, const char *type, unsigned char *buf);

/* The user a client certificate names when its chain verified against
 * the listener's tls_client_ca: `field` "cn" (the one subject CN) or
 * "email" (first rfc822Name of subjectAltName, else the subject's
 * emailAddress). Written NUL-terminated into buf; returns buf, or NULL
 * (no certificate, not verified, no such field, several CNs, or a name
 * with control characters or longer than size - 1). */
const char *ph__tls_client_user(SSL *ssl, const char *field, char *buf,
				size_t size);

/* The same rules for any certificate (no verification here): the one
 * function the worker (above) and the auth service (auth-external.c)
 * both use, so they always agree on who a certificate names. */
const char *ph__tls_cert_user(X509 *cert, const char *field, char *buf,
			      size_t size);

/* Adds the CRLs of PEM file `crl_file` to `store` and checks every
 * client leaf certificate against them (a certificate whose issuer has
 * no CRL there fails). 0, or -1 when the file holds no CRL or cannot be
 * read. Used by the worker's SSL_CTX and the auth service's EXTERNAL
 * check, so both refuse the same certificates. */
int ph__tls_store_add_crl(X509_STORE *store, const char *crl_file);

/* The client's certificate chain as DER for the auth service: the leaf
 * first, then the certificates the client sent with it. At most `max`
 * entries into certs, their bytes into buf (size bytes). Returns the
 * count, PH_EINVAL without a peer certificate, or PH_ETOOBIG. */
int ph__tls_client_chain(SSL *ssl, struct ph_str *certs, size_t max,
			 unsigned char *buf, size_t size);

#endif
