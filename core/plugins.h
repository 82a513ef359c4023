/* core/plugins.h - the set of plugins one configuration needs: loaded
 * once each (a second plugin of the same name is refused), validated
 * against their config sections, initialised and finalised in order. */
#ifndef PH_CORE_PLUGINS_H
#define PH_CORE_PLUGINS_H

#include "config.h"
#include "plugin-loader.h"

struct ph__plugin_set {
	struct ph__plugin **items;
	size_t count;
};

/* Loads `name` from cfg->plugin_dir and validates its section (and its
 * listeners' sections). Refuses a name already in the set. */
int ph__plugin_set_add(struct ph__plugin_set *set, struct ph__config *cfg,
		       const char *name, enum ph_plugin_kind kind,
		       char **error_r);
/* Everything `cfg` names: every listener's protocol, the storage plugin,
 * the auth chain; then checks that no section is left unclaimed. */
int ph__plugin_set_load_config(struct ph__plugin_set *set,
			       struct ph__config *cfg, char **error_r);
struct ph__plugin *ph__plugin_set_find(const struct ph__plugin_set *set,
				       const char *name);
/* Initialises the plugins of `kind` in load order. */
int ph__plugin_set_init(struct ph__plugin_set *set, enum ph_plugin_kind kind,
			const struct ph__config *cfg, char **error_r);
/* fini in reverse order, dlclose, empty set. */
void ph__plugin_set_clear(struct ph__plugin_set *set);

#endif
