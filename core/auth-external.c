/* core/auth-external.c - the auth service's own check of a client
 * certificate chain for SASL EXTERNAL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include "auth-external.h"
#include "auth-proto.h"
#include "log.h"
#include "tls.h"

struct external_listener {
	char *name, *field;
	X509_STORE *store;
};

struct ph__auth_external {
	struct external_listener *list;
	size_t count;
};

struct ph__auth_external *ph__auth_external_create(void)
{
	return calloc(1, sizeof(struct ph__auth_external));
}

void ph__auth_external_destroy(struct ph__auth_external **x)
{
	size_t i;

	if (*x == NULL)
		return;
	for (i = 0; i < (*x)->count; i++) {
		free((*x)->list[i].name);
		free((*x)->list[i].field);
		X509_STORE_free((*x)->list[i].store);
	}
	free((*x)->list);
	free(*x);
	*x = NULL;
}

int ph__auth_external_add(struct ph__auth_external *x, const char *name,
			  const char *ca_file, const char *field,
			  char **error_r)
{
	struct external_listener *list, *l;
	X509_STORE *store = X509_STORE_new();

	*error_r = NULL;
	/* the file's certificates are the only trust anchors (no default
	 * paths), exactly what the worker's SSL_CTX trusts */
	if (store == NULL || X509_STORE_load_file(store, ca_file) != 1) {
		char buf[256];

		ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
		ERR_clear_error();
		X509_STORE_free(store);
		if (asprintf(error_r,
			     "[listener.%s] cannot load tls_client_ca "
			     "%s: %s",
			     name, ca_file, buf) < 0)
			*error_r = NULL;
		return PH_EINVAL;
	}
	list = realloc(x->list, (x->count + 1) * sizeof(*list));
	if (list == NULL) {
		X509_STORE_free(store);
		return PH_ENOMEM;
	}
	x->list = list;
	l = &list[x->count];
	l->name = strdup(name);
	l->field = strdup(field != NULL ? field : "cn");
	l->store = store;
	x->count++;
	if (l->name == NULL || l->field == NULL)
		return PH_ENOMEM; /* freed with the set */
	return PH_OK;
}

struct ph__auth_external *
ph__auth_external_from_config(const struct ph__config *cfg)
{
	struct ph__auth_external *x = ph__auth_external_create();
	size_t i;

	for (i = 0; x != NULL && i < cfg->listener_count; i++) {
		const struct ph__listener_config *l = &cfg->listeners[i];
		const char *ca = ph__config_get(l->section, "tls_client_ca");
		char *error = NULL;

		if (ca == NULL || ca[0] == '\0')
			continue;
		const char *crl = ph__config_get(l->section, "tls_client_crl");

		if (ph__auth_external_add(
			x, l->name, ca,
			ph__config_get(l->section, "tls_cert_username"),
			&error) < 0 ||
		    (crl != NULL && crl[0] != '\0' &&
		     ph__auth_external_add_crl(x, l->name, crl, &error) < 0)) {
			ph__log_error("auth: %s (EXTERNAL fails there)",
				      error != NULL ? error : "out of memory");
			free(error);
		}
	}
	return x;
}

static const struct external_listener *
external_find(const struct ph__auth_external *x, const char *name)
{
	size_t i;

	for (i = 0; x != NULL && i < x->count; i++) {
		if (x->list[i].name != NULL && x->list[i].field != NULL &&
		    strcmp(x->list[i].name, name) == 0)
			return &x->list[i];
	}
	return NULL;
}

int ph__auth_external_add_crl(struct ph__auth_external *x, const char *name,
			      const char *crl_file, char **error_r)
{
	const struct external_listener *l = external_find(x, name);

	*error_r = NULL;
	if (l == NULL)
		return PH_ENOTFOUND;
	if (ph__tls_store_add_crl(l->store, crl_file) < 0) {
		if (asprintf(error_r,
			     "[listener.%s] cannot load a CRL from "
			     "tls_client_crl %s",
			     name, crl_file) < 0)
			*error_r = NULL;
		return PH_EINVAL;
	}
	return PH_OK;
}

/* One DER certificate, exactly: no trailing bytes. */
static X509 *external_d2i(struct ph_str der)
{
	const unsigned char *p = (const unsigned char *)der.data;
	X509 *cert;

	if (der.len == 0 || der.len > PH__AUTH_MAX_CHAIN_BYTES)
		return NULL;
	cert = d2i_X509(NULL, &p, (long)der.len);
	if (cert != NULL && p != (const unsigned char *)der.data + der.len) {
		X509_free(cert);
		cert = NULL;
	}
	return cert;
}

/* Verifies leaf + untrusted against the store; NULL or the reason. */
static const char *external_check(X509_STORE *store, X509 *leaf,
				  STACK_OF(X509) * untrusted)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	const char *why = NULL;

	if (ctx == NULL ||
	    X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1 ||
	    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) != 1)
		why = "cannot verify (out of memory)";
	else if (X509_verify_cert(ctx) != 1)
		why = X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx));
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return why;
}

int ph__auth_external_verify(const struct ph__auth_external *x,
			     const char *listener, const struct ph_str *chain,
			     size_t count, const char *authzid, char *user_r,
			     size_t size, const char **why_r)
{
	const struct external_listener *l = external_find(x, listener);
	STACK_OF(X509) *untrusted = NULL;
	X509 *leaf = NULL;
	const char *why = NULL;
	size_t i;

	if (size > 0)
		user_r[0] = '\0';
	if (count == 0 || count > PH__AUTH_MAX_CHAIN ||
	    (leaf = external_d2i(chain[0])) == NULL ||
	    (untrusted = sk_X509_new_null()) == NULL)
		why = "malformed certificate";
	for (i = 1; why == NULL && i < count; i++) {
		X509 *c = external_d2i(chain[i]);

		if (c == NULL || sk_X509_push(untrusted, c) <= 0) {
			X509_free(c);
			why = "malformed certificate";
		}
	}
	if (why == NULL && l == NULL)
		why = "no tls_client_ca on that listener";
	if (why == NULL)
		why = external_check(l->store, leaf, untrusted);
	if (why == NULL &&
	    ph__tls_cert_user(leaf, l->field, user_r, size) == NULL) {
		if (size > 0)
			user_r[0] = '\0';
		why = "no user in the certificate";
	}
	if (why == NULL && authzid != NULL && authzid[0] != '\0' &&
	    strcmp(authzid, user_r) != 0)
		why = "authorization identity not allowed";
	/* for the failure's log line: whom the certificate claims */
	if (why != NULL && leaf != NULL && size > 0 && user_r[0] == '\0' &&
	    ph__tls_cert_user(leaf, l != NULL ? l->field : "cn", user_r,
			      size) == NULL)
		user_r[0] = '\0';
	X509_free(leaf);
	sk_X509_pop_free(untrusted, X509_free);
	ERR_clear_error();
	*why_r = why;
	return why == NULL ? PH_OK : PH_EAUTH;
}
