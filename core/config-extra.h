/* core/config-extra.h - config helpers beyond the frozen config.h: the
 * core's own settings tables, section names and the final check that every
 * section was claimed by the core or a plugin. */
#ifndef PH_CORE_CONFIG_EXTRA_H
#define PH_CORE_CONFIG_EXTRA_H

#include "config.h"

/* Name of a section ("core", "listener.imap"). */
const char *ph__config_section_name(const ph_config *section);
/* Fails with "FILE:LINE: unknown section [x]" for a section that neither
 * the core nor any plugin validated. Call after every plugin's
 * ph__config_validate_plugin(). */
int ph__config_check_sections(const struct ph__config *cfg, char **error_r);
/* Numeric [core] key after defaults (input_buffer, handshake_timeout,
 * shutdown_timeout, ...); 0 when unset. */
uint64_t ph__config_core_uint(const struct ph__config *cfg, const char *key);

/* [auth] first_valid_uid after defaults (500 without an [auth]). */
unsigned ph__config_first_valid_uid(const struct ph__config *cfg);

/* Line of `key` in `section`, else the section header's line. */
int ph__config_key_line(const ph_config *section, const char *key);
/* The config file a section came from. */
const char *ph__config_section_file(const ph_config *section);

#endif
