/*
 * tests/support/auth-fake.h - the core API auth plugin tests hand to a
 * plugin's init(), shared by tests/unit/auth-*:
 *  - config_get / config_get_uint read a NULL-terminated key, value list
 *    the test passes as the plugin's config (numbers: decimal with an
 *    optional "s"; booleans: yes/no);
 *  - log / conn_log count calls per level, print nothing;
 *  - user_get / user_set are the real core/user.c (link it, or ph_core).
 *
 * Usage:
 *     static const char *kv[] = {"path", "/tmp/users", NULL};
 *     posthorn_plugin.init(ph_auth_fake_api(), ph_auth_fake_config(kv),
 *                          &state, &err);
 *
 * tests/support/mock-core.h is the fuller fake for other plugins; it has
 * its own ph_user and cannot be linked together with core/user.c.
 */
#ifndef PH_TEST_AUTH_FAKE_H
#define PH_TEST_AUTH_FAKE_H

#include <posthorn/posthorn.h>

const struct ph_core_api *ph_auth_fake_api(void);
/* `kv` is borrowed: keep it alive while the plugin may read it. */
const ph_config *ph_auth_fake_config(const char *const *kv);
/* ops->verify_plain() with a request for `user` / `password` (service
 * "test", remote 192.0.2.1, local 127.0.0.1). The record goes to *user_r
 * (caller destroys it) or is dropped when user_r is NULL. *error_r is
 * reset to NULL first. */
int ph_auth_fake_verify(const struct ph_auth_ops *ops, void *state,
			const char *user, const char *password,
			ph_user **user_r, const char **error_r);
/* Log calls at `level` or above since the start. */
unsigned ph_auth_fake_log_count(enum ph_log_level level);

#endif
