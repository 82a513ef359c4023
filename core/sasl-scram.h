/* core/sasl-scram.h - SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802,
 * RFC 7677; channel binding RFC 5802 section 6) for core/sasl.c, and the
 * calls a mechanism that needs a stored secret adds to the frozen sasl.h
 * step protocol. The auth service runs it (auth-server.c; workers relay
 * the messages, so the secret stays there):
 *
 *   step(client-first)      -> PH__SASL_VERIFY with
 *                              ph__sasl_credentials_scheme() != NULL:
 *                              fetch that secret from the plugin chain,
 *   ph__sasl_set_credentials -> PH__SASL_CHALLENGE (server-first),
 *   step(client-final)      -> PH__SASL_SUCCESS (out: server-final) or
 *                              PH__SASL_FAIL.
 */
#ifndef PH_CORE_SASL_SCRAM_H
#define PH_CORE_SASL_SCRAM_H

#include "sasl.h"

/* Step result beyond enum ph__sasl_step: authenticated by the mechanism
 * itself; *out holds the final server data (raw, caller base64s). */
#define PH__SASL_SUCCESS 4

/* The credential scheme the exchange waits for ("SCRAM-SHA-256"), or NULL
 * when PH__SASL_VERIFY means "check this password" (PLAIN, LOGIN). */
const char *ph__sasl_credentials_scheme(const struct ph__sasl *s);
/* The stored secret for ph__sasl_authcid() in that scheme, or NULL when
 * the user is unknown or has none: the exchange then goes on with made-up
 * parameters and fails at the proof, so the client cannot tell. Returns
 * the next step like ph__sasl_step(). */
int ph__sasl_set_credentials(struct ph__sasl *s, const char *secret,
			     struct ph_str *out);
/* Tests only: the server nonce part (NUL-terminated, printable, no ',')
 * instead of a random one. */
void ph__sasl_scram_set_nonce(struct ph__sasl *s, const char *nonce);

/* Channel-binding data a TLS connection can provide for one type. */
struct ph__sasl_cbind {
	const char *type; /* "tls-exporter", "tls-server-end-point" */
	const unsigned char *data;
	size_t len;
};
#define PH__SASL_CBIND_MAX 4 /* types per connection */

/* Before the first step of a SCRAM exchange: `advertised` is non-zero
 * when the connection offers SCRAM-SHA-256-PLUS (a client sending the
 * 'y' flag then meets a downgrade and fails); `types` are the bindings
 * the connection can provide (copied; at most PH__SASL_CBIND_MAX). A
 * no-op for other mechanisms. Returns PH_OK or PH_ENOMEM. */
int ph__sasl_set_cbind(struct ph__sasl *s, int advertised,
		       const struct ph__sasl_cbind *types, size_t count);

/* ---- the mechanism itself, used by sasl.c ---- */
struct ph__scram;
struct ph__scram *ph__scram_create(int plus);
void ph__scram_destroy(struct ph__scram **sc);
/* One step; `response` NULL for "no initial response". *authcid_r points
 * to the user name (owned by sc) once client-first named it. */
int ph__scram_step(struct ph__scram *sc, const struct ph_str *response,
		   struct ph_str *out, const char **authcid_r);
int ph__scram_set_credentials(struct ph__scram *sc, const char *secret,
			      struct ph_str *out);
void ph__scram_set_nonce(struct ph__scram *sc, const char *nonce);
int ph__scram_set_cbind(struct ph__scram *sc, int advertised,
			const struct ph__sasl_cbind *types, size_t count);

#endif
