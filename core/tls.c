/* core/tls.c - listener TLS contexts; channel binding and client
 * certificate names for SASL. */
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-extra.h"
#include "tls.h"

/* "[listener.imaps] what: OpenSSL's reason"; `where` names the section. */
static char *tls_error(const char *where, const char *what)
{
	char buf[256], *out = NULL;
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	if (asprintf(&out, "[%s] %s: %s", where, what,
		     e != 0 ? buf : "failed") < 0)
		out = NULL;
	return out;
}

/* Optional client certificates: the handshake goes on whatever the
 * client sends; OpenSSL keeps the verification result, and only a
 * verified chain makes EXTERNAL usable. */
static int tls_verify_optional(int ok, X509_STORE_CTX *store)
{
	(void)ok;
	(void)store;
	return 1;
}

int ph__tls_store_add_crl(X509_STORE *store, const char *crl_file)
{
	X509_LOOKUP *lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());

	/* counts CRLs only: a certificate in the file would not revoke */
	if (lookup == NULL ||
	    X509_load_crl_file(lookup, crl_file, X509_FILETYPE_PEM) <= 0) {
		ERR_clear_error();
		return -1;
	}
	return X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK) == 1 ? 0 : -1;
}

/* tls_client_ca = FILE: ask for a client certificate and verify it
 * against FILE (and tls_client_crl); tls_client_cert = required refuses
 * the handshake without a valid one. */
static int tls_client_verify(SSL_CTX *ctx, const struct ph__listener_config *l,
			     char **error_r, const char **key_r)
{
	const char *ca = ph__config_get(l->section, "tls_client_ca");
	const char *mode = ph__config_get(l->section, "tls_client_cert");
	const char *crl = ph__config_get(l->section, "tls_client_crl");
	STACK_OF(X509_NAME) * names;
	char what[512];

	if (ca == NULL || ca[0] == '\0')
		return 0;
	names = SSL_load_client_CA_file(ca);
	if (names == NULL ||
	    SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		if (names != NULL)
			sk_X509_NAME_pop_free(names, X509_NAME_free);
		snprintf(what, sizeof(what), "cannot load tls_client_ca %s",
			 ca);
		*error_r = tls_error(ph__config_section_name(l->section), what);
		*key_r = "tls_client_ca";
		return -1;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	if (crl != NULL && crl[0] != '\0' &&
	    ph__tls_store_add_crl(SSL_CTX_get_cert_store(ctx), crl) < 0) {
		snprintf(what, sizeof(what),
			 "cannot load a CRL from tls_client_crl %s", crl);
		*error_r = tls_error(ph__config_section_name(l->section), what);
		*key_r = "tls_client_crl";
		return -1;
	}
	/* resumed sessions keep the peer certificate: name the context */
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"posthorn",
				       8);
	if (mode != NULL && strcmp(mode, "required") == 0)
		SSL_CTX_set_verify(
		    ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
		    NULL);
	else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tls_verify_optional);
	return 0;
}

SSL_CTX *ph__tls_ctx_build(const struct ph__listener_config *l,
			   const char *where, const char *cert, const char *key,
			   char **error_r, const char **key_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int min = TLS1_2_VERSION;

	*error_r = NULL;
	*key_r = "tls";
	if (ctx == NULL) {
		*error_r = tls_error(where, "SSL_CTX_new");
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
		*error_r = tls_error(where, "ciphers");
		*key_r = "ciphers";
		goto fail;
	}
	if (l->ciphersuites != NULL &&
	    SSL_CTX_set_ciphersuites(ctx, l->ciphersuites) != 1) {
		*error_r = tls_error(where, "ciphersuites");
		*key_r = "ciphersuites";
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		char what[512];

		snprintf(what, sizeof(what), "cannot load cert %s", cert);
		*error_r = tls_error(where, what);
		*key_r = "cert";
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		char what[512];

		snprintf(what, sizeof(what), "cannot load key %s", key);
		*error_r = tls_error(where, what);
		*key_r = "key";
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*error_r =
		    tls_error(where, "key does not match the certificate");
		*key_r = "key";
		goto fail;
	}
	if (tls_client_verify(ctx, l, error_r, key_r) < 0)
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *ph__tls_ctx_create(const struct ph__config *cfg,
			    const struct ph__listener_config *l, char **error_r,
			    const ph_config **section_r, const char **key_r)
{
	SSL_CTX *ctx;

	*section_r = l->section;
	ctx = ph__tls_ctx_build(l, ph__config_section_name(l->section), l->cert,
				l->key, error_r, key_r);
	if (ctx != NULL &&
	    ph__tls_sni_attach(ctx, cfg, l, error_r, section_r, key_r) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int tls_cbind_exporter(SSL *ssl, unsigned char *buf)
{
	static const char label[] = "EXPORTER-Channel-Binding";

	/* TLS 1.3 only. Over TLS 1.2 (with the extended master secret that
	 * RFC 9266 requires there) RFC 5705 tells "no context" from "empty
	 * context" and clients disagree on which RFC 9266 means (Go and
	 * rustls pass none, `openssl s_client -keymatexport` too, BouncyCastle
	 * an empty one); TLS 1.3 derives the same bytes from both. A TLS 1.2
	 * client binds with tls-server-end-point. */
	if (SSL_version(ssl) < TLS1_3_VERSION)
		return PH_ENOTSUP;
	if (SSL_export_keying_material(ssl, buf, 32, label, sizeof(label) - 1,
				       NULL, 0, 1) != 1) {
		ERR_clear_error();
		return PH_ENOTSUP;
	}
	return 32;
}

static int tls_cbind_end_point(SSL *ssl, unsigned char *buf)
{
	X509 *cert = SSL_get_certificate(ssl);
	const EVP_MD *md;
	unsigned len = 0;
	int mdnid = NID_undef;

	if (cert == NULL ||
	    X509_get_signature_info(cert, &mdnid, NULL, NULL, NULL) != 1)
		return PH_ENOTSUP;
	/* RFC 5929 4.1: MD5 and SHA-1 become SHA-256; a signature without
	 * a single hash (Ed25519) leaves the binding undefined */
	if (mdnid == NID_md5 || mdnid == NID_sha1)
		mdnid = NID_sha256;
	md = mdnid != NID_undef ? EVP_get_digestbynid(mdnid) : NULL;
	if (md == NULL || X509_digest(cert, md, buf, &len) != 1) {
		ERR_clear_error();
		return PH_ENOTSUP;
	}
	return (int)len;
}

int ph__tls_cbind(SSL *ssl, const char *type, unsigned char *buf)
{
	if (ssl == NULL || SSL_is_init_finished(ssl) != 1)
		return PH_ENOTSUP;
	if (strcmp(type, "tls-exporter") == 0)
		return tls_cbind_exporter(ssl, buf);
	if (strcmp(type, "tls-server-end-point") == 0)
		return tls_cbind_end_point(ssl, buf);
	return PH_ENOTSUP;
}

/* Copies an ASN.1 string as UTF-8 when it is a usable user name. */
static const char *tls_name_copy(const ASN1_STRING *in, char *buf, size_t size)
{
	unsigned char *utf8 = NULL;
	int n = ASN1_STRING_to_UTF8(&utf8, in), i;
	const char *ret = buf;

	if (n <= 0 || (size_t)n >= size)
		ret = NULL;
	for (i = 0; ret != NULL && i < n; i++) {
		if (utf8[i] < 0x20 || utf8[i] == 0x7f)
			ret = NULL;
	}
	if (ret != NULL) {
		memcpy(buf, utf8, (size_t)n);
		buf[n] = '\0';
	}
	OPENSSL_free(utf8);
	return ret;
}

static const char *tls_subject_field(X509 *cert, int nid, int unique, char *buf,
				     size_t size)
{
	const X509_NAME *name = X509_get_subject_name(cert);
	int i = X509_NAME_get_index_by_NID(name, nid, -1);

	if (i < 0 || (unique && X509_NAME_get_index_by_NID(name, nid, i) >= 0))
		return NULL;
	return tls_name_copy(
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)), buf, size);
}

static const char *tls_cert_email(X509 *cert, char *buf, size_t size)
{
	GENERAL_NAMES *alt =
	    X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	const char *ret = NULL;
	int i, found = 0;

	for (i = 0; alt != NULL && i < sk_GENERAL_NAME_num(alt); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(alt, i);

		if (g->type == GEN_EMAIL) {
			ret = tls_name_copy(g->d.rfc822Name, buf, size);
			found = 1;
			break;
		}
	}
	GENERAL_NAMES_free(alt);
	if (!found)
		ret = tls_subject_field(cert, NID_pkcs9_emailAddress, 1, buf,
					size);
	return ret;
}

const char *ph__tls_cert_user(X509 *cert, const char *field, char *buf,
			      size_t size)
{
	if (cert == NULL)
		return NULL;
	if (field != NULL && strcmp(field, "email") == 0)
		return tls_cert_email(cert, buf, size);
	return tls_subject_field(cert, NID_commonName, 1, buf, size);
}

const char *ph__tls_client_user(SSL *ssl, const char *field, char *buf,
				size_t size)
{
	if (ssl == NULL || SSL_is_init_finished(ssl) != 1 ||
	    SSL_get_verify_result(ssl) != X509_V_OK)
		return NULL;
	return ph__tls_cert_user(SSL_get0_peer_certificate(ssl), field, buf,
				 size);
}

int ph__tls_client_chain(SSL *ssl, struct ph_str *certs, size_t max,
			 unsigned char *buf, size_t size)
{
	X509 *leaf = ssl != NULL ? SSL_get0_peer_certificate(ssl) : NULL;
	STACK_OF(X509) *rest =
	    ssl != NULL ? SSL_get_peer_cert_chain(ssl) : NULL;
	size_t n = 0, used = 0;
	int i;

	if (leaf == NULL)
		return PH_EINVAL;
	/* the leaf, then what else the client sent (on the server side the
	 * peer chain does not hold the leaf; skip it should it ever) */
	for (i = -1; i < (rest != NULL ? sk_X509_num(rest) : 0); i++) {
		X509 *c = i < 0 ? leaf : sk_X509_value(rest, i);
		unsigned char *p = buf + used;
		int len;

		if (i >= 0 && X509_cmp(c, leaf) == 0)
			continue;
		len = i2d_X509(c, NULL);
		if (len <= 0 || n >= max || (size_t)len > size - used)
			return PH_ETOOBIG;
		i2d_X509(c, &p);
		certs[n].data = (const char *)buf + used;
		certs[n].len = (size_t)len;
		used += (size_t)len;
		n++;
	}
	return (int)n;
}
