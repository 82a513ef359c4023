/* core/sasl.h - SASL mechanisms shared by every protocol (RFC 4422):
 * base64 framing, PLAIN (RFC 4616), LOGIN, and later SCRAM. Pure state
 * machines: the server-side step function never does I/O; credentials
 * it extracts are checked by the caller through the auth service. */
#ifndef PH_CORE_SASL_H
#define PH_CORE_SASL_H

#include <stddef.h>
#include <posthorn/abi.h>

#define PH_SASL_MAX_RESPONSE 65536 /* decoded bytes per step */

struct ph__sasl;

enum ph__sasl_step {
	PH__SASL_CHALLENGE = 1, /* send *out (raw bytes; caller base64s) */
	PH__SASL_VERIFY = 2,	/* check authcid/password with the auth
				   service, then call ph__sasl_finish() */
	PH__SASL_FAIL = 3,	/* *out holds a message */
};

/* NULL when `mech` is unknown (case-insensitive). */
struct ph__sasl *ph__sasl_create(const char *mech);
void ph__sasl_destroy(struct ph__sasl **s);
/* Feeds one decoded client response (NULL for "no initial response").
 * Returns one of enum ph__sasl_step; *out borrowed until the next call. */
int ph__sasl_step(struct ph__sasl *s, const struct ph_str *response,
		  struct ph_str *out);
/* After PH__SASL_VERIFY: the credentials to check (borrowed). */
const char *ph__sasl_authcid(const struct ph__sasl *s);
const char *ph__sasl_authzid(const struct ph__sasl *s); /* "" if none */
struct ph_str ph__sasl_password(const struct ph__sasl *s);

/* EXTERNAL: the identity the connection's verified TLS client
 * certificate names (copied; NULL: none, the exchange fails). Call before
 * the first step. Returns PH_OK or PH_ENOMEM. */
int ph__sasl_set_external(struct ph__sasl *s, const char *identity);
/* Non-zero for EXTERNAL: PH__SASL_VERIFY then means "have the auth
 * service verify the client's certificate chain" (EXTERNAL_VERIFY; the
 * certificate is the credential, authzid the client's request). */
int ph__sasl_is_external(const struct ph__sasl *s);

/* base64 (RFC 4648) via OpenSSL's EVP encoder. decode: PH_EINVAL on bad
 * input; output malloc'd, caller frees. */
int ph__base64_encode(const void *data, size_t len, char **out_r,
		      size_t *out_len_r);
int ph__base64_decode(const char *text, size_t len, unsigned char **out_r,
		      size_t *out_len_r);

#endif
