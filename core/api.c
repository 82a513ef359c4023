/* core/api.c - struct ph_core_api: thin entries forwarding to the modules
 * that implement them (config, conn, login, user). */
#include <stdio.h>
#include <stdlib.h>

#include "api.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#ifdef PH_HAVE_AUTH
#include "user.h"
#endif

static __thread const char *api_current;
static struct ev_loop *api_loop;
static const struct ph_storage_ops *api_storage_ops;
static void *api_storage_state;

const char *ph__api_set_current(const char *plugin_name)
{
	const char *prev = api_current;

	api_current = plugin_name;
	return prev;
}

const char *ph__api_current(void)
{
	return api_current;
}

void ph__api_set_loop(struct ev_loop *loop)
{
	api_loop = loop;
}

struct ev_loop *ph__api_loop(void)
{
	return api_loop;
}

void ph__api_set_storage(const struct ph_storage_ops *ops, void *state)
{
	api_storage_ops = ops;
	api_storage_state = state;
}

const char *ph__strerror(int code)
{
	switch (code) {
	case PH_OK:
		return "success";
	case PH_AGAIN:
		return "try again";
	case PH_EINVAL:
		return "invalid argument";
	case PH_ENOMEM:
		return "out of memory";
	case PH_ETOOBIG:
		return "too big";
	case PH_ENOTFOUND:
		return "not found";
	case PH_EEXISTS:
		return "already exists";
	case PH_EPERM:
		return "permission denied";
	case PH_ETEMP:
		return "temporary failure";
	case PH_ENOQUOTA:
		return "over quota";
	case PH_EINUSE:
		return "in use";
	case PH_EIO:
		return "I/O error";
	case PH_ENOTSUP:
		return "not supported";
	case PH_ECLOSED:
		return "connection closed";
	case PH_EAUTH:
		return "authentication failed";
	case PH_EUNKNOWN:
		return "unknown user";
	case PH_ECONFLICT:
		return "conflict";
	case PH_EABI:
		return "plugin ABI mismatch";
	case PH_EINTERNAL:
		return "internal error";
	}
	return code >= 0 ? "success" : "unknown error";
}

/* ---- logging ---- */

static void api_log(enum ph_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ph__vlog(level, api_current != NULL ? api_current : "plugin", fmt, ap);
	va_end(ap);
}

static void api_conn_log(ph_conn *conn, enum ph_log_level level,
			 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ph__conn_vlog(conn, level, fmt, ap);
	va_end(ap);
}

/* ---- config ---- */

static const char *api_config_get(const ph_config *cfg, const char *key)
{
	return cfg != NULL && key != NULL ? ph__config_get(cfg, key) : NULL;
}

static int api_config_get_uint(const ph_config *cfg, const char *key,
			       uint64_t *value_r)
{
	if (cfg == NULL || key == NULL) {
		*value_r = 0;
		return PH_ENOTFOUND;
	}
	return ph__config_get_uint(cfg, key, value_r);
}

/* ---- timers and io ---- */

struct ph_timer {
	ev_timer w;
	ph_timer_fn *cb;
	void *ctx;
	const char *owner;
};

struct ph_io {
	ev_io w;
	ph_io_fn *cb;
	void *ctx;
	const char *owner;
};

static void api_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ph_timer *t = (struct ph_timer *)w;
	const char *prev = ph__api_set_current(t->owner);

	t->cb(t->ctx);
	ph__api_set_current(prev);
}

static ph_timer *api_timer_add(double seconds, int repeat, ph_timer_fn *cb,
			       void *ctx)
{
	struct ph_timer *t;

	if (api_loop == NULL || cb == NULL || seconds < 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->cb = cb;
	t->ctx = ctx;
	t->owner = api_current;
	ev_timer_init(&t->w, api_timer_cb, seconds, repeat ? seconds : 0.);
	ev_timer_start(api_loop, &t->w);
	return t;
}

static void api_timer_remove(ph_timer **timer)
{
	if (*timer == NULL)
		return;
	if (api_loop != NULL)
		ev_timer_stop(api_loop, &(*timer)->w);
	free(*timer);
	*timer = NULL;
}

static void api_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ph_io *io = (struct ph_io *)w;
	const char *prev = ph__api_set_current(io->owner);
	int ev = ((revents & EV_READ) ? PH_IO_READ : 0) |
		 ((revents & EV_WRITE) ? PH_IO_WRITE : 0);

	io->cb(io->ctx, io->w.fd, ev);
	ph__api_set_current(prev);
}

static ph_io *api_io_add(int fd, int events, ph_io_fn *cb, void *ctx)
{
	struct ph_io *io;
	int ev = ((events & PH_IO_READ) ? EV_READ : 0) |
		 ((events & PH_IO_WRITE) ? EV_WRITE : 0);

	if (api_loop == NULL || cb == NULL || fd < 0 || ev == 0)
		return NULL;
	io = calloc(1, sizeof(*io));
	if (io == NULL)
		return NULL;
	io->cb = cb;
	io->ctx = ctx;
	io->owner = api_current;
	ev_io_init(&io->w, api_io_cb, fd, ev);
	ev_io_start(api_loop, &io->w);
	return io;
}

static void api_io_remove(ph_io **io)
{
	if (*io == NULL)
		return;
	if (api_loop != NULL)
		ev_io_stop(api_loop, &(*io)->w);
	free(*io);
	*io = NULL;
}

/* ---- connection ---- */

static int api_conn_printf(ph_conn *conn, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = ph__conn_vprintf(conn, fmt, ap);
	va_end(ap);
	return ret;
}

/* ---- users and storage ---- */

static const char *api_user_get(const ph_user *user, const char *key)
{
#ifdef PH_HAVE_AUTH
	return user != NULL && key != NULL ? ph__user_get(user, key) : NULL;
#else
	return NULL;
#endif
}

static int api_user_set(ph_user *user, const char *key, const char *value)
{
#ifdef PH_HAVE_AUTH
	if (user == NULL || key == NULL || value == NULL)
		return PH_EINVAL;
	return ph__user_set(user, key, value);
#else
	return PH_ENOTSUP;
#endif
}

static int api_storage_get(const struct ph_storage_ops **ops_r,
			   void **storage_state_r)
{
	if (api_storage_ops == NULL) {
		*ops_r = NULL;
		*storage_state_r = NULL;
		return PH_ENOTFOUND;
	}
	*ops_r = api_storage_ops;
	*storage_state_r = api_storage_state;
	return PH_OK;
}

static const struct ph_core_api core_api = {
    .struct_size = sizeof(struct ph_core_api),
    .abi_major = PH_ABI_MAJOR,
    .abi_minor = PH_ABI_MINOR,
    .core_version = PH_CORE_VERSION,
    .log = api_log,
    .conn_log = api_conn_log,
    .strerror = ph__strerror,
    .config_get = api_config_get,
    .config_get_uint = api_config_get_uint,
    .timer_add = api_timer_add,
    .timer_remove = api_timer_remove,
    .io_add = api_io_add,
    .io_remove = api_io_remove,
    .conn_read_line = ph__conn_read_line,
    .conn_read_bytes = ph__conn_read_bytes,
    .conn_write = ph__conn_write,
    .conn_printf = api_conn_printf,
    .conn_write_file = ph__conn_write_file,
    .conn_output_pending = ph__conn_output_pending,
    .conn_output_lowat = ph__conn_output_lowat,
    .conn_close = ph__conn_close,
    .conn_starttls = ph__conn_starttls,
    .conn_info = ph__conn_info,
    .conn_set_idle_timeout = ph__conn_set_idle_timeout,
    .conn_config = ph__conn_config,
    .auth_plain = ph__conn_auth_plain,
    .sasl_mechanisms = ph__conn_sasl_mechanisms,
    .sasl_start = ph__conn_sasl_start,
    .sasl_continue = ph__conn_sasl_continue,
    .user_get = api_user_get,
    .user_set = api_user_set,
    .storage_get = api_storage_get,
    /* ABI 1.1 */
    .session_handoff = ph__conn_session_handoff,
};

const struct ph_core_api *ph__api(void)
{
	return &core_api;
}
