/* pop3-fake.c - see pop3-fake.h. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "pop3-fake.h"

/* ---- config ---- */

struct ph_config {
	const char *const *kv;
};
static struct ph_config fake_cfg;
static const struct ph_setting_def *fake_defs;
static const struct ph_protocol_ops *fake_ops;

void fake_config_set(const char *const *kv)
{
	fake_cfg.kv = kv;
}

const ph_config *fake_config(void)
{
	return &fake_cfg;
}

static const char *f_config_get(const ph_config *cfg, const char *key)
{
	for (const char *const *p = cfg->kv; p != NULL && *p != NULL; p += 2)
		if (strcmp(p[0], key) == 0)
			return p[1];
	for (const struct ph_setting_def *d = fake_defs; d && d->key; d++)
		if (strcmp(d->key, key) == 0)
			return d->default_value;
	return NULL;
}

static int f_config_get_uint(const ph_config *cfg, const char *key,
			     uint64_t *value_r)
{
	const char *v = f_config_get(cfg, key);
	char *end;

	if (v == NULL)
		return PH_ENOTFOUND;
	if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
		*value_r = v[0] == 'y';
		return PH_OK;
	}
	*value_r = strtoull(v, &end, 10);
	if (*end == 'm')
		*value_r *= 60;
	return PH_OK;
}

/* ---- logging ---- */

static void f_log(enum ph_log_level level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

static void f_conn_log(ph_conn *conn, enum ph_log_level level, const char *fmt,
		       ...)
{
	(void)conn;
	(void)level;
	(void)fmt;
}

static const char *f_strerror(int code)
{
	return code < 0 ? "error" : "ok";
}

/* ---- connection I/O ---- */

static int f_read_line(ph_conn *c, size_t max_len, struct ph_str *line_r)
{
	char *lf;
	size_t len;

	if (c->close_requested)
		return PH_ECLOSED;
	lf = memchr(c->in + c->in_pos, '\n', c->in_len - c->in_pos);
	if (lf == NULL)
		return PH_AGAIN;
	len = (size_t)(lf - (c->in + c->in_pos));
	line_r->data = c->in + c->in_pos;
	c->in_pos += len + 1;
	if (len > 0 && line_r->data[len - 1] == '\r')
		len--;
	if (len > max_len)
		return PH_ETOOBIG;
	line_r->len = len;
	return PH_OK;
}

static int f_read_bytes(ph_conn *c, size_t max, struct ph_str *data_r)
{
	return PH_AGAIN;
}

static int f_write(ph_conn *c, const void *data, size_t len)
{
	if (c->close_requested)
		return PH_ECLOSED;
	c->out = realloc(c->out, c->out_len + len + 1);
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	c->out[c->out_len] = '\0';
	if (c->opts.slow_reader)
		c->pending += len;
	if (c->pending > c->max_pending)
		c->max_pending = c->pending;
	return PH_OK;
}

static int f_printf(ph_conn *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return f_write(c, buf, (size_t)n);
}

static int f_write_file(ph_conn *c, int fd, uint64_t offset, uint64_t len)
{
	char *buf = malloc(len ? len : 1);
	int ret;

	if (pread(fd, buf, len, (off_t)offset) != (ssize_t)len) {
		free(buf);
		return PH_EIO;
	}
	ret = f_write(c, buf, len);
	free(buf);
	return ret;
}

static size_t f_pending(ph_conn *c)
{
	return c->pending;
}

static size_t f_lowat(ph_conn *c)
{
	return FAKE_LOWAT;
}

static void f_close(ph_conn *c)
{
	c->close_requested = 1;
}

static int f_starttls(ph_conn *c)
{
	if (c->opts.tls_mode != PH_TLS_STARTTLS)
		return PH_ENOTSUP;
	if (c->opts.tls)
		return PH_EINVAL;
	c->starttls_called = 1;
	c->in_pos = c->in_len; /* the core discards buffered input */
	return PH_OK;
}

static int f_info(ph_conn *c, struct ph_conn_info *info)
{
	info->session_id = "fake";
	info->listener = "pop3";
	info->peer_ip = "127.0.0.1";
	info->tls = c->opts.tls;
	info->tls_mode = c->opts.tls_mode;
	info->allow_plaintext = c->opts.allow_plaintext;
	return PH_OK;
}

static void f_set_idle(ph_conn *c, unsigned seconds)
{
	c->idle_timeout = seconds;
	c->idle_sets++;
}

static const ph_config *f_conn_config(ph_conn *c)
{
	return &fake_cfg;
}

/* ---- auth ---- */

struct ph_user {
	char name[256];
};
static struct ph_user fake_user;

static int f_check(const char *user, const char *pass)
{
	return (strcmp(user, "alice") == 0 && strcmp(pass, "secret") == 0) ||
	       (strcmp(user, "bob") == 0 && strcmp(pass, "hunter2") == 0);
}

static int plaintext_ok(ph_conn *c)
{
	return c->opts.tls || c->opts.allow_plaintext;
}

static int f_auth_plain(ph_conn *c, struct ph_str user, struct ph_str pass,
			ph_auth_done_fn *cb, void *ctx)
{
	if (!plaintext_ok(c))
		return PH_EPERM;
	if (c->auth_cb != NULL || c->sasl_cb != NULL)
		return PH_EINUSE;
	snprintf(c->auth_user, sizeof(c->auth_user), "%.*s", (int)user.len,
		 user.data);
	snprintf(c->auth_pass, sizeof(c->auth_pass), "%.*s", (int)pass.len,
		 pass.data);
	c->auth_cb = cb;
	c->auth_ctx = ctx;
	return PH_OK;
}

static const char *f_mechs(ph_conn *c)
{
	return plaintext_ok(c) ? "PLAIN" : "";
}

/* Decodes SASL PLAIN "\0user\0pass" into the conn's auth fields. */
static void f_sasl_plain(ph_conn *c, struct ph_str b64)
{
	unsigned char buf[512];
	int n;
	const char *u, *p;

	c->auth_user[0] = c->auth_pass[0] = '\0';
	if (b64.len >= 340)
		return;
	n = EVP_DecodeBlock(buf, (const unsigned char *)b64.data, (int)b64.len);
	if (n < 3)
		return;
	buf[n] = '\0';
	u = (const char *)buf + strlen((char *)buf) + 1;
	p = u + strlen(u) + 1;
	if (p >= (const char *)buf + n + 1)
		return;
	snprintf(c->auth_user, sizeof(c->auth_user), "%.200s", u);
	snprintf(c->auth_pass, sizeof(c->auth_pass), "%.200s", p);
}

static int f_sasl_start(ph_conn *c, const char *mech, const struct ph_str *ir,
			ph_sasl_fn *cb, void *ctx)
{
	if (strcasecmp(mech, "PLAIN") != 0 || !plaintext_ok(c))
		return PH_ENOTSUP;
	if (c->auth_cb != NULL || c->sasl_cb != NULL)
		return PH_EINUSE;
	c->sasl_cb = cb;
	c->auth_ctx = ctx;
	c->sasl_want_response = ir == NULL;
	c->sasl_challenged = 0;
	if (ir != NULL)
		f_sasl_plain(c, *ir);
	return PH_OK;
}

static int f_sasl_continue(ph_conn *c, struct ph_str response)
{
	if (c->sasl_cb == NULL)
		return PH_EINVAL;
	if (response.len == 1 && response.data[0] == '*') {
		ph_sasl_fn *cb = c->sasl_cb;

		c->sasl_cb = NULL;
		cb(c->auth_ctx, PH_SASL_ABORTED, PH_STR_LIT("Aborted"), NULL);
		return PH_OK;
	}
	f_sasl_plain(c, response);
	c->sasl_want_response = 0;
	return PH_OK;
}

void fake_run(struct ph_conn *c)
{
	if (c->auth_cb != NULL) {
		ph_auth_done_fn *cb = c->auth_cb;
		int ok = f_check(c->auth_user, c->auth_pass);

		c->auth_cb = NULL;
		snprintf(fake_user.name, sizeof(fake_user.name), "%.200s",
			 c->auth_user);
		cb(c->auth_ctx, ok ? PH_OK : PH_EAUTH, ok ? &fake_user : NULL,
		   ok ? "Logged in" : "Authentication failed");
	} else if (c->sasl_cb != NULL) {
		ph_sasl_fn *cb = c->sasl_cb;
		int ok;

		if (c->sasl_want_response) {
			if (c->sasl_challenged)
				return; /* waiting for the client */
			c->sasl_challenged = 1;
			cb(c->auth_ctx, PH_SASL_CHALLENGE, PH_STR_LIT(""),
			   NULL);
			return;
		}
		ok = f_check(c->auth_user, c->auth_pass);
		c->sasl_cb = NULL;
		snprintf(fake_user.name, sizeof(fake_user.name), "%.200s",
			 c->auth_user);
		cb(c->auth_ctx, ok ? PH_SASL_SUCCESS : PH_SASL_FAILURE,
		   ok ? PH_STR_LIT("") : PH_STR_LIT("Authentication failed"),
		   ok ? &fake_user : NULL);
	}
}

static const char *f_user_get(const ph_user *u, const char *key)
{
	return strcmp(key, "user") == 0 ? u->name : NULL;
}

static int f_user_set(ph_user *u, const char *key, const char *value)
{
	return PH_ENOTSUP;
}

static int f_storage_get(const struct ph_storage_ops **ops_r, void **st_r)
{
	*ops_r = fake_storage_ops();
	*st_r = NULL;
	return PH_OK;
}

static ph_timer *f_timer_add(double s, int r, ph_timer_fn *cb, void *ctx)
{
	return NULL;
}

static void f_timer_remove(ph_timer **t)
{
	*t = NULL;
}

static ph_io *f_io_add(int fd, int ev, ph_io_fn *cb, void *ctx)
{
	return NULL;
}

static void f_io_remove(ph_io **io)
{
	*io = NULL;
}

static int fake_handoff_result;
static char fake_handoff_buf[PH_SESSION_STATE_MAX + 1];

void fake_set_handoff_result(int result)
{
	fake_handoff_result = result;
	fake_handoff_buf[0] = '\0';
}

const char *fake_handoff_state(void)
{
	return fake_handoff_buf;
}

static int f_session_handoff(ph_conn *c, const void *state, size_t len)
{
	snprintf(fake_handoff_buf, sizeof(fake_handoff_buf), "%.*s", (int)len,
		 (const char *)state);
	return fake_handoff_result;
}

static const struct ph_core_api fake_api = {
    .struct_size = sizeof(struct ph_core_api),
    .abi_major = PH_ABI_MAJOR,
    .abi_minor = PH_ABI_MINOR,
    .core_version = "0.1.0",
    .log = f_log,
    .conn_log = f_conn_log,
    .strerror = f_strerror,
    .config_get = f_config_get,
    .config_get_uint = f_config_get_uint,
    .timer_add = f_timer_add,
    .timer_remove = f_timer_remove,
    .io_add = f_io_add,
    .io_remove = f_io_remove,
    .conn_read_line = f_read_line,
    .conn_read_bytes = f_read_bytes,
    .conn_write = f_write,
    .conn_printf = f_printf,
    .conn_write_file = f_write_file,
    .conn_output_pending = f_pending,
    .conn_output_lowat = f_lowat,
    .conn_close = f_close,
    .conn_starttls = f_starttls,
    .conn_info = f_info,
    .conn_set_idle_timeout = f_set_idle,
    .conn_config = f_conn_config,
    .auth_plain = f_auth_plain,
    .sasl_mechanisms = f_mechs,
    .sasl_start = f_sasl_start,
    .sasl_continue = f_sasl_continue,
    .user_get = f_user_get,
    .user_set = f_user_set,
    .storage_get = f_storage_get,
    .session_handoff = f_session_handoff,
};

const struct ph_core_api *fake_core_api(void)
{
	return &fake_api;
}

struct ph_conn *fake_conn_open(const struct ph_plugin *plugin, void *pstate,
			       const struct fake_conn_opts *opts)
{
	struct ph_conn *c = calloc(1, sizeof(*c));

	fake_defs = plugin->settings;
	fake_ops = plugin->ops;
	c->opts = *opts;
	c->out = calloc(1, 1);
	if (fake_ops->conn_open(pstate, c, &c->state) < 0) {
		free(c->out);
		free(c);
		return NULL;
	}
	return c;
}

struct ph_conn *fake_conn_resume(const struct ph_plugin *plugin, void *pstate,
				 const char *user, const void *state,
				 size_t len)
{
	struct ph_conn *c = calloc(1, sizeof(*c));
	struct fake_conn_opts opts = FAKE_CONN_OPTS_DEFAULT;

	fake_defs = plugin->settings;
	fake_ops = plugin->ops;
	c->opts = opts;
	c->out = calloc(1, 1);
	snprintf(fake_user.name, sizeof(fake_user.name), "%s", user);
	if (fake_ops->conn_resume(pstate, c, &fake_user, state, len,
				  &c->state) < 0) {
		free(c->out);
		free(c);
		return NULL;
	}
	return c;
}

void fake_conn_send(struct ph_conn *c, const char *data, size_t len)
{
	/* Keep the unread tail, drop what was consumed. */
	size_t rest = c->in_len - c->in_pos;
	char *in = malloc(rest + len + 1);

	if (rest > 0)
		memcpy(in, c->in + c->in_pos, rest);
	memcpy(in + rest, data, len);
	free(c->in);
	c->in = in;
	c->in_len = rest + len;
	c->in_pos = 0;
	if (c->starttls_called)
		c->opts.tls = 1; /* handshake "done" on the next input */
	if (!c->close_requested)
		fake_ops->conn_input(c->state);
}

void fake_conn_sendz(struct ph_conn *c, const char *s)
{
	fake_conn_send(c, s, strlen(s));
}

const char *fake_conn_take(struct ph_conn *c)
{
	const char *s = c->out + c->out_read;

	c->out_read = c->out_len;
	return s;
}

void fake_conn_drain(struct ph_conn *c, size_t n)
{
	int was_high = c->pending >= FAKE_LOWAT;

	c->pending = n >= c->pending ? 0 : c->pending - n;
	if (was_high && c->pending < FAKE_LOWAT && !c->close_requested &&
	    fake_ops->conn_output_ready != NULL)
		fake_ops->conn_output_ready(c->state);
}

void fake_conn_free(struct ph_conn *c)
{
	fake_ops->conn_closed(c->state);
	free(c->in);
	free(c->out);
	free(c);
}

/* ---- storage ---- */

#define FAKE_MAX_MSGS 2048

struct fake_msg {
	uint32_t uid;
	uint32_t flags;
	int fd;
	size_t len, size;
	int crlf;
	int gone;
	int wire;
};

static struct fake_msg msgs[FAKE_MAX_MSGS];
static unsigned nmsgs;
static uint32_t next_uid = 1;
static void *lock_owner;
static int fail_expunge;
static unsigned opens;

struct ph_mail_user {
	int dummy;
};
struct ph_mailbox {
	unsigned idx[FAKE_MAX_MSGS];
	uint32_t count;
};

void fake_storage_reset(void)
{
	for (unsigned i = 0; i < nmsgs; i++)
		close(msgs[i].fd);
	nmsgs = 0;
	lock_owner = NULL;
	fail_expunge = 0;
	opens = 0;
}

uint32_t fake_storage_add(const char *data, size_t len, int crlf)
{
	struct fake_msg *m = &msgs[nmsgs++];
	int fd = memfd_create("msg", 0);

	if (write(fd, data, len) != (ssize_t)len)
		abort();
	*m = (struct fake_msg){
	    .uid = next_uid++, .fd = fd, .len = len, .crlf = crlf};
	/* RFC822.SIZE: every bare LF counts as CR LF. */
	m->size = len;
	for (size_t i = 0; i < len; i++)
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			m->size++;
	return m->uid;
}

unsigned fake_storage_count(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nmsgs; i++)
		n += !msgs[i].gone;
	return n;
}

int fake_storage_flags(uint32_t uid)
{
	for (unsigned i = 0; i < nmsgs; i++)
		if (msgs[i].uid == uid && !msgs[i].gone)
			return (int)msgs[i].flags;
	return -1;
}

void fake_storage_fail_expunge(int fail)
{
	fail_expunge = fail;
}

void fake_storage_expunge_other(uint32_t uid)
{
	for (unsigned i = 0; i < nmsgs; i++)
		if (msgs[i].uid == uid)
			msgs[i].gone = 1;
}

unsigned fake_storage_opens(void)
{
	return opens;
}

static struct ph_mail_user the_user;

static int s_user_open(void *st, const ph_user *u, ph_mail_user **mu_r,
		       const char **error_r)
{
	*mu_r = &the_user;
	return PH_OK;
}

static void s_user_close(ph_mail_user **mu)
{
	*mu = NULL;
}

static int s_mailbox_open(ph_mail_user *mu, const char *name, unsigned flags,
			  ph_mailbox **box_r, const char **error_r)
{
	ph_mailbox *box = calloc(1, sizeof(*box));

	if (strcasecmp(name, "INBOX") != 0) {
		free(box);
		*error_r = "no such mailbox";
		return PH_ENOTFOUND;
	}
	for (unsigned i = 0; i < nmsgs; i++)
		if (!msgs[i].gone)
			box->idx[box->count++] = i;
	*box_r = box;
	return PH_OK;
}

static void s_mailbox_close(ph_mailbox **box)
{
	if (lock_owner == *box)
		lock_owner = NULL;
	free(*box);
	*box = NULL;
}

static int s_lock(ph_mailbox *box, const char **error_r)
{
	if (lock_owner != NULL && lock_owner != box) {
		*error_r = "locked";
		return PH_EINUSE;
	}
	lock_owner = box;
	return PH_OK;
}

static int s_get_status(ph_mailbox *box, struct ph_mailbox_status *st)
{
	st->messages = box->count;
	st->uidvalidity = 1234567;
	st->uidnext = next_uid;
	return PH_OK;
}

static uint32_t s_count(ph_mailbox *box)
{
	return box->count;
}

static struct fake_msg *s_msg(ph_mailbox *box, uint32_t seq)
{
	if (seq == 0 || seq > box->count)
		return NULL;
	return &msgs[box->idx[seq - 1]];
}

static int s_info(ph_mailbox *box, uint32_t seq, struct ph_message_info *info)
{
	struct fake_msg *m = s_msg(box, seq);

	if (m == NULL)
		return PH_EINVAL;
	info->uid = m->uid;
	info->flags = m->flags;
	info->size = m->size;
	info->physical_size = m->len;
	info->expunged = m->gone;
	return PH_OK;
}

static int s_open(ph_mailbox *box, uint32_t seq, struct ph_message_body *b,
		  const char **error_r)
{
	struct fake_msg *m = s_msg(box, seq);

	if (m == NULL || m->gone)
		return PH_ENOTFOUND;
	opens++;
	b->fd = dup(m->fd);
	b->offset = 0;
	b->length = m->len;
	b->crlf = m->crlf;
	return PH_OK;
}

static void s_close(ph_mailbox *box, struct ph_message_body *b)
{
	close(b->fd);
	b->fd = -1;
}

static int s_cache_get(ph_mailbox *box, uint32_t seq, const char *field,
		       struct ph_str *v)
{
	struct fake_msg *m = s_msg(box, seq);

	if (m == NULL || !m->wire || strcmp(field, "pop3.wire") != 0)
		return PH_ENOTFOUND;
	*v = PH_STR_LIT("1");
	return PH_OK;
}

static int s_cache_set(ph_mailbox *box, uint32_t seq, const char *field,
		       struct ph_str v)
{
	struct fake_msg *m = s_msg(box, seq);

	if (m != NULL && strcmp(field, "pop3.wire") == 0)
		m->wire = v.len == 1 && v.data[0] == '1';
	return PH_OK;
}

static int s_store(ph_mailbox *box, const uint32_t *seqs, size_t count,
		   const struct ph_store_request *req, uint32_t *conflicts_r,
		   size_t *conflict_count_r, const char **error_r)
{
	for (size_t i = 0; i < count; i++) {
		struct fake_msg *m = s_msg(box, seqs[i]);

		if (m != NULL && req->mode == PH_STORE_ADD)
			m->flags |= req->flags;
	}
	return PH_OK;
}

static int s_expunge(ph_mailbox *box, const uint32_t *seqs, size_t count,
		     const char **error_r)
{
	if (fail_expunge) {
		*error_r = "disk on fire";
		return PH_EIO;
	}
	for (size_t i = 0; i < count; i++) {
		struct fake_msg *m = s_msg(box, seqs[i]);

		if (m != NULL)
			m->gone = 1;
	}
	return PH_OK;
}

static const struct ph_storage_ops fake_storage = {
    PH_STORAGE_OPS_INIT,
    .user_open = s_user_open,
    .user_close = s_user_close,
    .mailbox_open = s_mailbox_open,
    .mailbox_close = s_mailbox_close,
    .mailbox_get_status = s_get_status,
    .mailbox_lock = s_lock,
    .message_count = s_count,
    .message_info = s_info,
    .message_open = s_open,
    .message_close = s_close,
    .cache_get = s_cache_get,
    .cache_set = s_cache_set,
    .messages_store = s_store,
    .messages_expunge = s_expunge,
};

const struct ph_storage_ops *fake_storage_ops(void)
{
	return &fake_storage;
}
