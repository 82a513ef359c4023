/*
 * posthorn/plugin.h - the plugin descriptor and its settings table.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * `posthorn_plugin`, of type `const struct ph_plugin`:
 *
 *     PH_EXPORT const struct ph_plugin posthorn_plugin = {
 *             PH_PLUGIN_INIT,
 *             .kind = PH_PLUGIN_PROTOCOL,
 *             .name = "echo",
 *             ...
 *     };
 *
 * The loader dlopen()s it with RTLD_NOW | RTLD_LOCAL, checks struct_size
 * and the ABI version, validates the plugin's configuration section against
 * `settings`, then calls init() once per process that uses the plugin
 * (master for config checks is NOT one of them: init only runs where the
 * plugin serves) and fini() at shutdown or reload.
 */
#ifndef POSTHORN_PLUGIN_H
#define POSTHORN_PLUGIN_H

#include "abi.h"

struct ph_core_api;
/* A configuration section as seen by a plugin (opaque). Lookups fall back
 * from a listener section to the plugin's own section to the defaults in
 * the plugin's settings table. */
typedef struct ph_config ph_config;

/* Name of the one exported symbol. */
#define PH_PLUGIN_SYMBOL "posthorn_plugin"

enum ph_plugin_kind {
	PH_PLUGIN_PROTOCOL = 1, /* ops: const struct ph_protocol_ops * */
	PH_PLUGIN_STORAGE = 2,  /* ops: const struct ph_storage_ops * */
	PH_PLUGIN_AUTH = 3,     /* ops: const struct ph_auth_ops * */
};

/* Value types the core validates before a plugin ever sees a value; a bad
 * value is reported with file:line by `posthornd -t`. */
enum ph_setting_type {
	PH_SETTING_STRING = 1,
	PH_SETTING_UINT = 2,  /* decimal, 0 .. UINT64_MAX */
	PH_SETTING_BOOL = 3,  /* yes/no, true/false, on/off, 1/0 */
	PH_SETTING_SIZE = 4,  /* bytes, suffixes k/M/G (1024-based) */
	PH_SETTING_TIME = 5,  /* seconds, suffixes s/m/h/d */
	PH_SETTING_ENUM = 6,  /* one of `enum_values`, a NULL-terminated list */
};

/* One key a plugin accepts. A table ends with an entry whose key is NULL.
 * `default_value` may be NULL (then the key is unset unless configured).
 * `listener` non-zero means the key may also be set per listener section
 * (only meaningful for protocol plugins). */
struct ph_setting_def {
	const char *key;
	enum ph_setting_type type;
	const char *default_value;
	const char *const *enum_values;
	int listener;
	const char *help;
};

/*
 * Called once in each process that uses the plugin (worker or auth
 * service), after privileges are dropped where the process drops them.
 *  api:      the core services table; borrowed, valid until fini().
 *  config:   the plugin's own section; borrowed, valid until fini().
 *  state_r:  set to the plugin's global state, passed back to every op.
 * Returns PH_OK or a negative code with *error_r set (static or owned by
 * the plugin until fini). A failing init stops the process from serving.
 */
typedef int ph_plugin_init_fn(const struct ph_core_api *api,
			      const ph_config *config, void **state_r,
			      const char **error_r);
/* Frees everything init allocated. `state` is what init stored. */
typedef void ph_plugin_fini_fn(void *state);

struct ph_plugin {
	uint32_t struct_size;	/* sizeof(struct ph_plugin) at build time */
	uint16_t abi_major;	/* PH_ABI_MAJOR the plugin was built with */
	uint16_t abi_minor;	/* PH_ABI_MINOR the plugin was built with */
	enum ph_plugin_kind kind;
	const char *name;	/* unique; also its config section's name */
	const char *version;	/* the plugin's own version, free form */
	const char *description;
	const struct ph_setting_def *settings; /* may be NULL: no keys */
	ph_plugin_init_fn *init;
	ph_plugin_fini_fn *fini;	 /* may be NULL */
	const void *ops;		 /* the kind's ops table */
	/* ABI 1.0 ends here. */
};

/* Initialiser that fills the version fields: use it first, always. */
#define PH_PLUGIN_INIT                                                         \
	.struct_size = sizeof(struct ph_plugin), .abi_major = PH_ABI_MAJOR,    \
	.abi_minor = PH_ABI_MINOR

#endif /* POSTHORN_PLUGIN_H */
