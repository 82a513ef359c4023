/* tests/support/auth-fake.c - see auth-fake.h. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "auth-fake.h"
#include "core/user.h"

static unsigned log_counts[PH_LOG_ERROR + 1];

static void fake_count(enum ph_log_level level)
{
	if ((unsigned)level <= PH_LOG_ERROR)
		log_counts[level]++;
}

static void fake_log(enum ph_log_level level, const char *fmt, ...)
{
	(void)fmt;
	fake_count(level);
}

static void fake_conn_log(ph_conn *conn, enum ph_log_level level,
			  const char *fmt, ...)
{
	(void)conn;
	(void)fmt;
	fake_count(level);
}

static const char *fake_config_get(const ph_config *cfg, const char *key)
{
	const char *const *kv = (const char *const *)cfg;

	for (; kv != NULL && kv[0] != NULL; kv += 2) {
		if (strcmp(kv[0], key) == 0)
			return kv[1];
	}
	return NULL;
}

static int fake_config_get_uint(const ph_config *cfg, const char *key,
				uint64_t *value_r)
{
	const char *v = fake_config_get(cfg, key);
	char *end;

	if (v == NULL)
		return PH_ENOTFOUND;
	if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
		*value_r = v[0] == 'y';
		return PH_OK;
	}
	*value_r = strtoull(v, &end, 10);
	return end == v || (*end != '\0' && strcmp(end, "s") != 0) ? PH_EINVAL
								   : PH_OK;
}

static const struct ph_core_api fake_api = {
    .struct_size = sizeof(struct ph_core_api),
    .log = fake_log,
    .conn_log = fake_conn_log,
    .config_get = fake_config_get,
    .config_get_uint = fake_config_get_uint,
    .user_set = ph__user_set,
    .user_get = ph__user_get,
};

const struct ph_core_api *ph_auth_fake_api(void)
{
	return &fake_api;
}

const ph_config *ph_auth_fake_config(const char *const *kv)
{
	return (const ph_config *)kv;
}

unsigned ph_auth_fake_log_count(enum ph_log_level level)
{
	unsigned n = 0;

	for (unsigned l = level; l <= PH_LOG_ERROR; l++)
		n += log_counts[l];
	return n;
}

int ph_auth_fake_verify(const struct ph_auth_ops *ops, void *state,
			const char *user, const char *password,
			ph_user **user_r, const char **error_r)
{
	struct ph_auth_request req = PH_AUTH_REQUEST_INIT;
	ph_user *u = ph__user_create();
	int ret;

	req.user.data = user;
	req.user.len = strlen(user);
	req.password.data = password;
	req.password.len = strlen(password);
	req.service = "test";
	req.remote_ip = "192.0.2.1";
	req.local_ip = "127.0.0.1";
	*error_r = NULL;
	ret = ops->verify_plain(state, &req, u, error_r);
	if (user_r != NULL)
		*user_r = u;
	else
		ph__user_destroy(&u);
	return ret;
}
