/* core/plugin-loader.h - dlopen(), ABI check, init/fini of plugins. */
#ifndef PH_CORE_PLUGIN_LOADER_H
#define PH_CORE_PLUGIN_LOADER_H

#include <posthorn/posthorn.h>

struct ph__plugin {
	char *name;	/* as configured */
	char *path;	/* plugin_dir/name.so */
	void *dl;	/* dlopen handle */
	const struct ph_plugin *desc;
	void *state;	/* init()'s state, valid when initialised */
	int initialised;
};

/* Checks a descriptor against the core's ABI and the expected kind and
 * name: struct_size, major == core major, minor <= core minor, kind,
 * name, init and ops present, ops struct_size. Pure: no I/O. On failure
 * writes a message naming both versions into `err` and returns PH_EABI
 * (or PH_EINVAL for a malformed descriptor). */
int ph__plugin_check(const struct ph_plugin *desc, const char *name,
		     enum ph_plugin_kind kind, char *err, size_t err_size);

/* Loads `dir`/`name`.so: refuses world-writable files, dlopen(RTLD_NOW |
 * RTLD_LOCAL), dlsym(PH_PLUGIN_SYMBOL), ph__plugin_check(). Does not call
 * init. On failure returns NULL, *error_r malloc'd. */
struct ph__plugin *ph__plugin_load(const char *dir, const char *name,
				   enum ph_plugin_kind kind, char **error_r);
/* Calls the descriptor's init with the core API and the plugin's config
 * section. */
int ph__plugin_init(struct ph__plugin *p, const struct ph_core_api *api,
		    const ph_config *section, char **error_r);
/* fini (if initialised), dlclose, free; *p = NULL. */
void ph__plugin_unload(struct ph__plugin **p);

#endif
