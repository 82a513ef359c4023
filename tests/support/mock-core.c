/* tests/support/mock-core.c - see mock-core.h. */
#include "mock-core.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ph_config {
	char **kv; /* key, value, ..., NULL */
	const struct ph_setting_def *defs;
};

struct ph_user {
	char **kv; /* key, value pairs */
	size_t count;
};

static unsigned mock_log_counts[PH_LOG_ERROR + 1];
static char mock_log_last_line[1024];
static int mock_log_is_quiet;
static const struct ph_storage_ops *mock_storage_ops;
static void *mock_storage_state;

static const char *const mock_level_names[] = {"debug", "info", "notice",
					       "warning", "error"};

static void mock_vlog(enum ph_log_level level, const char *prefix,
		      const char *fmt, va_list ap)
{
	if ((unsigned)level > PH_LOG_ERROR)
		level = PH_LOG_ERROR;
	mock_log_counts[level]++;
	vsnprintf(mock_log_last_line, sizeof(mock_log_last_line), fmt, ap);
	if (!mock_log_is_quiet)
		fprintf(stderr, "[mock %s]%s %s\n", mock_level_names[level],
			prefix, mock_log_last_line);
}

static void mock_log(enum ph_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mock_vlog(level, "", fmt, ap);
	va_end(ap);
}

static void mock_conn_log(ph_conn *conn, enum ph_log_level level,
			  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mock_vlog(level, " conn:", fmt, ap);
	va_end(ap);
}

static const char *mock_strerror(int code)
{
	static const char *const names[] = {"ok",
					    "again",
					    "invalid argument",
					    "out of memory",
					    "too big",
					    "not found",
					    "exists",
					    "not permitted",
					    "temporary failure",
					    "over quota",
					    "in use",
					    "I/O error",
					    "not supported",
					    "closed",
					    "authentication failed",
					    "unknown user",
					    "conflict",
					    "ABI mismatch",
					    "internal error"};

	if (code > 0 || -code >= (int)(sizeof(names) / sizeof(names[0])))
		return "unknown error";
	return names[-code];
}

static const struct ph_setting_def *mock_def(const ph_config *cfg,
					     const char *key)
{
	for (const struct ph_setting_def *d = cfg->defs; d && d->key; d++)
		if (strcmp(d->key, key) == 0)
			return d;
	return NULL;
}

static const char *mock_config_get(const ph_config *cfg, const char *key)
{
	const struct ph_setting_def *d;

	if (cfg == NULL)
		return NULL;
	for (char **p = cfg->kv; p && p[0]; p += 2)
		if (strcmp(p[0], key) == 0)
			return p[1];
	d = mock_def(cfg, key);
	return d ? d->default_value : NULL;
}

static int mock_parse_number(enum ph_setting_type type, const char *v,
			     uint64_t *value_r)
{
	char *end;
	unsigned long long n;
	uint64_t mul = 1;

	if (type == PH_SETTING_BOOL) {
		if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
		    !strcasecmp(v, "on") || !strcmp(v, "1"))
			*value_r = 1;
		else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") ||
			 !strcasecmp(v, "off") || !strcmp(v, "0"))
			*value_r = 0;
		else
			return PH_EINVAL;
		return PH_OK;
	}
	if (!isdigit((unsigned char)v[0]))
		return PH_EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0)
		return PH_EINVAL;
	if (type == PH_SETTING_SIZE && *end != '\0') {
		mul = *end == 'k' || *end == 'K' ? 1024ULL
		      : *end == 'M'		 ? 1024ULL * 1024
		      : *end == 'G'		 ? 1024ULL * 1024 * 1024
						 : 0;
		end++;
	} else if (type == PH_SETTING_TIME && *end != '\0') {
		mul = *end == 's'   ? 1
		      : *end == 'm' ? 60
		      : *end == 'h' ? 3600
		      : *end == 'd' ? 86400
				    : 0;
		end++;
	}
	if (mul == 0 || *end != '\0' || (n != 0 && UINT64_MAX / n < mul))
		return PH_EINVAL;
	*value_r = n * mul;
	return PH_OK;
}

static int mock_config_get_uint(const ph_config *cfg, const char *key,
				uint64_t *value_r)
{
	const struct ph_setting_def *d = cfg ? mock_def(cfg, key) : NULL;
	const char *v = mock_config_get(cfg, key);

	if (v == NULL)
		return PH_ENOTFOUND;
	return mock_parse_number(d ? d->type : PH_SETTING_UINT, v, value_r);
}

static ph_timer *mock_timer_add(double seconds, int repeat, ph_timer_fn *cb,
				void *ctx)
{
	return NULL;
}

static void mock_timer_remove(ph_timer **timer)
{
	if (timer)
		*timer = NULL;
}

/* io_add fails (NULL) unless a test accepts watches: then the last one
 * is kept for ph_mock_io_last() and the test runs its callback itself. */
static struct {
	int accept;
	int fd;
	ph_io_fn *cb;
	void *ctx;
} mock_io = {.fd = -1};

static ph_io *mock_io_add(int fd, int events, ph_io_fn *cb, void *ctx)
{
	static char handle;

	(void)events;
	if (!mock_io.accept)
		return NULL;
	mock_io.fd = fd;
	mock_io.cb = cb;
	mock_io.ctx = ctx;
	return (ph_io *)&handle;
}

void ph_mock_io_accept(int accept)
{
	mock_io.accept = accept;
}

int ph_mock_io_last(ph_io_fn **cb_r, void **ctx_r)
{
	*cb_r = mock_io.cb;
	*ctx_r = mock_io.ctx;
	return mock_io.fd;
}

static void mock_io_remove(ph_io **io)
{
	if (io)
		*io = NULL;
}

static int mock_conn_read_line(ph_conn *conn, size_t max_len,
			       struct ph_str *line_r)
{
	return PH_ECLOSED;
}

static int mock_conn_read_bytes(ph_conn *conn, size_t max,
				struct ph_str *data_r)
{
	return PH_ECLOSED;
}

static int mock_conn_write(ph_conn *conn, const void *data, size_t len)
{
	return PH_ECLOSED;
}

static int mock_conn_printf(ph_conn *conn, const char *fmt, ...)
{
	return PH_ECLOSED;
}

static int mock_conn_write_file(ph_conn *conn, int fd, uint64_t offset,
				uint64_t len)
{
	return PH_ECLOSED;
}

static size_t mock_conn_size(ph_conn *conn)
{
	return 0;
}

static void mock_conn_close(ph_conn *conn)
{
}

static int mock_conn_starttls(ph_conn *conn)
{
	return PH_ENOTSUP;
}

static int mock_conn_info(ph_conn *conn, struct ph_conn_info *info)
{
	return PH_ENOTSUP;
}

static void mock_conn_set_idle_timeout(ph_conn *conn, unsigned seconds)
{
}

static const ph_config *mock_conn_config(ph_conn *conn)
{
	return NULL;
}

static int mock_auth_plain(ph_conn *conn, struct ph_str user,
			   struct ph_str password, ph_auth_done_fn *cb,
			   void *ctx)
{
	return PH_ENOTSUP;
}

static const char *mock_sasl_mechanisms(ph_conn *conn)
{
	return "";
}

static int mock_sasl_start(ph_conn *conn, const char *mech,
			   const struct ph_str *initial_response,
			   ph_sasl_fn *cb, void *ctx)
{
	return PH_ENOTSUP;
}

static int mock_sasl_continue(ph_conn *conn, struct ph_str response)
{
	return PH_EINVAL;
}

static const char *mock_user_get(const ph_user *user, const char *key)
{
	if (user == NULL)
		return NULL;
	for (size_t i = 0; i < user->count; i++)
		if (strcmp(user->kv[2 * i], key) == 0)
			return user->kv[2 * i + 1];
	return NULL;
}

static int mock_user_set(ph_user *user, const char *key, const char *value)
{
	char **kv, *k, *v;

	if (key[0] == '\0' || strpbrk(key, "=\t\n") || strpbrk(value, "\t\n"))
		return PH_EINVAL;
	for (size_t i = 0; i < user->count; i++) {
		if (strcmp(user->kv[2 * i], key) == 0) {
			if ((v = strdup(value)) == NULL)
				return PH_ENOMEM;
			free(user->kv[2 * i + 1]);
			user->kv[2 * i + 1] = v;
			return PH_OK;
		}
	}
	kv = realloc(user->kv, (user->count + 1) * 2 * sizeof(*kv));
	if (kv == NULL)
		return PH_ENOMEM;
	user->kv = kv;
	k = strdup(key);
	v = strdup(value);
	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		return PH_ENOMEM;
	}
	kv[2 * user->count] = k;
	kv[2 * user->count + 1] = v;
	user->count++;
	return PH_OK;
}

static int mock_storage_get(const struct ph_storage_ops **ops_r,
			    void **storage_state_r)
{
	if (mock_storage_ops == NULL)
		return PH_ENOTFOUND;
	*ops_r = mock_storage_ops;
	*storage_state_r = mock_storage_state;
	return PH_OK;
}

static const struct ph_core_api mock_api = {
    .struct_size = sizeof(struct ph_core_api),
    .abi_major = PH_ABI_MAJOR,
    .abi_minor = PH_ABI_MINOR,
    .core_version = "mock",
    .log = mock_log,
    .conn_log = mock_conn_log,
    .strerror = mock_strerror,
    .config_get = mock_config_get,
    .config_get_uint = mock_config_get_uint,
    .timer_add = mock_timer_add,
    .timer_remove = mock_timer_remove,
    .io_add = mock_io_add,
    .io_remove = mock_io_remove,
    .conn_read_line = mock_conn_read_line,
    .conn_read_bytes = mock_conn_read_bytes,
    .conn_write = mock_conn_write,
    .conn_printf = mock_conn_printf,
    .conn_write_file = mock_conn_write_file,
    .conn_output_pending = mock_conn_size,
    .conn_output_lowat = mock_conn_size,
    .conn_close = mock_conn_close,
    .conn_starttls = mock_conn_starttls,
    .conn_info = mock_conn_info,
    .conn_set_idle_timeout = mock_conn_set_idle_timeout,
    .conn_config = mock_conn_config,
    .auth_plain = mock_auth_plain,
    .sasl_mechanisms = mock_sasl_mechanisms,
    .sasl_start = mock_sasl_start,
    .sasl_continue = mock_sasl_continue,
    .user_get = mock_user_get,
    .user_set = mock_user_set,
    .storage_get = mock_storage_get,
};

const struct ph_core_api *ph_mock_core_api(void)
{
	return &mock_api;
}

ph_config *ph_mock_config_create(const char *const *kv,
				 const struct ph_setting_def *defs)
{
	ph_config *cfg = calloc(1, sizeof(*cfg));
	size_t n = 0;

	if (cfg == NULL)
		return NULL;
	cfg->defs = defs;
	while (kv && kv[n] && kv[n + 1])
		n += 2;
	cfg->kv = calloc(n + 1, sizeof(char *));
	if (cfg->kv == NULL) {
		free(cfg);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if ((cfg->kv[i] = strdup(kv[i])) == NULL) {
			ph_mock_config_destroy(&cfg);
			return NULL;
		}
	}
	return cfg;
}

void ph_mock_config_destroy(ph_config **cfg)
{
	if (*cfg == NULL)
		return;
	for (char **p = (*cfg)->kv; p && *p; p++)
		free(*p);
	free((*cfg)->kv);
	free(*cfg);
	*cfg = NULL;
}

ph_user *ph_mock_user_create(const char *name)
{
	ph_user *u = calloc(1, sizeof(*u));

	if (u != NULL && mock_user_set(u, "user", name) != PH_OK)
		ph_mock_user_destroy(&u);
	return u;
}

void ph_mock_user_destroy(ph_user **user)
{
	if (*user == NULL)
		return;
	for (size_t i = 0; i < 2 * (*user)->count; i++)
		free((*user)->kv[i]);
	free((*user)->kv);
	free(*user);
	*user = NULL;
}

void ph_mock_set_storage(const struct ph_storage_ops *ops, void *state)
{
	mock_storage_ops = ops;
	mock_storage_state = state;
}

unsigned ph_mock_log_count(enum ph_log_level level)
{
	return (unsigned)level <= PH_LOG_ERROR ? mock_log_counts[level] : 0;
}

const char *ph_mock_log_last(void)
{
	return mock_log_last_line;
}

void ph_mock_log_reset(void)
{
	memset(mock_log_counts, 0, sizeof(mock_log_counts));
	mock_log_last_line[0] = '\0';
}

void ph_mock_log_quiet(int quiet)
{
	mock_log_is_quiet = quiet;
}
