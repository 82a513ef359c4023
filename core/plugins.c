/* core/plugins.c - a configuration's plugin set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config-extra.h"
#include "plugins.h"

struct ph__plugin *ph__plugin_set_find(const struct ph__plugin_set *set,
				       const char *name)
{
	for (size_t i = 0; i < set->count; i++) {
		if (strcmp(set->items[i]->name, name) == 0)
			return set->items[i];
	}
	return NULL;
}

/* Points a load failure at the line that named the plugin. */
static void prefix_location(struct ph__config *cfg, const char *name,
			    enum ph_plugin_kind kind, char **error_r)
{
	const ph_config *sec = NULL;
	const char *key = NULL;
	char *msg = NULL;

	if (kind == PH_PLUGIN_STORAGE) {
		sec = ph__config_section(cfg, "storage");
		key = "plugin";
	} else if (kind == PH_PLUGIN_AUTH) {
		sec = ph__config_section(cfg, "auth");
		key = "plugins";
	} else {
		for (size_t i = 0; i < cfg->listener_count; i++) {
			if (strcmp(cfg->listeners[i].protocol, name) == 0) {
				sec = cfg->listeners[i].section;
				key = "protocol";
				break;
			}
		}
	}
	if (sec == NULL || *error_r == NULL)
		return;
	if (asprintf(&msg, "%s:%d: %s", ph__config_section_file(sec),
		     ph__config_key_line(sec, key), *error_r) < 0)
		return;
	free(*error_r);
	*error_r = msg;
}

int ph__plugin_set_add(struct ph__plugin_set *set, struct ph__config *cfg,
		       const char *name, enum ph_plugin_kind kind,
		       char **error_r)
{
	struct ph__plugin *p = ph__plugin_set_find(set, name), **items;

	*error_r = NULL;
	if (p != NULL) {
		if (asprintf(error_r,
			     "refusing plugin '%s': a plugin of that name is "
			     "already loaded from %s",
			     name, p->path) < 0)
			*error_r = NULL;
		return PH_EEXISTS;
	}
	p = ph__plugin_load(cfg->plugin_dir, name, kind, error_r);
	if (p == NULL) {
		prefix_location(cfg, name, kind, error_r);
		return PH_EINVAL;
	}
	if (ph__config_validate_plugin(cfg, name, p->desc->settings, error_r) <
	    0) {
		ph__plugin_unload(&p);
		return PH_EINVAL;
	}
	items = realloc(set->items, (set->count + 1) * sizeof(*items));
	if (items == NULL) {
		ph__plugin_unload(&p);
		*error_r = strdup("out of memory");
		return PH_ENOMEM;
	}
	set->items = items;
	set->items[set->count++] = p;
	return PH_OK;
}

int ph__plugin_set_load_config(struct ph__plugin_set *set,
			       struct ph__config *cfg, char **error_r)
{
	for (size_t i = 0; i < cfg->listener_count; i++) {
		const char *proto = cfg->listeners[i].protocol;
		const struct ph__plugin *p = ph__plugin_set_find(set, proto);

		if (p != NULL && p->desc->kind == PH_PLUGIN_PROTOCOL)
			continue;
		if (ph__plugin_set_add(set, cfg, proto, PH_PLUGIN_PROTOCOL,
				       error_r) < 0)
			return PH_EINVAL;
	}
	if (cfg->storage_plugin != NULL &&
	    ph__plugin_set_add(set, cfg, cfg->storage_plugin, PH_PLUGIN_STORAGE,
			       error_r) < 0)
		return PH_EINVAL;
	for (size_t i = 0; i < cfg->auth_plugin_count; i++) {
		if (ph__plugin_set_add(set, cfg, cfg->auth_plugins[i],
				       PH_PLUGIN_AUTH, error_r) < 0)
			return PH_EINVAL;
	}
	return ph__config_check_sections(cfg, error_r);
}

int ph__plugin_set_init(struct ph__plugin_set *set, enum ph_plugin_kind kind,
			const struct ph__config *cfg, char **error_r)
{
	*error_r = NULL;
	for (size_t i = 0; i < set->count; i++) {
		struct ph__plugin *p = set->items[i];
		int ret;

		if (p->desc->kind != kind || p->initialised)
			continue;
		ret = ph__plugin_init(
		    p, ph__api(), ph__config_section(cfg, p->name), error_r);
		if (ret < 0)
			return ret;
	}
	return PH_OK;
}

void ph__plugin_set_clear(struct ph__plugin_set *set)
{
	while (set->count > 0)
		ph__plugin_unload(&set->items[--set->count]);
	free(set->items);
	set->items = NULL;
}
