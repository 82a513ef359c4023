/* Sockets, TLS and buffers of one slot's connection (non-blocking, libev). */
#include "loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents);

static void conn_set_events(struct lg_slot *s, int events)
{
	struct lg_conn *c = &s->c;

	if (c->io.events == events && ev_is_active(&c->io))
		return;
	ev_io_stop(lg.loop, &c->io);
	ev_io_set(&c->io, c->fd, events);
	ev_io_start(lg.loop, &c->io);
}

/* Bind to one of 127.0.0.1..N so > 28k connections find source ports. */
static int conn_bind_source(struct lg_slot *s, int fd)
{
	struct sockaddr_in src = {.sin_family = AF_INET};
	int one = 1;

	if (lg.opt.sources <= 1)
		return 0;
	src.sin_addr.s_addr = htonl(0x7f000001u + s->id % lg.opt.sources);
	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
			 sizeof(one));
	return bind(fd, (struct sockaddr *)&src, sizeof(src));
}

int lg_conn_open(struct lg_slot *s)
{
	struct lg_conn *c = &s->c;
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (conn_bind_source(s, fd) < 0 ||
	    (connect(fd, (struct sockaddr *)&lg.opt.server,
		     sizeof(lg.opt.server)) < 0 &&
	     errno != EINPROGRESS)) {
		int err = errno;
		close(fd);
		return -err;
	}
	c->fd = fd;
	c->connecting = true;
	c->handshaking = false;
	c->rlen = c->roff = c->wlen = c->woff = 0;
	ev_io_init(&c->io, conn_io_cb, fd, EV_WRITE);
	c->io.data = s;
	ev_io_start(lg.loop, &c->io);
	return 0;
}

void lg_conn_close(struct lg_slot *s)
{
	struct lg_conn *c = &s->c;

	if (c->fd < 0)
		return;
	ev_io_stop(lg.loop, &c->io);
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	close(c->fd);
	c->fd = -1;
}

static int conn_tls_start(struct lg_slot *s)
{
	struct lg_conn *c = &s->c;

	c->ssl = SSL_new(lg.ssl_ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return -1;
	SSL_set_connect_state(c->ssl);
	c->handshaking = true;
	return 0;
}

int lg_conn_starttls(struct lg_slot *s)
{
	if (lg_conn_avail(s) != 0) /* plaintext after the OK: injection */
		return -1;
	if (conn_tls_start(s) < 0)
		return -1;
	conn_set_events(s, EV_READ | EV_WRITE);
	return 0;
}

/* Returns 0 when done or blocked, < 0 on a fatal error. */
static int conn_flush(struct lg_slot *s)
{
	struct lg_conn *c = &s->c;

	while (c->woff < c->wlen) {
		size_t left = c->wlen - c->woff;
		ssize_t n;

		if (c->ssl != NULL) {
			n = SSL_write(c->ssl, c->wbuf + c->woff, (int)left);
			if (n <= 0) {
				int e = SSL_get_error(c->ssl, (int)n);
				if (e == SSL_ERROR_WANT_READ ||
				    e == SSL_ERROR_WANT_WRITE)
					break;
				return -1;
			}
		} else {
			n = send(c->fd, c->wbuf + c->woff, left, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				return -1;
			}
		}
		c->woff += (size_t)n;
	}
	if (c->woff == c->wlen)
		c->woff = c->wlen = 0;
	conn_set_events(s, c->wlen > 0 ? EV_READ | EV_WRITE : EV_READ);
	return 0;
}

int lg_conn_send(struct lg_slot *s, const void *data, size_t len)
{
	struct lg_conn *c = &s->c;

	if (c->fd < 0)
		return -1;
	if (c->woff > 0) {
		memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
		c->wlen -= c->woff;
		c->woff = 0;
	}
	if (len > LG_WBUF_MAX - c->wlen)
		return -1;
	if (c->wlen + len > c->wcap) {
		size_t cap = c->wcap ? c->wcap : 4096;
		char *p;

		while (cap < c->wlen + len)
			cap *= 2;
		p = realloc(c->wbuf, cap);
		if (p == NULL)
			return -1;
		c->wbuf = p;
		c->wcap = cap;
	}
	memcpy(c->wbuf + c->wlen, data, len);
	c->wlen += len;
	if (c->connecting || c->handshaking)
		return 0;
	return conn_flush(s);
}

int lg_conn_printf(struct lg_slot *s, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return lg_conn_send(s, buf, (size_t)n);
}

int lg_conn_line(struct lg_slot *s, const char **line, size_t *len)
{
	struct lg_conn *c = &s->c;
	size_t avail = c->rlen - c->roff, n;
	char *start, *lf;

	if (avail == 0)
		return 0;
	start = c->rbuf + c->roff;
	lf = memchr(start, '\n', avail);
	if (lf == NULL)
		return avail >= LG_MAX_LINE ? -1 : 0;
	n = (size_t)(lf - start) + 1;
	if (n > LG_MAX_LINE)
		return -1;
	*line = start;
	*len = n - 1;
	if (*len > 0 && start[*len - 1] == '\r')
		(*len)--;
	c->roff += n; /* the line stays valid until the next read */
	return 1;
}

size_t lg_conn_skip(struct lg_slot *s, size_t want)
{
	struct lg_conn *c = &s->c;
	size_t avail = c->rlen - c->roff;
	size_t n = want < avail ? want : avail;

	c->roff += n;
	return n;
}

size_t lg_conn_avail(struct lg_slot *s)
{
	return s->c.rlen - s->c.roff;
}

/* Give back the buffers of a quiet connection: 50,000 held sessions
   should not cost loadgen 50,000 read buffers. */
static void conn_trim(struct lg_slot *s)
{
	struct lg_conn *c = &s->c;

	if (c->roff == c->rlen) {
		free(c->rbuf);
		c->rbuf = NULL;
		c->rlen = c->roff = c->rcap = 0;
	}
	if (c->woff == c->wlen) {
		free(c->wbuf);
		c->wbuf = NULL;
		c->wlen = c->woff = c->wcap = 0;
	}
}

void lg_conn_touch(struct lg_slot *s)
{
	ev_timer_stop(lg.loop, &s->timer);
	if (lg_imap_idling(s)) { /* a held session is quiet by design */
		conn_trim(s);
		return;
	}
	ev_timer_set(&s->timer, lg.opt.timeout, 0.);
	ev_timer_start(lg.loop, &s->timer);
}

static void conn_connected(struct lg_slot *s)
{
	struct lg_conn *c = &s->c;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
	    err != 0) {
		lg_session_fail(s, false, "connect: %s", strerror(err));
		return;
	}
	c->connecting = false;
	if (lg.opt.tls == LG_TLS_IMPLICIT) {
		if (conn_tls_start(s) < 0) {
			lg_session_fail(s, false, "SSL_new failed");
			return;
		}
		return;
	}
	conn_set_events(s, EV_READ);
	s->ops->connected(s);
}

/* Returns 1 when the handshake finished, 0 when blocked, < 0 on error. */
static int conn_handshake(struct lg_slot *s)
{
	struct lg_conn *c = &s->c;
	int r = SSL_do_handshake(c->ssl), e;

	if (r == 1) {
		c->handshaking = false;
		return 1;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ) {
		conn_set_events(s, EV_READ);
		return 0;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		conn_set_events(s, EV_READ | EV_WRITE);
		return 0;
	}
	return -1;
}

/* Read what is there; returns bytes read, 0 when blocked, < 0 on EOF or
   error (-2 for a clean EOF). */
static ssize_t conn_read(struct lg_slot *s)
{
	struct lg_conn *c = &s->c;
	size_t room;
	ssize_t n;

	if (c->roff > 0) { /* compact: consumed lines are gone */
		memmove(c->rbuf, c->rbuf + c->roff, c->rlen - c->roff);
		c->rlen -= c->roff;
		c->roff = 0;
	}
	if (c->rlen == c->rcap) {
		size_t cap = c->rcap ? c->rcap * 2 : LG_RBUF_INIT;
		char *p;

		if (c->rcap >= LG_RBUF_SIZE)
			return -1;
		if (cap > LG_RBUF_SIZE)
			cap = LG_RBUF_SIZE;
		p = realloc(c->rbuf, cap);
		if (p == NULL)
			return -1;
		c->rbuf = p;
		c->rcap = cap;
	}
	room = c->rcap - c->rlen;
	if (c->ssl != NULL) {
		n = SSL_read(c->ssl, c->rbuf + c->rlen, (int)room);
		if (n <= 0) {
			int e = SSL_get_error(c->ssl, (int)n);
			if (e == SSL_ERROR_WANT_READ ||
			    e == SSL_ERROR_WANT_WRITE)
				return 0;
			return e == SSL_ERROR_ZERO_RETURN ? -2 : -1;
		}
	} else {
		n = recv(c->fd, c->rbuf + c->rlen, room, 0);
		if (n == 0)
			return -2;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
	}
	c->rlen += (size_t)n;
	return n;
}

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct lg_slot *s = w->data;
	struct lg_conn *c = &s->c;
	int i;

	(void)loop;
	(void)revents;
	if (c->connecting) {
		conn_connected(s);
		if (c->connecting || c->fd < 0 || c->ssl == NULL)
			return;
	}
	if (c->handshaking) {
		int r = conn_handshake(s);
		if (r < 0) {
			lg_session_fail(s, false, "TLS handshake failed");
			return;
		}
		if (r == 0)
			return;
		if (lg.opt.tls == LG_TLS_STARTTLS)
			s->ops->tls_ready(s);
		else
			s->ops->connected(s);
		if (c->fd < 0)
			return;
	}
	if (conn_flush(s) < 0) {
		lg_session_fail(s, false, "send failed");
		return;
	}
	/* Bounded number of reads per wakeup keeps slots fair. */
	for (i = 0; i < 16 && c->fd >= 0 && !c->handshaking; i++) {
		ssize_t n = conn_read(s);
		if (n == 0)
			break;
		if (n == -2 && s->ops->eof != NULL && s->ops->eof(s))
			return;
		if (n < 0) {
			lg_session_fail(s, false, "%s",
					n == -2 ? "connection closed"
						: "recv failed");
			return;
		}
		lg_conn_touch(s);
		if (s->ops->input(s) < 0)
			return;
	}
}
