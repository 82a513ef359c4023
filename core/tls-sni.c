/* core/tls-sni.c - a certificate per server name (TLS SNI, RFC 6066 3).
 *
 * Hosting many domains on one address: each [sni.NAME] section gives a
 * certificate for some names, and every TLS listener gets one context
 * per section, built with the listener's own settings (versions,
 * ciphers, client certificates), so only the certificate differs. The
 * client's server name picks the context in the ClientHello callback
 * (SSL_set_SSL_CTX); no name, or a name no section claims, keeps the
 * listener's certificate: a client that did not ask gets what it always
 * got. The table hangs off the listener's context as ex_data and is
 * freed with it. */
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config-extra.h"
#include "tls.h"

struct sni_entry {
	const char *name; /* borrowed from the config: lower case */
	SSL_CTX *ctx;	  /* one reference per entry */
};

struct sni_table {
	struct sni_entry *e;
	size_t count;
};

static void sni_table_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
			   long argl, void *argp)
{
	struct sni_table *t = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->count; i++)
		SSL_CTX_free(t->e[i].ctx);
	free(t->e);
	free(t);
}

static int sni_index(void)
{
	static int index = -1;

	/* the master creates every context before it forks: no race */
	if (index < 0)
		index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
						 sni_table_free);
	return index;
}

/* `pattern` ("a.example.org" or "*.example.org") covers `name`. */
static int sni_match(const char *pattern, const char *name)
{
	const char *dot;

	if (strncmp(pattern, "*.", 2) != 0)
		return strcasecmp(pattern, name) == 0;
	dot = strchr(name, '.');
	return dot != NULL && dot != name && strcasecmp(pattern + 1, dot) == 0;
}

static SSL_CTX *sni_lookup(const struct sni_table *t, const char *name)
{
	/* an exact name wins over a wildcard, whatever the order */
	for (size_t i = 0; i < t->count; i++) {
		if (strncmp(t->e[i].name, "*.", 2) != 0 &&
		    sni_match(t->e[i].name, name))
			return t->e[i].ctx;
	}
	for (size_t i = 0; i < t->count; i++) {
		if (sni_match(t->e[i].name, name))
			return t->e[i].ctx;
	}
	return NULL;
}

static int sni_servername(SSL *ssl, int *alert, void *arg)
{
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	SSL_CTX *ctx;

	(void)alert;
	if (name == NULL || (ctx = sni_lookup(arg, name)) == NULL)
		return SSL_TLSEXT_ERR_OK; /* the listener's certificate */
	if (SSL_set_SSL_CTX(ssl, ctx) == NULL)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

/* One context per section, shared by that section's names. */
static int sni_fill(struct sni_table *t, const struct ph__config *cfg,
		    const struct ph__listener_config *l, char **error_r,
		    const ph_config **section_r, const char **key_r)
{
	for (size_t i = 0; i < cfg->sni_count; i++) {
		const struct ph__sni_config *s = &cfg->sni[i];
		SSL_CTX *ctx =
		    ph__tls_ctx_build(l, ph__config_section_name(s->section),
				      s->cert, s->key, error_r, key_r);

		if (ctx == NULL) {
			*section_r = s->section;
			return -1;
		}
		for (size_t k = 0; k < s->name_count; k++) {
			t->e[t->count].name = s->names[k];
			t->e[t->count].ctx = ctx;
			t->count++;
			if (k + 1 < s->name_count)
				SSL_CTX_up_ref(ctx);
		}
	}
	return 0;
}

int ph__tls_sni_attach(SSL_CTX *ctx, const struct ph__config *cfg,
		       const struct ph__listener_config *l, char **error_r,
		       const ph_config **section_r, const char **key_r)
{
	struct sni_table *t;
	size_t names = 0;

	if (cfg->sni_count == 0)
		return 0;
	for (size_t i = 0; i < cfg->sni_count; i++)
		names += cfg->sni[i].name_count;
	t = calloc(1, sizeof(*t));
	if (t == NULL || (t->e = calloc(names, sizeof(*t->e))) == NULL ||
	    SSL_CTX_set_ex_data(ctx, sni_index(), t) != 1) {
		free(t != NULL ? t->e : NULL);
		free(t);
		*error_r = strdup("out of memory");
		return -1;
	}
	/* attached first: freed with ctx whatever happens next */
	if (sni_fill(t, cfg, l, error_r, section_r, key_r) < 0)
		return -1;
	SSL_CTX_set_tlsext_servername_callback(ctx, sni_servername);
	SSL_CTX_set_tlsext_servername_arg(ctx, t);
	return 0;
}
