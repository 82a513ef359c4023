/* core/config.c - posthorn.ini through inih. A custom line reader counts
 * lines and sees section headers (inih reports neither), so every error
 * carries FILE:LINE and empty or duplicate sections are caught. */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "config-extra.h"
#include "config.h"
#include "log.h"

#ifndef PH_PLUGIN_DIR_DEFAULT
#define PH_PLUGIN_DIR_DEFAULT "/usr/lib/posthorn/plugins"
#endif
#define PH_INI_MAX_LINE 4096

struct ph__config_entry {
	char *key;
	char *value;
	int line;
};

struct ph_config {
	char *name;
	const char *file; /* the config path, owned by struct ph__config */
	int line;	  /* header line; 0 when created implicitly */
	struct ph__config_entry *entries;
	size_t count, cap;
	const struct ph_setting_def *defs;
	struct ph_config *parent;
	int validated;
};

static const char *const log_targets[] = {"stderr", "syslog", NULL};
static const char *const log_levels[] = {"debug",   "info",  "notice",
					 "warning", "error", NULL};
static const char *const tls_modes[] = {"none", "starttls", "implicit", NULL};
static const char *const tls_versions[] = {"TLSv1.2", "TLSv1.3", NULL};
static const char *const client_cert_modes[] = {"optional", "required", NULL};
static const char *const cert_user_fields[] = {"cn", "email", NULL};

static const struct ph_setting_def core_defs[] = {
    {"plugin_dir", PH_SETTING_STRING, PH_PLUGIN_DIR_DEFAULT, NULL, 0,
     "directory of <name>.so plugins"},
    {"user", PH_SETTING_STRING, NULL, NULL, 0,
     "workers drop privileges to this user"},
    {"workers", PH_SETTING_STRING, "auto", NULL, 0,
     "worker processes: auto (= CPUs) or a number"},
    {"log", PH_SETTING_ENUM, "stderr", log_targets, 0, "log target"},
    {"log_level", PH_SETTING_ENUM, "info", log_levels, 0,
     "lowest level logged"},
    {"state_dir", PH_SETTING_STRING, "/run/posthorn", NULL, 0,
     "sockets and pid file"},
    {"max_connections", PH_SETTING_UINT, "10000", NULL, 0,
     "connections per worker"},
    {"max_connections_per_ip", PH_SETTING_UINT, "100", NULL, 0,
     "connections per client IP per worker (0 = no limit)"},
    {"idle_timeout", PH_SETTING_TIME, "30m", NULL, 0,
     "default idle timeout of a connection"},
    {"output_limit", PH_SETTING_SIZE, "4M", NULL, 0,
     "queued output per connection before it is closed"},
    {"input_buffer", PH_SETTING_SIZE, "64k", NULL, 0,
     "input buffer per connection"},
    {"handshake_timeout", PH_SETTING_TIME, "30s", NULL, 0,
     "TLS handshake timeout"},
    {"shutdown_timeout", PH_SETTING_TIME, "10s", NULL, 0,
     "how long a stopping worker waits for output to drain"},
    {NULL, 0, NULL, NULL, 0, NULL},
};

static const struct ph_setting_def storage_defs[] = {
    {"plugin", PH_SETTING_STRING, NULL, NULL, 0, "storage plugin"},
    {NULL, 0, NULL, NULL, 0, NULL},
};

static const struct ph_setting_def auth_defs[] = {
    {"plugins", PH_SETTING_STRING, NULL, NULL, 0,
     "auth plugin chain, space separated"},
    {"workers", PH_SETTING_UINT, "4", NULL, 0,
     "threads running auth plugin calls"},
    {"first_valid_uid", PH_SETTING_UINT, "500", NULL, 0,
     "system users below this uid (and uid 0) may not log in"},
    /* brute-force protection (core/auth-penalty.h) */
    {"penalty_base", PH_SETTING_TIME, "1s", NULL, 0,
     "delay before the 2nd failure answer; doubles per failure"},
    {"penalty_max", PH_SETTING_TIME, "15s", NULL, 0,
     "cap of the failure delay (at most 30s)"},
    {"penalty_window", PH_SETTING_TIME, "15m", NULL, 0,
     "how long failures are remembered: the lockout window"},
    {"lockout_failures", PH_SETTING_UINT, "50", NULL, 0,
     "failures per IP within the window that lock it out (0 = never)"},
    {"penalty_entries", PH_SETTING_UINT, "65536", NULL, 0,
     "IP and user failure counters kept (least recent forgotten)"},
    /* per-user session processes (core/auth-ticket.h) */
    {"session_ticket_ttl", PH_SETTING_TIME, "60s", NULL, 0,
     "how long a login's session ticket may be redeemed (1s to 10m)"},
    {NULL, 0, NULL, NULL, 0, NULL},
};

static const struct ph_setting_def sni_defs[] = {
    {"names", PH_SETTING_STRING, NULL, NULL, 0,
     "server names this certificate is for (default: the section's NAME); "
     "*.domain for one more label"},
    {"cert", PH_SETTING_STRING, NULL, NULL, 0, "PEM certificate chain"},
    {"key", PH_SETTING_STRING, NULL, NULL, 0, "PEM private key"},
    {NULL, 0, NULL, NULL, 0, NULL},
};

static const struct ph_setting_def listener_defs[] = {
    {"protocol", PH_SETTING_STRING, NULL, NULL, 0, "protocol plugin"},
    {"listen", PH_SETTING_STRING, NULL, NULL, 0,
     "addresses: 127.0.0.1:143, [::1]:143"},
    {"tls", PH_SETTING_ENUM, "none", tls_modes, 0,
     "none, starttls or implicit"},
    {"cert", PH_SETTING_STRING, NULL, NULL, 0, "PEM certificate chain"},
    {"key", PH_SETTING_STRING, NULL, NULL, 0, "PEM private key"},
    {"ciphers", PH_SETTING_STRING, NULL, NULL, 0,
     "OpenSSL cipher list (TLS <= 1.2)"},
    {"ciphersuites", PH_SETTING_STRING, NULL, NULL, 0, "TLS 1.3 cipher suites"},
    {"tls_min_version", PH_SETTING_ENUM, "TLSv1.2", tls_versions, 0,
     "oldest TLS version accepted"},
    {"allow_plaintext", PH_SETTING_BOOL, "no", NULL, 0,
     "plaintext authentication without TLS"},
    {"max_connections", PH_SETTING_UINT, "0", NULL, 0,
     "connections on this listener per worker (0 = core limit)"},
    {"tls_client_ca", PH_SETTING_STRING, NULL, NULL, 0,
     "PEM CA file: ask for client certificates verified against it "
     "(SASL EXTERNAL)"},
    {"tls_client_cert", PH_SETTING_ENUM, "optional", client_cert_modes, 0,
     "optional or required (handshake refused without a valid one)"},
    {"tls_cert_username", PH_SETTING_ENUM, "cn", cert_user_fields, 0,
     "client certificate field naming the user: cn or email"},
    {"tls_client_crl", PH_SETTING_STRING, NULL, NULL, 0,
     "PEM CRL file: client certificates it revokes are refused (reread "
     "on reload)"},
    {NULL, 0, NULL, NULL, 0, NULL},
};

static char *config_error(const ph_config *sec, int line, const char *fmt, ...)
    PH_PRINTF(3, 4);

static char *config_error(const ph_config *sec, int line, const char *fmt, ...)
{
	char *msg = NULL, *out = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (asprintf(&out, "%s:%d: %s", sec != NULL ? sec->file : "?", line,
		     msg != NULL ? msg : "error") < 0)
		out = NULL;
	free(msg);
	return out;
}

static const struct ph_setting_def *defs_find(const struct ph_setting_def *defs,
					      const char *key)
{
	for (; defs != NULL && defs->key != NULL; defs++) {
		if (strcmp(defs->key, key) == 0)
			return defs;
	}
	return NULL;
}

static struct ph__config_entry *section_entry(const ph_config *sec,
					      const char *key)
{
	for (size_t i = 0; i < sec->count; i++) {
		if (strcmp(sec->entries[i].key, key) == 0)
			return &sec->entries[i];
	}
	return NULL;
}

/* ---- values ---- */

static int parse_number(const char *value, uint64_t *n_r, const char **end_r)
{
	uint64_t n = 0;
	const char *p = value;

	if (*p < '0' || *p > '9')
		return PH_EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return PH_EINVAL;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*n_r = n;
	*end_r = p;
	return PH_OK;
}

static int scale(uint64_t n, uint64_t mult, uint64_t *r)
{
	if (mult != 0 && n > UINT64_MAX / mult)
		return PH_EINVAL;
	*r = n * mult;
	return PH_OK;
}

int ph__config_parse_value(enum ph_setting_type type, const char *value,
			   const char *const *enum_values, uint64_t *number_r)
{
	uint64_t n = 0, dummy;
	const char *end;

	if (number_r == NULL)
		number_r = &dummy;
	*number_r = 0;
	switch (type) {
	case PH_SETTING_STRING:
		return PH_OK;
	case PH_SETTING_UINT:
		if (parse_number(value, &n, &end) < 0 || *end != '\0')
			return PH_EINVAL;
		*number_r = n;
		return PH_OK;
	case PH_SETTING_BOOL:
		if (strcasecmp(value, "yes") == 0 ||
		    strcasecmp(value, "true") == 0 ||
		    strcasecmp(value, "on") == 0 || strcmp(value, "1") == 0) {
			*number_r = 1;
			return PH_OK;
		}
		if (strcasecmp(value, "no") == 0 ||
		    strcasecmp(value, "false") == 0 ||
		    strcasecmp(value, "off") == 0 || strcmp(value, "0") == 0)
			return PH_OK;
		return PH_EINVAL;
	case PH_SETTING_SIZE: {
		uint64_t mult = 1;

		if (parse_number(value, &n, &end) < 0)
			return PH_EINVAL;
		switch (*end) {
		case '\0':
			break;
		case 'k':
		case 'K':
			mult = 1024;
			end++;
			break;
		case 'm':
		case 'M':
			mult = UINT64_C(1024) * 1024;
			end++;
			break;
		case 'g':
		case 'G':
			mult = UINT64_C(1024) * 1024 * 1024;
			end++;
			break;
		default:
			return PH_EINVAL;
		}
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end != '\0')
			return PH_EINVAL;
		return scale(n, mult, number_r);
	}
	case PH_SETTING_TIME: {
		uint64_t mult = 1;

		if (parse_number(value, &n, &end) < 0)
			return PH_EINVAL;
		switch (*end) {
		case '\0':
			break;
		case 's':
			end++;
			break;
		case 'm':
			mult = 60;
			end++;
			break;
		case 'h':
			mult = 3600;
			end++;
			break;
		case 'd':
			mult = 86400;
			end++;
			break;
		default:
			return PH_EINVAL;
		}
		if (*end != '\0')
			return PH_EINVAL;
		return scale(n, mult, number_r);
	}
	case PH_SETTING_ENUM:
		for (size_t i = 0;
		     enum_values != NULL && enum_values[i] != NULL; i++) {
			if (strcasecmp(value, enum_values[i]) == 0) {
				*number_r = i;
				return PH_OK;
			}
		}
		return PH_EINVAL;
	}
	return PH_EINVAL;
}

static const char *type_hint(const struct ph_setting_def *def, char *buf,
			     size_t size)
{
	size_t len = 0;

	switch (def->type) {
	case PH_SETTING_STRING:
		return "a string";
	case PH_SETTING_UINT:
		return "a non-negative integer";
	case PH_SETTING_BOOL:
		return "yes or no";
	case PH_SETTING_SIZE:
		return "a size such as 512k, 10M or 1G";
	case PH_SETTING_TIME:
		return "a time such as 30s, 10m, 2h or 1d";
	case PH_SETTING_ENUM:
		buf[0] = '\0';
		for (size_t i = 0;
		     def->enum_values != NULL && def->enum_values[i] != NULL;
		     i++) {
			int n = snprintf(buf + len, size - len, "%s%s",
					 i == 0 ? "one of " : ", ",
					 def->enum_values[i]);
			if (n < 0 || (size_t)n >= size - len)
				break;
			len += (size_t)n;
		}
		return buf;
	}
	return "?";
}

/* Checks one entry against its definition. */
static int check_value(const ph_config *sec, const struct ph__config_entry *e,
		       const struct ph_setting_def *def, char **error_r)
{
	char hint[256];

	if (ph__config_parse_value(def->type, e->value, def->enum_values,
				   NULL) == PH_OK)
		return PH_OK;
	*error_r = config_error(
	    sec, e->line, "[%s] %s: bad value '%s' (expected %s)", sec->name,
	    e->key, e->value, type_hint(def, hint, sizeof(hint)));
	return PH_EINVAL;
}

/* Validates every entry of `sec` against `defs`. With `lenient`, keys
 * absent from defs are left for a plugin table to claim later. */
static int validate_section(ph_config *sec, const struct ph_setting_def *defs,
			    int lenient, char **error_r)
{
	for (size_t i = 0; i < sec->count; i++) {
		const struct ph__config_entry *e = &sec->entries[i];
		const struct ph_setting_def *def = defs_find(defs, e->key);

		if (def == NULL) {
			if (lenient)
				continue;
			*error_r = config_error(sec, e->line,
						"unknown key '%s' in [%s]",
						e->key, sec->name);
			return PH_EINVAL;
		}
		if (check_value(sec, e, def, error_r) < 0)
			return PH_EINVAL;
	}
	sec->defs = defs;
	sec->validated = 1;
	return PH_OK;
}

/* ---- sections ---- */

static ph_config *section_add(struct ph__config *cfg, const char *name,
			      int line)
{
	ph_config *sec, **sections;

	sections = realloc(cfg->sections,
			   (cfg->section_count + 1) * sizeof(*sections));
	if (sections == NULL)
		return NULL;
	cfg->sections = sections;
	sec = calloc(1, sizeof(*sec));
	if (sec == NULL)
		return NULL;
	sec->name = strdup(name);
	if (sec->name == NULL) {
		free(sec);
		return NULL;
	}
	sec->file = cfg->path;
	sec->line = line;
	cfg->sections[cfg->section_count++] = sec;
	return sec;
}

static int section_set(ph_config *sec, const char *key, const char *value,
		       int line)
{
	if (sec->count == sec->cap) {
		size_t cap = sec->cap ? sec->cap * 2 : 8;
		struct ph__config_entry *e =
		    realloc(sec->entries, cap * sizeof(*e));

		if (e == NULL)
			return PH_ENOMEM;
		sec->entries = e;
		sec->cap = cap;
	}
	struct ph__config_entry *e = &sec->entries[sec->count];

	e->key = strdup(key);
	e->value = strdup(value);
	e->line = line;
	if (e->key == NULL || e->value == NULL) {
		free(e->key);
		free(e->value);
		return PH_ENOMEM;
	}
	sec->count++;
	return PH_OK;
}

ph_config *ph__config_section(const struct ph__config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->section_count; i++) {
		if (strcmp(cfg->sections[i]->name, name) == 0)
			return cfg->sections[i];
	}
	return NULL;
}

const char *ph__config_section_name(const ph_config *section)
{
	return section->name;
}

/* ---- lookups ---- */

const char *ph__config_get(const ph_config *section, const char *key)
{
	for (const ph_config *sec = section; sec != NULL; sec = sec->parent) {
		const struct ph__config_entry *e = section_entry(sec, key);
		const struct ph_setting_def *def;

		if (e != NULL)
			return e->value;
		def = defs_find(sec->defs, key);
		if (def != NULL && def->default_value != NULL)
			return def->default_value;
	}
	return NULL;
}

static const struct ph_setting_def *lookup_def(const ph_config *section,
					       const char *key)
{
	for (const ph_config *sec = section; sec != NULL; sec = sec->parent) {
		const struct ph_setting_def *def = defs_find(sec->defs, key);

		if (def != NULL)
			return def;
	}
	return NULL;
}

int ph__config_get_uint(const ph_config *section, const char *key,
			uint64_t *value_r)
{
	const struct ph_setting_def *def = lookup_def(section, key);
	const char *value = ph__config_get(section, key);

	*value_r = 0;
	if (value == NULL)
		return PH_ENOTFOUND;
	if (def == NULL)
		return ph__config_parse_value(PH_SETTING_UINT, value, NULL,
					      value_r);
	if (def->type == PH_SETTING_STRING)
		return ph__config_parse_value(PH_SETTING_UINT, value, NULL,
					      value_r);
	return ph__config_parse_value(def->type, value, def->enum_values,
				      value_r);
}

static uint64_t get_num(const ph_config *sec, const char *key)
{
	uint64_t v = 0;

	(void)ph__config_get_uint(sec, key, &v);
	return v;
}

uint64_t ph__config_core_uint(const struct ph__config *cfg, const char *key)
{
	const ph_config *sec = ph__config_section(cfg, "core");

	return sec != NULL ? get_num(sec, key) : 0;
}

unsigned ph__config_first_valid_uid(const struct ph__config *cfg)
{
	const ph_config *sec = ph__config_section(cfg, "auth");

	return sec != NULL ? (unsigned)get_num(sec, "first_valid_uid") : 500;
}

static int entry_line(const ph_config *sec, const char *key)
{
	const struct ph__config_entry *e = section_entry(sec, key);

	return e != NULL ? e->line : sec->line;
}

int ph__config_key_line(const ph_config *section, const char *key)
{
	return entry_line(section, key);
}

const char *ph__config_section_file(const ph_config *section)
{
	return section->file;
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* ---- parsing ---- */

struct parse_state {
	struct ph__config *cfg;
	FILE *f;
	int line;
	ph_config *cur;
	char *error;
	char *buf;
	size_t buf_size;
};

static void parse_fail(struct parse_state *st, char *msg)
{
	if (st->error == NULL)
		st->error = msg;
	else
		free(msg);
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}

/* fgets-style reader for inih: one call per physical line. */
static char *parse_reader(char *str, int num, void *stream)
{
	struct parse_state *st = stream;
	ssize_t len = getline(&st->buf, &st->buf_size, st->f);
	char *s;

	if (len < 0)
		return NULL;
	st->line++;
	if ((size_t)len >= (size_t)num) {
		ph_config fake = {.file = st->cfg->path};

		parse_fail(st,
			   config_error(&fake, st->line,
					"line longer than %d bytes", num - 1));
		str[0] = '\0';
		return str;
	}
	memcpy(str, st->buf, (size_t)len + 1);
	s = trim(st->buf);
	if (*s == '[') {
		char *close = strchr(s, ']');
		ph_config fake = {.file = st->cfg->path};

		if (close == NULL) {
			parse_fail(
			    st, config_error(&fake, st->line, "missing ']'"));
			return str;
		}
		*close = '\0';
		s = trim(s + 1);
		ph_config *prev = ph__config_section(st->cfg, s);

		if (*s == '\0') {
			parse_fail(st, config_error(&fake, st->line,
						    "empty section name"));
		} else if (prev != NULL) {
			parse_fail(st,
				   config_error(&fake, st->line,
						"duplicate section [%s] (first "
						"at line %d)",
						s, prev->line));
			st->cur = prev;
		} else {
			st->cur = section_add(st->cfg, s, st->line);
			if (st->cur == NULL)
				parse_fail(st, strdup("out of memory"));
		}
	}
	return str;
}

static int parse_handler(void *user, const char *section, const char *name,
			 const char *value)
{
	struct parse_state *st = user;
	const struct ph__config_entry *prev;

	if (st->cur == NULL || strcmp(st->cur->name, section) != 0) {
		ph_config fake = {.file = st->cfg->path};

		parse_fail(st,
			   config_error(&fake, st->line,
					"key '%s' outside of a section", name));
		return 0;
	}
	prev = section_entry(st->cur, name);
	if (prev != NULL) {
		parse_fail(st, config_error(st->cur, st->line,
					    "duplicate key '%s' in [%s] (first "
					    "at line %d)",
					    name, st->cur->name, prev->line));
		return 0;
	}
	if (section_set(st->cur, name, value, st->line) < 0) {
		parse_fail(st, strdup("out of memory"));
		return 0;
	}
	return 1;
}

static char **split_list(const char *value, const char *seps, size_t *count_r)
{
	char *copy = strdup(value), *save = NULL, *tok;
	char **items = NULL;
	size_t n = 0;

	*count_r = 0;
	if (copy == NULL)
		return NULL;
	for (tok = strtok_r(copy, seps, &save); tok != NULL;
	     tok = strtok_r(NULL, seps, &save)) {
		char **more = realloc(items, (n + 2) * sizeof(*items));

		if (more == NULL)
			break;
		items = more;
		items[n] = strdup(trim(tok));
		if (items[n] == NULL)
			break;
		if (items[n][0] == '\0') {
			free(items[n]);
			continue;
		}
		n++;
		items[n] = NULL;
	}
	free(copy);
	*count_r = n;
	return items;
}

static void free_list(char **items, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(items[i]);
	free(items);
}

static int load_core(struct ph__config *cfg, char **error_r)
{
	ph_config *sec = ph__config_section(cfg, "core");
	const char *v;
	int level;

	if (sec == NULL && (sec = section_add(cfg, "core", 0)) == NULL)
		return PH_ENOMEM;
	if (validate_section(sec, core_defs, 0, error_r) < 0)
		return PH_EINVAL;
	cfg->plugin_dir = dup_or_null(ph__config_get(sec, "plugin_dir"));
	cfg->user = dup_or_null(ph__config_get(sec, "user"));
	if (cfg->user != NULL && cfg->user[0] == '\0') {
		free(cfg->user);
		cfg->user = NULL;
	}
	v = ph__config_get(sec, "workers");
	if (strcasecmp(v, "auto") == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		cfg->workers = n > 0 ? (unsigned)n : 1;
	} else {
		uint64_t n;

		if (ph__config_parse_value(PH_SETTING_UINT, v, NULL, &n) < 0 ||
		    n == 0 || n > 1024) {
			*error_r =
			    config_error(sec, entry_line(sec, "workers"),
					 "[core] workers: bad value '%s' "
					 "(expected auto or 1..1024)",
					 v);
			return PH_EINVAL;
		}
		cfg->workers = (unsigned)n;
	}
	cfg->log_target = dup_or_null(ph__config_get(sec, "log"));
	level = ph__log_level_parse(ph__config_get(sec, "log_level"));
	cfg->log_level = level < 0 ? PH_LOG_INFO : (enum ph_log_level)level;
	cfg->state_dir = dup_or_null(ph__config_get(sec, "state_dir"));
	cfg->max_connections = (unsigned)get_num(sec, "max_connections");
	cfg->max_connections_per_ip =
	    (unsigned)get_num(sec, "max_connections_per_ip");
	cfg->idle_timeout = (unsigned)get_num(sec, "idle_timeout");
	cfg->output_limit = (size_t)get_num(sec, "output_limit");
	if (get_num(sec, "input_buffer") < 512 ||
	    get_num(sec, "input_buffer") > UINT64_C(16) * 1024 * 1024) {
		*error_r = config_error(sec, entry_line(sec, "input_buffer"),
					"[core] input_buffer: must be between "
					"512 and 16M");
		return PH_EINVAL;
	}
	if (cfg->plugin_dir == NULL || cfg->log_target == NULL ||
	    cfg->state_dir == NULL)
		return PH_ENOMEM;
	return PH_OK;
}

/* The [auth] penalty keys, in ranges the auth service can honour: a
 * failure delay must stay well under a worker's request timeout. */
static int load_auth_penalty(ph_config *sec, char **error_r)
{
	uint64_t base = get_num(sec, "penalty_base");
	uint64_t max = get_num(sec, "penalty_max");
	const char *key = NULL, *why = NULL;

	if (max > 30) {
		key = "penalty_max";
		why = "must be at most 30s";
	} else if (base > max) {
		key = "penalty_base";
		why = "must not exceed penalty_max";
	} else if (get_num(sec, "penalty_window") == 0) {
		key = "penalty_window";
		why = "must be at least 1s";
	} else if (get_num(sec, "lockout_failures") > 1000000) {
		key = "lockout_failures";
		why = "must be at most 1000000";
	} else if (get_num(sec, "penalty_entries") == 0 ||
		   get_num(sec, "penalty_entries") > (1u << 24)) {
		key = "penalty_entries";
		why = "must be between 1 and 16777216";
	} else if (get_num(sec, "session_ticket_ttl") == 0 ||
		   get_num(sec, "session_ticket_ttl") > 600) {
		key = "session_ticket_ttl";
		why = "must be between 1s and 10m";
	}
	if (key == NULL)
		return PH_OK;
	*error_r =
	    config_error(sec, entry_line(sec, key), "[auth] %s: %s", key, why);
	return PH_EINVAL;
}

static int load_storage_auth(struct ph__config *cfg, char **error_r)
{
	ph_config *sec = ph__config_section(cfg, "storage");
	const char *v;

	if (sec != NULL) {
		if (validate_section(sec, storage_defs, 0, error_r) < 0)
			return PH_EINVAL;
		v = ph__config_get(sec, "plugin");
		if (v != NULL && v[0] != '\0')
			cfg->storage_plugin = strdup(v);
	}
	sec = ph__config_section(cfg, "auth");
	cfg->auth_workers = 4;
	if (sec != NULL) {
		if (validate_section(sec, auth_defs, 0, error_r) < 0 ||
		    load_auth_penalty(sec, error_r) < 0)
			return PH_EINVAL;
		v = ph__config_get(sec, "plugins");
		if (v != NULL)
			cfg->auth_plugins =
			    split_list(v, " \t,", &cfg->auth_plugin_count);
		cfg->auth_workers = (unsigned)get_num(sec, "workers");
		if (cfg->auth_workers == 0)
			cfg->auth_workers = 1;
		if (get_num(sec, "first_valid_uid") >= UINT32_MAX) {
			*error_r = config_error(
			    sec, entry_line(sec, "first_valid_uid"),
			    "[auth] first_valid_uid: must be below %u",
			    (unsigned)UINT32_MAX);
			return PH_EINVAL;
		}
		for (size_t i = 0; i < cfg->auth_plugin_count; i++) {
			for (size_t j = 0; j < i; j++) {
				if (strcmp(cfg->auth_plugins[i],
					   cfg->auth_plugins[j]) == 0) {
					*error_r = config_error(
					    sec, entry_line(sec, "plugins"),
					    "[auth] plugins: '%s' listed "
					    "twice",
					    cfg->auth_plugins[i]);
					return PH_EINVAL;
				}
			}
		}
	}
	return PH_OK;
}

/* Client certificates (SASL EXTERNAL) need TLS and a CA to verify
 * against; the other keys mean nothing without tls_client_ca. */
static int load_listener_client_cert(const struct ph__listener_config *l,
				     ph_config *sec, char **error_r)
{
	const char *ca = ph__config_get(sec, "tls_client_ca");
	const char *key = NULL;

	if (ca != NULL && ca[0] != '\0') {
		if (l->tls != PH_TLS_NONE)
			return PH_OK;
		*error_r = config_error(sec, entry_line(sec, "tls_client_ca"),
					"[%s] tls_client_ca: needs tls = "
					"starttls or implicit",
					sec->name);
		return PH_EINVAL;
	}
	if (section_entry(sec, "tls_client_ca") != NULL)
		key = "tls_client_ca";
	else if (section_entry(sec, "tls_client_cert") != NULL)
		key = "tls_client_cert";
	else if (section_entry(sec, "tls_cert_username") != NULL)
		key = "tls_cert_username";
	else if (section_entry(sec, "tls_client_crl") != NULL)
		key = "tls_client_crl";
	if (key == NULL)
		return PH_OK;
	*error_r =
	    config_error(sec, entry_line(sec, key),
			 "[%s] %s: needs a tls_client_ca file", sec->name, key);
	return PH_EINVAL;
}

static int load_listener(struct ph__config *cfg, ph_config *sec,
			 struct ph__listener_config *l, char **error_r)
{
	const char *v;
	uint64_t n;

	if (validate_section(sec, listener_defs, 1, error_r) < 0)
		return PH_EINVAL;
	l->section = sec;
	l->name = strdup(sec->name + strlen("listener."));
	if (l->name == NULL)
		return PH_ENOMEM;
	if (l->name[0] == '\0') {
		*error_r = config_error(sec, sec->line,
					"listener section needs a name: "
					"[listener.NAME]");
		return PH_EINVAL;
	}
	v = ph__config_get(sec, "protocol");
	if (v == NULL || v[0] == '\0') {
		*error_r = config_error(sec, sec->line,
					"[%s]: missing 'protocol'", sec->name);
		return PH_EINVAL;
	}
	l->protocol = strdup(v);
	v = ph__config_get(sec, "listen");
	if (v == NULL) {
		*error_r = config_error(sec, sec->line,
					"[%s]: missing 'listen'", sec->name);
		return PH_EINVAL;
	}
	l->listen = split_list(v, ",", &l->listen_count);
	if (l->listen_count == 0) {
		*error_r = config_error(sec, entry_line(sec, "listen"),
					"[%s] listen: no address", sec->name);
		return PH_EINVAL;
	}
	for (size_t i = 0; i < l->listen_count; i++) {
		struct ph__addr addr;

		if (ph__addr_parse(l->listen[i], &addr) < 0) {
			*error_r = config_error(
			    sec, entry_line(sec, "listen"),
			    "[%s] listen: bad address '%s' (expected "
			    "IPv4:PORT or [IPv6]:PORT)",
			    sec->name, l->listen[i]);
			return PH_EINVAL;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(l->listen[i], l->listen[j]) == 0) {
				*error_r = config_error(
				    sec, entry_line(sec, "listen"),
				    "[%s] listen: '%s' given twice", sec->name,
				    l->listen[i]);
				return PH_EINVAL;
			}
		}
	}
	(void)ph__config_get_uint(sec, "tls", &n);
	l->tls = (enum ph_tls_mode)n;
	l->cert = dup_or_null(ph__config_get(sec, "cert"));
	l->key = dup_or_null(ph__config_get(sec, "key"));
	l->ciphers = dup_or_null(ph__config_get(sec, "ciphers"));
	l->ciphersuites = dup_or_null(ph__config_get(sec, "ciphersuites"));
	l->tls_min_version =
	    dup_or_null(ph__config_get(sec, "tls_min_version"));
	l->allow_plaintext = (int)get_num(sec, "allow_plaintext");
	l->max_connections = (unsigned)get_num(sec, "max_connections");
	if (l->tls != PH_TLS_NONE && (l->cert == NULL || l->key == NULL)) {
		*error_r = config_error(sec, entry_line(sec, "tls"),
					"[%s]: tls = %s needs both 'cert' and "
					"'key'",
					sec->name, tls_modes[l->tls]);
		return PH_EINVAL;
	}
	return load_listener_client_cert(l, sec, error_r);
}

static int load_listeners(struct ph__config *cfg, char **error_r)
{
	for (size_t i = 0; i < cfg->section_count; i++) {
		ph_config *sec = cfg->sections[i];
		struct ph__listener_config *ls;

		if (strncmp(sec->name, "listener.", 9) != 0 &&
		    strcmp(sec->name, "listener") != 0)
			continue;
		if (strcmp(sec->name, "listener") == 0) {
			*error_r = config_error(sec, sec->line,
						"listener section needs a "
						"name: [listener.NAME]");
			return PH_EINVAL;
		}
		ls = realloc(cfg->listeners,
			     (cfg->listener_count + 1) * sizeof(*ls));
		if (ls == NULL)
			return PH_ENOMEM;
		cfg->listeners = ls;
		memset(&ls[cfg->listener_count], 0, sizeof(*ls));
		cfg->listener_count++;
		if (load_listener(cfg, sec, &ls[cfg->listener_count - 1],
				  error_r) < 0)
			return PH_EINVAL;
	}
	/* One address, one listener. */
	for (size_t i = 0; i < cfg->listener_count; i++) {
		for (size_t j = 0; j < i; j++) {
			struct ph__listener_config *a = &cfg->listeners[i];
			struct ph__listener_config *b = &cfg->listeners[j];

			for (size_t x = 0; x < a->listen_count; x++) {
				for (size_t y = 0; y < b->listen_count; y++) {
					if (strcmp(a->listen[x],
						   b->listen[y]) != 0)
						continue;
					*error_r = config_error(
					    a->section,
					    entry_line(a->section, "listen"),
					    "[%s] listen: '%s' is already "
					    "used by [%s]",
					    a->section->name, a->listen[x],
					    b->section->name);
					return PH_EINVAL;
				}
			}
		}
	}
	return PH_OK;
}

/* A DNS name as a client sends it in SNI, or "*." and one: labels of
 * letters, digits and hyphens, 253 bytes at most. */
static bool sni_name_valid(const char *name)
{
	size_t label = 0, len = strlen(name);

	if (strncmp(name, "*.", 2) == 0)
		name += 2;
	if (len == 0 || len > 253 || *name == '\0')
		return false;
	for (; *name != '\0'; name++) {
		if (*name == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((isalnum((unsigned char)*name) || *name == '-') &&
			   ++label <= 63) {
			continue;
		} else {
			return false;
		}
	}
	return label > 0;
}

/* The names of one [sni.NAME] section into `sni`, lower-cased; each
 * valid and not claimed by an earlier section. */
static int load_sni_names(struct ph__config *cfg, ph_config *sec,
			  struct ph__sni_config *sni, char **error_r)
{
	const char *v = ph__config_get(sec, "names");
	char *copy = strdup(v != NULL ? v : sec->name + strlen("sni.")), *save;
	int line = entry_line(sec, "names");

	if (copy == NULL)
		return PH_ENOMEM;
	for (char *n = strtok_r(copy, " ,\t", &save); n != NULL;
	     n = strtok_r(NULL, " ,\t", &save)) {
		char **names;

		for (char *p = n; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		if (!sni_name_valid(n)) {
			*error_r = config_error(sec, line,
						"[%s] names: '%s' is not a "
						"server name",
						sec->name, n);
			goto fail;
		}
		for (size_t i = 0; i < cfg->sni_count; i++) {
			for (size_t k = 0; k < cfg->sni[i].name_count; k++) {
				if (strcmp(cfg->sni[i].names[k], n) != 0)
					continue;
				*error_r = config_error(
				    sec, line,
				    "[%s] names: '%s' is already "
				    "used by [%s]",
				    sec->name, n, cfg->sni[i].section->name);
				goto fail;
			}
		}
		names =
		    realloc(sni->names, (sni->name_count + 1) * sizeof(*names));
		if (names == NULL ||
		    (names[sni->name_count] = strdup(n)) == NULL) {
			if (names != NULL)
				sni->names = names;
			free(copy);
			return PH_ENOMEM;
		}
		sni->names = names;
		sni->name_count++;
	}
	free(copy);
	if (sni->name_count > 0)
		return PH_OK;
	*error_r = config_error(sec, line, "[%s] names: empty", sec->name);
	return PH_EINVAL;
fail:
	free(copy);
	return PH_EINVAL;
}

/* [sni.NAME] sections: a certificate and key each, and their names. */
static int load_sni(struct ph__config *cfg, char **error_r)
{
	for (size_t i = 0; i < cfg->section_count; i++) {
		ph_config *sec = cfg->sections[i];
		struct ph__sni_config *sni;

		if (strncmp(sec->name, "sni.", 4) != 0 &&
		    strcmp(sec->name, "sni") != 0)
			continue;
		if (strcmp(sec->name, "sni") == 0 || sec->name[4] == '\0') {
			*error_r = config_error(sec, sec->line,
						"sni section needs a name: "
						"[sni.NAME]");
			return PH_EINVAL;
		}
		if (validate_section(sec, sni_defs, 0, error_r) < 0)
			return PH_EINVAL;
		sni = realloc(cfg->sni, (cfg->sni_count + 1) * sizeof(*sni));
		if (sni == NULL)
			return PH_ENOMEM;
		cfg->sni = sni;
		sni = &cfg->sni[cfg->sni_count];
		*sni = (struct ph__sni_config){.section = sec};
		sni->cert = ph__config_get(sec, "cert");
		sni->key = ph__config_get(sec, "key");
		if (sni->cert == NULL || sni->key == NULL) {
			*error_r = config_error(sec, sec->line,
						"[%s] needs both 'cert' and "
						"'key'",
						sec->name);
			return PH_EINVAL;
		}
		if (load_sni_names(cfg, sec, sni, error_r) < 0) {
			free_list(sni->names, sni->name_count);
			return PH_EINVAL;
		}
		cfg->sni_count++;
	}
	return PH_OK;
}

struct ph__config *ph__config_load(const char *path, char **error_r)
{
	struct parse_state st = {0};
	struct ph__config *cfg;
	int ret;

	*error_r = NULL;
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL || (cfg->path = strdup(path)) == NULL) {
		free(cfg);
		*error_r = strdup("out of memory");
		return NULL;
	}
	st.cfg = cfg;
	st.f = fopen(path, "r");
	if (st.f == NULL) {
		if (asprintf(error_r, "%s: cannot open: %s", path,
			     strerror(errno)) < 0)
			*error_r = NULL;
		ph__config_free(&cfg);
		return NULL;
	}
	/* inih's knobs are runtime variables in this build: no continuation
	 * lines (an indented key is a key), lines up to PH_INI_MAX_LINE. */
	ini_allow_multiline = false;
	ini_use_stack = false;
	ini_max_line = PH_INI_MAX_LINE;
	ret = ini_parse_stream(parse_reader, &st, parse_handler, &st);
	fclose(st.f);
	free(st.buf);
	if (st.error == NULL && ret > 0) {
		ph_config fake = {.file = path};

		st.error = config_error(&fake, ret,
					"syntax error (expected [section] or "
					"key = value)");
	}
	if (st.error == NULL && ret < 0)
		st.error = config_error(NULL, 0, "out of memory");
	if (st.error == NULL && load_core(cfg, &st.error) == PH_OK &&
	    load_storage_auth(cfg, &st.error) == PH_OK &&
	    load_listeners(cfg, &st.error) == PH_OK &&
	    load_sni(cfg, &st.error) == PH_OK)
		return cfg;
	*error_r = st.error != NULL ? st.error : strdup("out of memory");
	ph__config_free(&cfg);
	return NULL;
}

int ph__config_validate_plugin(struct ph__config *cfg, const char *plugin_name,
			       const struct ph_setting_def *defs,
			       char **error_r)
{
	ph_config *sec = ph__config_section(cfg, plugin_name);

	*error_r = NULL;
	if (sec == NULL && (sec = section_add(cfg, plugin_name, 0)) == NULL) {
		*error_r = strdup("out of memory");
		return PH_ENOMEM;
	}
	if (strcmp(plugin_name, "core") == 0 ||
	    strcmp(plugin_name, "storage") == 0 ||
	    strcmp(plugin_name, "auth") == 0 ||
	    strncmp(plugin_name, "listener", 8) == 0) {
		*error_r = config_error(sec, sec->line,
					"plugin name '%s' clashes with a core "
					"section",
					plugin_name);
		return PH_EINVAL;
	}
	if (validate_section(sec, defs, 0, error_r) < 0)
		return PH_EINVAL;
	for (size_t i = 0; i < cfg->listener_count; i++) {
		struct ph__listener_config *l = &cfg->listeners[i];

		if (strcmp(l->protocol, plugin_name) != 0)
			continue;
		for (size_t k = 0; k < l->section->count; k++) {
			const struct ph__config_entry *e =
			    &l->section->entries[k];
			const struct ph_setting_def *def;

			if (defs_find(listener_defs, e->key) != NULL)
				continue;
			def = defs_find(defs, e->key);
			if (def == NULL) {
				*error_r =
				    config_error(l->section, e->line,
						 "unknown key '%s' in [%s]",
						 e->key, l->section->name);
				return PH_EINVAL;
			}
			if (!def->listener) {
				*error_r = config_error(
				    l->section, e->line,
				    "[%s] %s: only allowed in [%s], not "
				    "per listener",
				    l->section->name, e->key, plugin_name);
				return PH_EINVAL;
			}
			if (check_value(l->section, e, def, error_r) < 0)
				return PH_EINVAL;
		}
		l->section->parent = sec;
	}
	return PH_OK;
}

int ph__config_check_sections(const struct ph__config *cfg, char **error_r)
{
	*error_r = NULL;
	for (size_t i = 0; i < cfg->section_count; i++) {
		const ph_config *sec = cfg->sections[i];

		if (sec->validated)
			continue;
		*error_r = config_error(sec, sec->line,
					"unknown section [%s] (no listener, "
					"storage or auth plugin uses it)",
					sec->name);
		return PH_EINVAL;
	}
	return PH_OK;
}

/* ---- printing ---- */

static void print_defs(const ph_config *sec, const struct ph_setting_def *defs,
		       FILE *out)
{
	for (; defs != NULL && defs->key != NULL; defs++) {
		const char *v = ph__config_get(sec, defs->key);

		if (v != NULL)
			fprintf(out, "%s = %s\n", defs->key, v);
		else
			fprintf(out, ";%s =\n", defs->key);
	}
}

void ph__config_print(const struct ph__config *cfg, FILE *out)
{
	fprintf(out, "; %s\n", cfg->path);
	for (size_t i = 0; i < cfg->section_count; i++) {
		const ph_config *sec = cfg->sections[i];

		fprintf(out, "%s[%s]\n", i > 0 ? "\n" : "", sec->name);
		if (strncmp(sec->name, "listener.", 9) == 0) {
			const struct ph_setting_def *pdefs =
			    sec->parent != NULL ? sec->parent->defs : NULL;

			print_defs(sec, listener_defs, out);
			/* Plugin keys set here; the rest fall back to the
			 * plugin's section printed on its own. */
			for (; pdefs != NULL && pdefs->key != NULL; pdefs++) {
				const struct ph__config_entry *e =
				    section_entry(sec, pdefs->key);

				if (e != NULL)
					fprintf(out, "%s = %s\n", e->key,
						e->value);
			}
			continue;
		}
		if (sec->defs != NULL) {
			print_defs(sec, sec->defs, out);
			continue;
		}
		for (size_t k = 0; k < sec->count; k++)
			fprintf(out, "%s = %s\n", sec->entries[k].key,
				sec->entries[k].value);
	}
}

void ph__config_free(struct ph__config **cfgp)
{
	struct ph__config *cfg = *cfgp;

	if (cfg == NULL)
		return;
	*cfgp = NULL;
	for (size_t i = 0; i < cfg->listener_count; i++) {
		struct ph__listener_config *l = &cfg->listeners[i];

		free(l->name);
		free(l->protocol);
		free_list(l->listen, l->listen_count);
		free(l->cert);
		free(l->key);
		free(l->ciphers);
		free(l->ciphersuites);
		free(l->tls_min_version);
	}
	free(cfg->listeners);
	for (size_t i = 0; i < cfg->sni_count; i++)
		free_list(cfg->sni[i].names, cfg->sni[i].name_count);
	free(cfg->sni);
	for (size_t i = 0; i < cfg->section_count; i++) {
		ph_config *sec = cfg->sections[i];

		for (size_t k = 0; k < sec->count; k++) {
			free(sec->entries[k].key);
			free(sec->entries[k].value);
		}
		free(sec->entries);
		free(sec->name);
		free(sec);
	}
	free(cfg->sections);
	free_list(cfg->auth_plugins, cfg->auth_plugin_count);
	free(cfg->plugin_dir);
	free(cfg->user);
	free(cfg->log_target);
	free(cfg->state_dir);
	free(cfg->storage_plugin);
	free(cfg->path);
	free(cfg);
}
