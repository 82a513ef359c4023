/*
 * tests/support/mock-core.h - a standalone struct ph_core_api for unit
 * tests of plugins, without posthornd.
 *
 * What it does:
 *  - log / conn_log: one line per call to stderr ("[mock LEVEL] ..."),
 *    counted per level (ph_mock_log_count) and the last line kept
 *    (ph_mock_log_last) so a test can assert that something was logged;
 *  - strerror: the PH_* code names;
 *  - config_get / config_get_uint: a section built from a NULL-terminated
 *    key/value array, falling back to the defaults of a settings table;
 *    numbers parse like the core does (k/M/G sizes, s/m/h/d times,
 *    yes/no booleans); the section is a `struct ph_config` private to this
 *    file;
 *  - user_get / user_set: a tiny private ph_user (ordered key/value list,
 *    the same validation as the core: no empty key, no '=', TAB or LF in
 *    keys, no TAB or LF in values). It is NOT core/user.c: do not link
 *    both in one executable (they both define struct ph_user);
 *  - storage_get: returns what ph_mock_set_storage() registered, else
 *    PH_ENOTFOUND;
 *  - timer_add / io_add return NULL (the plugin must cope or the test
 *    must not need them); timer_remove / io_remove accept NULL;
 *  - every conn_* call returns PH_ENOTSUP / PH_ECLOSED / 0 / NULL: protocol
 *    plugin tests that need connections drive their pure parts directly.
 *
 * Usage:
 *     static const char *kv[] = {"root", "/tmp/x/%u", NULL};
 *     ph_config *cfg = ph_mock_config_create(kv, plugin->settings);
 *     ph_user *u = ph_mock_user_create("alice");
 *     plugin->init(ph_mock_core_api(), cfg, &state, &err);
 *     ...
 *     plugin->fini(state);
 *     ph_mock_user_destroy(&u);
 *     ph_mock_config_destroy(&cfg);
 *
 * Not thread-safe; single process.
 */
#ifndef PH_TEST_MOCK_CORE_H
#define PH_TEST_MOCK_CORE_H

#include <posthorn/posthorn.h>

/* The services table (static storage, valid for the process). */
const struct ph_core_api *ph_mock_core_api(void);

/* A config section from `kv` ("key", "value", ..., NULL; copied) with
 * defaults from `defs` (borrowed, may be NULL). NULL on ENOMEM. */
ph_config *ph_mock_config_create(const char *const *kv,
				 const struct ph_setting_def *defs);
void ph_mock_config_destroy(ph_config **cfg);

/* A user record with "user" = name (and more fields via
 * ph_mock_core_api()->user_set). NULL on ENOMEM. */
ph_user *ph_mock_user_create(const char *name);
void ph_mock_user_destroy(ph_user **user);

/* What storage_get() returns from now on (both borrowed). */
void ph_mock_set_storage(const struct ph_storage_ops *ops, void *state);

/* Number of log lines at `level` since the start or the last reset. */
unsigned ph_mock_log_count(enum ph_log_level level);
/* The last line logged (without prefix), "" when none. */
const char *ph_mock_log_last(void);
void ph_mock_log_reset(void);
/* 0: print every line to stderr (default); 1: count only. */
void ph_mock_log_quiet(int quiet);

/* io_add() returns NULL (no loop) unless accept is 1: then it succeeds
 * and ph_mock_io_last() gives the last watch's fd (-1: none), callback
 * and context, for the test to call when the fd is ready. */
void ph_mock_io_accept(int accept);
int ph_mock_io_last(ph_io_fn **cb_r, void **ctx_r);

#endif
