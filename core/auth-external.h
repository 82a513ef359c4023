/* core/auth-external.h - SASL EXTERNAL checked by the auth service: per
 * listener with tls_client_ca, an X509_STORE built from that file when
 * the service starts (a reload starts a new service), which verifies the
 * DER chain a worker relays and names the user with the same rules as
 * the worker (ph__tls_cert_user). So a compromised worker cannot claim a
 * certificate the CA did not sign. */
#ifndef PH_CORE_AUTH_EXTERNAL_H
#define PH_CORE_AUTH_EXTERNAL_H

#include <stddef.h>
#include <posthorn/abi.h>
#include "config.h"

struct ph__auth_external;

struct ph__auth_external *ph__auth_external_create(void);
void ph__auth_external_destroy(struct ph__auth_external **x);
/* Adds listener `name` verifying against the PEM file `ca_file`, naming
 * users by `field` ("cn" or "email"). PH_OK, or PH_EINVAL with a
 * malloc'd *error_r (unreadable file, no certificate in it). */
int ph__auth_external_add(struct ph__auth_external *x, const char *name,
			  const char *ca_file, const char *field,
			  char **error_r);
/* Checks the certificates of listener `name` (added before) against the
 * CRLs of PEM file `crl_file` too. PH_OK; PH_ENOTFOUND (no such
 * listener); PH_EINVAL with a malloc'd *error_r (no CRL in the file). */
int ph__auth_external_add_crl(struct ph__auth_external *x, const char *name,
			      const char *crl_file, char **error_r);
/* Every listener of `cfg` with a tls_client_ca (and its tls_client_crl). A
 * listener whose file cannot be loaded is logged and left out (its EXTERNAL
 * logins fail). */
struct ph__auth_external *
ph__auth_external_from_config(const struct ph__config *cfg);

/* Verifies `chain` (count DER certificates, leaf first) against the
 * listener's CA (purpose SSL client, current time), then names the user
 * into user_r (size bytes) and applies the authzid rule (empty or equal
 * to that user). Returns PH_OK; PH_EAUTH with *why_r (static text: "no
 * such listener", "malformed certificate", the X509 verify error, "no
 * user in the certificate", "authorization identity not allowed"). On
 * PH_EAUTH user_r holds the user the leaf claims (unverified: for the
 * log line only), else "". Thread-safe (read-only stores). */
int ph__auth_external_verify(const struct ph__auth_external *x,
			     const char *listener, const struct ph_str *chain,
			     size_t count, const char *authzid, char *user_r,
			     size_t size, const char **why_r);

#endif
