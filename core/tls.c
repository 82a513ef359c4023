/* core/tls.c - listener TLS contexts. */
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"

static char *tls_error(const struct ph__listener_config *l, const char *what)
{
	char buf[256], *out = NULL;
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	if (asprintf(&out, "[listener.%s] %s: %s", l->name, what,
		     e != 0 ? buf : "failed") < 0)
		out = NULL;
	return out;
}

SSL_CTX *ph__tls_ctx_create(const struct ph__listener_config *l, char **error_r,
			    const char **key_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int min = TLS1_2_VERSION;

	*error_r = NULL;
	*key_r = "tls";
	if (ctx == NULL) {
		*error_r = tls_error(l, "SSL_CTX_new");
		return NULL;
	}
	if (l->tls_min_version != NULL &&
	    strcmp(l->tls_min_version, "TLSv1.3") == 0)
		min = TLS1_3_VERSION;
	SSL_CTX_set_min_proto_version(ctx, min);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
				     SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				  SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (l->ciphers != NULL &&
	    SSL_CTX_set_cipher_list(ctx, l->ciphers) != 1) {
		*error_r = tls_error(l, "ciphers");
		*key_r = "ciphers";
		goto fail;
	}
	if (l->ciphersuites != NULL &&
	    SSL_CTX_set_ciphersuites(ctx, l->ciphersuites) != 1) {
		*error_r = tls_error(l, "ciphersuites");
		*key_r = "ciphersuites";
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, l->cert) != 1) {
		char what[512];

		snprintf(what, sizeof(what), "cannot load cert %s", l->cert);
		*error_r = tls_error(l, what);
		*key_r = "cert";
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, l->key, SSL_FILETYPE_PEM) != 1) {
		char what[512];

		snprintf(what, sizeof(what), "cannot load key %s", l->key);
		*error_r = tls_error(l, what);
		*key_r = "key";
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = tls_error(l, "key does not match the certificate");
		*key_r = "key";
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
