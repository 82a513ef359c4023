/* core/auth-client.c - the worker's side of the auth service. Requests
 * carry ids; answers, timeouts and failure penalties all end in a
 * per-request timer, so a reply callback always runs from the loop,
 * never inside a call into this module. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include "auth-client.h"
#include "auth-proto.h"
#include "log.h"
#include "user.h"

#define CLIENT_BUCKETS		  256
#define CLIENT_RECONNECT_INTERVAL 1.0

enum client_req_state {
	REQ_WAITING, /* sent; the timer is the request timeout */
	REQ_READY,   /* answered or failed; the timer delivers the result */
};

struct client_req {
	struct client_req *next; /* hash chain */
	struct ph__auth_client *client;
	int id;
	enum client_req_state state;
	ev_timer timer;
	int result;
	ph_user *user;
	char message[PH__AUTH_MAX_MESSAGE];
	unsigned char ticket[PH__AUTH_TICKET_LEN];
	int has_ticket;
	ph__auth_reply_fn *reply;
	void *ctx;
};

struct ph__auth_client {
	struct ev_loop *loop;
	int fd; /* -1 when the service connection is gone */
	ev_io rio, wio;
	struct ph__auth_outq outq;
	struct client_req *buckets[CLIENT_BUCKETS];
	size_t count;
	int last_id;
	double timeout;
	char *path;
	double last_connect;
	char schemes[PH__AUTH_MAX_FIELD + 1]; /* from the service's hello */
};

static struct client_req **client_slot(struct ph__auth_client *c, int id)
{
	struct client_req **pp = &c->buckets[(unsigned)id % CLIENT_BUCKETS];

	while (*pp != NULL && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

static void client_req_free(struct client_req *req)
{
	OPENSSL_cleanse(req->ticket, sizeof(req->ticket));
	ev_timer_stop(req->client->loop, &req->timer);
	ph__user_destroy(&req->user);
	free(req);
}

static void client_unlink(struct ph__auth_client *c, struct client_req *req)
{
	struct client_req **pp = client_slot(c, req->id);

	if (*pp == req) {
		*pp = req->next;
		c->count--;
	}
}

/* Arms the request's timer to deliver `result` after `delay` seconds. */
static void client_ready(struct client_req *req, int result, double delay,
			 const char *message)
{
	req->state = REQ_READY;
	req->result = result;
	snprintf(req->message, sizeof(req->message), "%s", message);
	ev_timer_stop(req->client->loop, &req->timer);
	ev_timer_set(&req->timer, delay, 0.);
	ev_timer_start(req->client->loop, &req->timer);
}

static void client_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct client_req *req = w->data;
	struct ph__auth_client *c = req->client;
	ph__auth_reply_fn *reply = req->reply;
	void *ctx = req->ctx;
	ph_user *user = req->user;
	char message[PH__AUTH_MAX_MESSAGE];
	unsigned char ticket[PH__AUTH_TICKET_LEN];
	int result = req->result, has_ticket = 0;

	if (req->state == REQ_WAITING) {
		result = PH_ETEMP;
		snprintf(message, sizeof(message), "auth service timeout");
		ph__log_warning("auth: request %d timed out", req->id);
	} else {
		memcpy(message, req->message, sizeof(message));
		has_ticket = req->has_ticket;
		memcpy(ticket, req->ticket, sizeof(ticket));
	}
	/* Unlink and free first: the callback may destroy the client. */
	client_unlink(c, req);
	req->user = NULL;
	client_req_free(req);
	reply(ctx, result, user, message, has_ticket ? ticket : NULL);
	OPENSSL_cleanse(ticket, sizeof(ticket));
}

static void client_disconnect(struct ph__auth_client *c, const char *why)
{
	size_t i;

	if (c->fd < 0)
		return;
	ph__log_warning("auth: service connection lost: %s", why);
	ev_io_stop(c->loop, &c->rio);
	ev_io_stop(c->loop, &c->wio);
	close(c->fd);
	c->fd = -1;
	ph__auth_outq_clear(&c->outq);
	for (i = 0; i < CLIENT_BUCKETS; i++) {
		struct client_req *req;

		for (req = c->buckets[i]; req != NULL; req = req->next) {
			if (req->state == REQ_WAITING)
				client_ready(req, PH_ETEMP, 0.,
					     "auth service unavailable");
		}
	}
}

static void client_handle_reply(struct ph__auth_client *c, unsigned char *buf,
				size_t len)
{
	struct ph__auth_reply_msg r;
	struct client_req *req;
	int result;

	if (ph__auth_decode_reply(buf, len, &r) < 0 || r.request_id == 0 ||
	    r.request_id > INT32_MAX) {
		client_disconnect(c, "malformed reply");
		return;
	}
	req = *client_slot(c, (int)r.request_id);
	if (req == NULL || req->state != REQ_WAITING)
		return; /* timed out or cancelled meanwhile */
	result = r.result;
	if (result == PH_OK) {
		req->user = ph__user_deserialize(r.record.data, r.record.len);
		if (req->user == NULL ||
		    ph__user_get(req->user, "user") == NULL) {
			ph__user_destroy(&req->user);
			result = PH_ETEMP;
		} else if (r.ticket.len == PH__AUTH_TICKET_LEN) {
			memcpy(req->ticket, r.ticket.data, r.ticket.len);
			req->has_ticket = 1;
		}
	} else if (result != PH_EAUTH && result != PH_EUNKNOWN &&
		   result != PH_ENOTSUP) {
		result = PH_ETEMP;
	}
	client_ready(req, result, result == PH_OK ? 0. : r.delay_ms / 1000.0,
		     r.message.data);
}

static void client_handle_hello(struct ph__auth_client *c, unsigned char *buf,
				size_t len)
{
	struct ph_str schemes;

	if (ph__auth_decode_hello(buf, len, &schemes) < 0) {
		client_disconnect(c, "malformed hello");
		return;
	}
	memcpy(c->schemes, schemes.data, schemes.len);
	c->schemes[schemes.len] = '\0';
}

const char *ph__auth_client_schemes(const struct ph__auth_client *client)
{
	return client->schemes;
}

static void client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ph__auth_client *c = w->data;
	unsigned char buf[PH__AUTH_MSG_MAX + 1];
	int i;

	for (i = 0; i < 64 && c->fd >= 0; i++) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			client_disconnect(c,
					  n == 0 ? "closed" : strerror(errno));
			return;
		}
		if (n > PH__AUTH_MSG_MAX) {
			client_disconnect(c, "oversized reply");
			return;
		}
		if (ph__auth_msg_type(buf, (size_t)n) == PH__AUTH_MSG_HELLO)
			client_handle_hello(c, buf, (size_t)n);
		else
			client_handle_reply(c, buf, (size_t)n);
	}
}

static void client_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ph__auth_client *c = w->data;
	int ret = ph__auth_outq_flush(&c->outq, c->fd);

	if (ret < 0)
		client_disconnect(c, "write failed");
	else if (ret == 0)
		ev_io_stop(loop, w);
}

static void client_attach(struct ph__auth_client *c, int fd)
{
	fcntl(fd, F_SETFL, O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	c->fd = fd;
	ev_io_init(&c->rio, client_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, client_write_cb, fd, EV_WRITE);
	c->rio.data = c->wio.data = c;
	ev_io_start(c->loop, &c->rio);
}

struct ph__auth_client *ph__auth_client_create(struct ev_loop *loop, int fd)
{
	struct ph__auth_client *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	c->loop = loop;
	c->fd = -1;
	c->timeout = PH__AUTH_CLIENT_TIMEOUT;
	if (fd >= 0)
		client_attach(c, fd);
	return c;
}

void ph__auth_client_destroy(struct ph__auth_client **client)
{
	struct ph__auth_client *c = *client;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CLIENT_BUCKETS; i++) {
		while (c->buckets[i] != NULL) {
			struct client_req *req = c->buckets[i];

			c->buckets[i] = req->next;
			client_req_free(req);
		}
	}
	if (c->fd >= 0) {
		ev_io_stop(c->loop, &c->rio);
		ev_io_stop(c->loop, &c->wio);
		close(c->fd);
	}
	ph__auth_outq_clear(&c->outq);
	free(c->path);
	free(c);
	*client = NULL;
}

void ph__auth_client_set_timeout(struct ph__auth_client *client, double seconds)
{
	client->timeout = seconds;
}

int ph__auth_client_set_path(struct ph__auth_client *client, const char *path)
{
	char *copy = NULL;

	if (path != NULL) {
		if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return PH_EINVAL;
		copy = strdup(path);
		if (copy == NULL)
			return PH_ENOMEM;
	}
	free(client->path);
	client->path = copy;
	return PH_OK;
}

/* Reconnects to the service's listener, at most once per interval. */
static void client_reconnect(struct ph__auth_client *c)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	double now = ev_now(c->loop);
	int fd;

	if (c->path == NULL ||
	    now - c->last_connect < CLIENT_RECONNECT_INTERVAL)
		return;
	c->last_connect = now;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	memcpy(sun.sun_path, c->path, strlen(c->path) + 1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return;
	}
	ph__log_info("auth: reconnected to %s", c->path);
	client_attach(c, fd);
}

static int client_type(const char *kind)
{
	if (strcmp(kind, "plain") == 0)
		return PH__AUTH_MSG_PLAIN;
	if (strcmp(kind, "lookup") == 0)
		return PH__AUTH_MSG_LOOKUP;
	if (strcmp(kind, "scram-first") == 0)
		return PH__AUTH_MSG_SCRAM_FIRST;
	if (strcmp(kind, "scram-final") == 0)
		return PH__AUTH_MSG_SCRAM_FINAL;
	if (strcmp(kind, "external") == 0)
		return PH__AUTH_MSG_EXTERNAL_VERIFY;
	return -1;
}

static struct ph_str client_str(const char *s)
{
	struct ph_str r = {s != NULL ? s : "", s != NULL ? strlen(s) : 0};
	return r;
}

static int client_next_id(struct ph__auth_client *c)
{
	do
		c->last_id = c->last_id >= INT32_MAX - 1 ? 1 : c->last_id + 1;
	while (*client_slot(c, c->last_id) != NULL);
	return c->last_id;
}

int ph__auth_client_request(struct ph__auth_client *client,
			    const struct ph__auth_query *query,
			    ph__auth_reply_fn *reply, void *ctx)
{
	unsigned char buf[PH__AUTH_MSG_MAX];
	struct ph__auth_request_msg m = {0};
	struct client_req *req, **slot;
	int type = client_type(query->kind), len, ret;

	if (type < 0 || query->user == NULL || reply == NULL)
		return PH_EINVAL;
	if (client->count >= 65536)
		return PH_ETEMP;
	m.type = (uint32_t)type;
	m.secured = query->secured;
	m.service = client_str(query->service);
	m.user = client_str(query->user);
	m.password.data = query->password != NULL ? query->password : "";
	m.password.len = query->password != NULL ? query->password_len : 0;
	m.scheme = client_str(query->scheme);
	m.remote_ip = client_str(query->remote_ip);
	m.local_ip = client_str(query->local_ip);
	m.cbind.data = (const char *)query->cbind;
	m.cbind.len = query->cbind != NULL ? query->cbind_len : 0;
	m.listener = client_str(query->listener);
	if (query->chain_count > PH__AUTH_MAX_CHAIN)
		return PH_ETOOBIG;
	for (size_t i = 0; query->chain != NULL && i < query->chain_count; i++)
		m.chain[m.chain_count++] = query->chain[i];
	req = calloc(1, sizeof(*req));
	if (req == NULL)
		return PH_ENOMEM;
	req->client = client;
	req->reply = reply;
	req->ctx = ctx;
	req->id = client_next_id(client);
	m.request_id = (uint32_t)req->id;
	len = ph__auth_encode_request(buf, &m);
	if (len < 0) {
		free(req);
		return len;
	}
	ev_timer_init(&req->timer, client_timer_cb, client->timeout, 0.);
	req->timer.data = req;
	slot = client_slot(client, req->id);
	*slot = req;
	client->count++;
	if (client->fd < 0)
		client_reconnect(client);
	if (client->fd < 0) {
		client_ready(req, PH_ETEMP, 0., "auth service unavailable");
		return req->id;
	}
	ev_timer_start(client->loop, &req->timer);
	ret = ph__auth_outq_send(&client->outq, client->fd, buf, (size_t)len);
	explicit_bzero(buf, (size_t)len);
	if (ret > 0)
		ev_io_start(client->loop, &client->wio);
	else if (ret == PH_ECLOSED)
		client_disconnect(client, "send failed");
	else if (ret < 0)
		client_ready(req, PH_ETEMP, 0., "auth service queue full");
	return req->id;
}

void ph__auth_client_cancel(struct ph__auth_client *client, int id)
{
	struct client_req *req;

	if (id <= 0)
		return;
	req = *client_slot(client, id);
	if (req == NULL)
		return;
	client_unlink(client, req);
	client_req_free(req);
}
