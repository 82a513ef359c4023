/* core/conn.c - connections: non-blocking socket I/O through libev, TLS
 * through OpenSSL, a bounded input buffer the protocol pulls from, and an
 * output queue of memory chunks and file ranges (sendfile on plaintext,
 * pread + SSL_write on TLS) drained as the socket allows.
 *
 * A connection is only ever freed from its close timer, so every handler
 * may touch it until it returns, whatever the plugin did meanwhile. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "addr.h"
#include "api.h"
#include "config-extra.h"
#include "conn-private.h"
#include "inbuf.h"
#include "linger.h"
#include "log.h"
#ifdef PH_HAVE_AUTH
#include "login.h"
#include "user.h"
#endif

static void conn_after(ph_conn *c);
static void conn_flush(ph_conn *c);
static void conn_update_read(ph_conn *c);
static void conn_tls_start(ph_conn *c);

/* ---- helpers ---- */

static const char *plugin_enter(ph_conn *c)
{
	return ph__api_set_current(c->l->proto->name);
}

static void session_id_make(char *out)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char r[8];

	if (RAND_bytes(r, sizeof(r)) != 1) {
		static unsigned long counter;

		snprintf((char *)r, sizeof(r), "%lx",
			 ++counter ^ (unsigned long)getpid());
	}
	for (size_t i = 0; i < 8; i++)
		out[i] = alphabet[r[i] % 62];
	out[8] = '\0';
}

static void conn_log(ph_conn *c, enum ph_log_level level, const char *fmt, ...)
    PH_PRINTF(3, 4);
static void conn_log(ph_conn *c, enum ph_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ph__vlog(level, c->log_prefix, fmt, ap);
	va_end(ap);
}

static void schedule_destroy(ph_conn *c, double after);

/* Abrupt end: drop output, free from the loop soon. */
static void conn_close_now(ph_conn *c, const char *reason)
{
	if (c->reason == NULL)
		c->reason = reason;
	c->closing = 1;
	ev_io_stop(c->env->loop, &c->rio);
	ev_io_stop(c->env->loop, &c->wio);
	schedule_destroy(c, 0.);
}

/* ---- destruction ---- */

static void out_chunk_free(struct out_chunk *ch)
{
	if (ch->fd >= 0)
		close(ch->fd);
	free(ch->stage);
	free(ch);
}

static void outq_free(struct outq *q)
{
	while (q->head != NULL) {
		struct out_chunk *ch = q->head;

		q->head = ch->next;
		out_chunk_free(ch);
	}
	q->tail = NULL;
}

static void outq_append(struct outq *q, struct out_chunk *ch)
{
	if (q->tail != NULL)
		q->tail->next = ch;
	else
		q->head = ch;
	q->tail = ch;
}

/* Output written between conn_starttls() and the end of the handshake
 * must not leave in plaintext. */
static struct outq *conn_write_queue(ph_conn *c)
{
	return c->state == CONN_OPEN ? &c->out : &c->held;
}

static void conn_destroy(ph_conn *c)
{
	struct ev_loop *loop = c->env->loop;
	struct ph__conn_env *env = c->env;

	conn_log(c, PH_LOG_INFO, "disconnect: reason=%s in=%llu out=%llu",
		 c->reason != NULL ? c->reason : "closed",
		 (unsigned long long)c->bytes_in,
		 (unsigned long long)c->bytes_out);
	ev_io_stop(loop, &c->rio);
	ev_io_stop(loop, &c->wio);
	ev_timer_stop(loop, &c->idle);
	ev_timer_stop(loop, &c->hs);
	ev_timer_stop(loop, &c->close_timer);
	ev_prepare_stop(loop, &c->kick);
	ev_io_stop(loop, &c->master_wio);
	ev_io_stop(loop, &c->relay_rio);
	ev_io_stop(loop, &c->relay_wio);
	if (c->relay_fd >= 0)
		close(c->relay_fd);
	c->closing = 1;
	if (c->opened) {
		const char *prev = plugin_enter(c);

		c->opened = 0;
		c->ops->conn_closed(c->pstate);
		ph__api_set_current(prev);
	}
#ifdef PH_HAVE_AUTH
	/* The plugin borrowed the user record until conn_closed. */
	ph__login_destroy(&c->login);
	ph__user_destroy(&c->owned_user);
#endif
	free(c->handoff_state);
	free(c->tls_version_remote);
	free(c->tls_cipher_remote);
	if (c->ssl != NULL) {
		if (c->tls_active && !c->tls_failed)
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		ERR_clear_error();
	}
	/* Lingering shuts the socket down, which would also cut off a
	 * session process that received this socket. */
	if (c->eof || c->read_error || c->handoff == CONN_HANDOFF_PENDING)
		close(c->fd);
	else
		ph__linger_close(loop, c->fd);
	outq_free(&c->out);
	outq_free(&c->held);
	ph__inbuf_free(&c->in);
	free(c->printf_buf);
	free(c->auth_user);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		env->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	env->conn_count--;
	c->l->conn_count--;
	if (env->on_free != NULL)
		env->on_free(env->ctx, c);
	free(c);
}

static void conn_close_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ph_conn *c = w->data;

	if (!c->destroy_scheduled && c->reason == NULL)
		c->reason = "output flush timed out";
	conn_destroy(c);
}

static void schedule_destroy(ph_conn *c, double after)
{
	if (c->destroy_scheduled)
		return;
	c->destroy_scheduled = 1;
	ev_timer_stop(c->env->loop, &c->close_timer);
	ev_timer_set(&c->close_timer, after, 0.);
	ev_timer_start(c->env->loop, &c->close_timer);
}

/* ---- protocol callbacks ---- */

static void conn_open_protocol(ph_conn *c)
{
	const char *prev = plugin_enter(c);
	int ret = c->ops->conn_open(c->l->proto->state, c, &c->pstate);

	ph__api_set_current(prev);
	if (ret < 0) {
		conn_close_now(c, "refused by protocol");
		return;
	}
	c->opened = 1;
}

static void conn_dispatch_input(ph_conn *c)
{
	const char *prev;

	if (!c->opened || c->closing || c->state != CONN_OPEN)
		return;
	prev = plugin_enter(c);
	c->ops->conn_input(c->pstate);
	ph__api_set_current(prev);
}

/* ---- TLS ---- */

static const char *ssl_err_text(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, size, "%s",
			 errno != 0 ? strerror(errno) : "connection closed");
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

static void conn_handshake(ph_conn *c)
{
	int ret, err;
	char buf[256];

	ERR_clear_error();
	ret = SSL_accept(c->ssl);
	if (ret != 1) {
		err = SSL_get_error(c->ssl, ret);
		if (err == SSL_ERROR_WANT_READ) {
			ev_io_stop(c->env->loop, &c->wio);
			ev_io_start(c->env->loop, &c->rio);
			return;
		}
		if (err == SSL_ERROR_WANT_WRITE) {
			ev_io_start(c->env->loop, &c->wio);
			return;
		}
		c->tls_failed = 1;
		errno = 0;
		conn_log(c, PH_LOG_INFO, "TLS handshake failed: %s",
			 ssl_err_text(buf, sizeof(buf)));
		conn_close_now(c, "TLS handshake failed");
		return;
	}
	ev_timer_stop(c->env->loop, &c->hs);
	ev_io_stop(c->env->loop, &c->wio);
	c->tls_active = 1;
	c->state = CONN_OPEN;
	if (c->held.head != NULL) {
		outq_append(&c->out, c->held.head);
		c->out.tail = c->held.tail;
		c->held.head = c->held.tail = NULL;
	}
	conn_log(c, PH_LOG_INFO, "TLS: %s %s", SSL_get_version(c->ssl),
		 SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)));
#ifdef PH_HAVE_AUTH
	if (c->login != NULL)
		ph__login_set_tls(c->login, c->ssl);
#endif
	if (!c->opened)
		conn_open_protocol(c);
	else
		conn_dispatch_input(c);
	/* Records may already sit decrypted in OpenSSL's buffer. */
	ev_feed_event(c->env->loop, &c->rio, EV_READ);
}

static void conn_hs_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ph_conn *c = w->data;

	conn_log(c, PH_LOG_INFO, "TLS handshake timed out");
	c->tls_failed = 1;
	conn_close_now(c, "TLS handshake timeout");
}

static void conn_tls_start(ph_conn *c)
{
	c->ssl = SSL_new(c->l->ssl_ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		conn_log(c, PH_LOG_ERROR, "SSL_new failed");
		conn_close_now(c, "TLS setup failed");
		return;
	}
	c->state = CONN_HANDSHAKE;
	ev_timer_set(&c->hs, c->env->handshake_timeout, 0.);
	ev_timer_start(c->env->loop, &c->hs);
	conn_handshake(c);
}

/* ---- reading ---- */

static void conn_read_socket(ph_conn *c)
{
	int got = 0;

	for (;;) {
		unsigned char *tail;
		size_t room = ph__inbuf_prepare(&c->in, &tail);
		ssize_t n;

		if (room == 0)
			break;
		if (c->ssl != NULL) {
			int ret, err;

			ERR_clear_error();
			ret =
			    SSL_read(c->ssl, tail,
				     room > INT32_MAX ? INT32_MAX : (int)room);
			if (ret > 0) {
				n = ret;
			} else {
				err = SSL_get_error(c->ssl, ret);
				if (err == SSL_ERROR_WANT_READ)
					break;
				if (err == SSL_ERROR_WANT_WRITE) {
					ev_io_start(c->env->loop, &c->wio);
					break;
				}
				if (err == SSL_ERROR_ZERO_RETURN) {
					c->eof = 1;
					c->reason = "disconnected";
				} else {
					char buf[256];

					errno = 0;
					c->tls_failed = 1;
					conn_log(
					    c, PH_LOG_DEBUG, "TLS read: %s",
					    ssl_err_text(buf, sizeof(buf)));
					c->eof = 1;
					c->read_error = 1;
					c->reason = "disconnected";
				}
				break;
			}
		} else {
			n = read(c->fd, tail, room);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				c->eof = 1;
				c->read_error = 1;
				c->reason = "connection reset";
				break;
			}
			if (n == 0) {
				c->eof = 1;
				c->reason = "disconnected";
				break;
			}
		}
		ph__inbuf_commit(&c->in, (size_t)n);
		c->bytes_in += (uint64_t)n;
		got = 1;
	}
	if (got && c->idle_secs > 0 && c->handoff == CONN_HANDOFF_NONE)
		ev_timer_again(c->env->loop, &c->idle);
	if (got && c->handoff == CONN_HANDOFF_RELAY)
		ph__conn_relay_push(c);
	else if (got)
		conn_dispatch_input(c);
	/* A reset ends everything; a clean EOF (the client may only have
	 * shut down its sending side) lets the protocol answer what it has
	 * already received: conn_after() closes once the output is out. */
	if (c->eof && !c->closing && c->read_error)
		conn_close_now(c, c->reason);
}

static void conn_rio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	ph_conn *c = w->data;

	if (c->closing && !c->ssl_write_wants_read) {
		ev_io_stop(loop, w);
		return;
	}
	switch (c->state) {
	case CONN_HANDSHAKE:
		conn_handshake(c);
		break;
	case CONN_STARTTLS_FLUSH:
		/* Not one plaintext byte more until the handshake. */
		ev_io_stop(loop, w);
		break;
	case CONN_OPEN:
		if (c->ssl_write_wants_read) {
			c->ssl_write_wants_read = 0;
			conn_flush(c);
		}
		if (!c->closing)
			conn_read_socket(c);
		break;
	}
	conn_after(c);
}

static void conn_update_read(ph_conn *c)
{
	int want = !c->closing && !c->eof && c->state == CONN_OPEN &&
		   !ph__inbuf_full(&c->in) &&
		   c->handoff != CONN_HANDOFF_PENDING;

	if (c->ssl_write_wants_read && !c->closing)
		want = 1;
	if (want && !ev_is_active(&c->rio)) {
		ev_io_start(c->env->loop, &c->rio);
		if (c->ssl != NULL && SSL_pending(c->ssl) > 0)
			ev_feed_event(c->env->loop, &c->rio, EV_READ);
	} else if (!want && ev_is_active(&c->rio) &&
		   c->state != CONN_HANDSHAKE) {
		ev_io_stop(c->env->loop, &c->rio);
	}
}

/* ---- writing ---- */

/* Sends from the head chunk: >0 progress, 0 blocked, <0 fatal. */
static int conn_send_chunk(ph_conn *c, struct out_chunk *ch)
{
	const unsigned char *p;
	size_t len;

	if (ch->fd >= 0 && c->ssl == NULL) {
		off_t off = (off_t)ch->file_off;
		size_t want = ch->file_left > CONN_SENDFILE_MAX
				  ? CONN_SENDFILE_MAX
				  : (size_t)ch->file_left;
		ssize_t n = sendfile(c->fd, ch->fd, &off, want);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			conn_log(c, PH_LOG_DEBUG, "sendfile: %s",
				 strerror(errno));
			return -1;
		}
		if (n == 0) {
			conn_log(c, PH_LOG_ERROR,
				 "file shrank while being sent");
			return -1;
		}
		ch->file_off += (uint64_t)n;
		ch->file_left -= (uint64_t)n;
		c->out_file -= (uint64_t)n;
		c->bytes_out += (uint64_t)n;
		return 1;
	}
	if (ch->fd >= 0) {
		if (ch->stage_off == ch->stage_len) {
			size_t want = ch->file_left > CONN_CHUNK_SIZE
					  ? CONN_CHUNK_SIZE
					  : (size_t)ch->file_left;
			ssize_t n;

			if (ch->stage == NULL &&
			    (ch->stage = malloc(CONN_CHUNK_SIZE)) == NULL)
				return -1;
			n = pread(ch->fd, ch->stage, want, (off_t)ch->file_off);
			if (n <= 0) {
				conn_log(c, PH_LOG_ERROR,
					 "reading a file to send: %s",
					 n < 0 ? strerror(errno)
					       : "file shrank");
				return -1;
			}
			ch->stage_len = (size_t)n;
			ch->stage_off = 0;
			ch->file_off += (uint64_t)n;
		}
		p = ch->stage + ch->stage_off;
		len = ch->stage_len - ch->stage_off;
	} else {
		p = ch->data + ch->off;
		len = ch->len - ch->off;
	}
	ssize_t n;

	if (c->ssl != NULL) {
		int ret, err;

		ERR_clear_error();
		ret = SSL_write(c->ssl, p,
				len > INT32_MAX ? INT32_MAX : (int)len);
		if (ret <= 0) {
			err = SSL_get_error(c->ssl, ret);
			if (err == SSL_ERROR_WANT_WRITE)
				return 0;
			if (err == SSL_ERROR_WANT_READ) {
				c->ssl_write_wants_read = 1;
				return 0;
			}
			c->tls_failed = 1;
			ERR_clear_error();
			return -1;
		}
		n = ret;
	} else {
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
	}
	c->bytes_out += (uint64_t)n;
	if (ch->fd >= 0) {
		ch->stage_off += (size_t)n;
		ch->file_left -= (uint64_t)n;
		c->out_file -= (uint64_t)n;
	} else {
		ch->off += (size_t)n;
		c->out_mem -= (size_t)n;
	}
	return 1;
}

static int chunk_done(const struct out_chunk *ch)
{
	if (ch->fd >= 0)
		return ch->file_left == 0;
	return ch->off == ch->len;
}

static void conn_flush(ph_conn *c)
{
	int blocked = 0;

	if (c->destroy_scheduled)
		return;
	for (;;) {
		while (c->out.head != NULL && c->state != CONN_HANDSHAKE) {
			struct out_chunk *ch = c->out.head;
			int ret = conn_send_chunk(c, ch);

			if (ret < 0) {
				conn_close_now(c, "write error");
				return;
			}
			if (ret == 0) {
				blocked = 1;
				break;
			}
			if (chunk_done(ch)) {
				c->out.head = ch->next;
				if (c->out.head == NULL)
					c->out.tail = NULL;
				out_chunk_free(ch);
			}
		}
		if (c->above_lowat &&
		    c->out_mem + c->out_file < c->env->lowat) {
			c->above_lowat = 0;
			if (c->opened && !c->closing &&
			    c->ops->conn_output_ready != NULL &&
			    c->state == CONN_OPEN) {
				const char *prev = plugin_enter(c);

				c->ops->conn_output_ready(c->pstate);
				ph__api_set_current(prev);
				if (c->destroy_scheduled)
					return;
				if (!blocked && c->out.head != NULL)
					continue;
			}
		}
		break;
	}
	if (blocked && !c->ssl_write_wants_read)
		ev_io_start(c->env->loop, &c->wio);
	else if (!blocked && c->state != CONN_HANDSHAKE)
		ev_io_stop(c->env->loop, &c->wio);
	if (c->out.head == NULL) {
		if (c->state == CONN_STARTTLS_FLUSH && !c->closing)
			conn_tls_start(c);
		else if (c->closing)
			schedule_destroy(c, 0.);
	}
}

static void conn_wio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	ph_conn *c = w->data;

	if (c->state == CONN_HANDSHAKE)
		conn_handshake(c);
	else
		conn_flush(c);
	conn_after(c);
}

/* After every callback into the plugin: flush, then re-evaluate whether
 * the socket should be read (back-pressure). */
static void conn_after(ph_conn *c)
{
	ev_prepare_stop(c->env->loop, &c->kick);
	if (c->destroy_scheduled)
		return;
	if (c->handoff == CONN_HANDOFF_PENDING) {
		ph__conn_handoff_step(c);
		return;
	}
	if (c->state != CONN_HANDSHAKE)
		conn_flush(c);
	if (c->destroy_scheduled)
		return;
	if (c->handoff == CONN_HANDOFF_RELAY) {
		ph__conn_relay_update(c);
		if (!c->destroy_scheduled)
			conn_update_read(c);
		return;
	}
	/* After the peer's EOF: once everything the protocol had to say is
	 * sent (it had its conn_input / conn_output_ready calls), close. */
	if (c->eof && !c->closing && c->state == CONN_OPEN &&
	    c->out.head == NULL && c->held.head == NULL) {
		conn_close_now(c, c->reason);
		return;
	}
	conn_update_read(c);
}

static void conn_kick_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)revents;
	conn_after(w->data);
}

/* Cheap when called inside a callback: conn_after() runs anyway and
 * stops the watcher before the loop gets to it. */
static void conn_kick(ph_conn *c)
{
	if (!c->destroy_scheduled)
		ev_prepare_start(c->env->loop, &c->kick);
}

/* ---- idle ---- */

static void conn_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ph_conn *c = w->data;

	ev_timer_stop(loop, w);
	if (c->closing)
		return;
	conn_log(c, PH_LOG_INFO, "idle timeout after %u s", c->idle_secs);
	c->reason = "idle timeout";
	if (c->opened && c->ops->conn_goodbye != NULL) {
		const char *prev = plugin_enter(c);

		c->ops->conn_goodbye(c->pstate, PH_GOODBYE_TIMEOUT);
		ph__api_set_current(prev);
	}
	ph__conn_close(c);
	conn_after(c);
}

/* ---- creation ---- */

/* What ph__conn_create() and ph__conn_adopt() share: watchers and the
 * env's lists. */
static void conn_init(ph_conn *c, struct ph__conn_env *env,
		      struct ph__listener_rt *l, int fd)
{
	c->env = env;
	c->l = l;
	c->fd = fd;
	c->ops = l->proto->desc->ops;
	c->state = CONN_OPEN;
	ev_io_init(&c->rio, conn_rio_cb, fd, EV_READ);
	ev_io_init(&c->wio, conn_wio_cb, fd, EV_WRITE);
	ev_init(&c->idle, conn_idle_cb);
	ev_init(&c->hs, conn_hs_timeout_cb);
	ev_init(&c->close_timer, conn_close_timer_cb);
	ev_prepare_init(&c->kick, conn_kick_cb);
	c->rio.data = c->wio.data = c->idle.data = c->hs.data =
	    c->close_timer.data = c->kick.data = c;
	ph__conn_session_init(c);
	c->next = env->conns;
	if (env->conns != NULL)
		env->conns->prev = c;
	env->conns = c;
	env->conn_count++;
	l->conn_count++;
}

void ph__conn_env_init(struct ph__conn_env *env, struct ev_loop *loop,
		       const struct ph__config *cfg)
{
	memset(env, 0, sizeof(*env));
	env->loop = loop;
	env->input_buffer = (size_t)ph__config_core_uint(cfg, "input_buffer");
	env->output_limit = cfg->output_limit;
	env->lowat = 16384;
	env->handshake_timeout =
	    (double)ph__config_core_uint(cfg, "handshake_timeout");
	env->close_timeout =
	    (double)ph__config_core_uint(cfg, "shutdown_timeout");
	env->default_idle_timeout = cfg->idle_timeout;
	env->handoff_fd = -1;
}

ph_conn *ph__conn_create(struct ph__conn_env *env, struct ph__listener_rt *l,
			 int fd, const struct sockaddr *peer)
{
	struct sockaddr_storage local;
	socklen_t local_len = sizeof(local);
	ph_conn *c = calloc(1, sizeof(*c));

	if (c == NULL || ph__inbuf_init(&c->in, env->input_buffer + 2) < 0) {
		free(c);
		close(fd);
		return NULL;
	}
	conn_init(c, env, l, fd);
	session_id_make(c->session_id);
	ph__addr_format(peer, c->peer_ip, sizeof(c->peer_ip), &c->peer_port);
	if (getsockname(fd, (struct sockaddr *)&local, &local_len) == 0)
		ph__addr_format((struct sockaddr *)&local, c->local_ip,
				sizeof(c->local_ip), &c->local_port);
	snprintf(c->log_prefix, sizeof(c->log_prefix), "%s %s", c->session_id,
		 c->peer_ip);
	conn_log(c, PH_LOG_INFO, "connect: listener=%s peer=%s:%u local=%s:%u",
		 l->cfg->name, c->peer_ip, c->peer_port, c->local_ip,
		 c->local_port);
#ifdef PH_HAVE_AUTH
	if (env->auth != NULL) {
		struct ph__login_params params = {
		    .service = l->proto->name,
		    .remote_ip = c->peer_ip,
		    .local_ip = c->local_ip,
		    .secured = 0,
		    .allow_plaintext = l->cfg->allow_plaintext,
		    .cert_username =
			ph__config_get(l->cfg->section, "tls_cert_username"),
		    .listener = l->cfg->name,
		};

		c->login = ph__login_create(env->loop, env->auth, &params);
	}
#endif
	ph__conn_set_idle_timeout(c, env->default_idle_timeout);
	if (l->cfg->tls == PH_TLS_IMPLICIT)
		conn_tls_start(c);
	else
		conn_open_protocol(c);
	conn_after(c);
	return c;
}

void ph__conn_shutdown(ph_conn *c)
{
	/* A relay's session process says goodbye itself (the master signals
	 * it too) and closes: the relay follows its EOF. */
	if (c->closing || c->handoff == CONN_HANDOFF_RELAY)
		return;
	c->reason = "shutdown";
	if (!c->opened || c->state == CONN_HANDSHAKE) {
		conn_close_now(c, "shutdown");
		return;
	}
	if (c->ops->conn_goodbye != NULL) {
		const char *prev = plugin_enter(c);

		c->ops->conn_goodbye(c->pstate, PH_GOODBYE_SHUTDOWN);
		ph__api_set_current(prev);
	}
	ph__conn_close(c);
	conn_after(c);
}

ph_conn *ph__conn_next(const ph_conn *c)
{
	return c->next;
}

const char *ph__conn_peer_ip(const ph_conn *c)
{
	return c->peer_ip;
}

/* ---- API: logging ---- */

void ph__conn_vlog(ph_conn *c, enum ph_log_level level, const char *fmt,
		   va_list ap)
{
	char buf[1024];

	if (!ph__log_enabled(level))
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (c == NULL) {
		ph__log(level, ph__api_current(), "%s", buf);
		return;
	}
	ph__log(level, c->log_prefix, "%s: %s",
		ph__api_current() != NULL ? ph__api_current()
					  : c->l->proto->name,
		buf);
}

/* ---- API: input ---- */

int ph__conn_read_line(ph_conn *c, size_t max_len, struct ph_str *line_r)
{
	if (c == NULL || line_r == NULL)
		return PH_EINVAL;
	if (c->handoff != CONN_HANDOFF_NONE ||
	    (c->closing && ph__inbuf_used(&c->in) == 0)) {
		line_r->data = NULL;
		line_r->len = 0;
		return PH_ECLOSED;
	}
	if (max_len > CONN_MAX_LINE)
		max_len = CONN_MAX_LINE;
	return ph__inbuf_read_line(&c->in, max_len, line_r);
}

int ph__conn_read_bytes(ph_conn *c, size_t max, struct ph_str *data_r)
{
	if (c == NULL || data_r == NULL)
		return PH_EINVAL;
	if (c->handoff != CONN_HANDOFF_NONE ||
	    (c->closing && ph__inbuf_used(&c->in) == 0)) {
		data_r->data = NULL;
		data_r->len = 0;
		return PH_ECLOSED;
	}
	return ph__inbuf_read_bytes(&c->in, max, data_r);
}

/* ---- API: output ---- */

static void conn_note_pending(ph_conn *c)
{
	if (c->out_mem + c->out_file >= c->env->lowat)
		c->above_lowat = 1;
}

static int conn_overflow(ph_conn *c, size_t more)
{
	if (c->out_mem + more <= c->env->output_limit)
		return 0;
	conn_log(c, PH_LOG_WARNING,
		 "output queue over its limit of %zu bytes: closing",
		 c->env->output_limit);
	conn_close_now(c, "output overflow");
	return 1;
}

int ph__conn_write(ph_conn *c, const void *data, size_t len)
{
	const unsigned char *p = data;

	if (c == NULL || (data == NULL && len > 0))
		return PH_EINVAL;
	if (c->closing || c->handoff == CONN_HANDOFF_PENDING)
		return PH_ECLOSED;
	if (conn_overflow(c, len))
		return PH_ETOOBIG;
	while (len > 0) {
		struct outq *q = conn_write_queue(c);
		struct out_chunk *ch = q->tail;
		size_t n;

		if (ch == NULL || ch->fd >= 0 || ch->len == ch->cap) {
			size_t cap =
			    len > CONN_CHUNK_SIZE ? len : CONN_CHUNK_SIZE;

			ch = malloc(sizeof(*ch) + cap);
			if (ch == NULL) {
				conn_close_now(c, "out of memory");
				return PH_ENOMEM;
			}
			memset(ch, 0, sizeof(*ch));
			ch->fd = -1;
			ch->cap = cap;
			outq_append(q, ch);
		}
		n = ch->cap - ch->len;
		if (n > len)
			n = len;
		memcpy(ch->data + ch->len, p, n);
		ch->len += n;
		c->out_mem += n;
		p += n;
		len -= n;
	}
	conn_note_pending(c);
	conn_kick(c);
	return PH_OK;
}

int ph__conn_vprintf(ph_conn *c, const char *fmt, va_list ap)
{
	char buf[1024];
	va_list ap2;
	int n;

	if (c == NULL || fmt == NULL)
		return PH_EINVAL;
	if (c->closing)
		return PH_ECLOSED;
	va_copy(ap2, ap);
	n = vsnprintf(buf, sizeof(buf), fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return PH_EINVAL;
	if ((size_t)n < sizeof(buf))
		return ph__conn_write(c, buf, (size_t)n);
	char *big = malloc((size_t)n + 1);

	if (big == NULL)
		return PH_ENOMEM;
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	int ret = ph__conn_write(c, big, (size_t)n);

	free(big);
	return ret;
}

int ph__conn_write_file(ph_conn *c, int fd, uint64_t offset, uint64_t len)
{
	struct out_chunk *ch;

	if (c == NULL || fd < 0)
		return PH_EINVAL;
	if (c->closing || c->handoff != CONN_HANDOFF_NONE)
		return PH_ECLOSED;
	if (len == 0)
		return PH_OK;
	ch = calloc(1, sizeof(*ch));
	if (ch == NULL)
		return PH_ENOMEM;
	ch->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (ch->fd < 0) {
		free(ch);
		return PH_EIO;
	}
	ch->file_off = offset;
	ch->file_left = len;
	outq_append(conn_write_queue(c), ch);
	c->out_file += len;
	conn_note_pending(c);
	conn_kick(c);
	return PH_OK;
}

size_t ph__conn_output_pending(ph_conn *c)
{
	return c != NULL ? c->out_mem + (size_t)c->out_file : 0;
}

size_t ph__conn_output_lowat(ph_conn *c)
{
	return c != NULL ? c->env->lowat : 0;
}

/* ---- API: control ---- */

void ph__conn_close(ph_conn *c)
{
	if (c == NULL || c->closing)
		return;
	c->closing = 1;
	if (c->reason == NULL)
		c->reason = "closed by server";
	ev_io_stop(c->env->loop, &c->rio);
	ev_timer_stop(c->env->loop, &c->idle);
	/* Bounded flush: whatever is still queued then is dropped. */
	ev_timer_set(&c->close_timer, c->env->close_timeout, 0.);
	ev_timer_start(c->env->loop, &c->close_timer);
	conn_kick(c);
}

int ph__conn_starttls(ph_conn *c)
{
	if (c == NULL)
		return PH_EINVAL;
	if (c->closing)
		return PH_ECLOSED;
	if (c->tls_active || c->ssl != NULL || c->state != CONN_OPEN)
		return PH_EINVAL;
	if (c->l->ssl_ctx == NULL || c->l->cfg->tls != PH_TLS_STARTTLS)
		return PH_ENOTSUP;
	/* Anything the client pipelined after STARTTLS was sent in
	 * plaintext: it must never be read as if it came through TLS. */
	if (ph__inbuf_used(&c->in) > 0)
		conn_log(c, PH_LOG_INFO,
			 "STARTTLS: discarding %zu pipelined plaintext bytes",
			 ph__inbuf_used(&c->in));
	ph__inbuf_clear(&c->in);
	c->state = CONN_STARTTLS_FLUSH;
	ev_io_stop(c->env->loop, &c->rio);
	return PH_OK;
}

int ph__conn_info(ph_conn *c, struct ph_conn_info *info)
{
	struct ph_conn_info full = PH_CONN_INFO_INIT;
	size_t size;

	if (c == NULL || info == NULL)
		return PH_EINVAL;
	size =
	    info->struct_size < sizeof(full) ? info->struct_size : sizeof(full);
	if (size < sizeof(uint32_t))
		return PH_EINVAL;
	full.session_id = c->session_id;
	full.listener = c->l->cfg->name;
	full.peer_ip = c->peer_ip;
	full.peer_port = c->peer_port;
	full.local_ip = c->local_ip;
	full.local_port = c->local_port;
	full.tls = c->tls_active || c->tls_remote;
	full.tls_mode = (int)c->l->cfg->tls;
	if (c->tls_active) {
		full.tls_version = SSL_get_version(c->ssl);
		full.tls_cipher =
		    SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl));
	} else if (c->tls_remote) {
		full.tls_version = c->tls_version_remote;
		full.tls_cipher = c->tls_cipher_remote;
	}
	full.allow_plaintext = c->l->cfg->allow_plaintext;
	full.struct_size = info->struct_size;
	memcpy(info, &full, size);
	return PH_OK;
}

void ph__conn_set_idle_timeout(ph_conn *c, unsigned seconds)
{
	if (c == NULL)
		return;
	c->idle_secs = seconds;
	ev_timer_stop(c->env->loop, &c->idle);
	if (seconds > 0 && !c->closing) {
		c->idle.repeat = seconds;
		ev_timer_again(c->env->loop, &c->idle);
	}
}

const ph_config *ph__conn_config(ph_conn *c)
{
	return c != NULL ? c->l->cfg->section : NULL;
}

/* ---- API: authentication (through login.c) ---- */

#ifdef PH_HAVE_AUTH
#define CONN_LOGIN_NOT_PERMITTED "Login not permitted for this account"

static void conn_auth_done(void *ctx, int result, const ph_user *user,
			   const char *message)
{
	ph_conn *c = ctx;
	ph_auth_done_fn *cb = c->auth_cb;
	const char *prev;

	c->auth_cb = NULL;
	if (result == PH_OK && ph__conn_login_refused(c, user)) {
		result = PH_EAUTH;
		user = NULL;
		message = CONN_LOGIN_NOT_PERMITTED;
	}
	if (result == PH_OK)
		conn_log(c, PH_LOG_INFO, "login: user=%s method=plain",
			 ph__api()->user_get(user, "user"));
	else
		conn_log(c, PH_LOG_INFO,
			 "login failed: user=%s method=plain: %s",
			 c->auth_user != NULL ? c->auth_user : "?",
			 ph__strerror(result));
	if (cb == NULL || c->closing)
		return;
	prev = plugin_enter(c);
	cb(c->auth_ctx, result, user, message);
	ph__api_set_current(prev);
	conn_after(c);
}

static void conn_sasl_step(void *ctx, enum ph_sasl_status status,
			   struct ph_str data, const ph_user *user)
{
	ph_conn *c = ctx;
	const char *prev;

	if (status == PH_SASL_SUCCESS && ph__conn_login_refused(c, user)) {
		status = PH_SASL_FAILURE;
		data = PH_STR_LIT(CONN_LOGIN_NOT_PERMITTED);
		user = NULL;
	}
	if (status == PH_SASL_SUCCESS)
		conn_log(c, PH_LOG_INFO, "login: user=%s method=sasl",
			 ph__api()->user_get(user, "user"));
	else if (status == PH_SASL_FAILURE || status == PH_SASL_TEMPFAIL)
		conn_log(c, PH_LOG_INFO, "login failed: method=sasl: %.*s",
			 (int)data.len, data.data);
	if (c->sasl_cb == NULL || c->closing)
		return;
	prev = plugin_enter(c);
	c->sasl_cb(c->sasl_ctx, status, data, user);
	ph__api_set_current(prev);
	conn_after(c);
}
#endif

int ph__conn_auth_plain(ph_conn *c, struct ph_str user, struct ph_str password,
			ph_auth_done_fn *cb, void *ctx)
{
	if (c == NULL || cb == NULL)
		return PH_EINVAL;
	if (c->closing)
		return PH_ECLOSED;
#ifdef PH_HAVE_AUTH
	if (c->login == NULL)
		return PH_ETEMP;
	if (c->auth_cb != NULL)
		return PH_EINUSE;
	free(c->auth_user);
	c->auth_user = strndup(user.data != NULL ? user.data : "",
			       user.len > 256 ? 256 : user.len);
	c->auth_cb = cb;
	c->auth_ctx = ctx;
	int ret = ph__login_plain(c->login, user, password, conn_auth_done, c);

	if (ret < 0)
		c->auth_cb = NULL;
	return ret;
#else
	return PH_ETEMP;
#endif
}

const char *ph__conn_sasl_mechanisms(ph_conn *c)
{
#ifdef PH_HAVE_AUTH
	if (c != NULL && c->login != NULL)
		return ph__login_mechanisms(c->login);
#endif
	return "";
}

int ph__conn_sasl_start(ph_conn *c, const char *mech,
			const struct ph_str *initial_response, ph_sasl_fn *cb,
			void *ctx)
{
	if (c == NULL || mech == NULL || cb == NULL)
		return PH_EINVAL;
	if (c->closing)
		return PH_ECLOSED;
#ifdef PH_HAVE_AUTH
	if (c->login == NULL)
		return PH_ENOTSUP;
	ph_sasl_fn *old_cb = c->sasl_cb;
	void *old_ctx = c->sasl_ctx;

	c->sasl_cb = cb;
	c->sasl_ctx = ctx;
	int ret = ph__login_sasl_start(c->login, mech, initial_response,
				       conn_sasl_step, c);

	if (ret < 0) {
		c->sasl_cb = old_cb;
		c->sasl_ctx = old_ctx;
	}
	return ret;
#else
	return PH_ENOTSUP;
#endif
}

int ph__conn_sasl_continue(ph_conn *c, struct ph_str response)
{
	if (c == NULL)
		return PH_EINVAL;
	if (c->closing)
		return PH_ECLOSED;
#ifdef PH_HAVE_AUTH
	if (c->login == NULL)
		return PH_EINVAL;
	return ph__login_sasl_continue(c->login, response);
#else
	return PH_EINVAL;
#endif
}

/* ---- what conn-session.c uses of this file ---- */

const char *ph__conn_plugin_enter(ph_conn *c)
{
	return plugin_enter(c);
}

void ph__conn_logf(ph_conn *c, enum ph_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ph__vlog(level, c->log_prefix, fmt, ap);
	va_end(ap);
}

void ph__conn_close_now(ph_conn *c, const char *reason)
{
	conn_close_now(c, reason);
}

void ph__conn_schedule_destroy(ph_conn *c, double after)
{
	schedule_destroy(c, after);
}

void ph__conn_after(ph_conn *c)
{
	conn_after(c);
}

void ph__conn_kick(ph_conn *c)
{
	conn_kick(c);
}

void ph__conn_flush(ph_conn *c)
{
	conn_flush(c);
}

void ph__conn_dispatch_input(ph_conn *c)
{
	conn_dispatch_input(c);
}

void ph__conn_init(ph_conn *c, struct ph__conn_env *env,
		   struct ph__listener_rt *l, int fd)
{
	conn_init(c, env, l, fd);
}
