/* imap4-plugin.c - the plugin descriptor, init and fini, and the settings
 * each connection sees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "imap4-private.h"

extern const struct ph_protocol_ops imap_protocol_ops;

/* A section being loaded, for the loader's callbacks. */
struct settings_source {
	const struct ph_core_api *api;
	const ph_config *config;
	const ph_config *parent; /* [imap4] under a listener section */
	char section[128];	 /* for the log: "imap4", "listener.imap" */
};

static const char *settings_get(void *ctx, const char *key, uint64_t *value_r)
{
	const struct settings_source *src = ctx;
	const char *raw = src->api->config_get(src->config, key);

	/* typed keys: the core validated them at load, so this holds */
	if (raw == NULL ||
	    src->api->config_get_uint(src->config, key, value_r) != PH_OK)
		return NULL;
	return raw;
}

static void settings_warn(void *ctx, const char *key, const char *text)
{
	const struct settings_source *src = ctx;

	if (src->parent != NULL) {
		/* an inherited value was reported with [imap4] at init */
		const char *mine = src->api->config_get(src->config, key);
		const char *theirs = src->api->config_get(src->parent, key);

		if (mine != NULL && theirs != NULL && strcmp(mine, theirs) == 0)
			return;
	}
	src->api->log(PH_LOG_WARNING, "[%s] %s", src->section, text);
}

static struct imap_settings_entry *
settings_entry_load(struct settings_source *src)
{
	struct imap_settings_entry *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->config = src->config;
	(void)imap_settings_load(&e->set, settings_get, src, settings_warn,
				 src);
	return e;
}

const struct imap_settings *imap_plugin_settings(struct imap_plugin *p,
						 ph_conn *conn)
{
	struct settings_source src = {.api = p->api, .parent = p->config};
	struct ph_conn_info info = PH_CONN_INFO_INIT;
	struct imap_settings_entry *e;

	src.config = p->api->conn_config(conn);
	if (src.config == NULL)
		return &p->settings->set;
	for (e = p->settings; e != NULL; e = e->next) {
		if (e->config == src.config)
			return &e->set;
	}
	if (p->api->conn_info(conn, &info) == PH_OK && info.listener != NULL)
		snprintf(src.section, sizeof(src.section), "listener.%s",
			 info.listener);
	else
		snprintf(src.section, sizeof(src.section), "listener");
	e = settings_entry_load(&src);
	if (e == NULL)
		return &p->settings->set; /* out of memory: the defaults */
	/* after the [imap4] entry, which stays first */
	e->next = p->settings->next;
	p->settings->next = e;
	return &e->set;
}

static int imap_init(const struct ph_core_api *api, const ph_config *config,
		     void **state_r, const char **error_r)
{
	struct imap_plugin *p = calloc(1, sizeof(*p));
	struct settings_source src = {.api = api, .config = config};

	if (p == NULL) {
		*error_r = "out of memory";
		return PH_ENOMEM;
	}
	p->api = api;
	p->config = config;
	snprintf(src.section, sizeof(src.section), "imap4");
	p->settings = settings_entry_load(&src);
	if (p->settings == NULL) {
		free(p);
		*error_r = "out of memory";
		return PH_ENOMEM;
	}
	*state_r = p;
	return PH_OK;
}

static void imap_fini(void *state)
{
	struct imap_plugin *p = state;

	while (p->settings != NULL) {
		struct imap_settings_entry *next = p->settings->next;

		free(p->settings);
		p->settings = next;
	}
	free(p);
}

PH_EXPORT const struct ph_plugin posthorn_plugin = {
    PH_PLUGIN_INIT,
    .kind = PH_PLUGIN_PROTOCOL,
    .name = "imap4",
    .version = "0.1.0",
    .description = "IMAP4rev1 (RFC 3501)",
    .settings = imap_setting_defs,
    .init = imap_init,
    .fini = imap_fini,
    .ops = &imap_protocol_ops,
};
