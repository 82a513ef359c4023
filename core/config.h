/* core/config.h - posthorn.ini: parsing (inih), validation with file:line,
 * lookups with fallback, and printing the effective configuration (-t). */
#ifndef PH_CORE_CONFIG_H
#define PH_CORE_CONFIG_H

#include <stdio.h>
#include <posthorn/plugin.h>
#include <posthorn/core.h>

/* struct ph_config (typedef ph_config in plugin.h) is one section: its
 * name, its key/value entries with their line numbers, the settings table
 * that validated it (or NULL), and a parent section consulted when a key
 * is missing (listener -> protocol plugin section). */

struct ph__listener_config {
	char *name;	/* "imap" for [listener.imap] */
	char *protocol; /* protocol plugin name */
	char **listen;	/* "127.0.0.1:143", "[::1]:143" */
	size_t listen_count;
	enum ph_tls_mode tls;
	char *cert, *key;      /* PEM paths; required unless tls = none */
	char *ciphers;	       /* OpenSSL cipher list for TLS <= 1.2, or NULL */
	char *ciphersuites;    /* TLS 1.3 suites, or NULL */
	char *tls_min_version; /* "TLSv1.2" (default) or "TLSv1.3" */
	int allow_plaintext;   /* plaintext auth without TLS */
	unsigned max_connections; /* per listener, 0 = core limit */
	ph_config *section; /* the [listener.NAME] section (parent: plugin) */
};

/* One [sni.NAME] section: a certificate for the server names `names`
 * ("mail.example.org", "*.example.org"; lower case), offered on every
 * TLS listener to clients that ask for one of them (tls-sni.c). */
struct ph__sni_config {
	const ph_config *section;
	const char *cert, *key; /* the section's values */
	char **names;
	size_t name_count;
};

struct ph__config {
	char *path;
	/* [core] */
	char *plugin_dir;
	char *user;	  /* workers drop to this user; NULL = stay */
	unsigned workers; /* resolved: "auto" -> nproc */
	char *log_target; /* "stderr" | "syslog" */
	enum ph_log_level log_level;
	char *state_dir;		 /* sockets, pid file */
	unsigned max_connections;	 /* per worker */
	unsigned max_connections_per_ip; /* per worker */
	unsigned idle_timeout;		 /* seconds, default for protocols */
	size_t output_limit; /* hard write-queue limit per connection */
	/* [storage] */
	char *storage_plugin; /* NULL = none */
	/* [auth] */
	char **auth_plugins;
	size_t auth_plugin_count;
	unsigned auth_workers; /* threads in the auth service */
	/* listeners */
	struct ph__listener_config *listeners;
	size_t listener_count;
	/* [sni.NAME] sections: certificates chosen by server name */
	struct ph__sni_config *sni;
	size_t sni_count;
	/* every section, in file order (core, plugin and listener ones) */
	ph_config **sections;
	size_t section_count;
};

/* Parses and validates the core sections of `path`. Plugin sections are
 * kept raw until ph__config_validate_plugin(). On failure returns NULL
 * and *error_r = "FILE:LINE: message" (malloc'd, caller frees). */
struct ph__config *ph__config_load(const char *path, char **error_r);
void ph__config_free(struct ph__config **cfg);

/* The section named `name` ("pop3", "listener.imap"), or NULL. */
ph_config *ph__config_section(const struct ph__config *cfg, const char *name);

/* Validates section `plugin_name` (which may be absent: then it is
 * created empty) and every listener section whose protocol is this plugin
 * against `defs` (NULL = accepts no keys). Unknown keys and bad values
 * fail with "FILE:LINE: ..." in *error_r (malloc'd). Afterwards the
 * section and its listeners resolve defaults from `defs`. */
int ph__config_validate_plugin(struct ph__config *cfg, const char *plugin_name,
			       const struct ph_setting_def *defs,
			       char **error_r);

/* Lookups used by the core API (config_get / config_get_uint). */
const char *ph__config_get(const ph_config *section, const char *key);
int ph__config_get_uint(const ph_config *section, const char *key,
			uint64_t *value_r);

/* Converts a value of `type` to a number (bytes, seconds, 0/1); returns
 * PH_OK or PH_EINVAL. Shared by validation and lookups. */
int ph__config_parse_value(enum ph_setting_type type, const char *value,
			   const char *const *enum_values, uint64_t *number_r);

/* Prints the effective configuration (every section, defaults filled in,
 * keys sorted as in their tables) as INI. */
void ph__config_print(const struct ph__config *cfg, FILE *out);

#endif
