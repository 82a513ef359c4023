/* core/tls.h - OpenSSL server contexts for listeners. */
#ifndef PH_CORE_TLS_H
#define PH_CORE_TLS_H

#include <openssl/ssl.h>
#include "config.h"

/* A server SSL_CTX for a listener: cert chain + key, TLS 1.2+ (or the
 * configured minimum), ciphers/ciphersuites, no compression or
 * renegotiation. NULL with *error_r (malloc'd) on failure, *key_r naming
 * the setting at fault ("cert", "key", "ciphers", "ciphersuites"). Created in
 * the master (keys may be readable by root only) and inherited by workers. */
SSL_CTX *ph__tls_ctx_create(const struct ph__listener_config *l, char **error_r,
			    const char **key_r);

#endif
