/* core/auth-server.c - the auth service: one libev loop reading requests
 * from workers, a small pthread pool running the plugin chain (so one
 * blocking PAM call never stalls the other requests), failure penalties
 * and one fail2ban-parsable log line per failed login. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <ev.h>
#include <openssl/crypto.h>
#include "auth-proto.h"
#include "api.h"
#include "auth-server.h"
#include "fdpass.h"
#include "log.h"
#include "auth-ticket.h"
#include "sasl-scram.h"
#include "user-extra.h"

/* A SCRAM exchange the service runs for a worker's client: the stored
 * secret stays here, the worker only relays the messages. */
struct srv_scram {
	struct srv_scram *next;
	uint32_t id;
	double started;
	struct ph__sasl *sasl;
	char *record; /* the user's record without the secret; NULL: none */
};

/* Exchanges per worker connection, and how long one may take: a client
 * that leaves after the server-first message leaves its exchange behind
 * (the worker does not say), so the oldest is evicted when full. */
#define SRV_SCRAM_MAX	  4096
#define SRV_SCRAM_TIMEOUT 120.0

struct srv_conn {
	struct srv *srv;
	struct srv_conn *prev, *next;
	uint64_t id;
	int fd;
	ev_io rio, wio;
	struct ph__auth_outq outq;
	struct srv_scram *scrams;
	unsigned scram_count;
	/* The master's control socket (ATTACH only), or a connection it
	 * attached for a session process (REDEEM only). Workers' and
	 * auth.sock connections are neither and may never REDEEM. */
	int control, master;
};

struct srv_job {
	struct srv_job *next;
	uint64_t conn_id;
	uint32_t type, request_id;
	uint32_t scram_id; /* SCRAM_FIRST: its exchange */
	int secured;
	char *service, *user, *password, *scheme, *remote_ip, *local_ip;
	size_t password_len;
	int result;
	char message[PH__AUTH_MAX_MESSAGE];
	char *record; /* serialised user on PH_OK */
};

struct srv_backend {
	struct ph__auth_backend b;
	pthread_mutex_t lock; /* serialises plugins that are not thread safe */
};

struct srv {
	struct ev_loop *loop;
	struct srv_backend *chain;
	size_t chain_count;
	struct ph__auth_server_params params;
	struct ph__auth_penalty *penalty;
	struct srv_conn *conns;
	struct ph__auth_tickets *tickets;
	uint64_t next_conn_id;
	uint32_t next_scram_id;
	int listen_fd;
	char schemes[PH__AUTH_MAX_FIELD + 1]; /* sent in every hello */
	ev_io accept_io, signal_io;
	ev_async done_async;
	size_t pending;

	pthread_t *threads;
	size_t thread_count;
	pthread_mutex_t lock; /* the two queues and `stopping` */
	pthread_cond_t cond;
	struct srv_job *todo_head, *todo_tail, *done_head, *done_tail;
	int stopping;
};

static void srv_job_free(struct srv_job *job)
{
	if (job->password != NULL)
		explicit_bzero(job->password, job->password_len);
	free(job->service);
	free(job->user);
	free(job->password);
	free(job->scheme);
	free(job->remote_ip);
	free(job->local_ip);
	free(job->record);
	free(job);
}

static void srv_queue_push(struct srv_job **head, struct srv_job **tail,
			   struct srv_job *job)
{
	job->next = NULL;
	if (*tail != NULL)
		(*tail)->next = job;
	else
		*head = job;
	*tail = job;
}

static struct srv_job *srv_queue_pop(struct srv_job **head,
				     struct srv_job **tail)
{
	struct srv_job *job = *head;

	if (job != NULL) {
		*head = job->next;
		if (*head == NULL)
			*tail = NULL;
	}
	return job;
}

static const char *srv_strerror(int ret)
{
	switch (ret) {
	case PH_OK:
		return "ok";
	case PH_EAUTH:
		return "authentication failed";
	case PH_EUNKNOWN:
		return "unknown user";
	case PH_ENOTSUP:
		return "not supported";
	default:
		return "temporary failure";
	}
}

/* ---- pool threads ---- */

typedef int srv_call_fn(const struct ph_auth_ops *ops, void *state,
			const struct ph_auth_request *req, const char *scheme,
			ph_user *user, const char **error_r);

static int srv_call_plain(const struct ph_auth_ops *ops, void *state,
			  const struct ph_auth_request *req, const char *scheme,
			  ph_user *user, const char **error_r)
{
	return ops->verify_plain(state, req, user, error_r);
}

static int srv_call_lookup(const struct ph_auth_ops *ops, void *state,
			   const struct ph_auth_request *req,
			   const char *scheme, ph_user *user,
			   const char **error_r)
{
	if (ops->lookup == NULL)
		return PH_EUNKNOWN;
	return ops->lookup(state, req, user, error_r);
}

static int srv_call_credentials(const struct ph_auth_ops *ops, void *state,
				const struct ph_auth_request *req,
				const char *scheme, ph_user *user,
				const char **error_r)
{
	if (ops->lookup_credentials == NULL)
		return PH_EUNKNOWN;
	return ops->lookup_credentials(state, req, scheme, user, error_r);
}

/* The results a worker may see; anything else is a temporary failure. */
static int srv_result_clean(uint32_t type, int ret)
{
	switch (ret) {
	case PH_OK:
	case PH_EUNKNOWN:
	case PH_ETEMP:
		return ret;
	case PH_EAUTH:
		return type == PH__AUTH_MSG_PLAIN ||
			       type == PH__AUTH_MSG_EXTERNAL_VERIFY
			   ? ret
			   : PH_ETEMP;
	case PH_ENOTSUP:
		return type == PH__AUTH_MSG_SCRAM_FIRST ? ret : PH_ETEMP;
	default:
		return PH_ETEMP;
	}
}

/* Runs the chain: PH_EUNKNOWN falls through, any other answer is final. */
static void srv_run_chain(struct srv *srv, struct srv_job *job)
{
	struct ph_auth_request req = PH_AUTH_REQUEST_INIT;
	srv_call_fn *call = job->type == PH__AUTH_MSG_PLAIN ? srv_call_plain
			    : job->type == PH__AUTH_MSG_LOOKUP ||
				    job->type == PH__AUTH_MSG_EXTERNAL_VERIFY
				? srv_call_lookup
				: srv_call_credentials;
	size_t i;

	req.user.data = job->user;
	req.user.len = strlen(job->user);
	req.password.data = job->password;
	req.password.len = job->password_len;
	req.service = job->service;
	req.remote_ip = job->remote_ip;
	req.local_ip = job->local_ip;
	req.secured = job->secured;
	job->result = PH_EUNKNOWN;
	snprintf(job->message, sizeof(job->message), "unknown user");
	for (i = 0; i < srv->chain_count; i++) {
		struct srv_backend *b = &srv->chain[i];
		const char *error = NULL, *prev;
		ph_user *user = ph__user_create();
		int ret;

		if (user == NULL) {
			job->result = PH_ETEMP;
			snprintf(job->message, sizeof(job->message),
				 "out of memory");
			return;
		}
		if (!b->b.ops->thread_safe)
			pthread_mutex_lock(&b->lock);
		prev = ph__api_set_current(b->b.name); /* log prefix */
		ret =
		    call(b->b.ops, b->b.state, &req, job->scheme, user, &error);
		ph__api_set_current(prev);
		/* error_r is the plugin's until its next call: copy it now. */
		if (error != NULL)
			snprintf(job->message, sizeof(job->message), "%s: %s",
				 b->b.name, error);
		else
			snprintf(job->message, sizeof(job->message), "%s: %s",
				 b->b.name, srv_strerror(ret));
		if (!b->b.ops->thread_safe)
			pthread_mutex_unlock(&b->lock);
		ret = srv_result_clean(job->type, ret);
		if (ret == PH_OK) {
			if (ph__user_get(user, "user") == NULL)
				ph__user_set(user, "user", job->user);
			job->record = ph__user_serialize(user);
			if (job->record == NULL ||
			    strlen(job->record) > PH__AUTH_MAX_RECORD)
				ret = PH_ETEMP;
		}
		ph__user_destroy(&user);
		job->result = ret;
		if (ret != PH_EUNKNOWN)
			return;
	}
}

static void *srv_thread(void *arg)
{
	struct srv *srv = arg;
	struct srv_job *job;

	pthread_mutex_lock(&srv->lock);
	for (;;) {
		while (!srv->stopping && srv->todo_head == NULL)
			pthread_cond_wait(&srv->cond, &srv->lock);
		if (srv->stopping)
			break;
		job = srv_queue_pop(&srv->todo_head, &srv->todo_tail);
		pthread_mutex_unlock(&srv->lock);
		srv_run_chain(srv, job);
		pthread_mutex_lock(&srv->lock);
		srv_queue_push(&srv->done_head, &srv->done_tail, job);
		ev_async_send(srv->loop, &srv->done_async);
	}
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

/* ---- the loop ---- */

static void srv_scram_free(struct srv_conn *conn, struct srv_scram *sc)
{
	struct srv_scram **pp;

	for (pp = &conn->scrams; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == sc) {
			*pp = sc->next;
			conn->scram_count--;
			break;
		}
	}
	ph__sasl_destroy(&sc->sasl);
	if (sc->record != NULL)
		explicit_bzero(sc->record, strlen(sc->record));
	free(sc->record);
	free(sc);
}

static struct srv_scram *srv_scram_find(struct srv_conn *conn, uint32_t id)
{
	struct srv_scram *sc;

	for (sc = conn->scrams; sc != NULL; sc = sc->next) {
		if (sc->id == id)
			return sc;
	}
	return NULL;
}

static void srv_conn_close(struct srv_conn *conn)
{
	struct srv *srv = conn->srv;

	while (conn->scrams != NULL)
		srv_scram_free(conn, conn->scrams);
	ev_io_stop(srv->loop, &conn->rio);
	ev_io_stop(srv->loop, &conn->wio);
	close(conn->fd);
	ph__auth_outq_clear(&conn->outq);
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		srv->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	free(conn);
}

static struct srv_conn *srv_conn_find(struct srv *srv, uint64_t id)
{
	struct srv_conn *c;

	for (c = srv->conns; c != NULL; c = c->next) {
		if (c->id == id)
			return c;
	}
	return NULL;
}

/* Returns 0, or -1 when the connection was closed. */
static int srv_send(struct srv_conn *conn, const unsigned char *buf, size_t len)
{
	int ret = ph__auth_outq_send(&conn->outq, conn->fd, buf, len);

	if (ret < 0) {
		ph__log_warning("auth: worker connection lost while answering");
		srv_conn_close(conn);
		return -1;
	}
	if (ret > 0)
		ev_io_start(conn->srv->loop, &conn->wio);
	return 0;
}

/* `ticket`: PH__AUTH_TICKET_LEN bytes sent with a PH_OK, or NULL. */
static int srv_reply_ticket(struct srv_conn *conn, uint32_t request_id,
			    int result, unsigned delay_ms, const char *message,
			    const char *record, const unsigned char *ticket)
{
	unsigned char buf[PH__AUTH_MSG_MAX];
	struct ph__auth_reply_msg r = {
	    .request_id = request_id,
	    .result = result,
	    .delay_ms = delay_ms,
	    .message = {message, strnlen(message, PH__AUTH_MAX_MESSAGE)},
	    .record = {record != NULL ? record : "",
		       record != NULL ? strlen(record) : 0},
	    .ticket = {ticket != NULL ? (const char *)ticket : "",
		       ticket != NULL ? PH__AUTH_TICKET_LEN : 0},
	};
	int len = ph__auth_encode_reply(buf, &r), ret;

	if (len < 0) {
		r.result = PH_ETEMP;
		r.record.data = "";
		r.record.len = 0;
		r.ticket.len = 0;
		len = ph__auth_encode_reply(buf, &r);
	}
	ret = srv_send(conn, buf, (size_t)len);
	OPENSSL_cleanse(buf, (size_t)len);
	return ret;
}

static int srv_reply(struct srv_conn *conn, uint32_t request_id, int result,
		     unsigned delay_ms, const char *message, const char *record)
{
	return srv_reply_ticket(conn, request_id, result, delay_ms, message,
				record, NULL);
}

/* A session ticket for a record that names a uid of its own (a user
 * who may need a session process: the master will start it only
 * against this ticket). Returns 1 with ticket_r filled, else 0 (no uid,
 * or the table failed: the login then stays in the worker or is
 * refused there, never trusted on the worker's word). */
static int srv_ticket(struct srv *srv, const char *record, const char *service,
		      const char *remote_ip, unsigned char *ticket_r)
{
	ph_user *u = NULL;
	const char *uid = NULL;
	int ret = 0;

	/* Virtual users (no uid) pay one scan, no parse. */
	if (record == NULL || (strncmp(record, "uid=", 4) != 0 &&
			       strstr(record, "\tuid=") == NULL))
		return 0;
	u = ph__user_deserialize(record, strlen(record));
	uid = u != NULL ? ph__user_get(u, "uid") : NULL;
	if (uid != NULL && *uid != '\0') {
		ret = ph__auth_tickets_issue(srv->tickets, ev_now(srv->loop),
					     record, service, remote_ip,
					     ticket_r) == PH_OK;
		if (!ret)
			ph__log_error("auth: cannot issue a session ticket");
	}
	ph__user_destroy(&u);
	return ret;
}

/* Log fields come from the network (user names) or from a worker that
 * may be compromised: printable ASCII only, never '<' '>' (they delimit
 * the user name for fail2ban), and no blanks in single tokens (rip,
 * service), so no field can forge another. Bounded. */
static void srv_log_clean(char *out, size_t size, const char *in, int token)
{
	size_t i = 0;

	for (; *in != '\0' && i + 4 < size; in++) {
		unsigned char c = (unsigned char)*in;
		int bad = c < 0x20 || c >= 0x7f || c == '<' || c == '>' ||
			  (token && c == ' ');

		out[i++] = bad ? '?' : (char)c;
	}
	if (*in != '\0') {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	if (i == 0)
		out[i++] = '-';
	out[i] = '\0';
}

static void srv_log_name(char *out, size_t size, const char *name)
{
	srv_log_clean(out, size, name, 0);
}

static void srv_log_failure(const struct srv_job *job, const char *reason)
{
	char name[96], rip[64], service[32], why[160];

	srv_log_name(name, sizeof(name), job->user);
	srv_log_clean(rip, sizeof(rip), job->remote_ip, 1);
	srv_log_clean(service, sizeof(service), job->service, 1);
	srv_log_clean(why, sizeof(why), reason, 0);
	ph__log(PH_LOG_NOTICE, NULL,
		"auth failed: user=<%s> rip=%s service=%s reason=%s", name, rip,
		service, why);
}

static void srv_scram_secret(struct srv_conn *conn, struct srv_job *job);

static void srv_finish(struct srv *srv, struct srv_job *job)
{
	struct srv_conn *conn = srv_conn_find(srv, job->conn_id);
	char name[96], rip[64], why[160];
	unsigned char ticket[PH__AUTH_TICKET_LEN];
	unsigned delay = 0;
	const char *message = job->message;
	int has_ticket = 0;

	srv->pending--;
	if (job->type == PH__AUTH_MSG_SCRAM_FIRST) {
		if (conn != NULL)
			srv_scram_secret(conn, job);
		srv_job_free(job);
		return;
	}
	/* EXTERNAL_VERIFY: the chain was verified here (srv_external), so
	 * its success is vouched for like a password's */
	if (job->type == PH__AUTH_MSG_PLAIN ||
	    job->type == PH__AUTH_MSG_EXTERNAL_VERIFY) {
		if (job->result == PH_EAUTH || job->result == PH_EUNKNOWN) {
			delay =
			    ph__auth_penalty_fail(srv->penalty, job->remote_ip,
						  job->user, ev_now(srv->loop));
			srv_log_failure(job, job->message);
		} else if (job->result == PH_OK) {
			ph__auth_penalty_success(srv->penalty, job->user);
			srv_log_clean(name, sizeof(name), job->user, 0);
			srv_log_clean(rip, sizeof(rip), job->remote_ip, 1);
			ph__log_info("auth ok: user=<%s> rip=%s", name, rip);
			/* only a credential checked here earns a ticket: a
			 * LOOKUP (deliver) takes the asker's word */
			if (conn != NULL)
				has_ticket =
				    srv_ticket(srv, job->record, job->service,
					       job->remote_ip, ticket);
		} else {
			srv_log_clean(rip, sizeof(rip), job->remote_ip, 1);
			srv_log_clean(why, sizeof(why), job->message, 0);
			ph__log_warning("auth temporary failure: rip=%s "
					"reason=%s",
					rip, why);
		}
	}
	if (conn != NULL)
		srv_reply_ticket(conn, job->request_id, job->result, delay,
				 message, job->record,
				 has_ticket ? ticket : NULL);
	OPENSSL_cleanse(ticket, sizeof(ticket));
	srv_job_free(job);
}

static void srv_done_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct srv *srv = w->data;
	struct srv_job *list, *job;

	pthread_mutex_lock(&srv->lock);
	list = srv->done_head;
	srv->done_head = srv->done_tail = NULL;
	pthread_mutex_unlock(&srv->lock);
	while ((job = list) != NULL) {
		list = job->next;
		srv_finish(srv, job);
	}
}

static char *srv_dup(struct ph_str s)
{
	char *p = malloc(s.len + 1);

	if (p != NULL) {
		memcpy(p, s.data, s.len);
		p[s.len] = '\0';
	}
	return p;
}

static struct srv_job *srv_job_create(const struct ph__auth_request_msg *m,
				      uint64_t conn_id)
{
	struct srv_job *job = calloc(1, sizeof(*job));

	if (job == NULL)
		return NULL;
	job->conn_id = conn_id;
	job->type = m->type;
	job->request_id = m->request_id;
	job->secured = m->secured;
	job->service = srv_dup(m->service);
	job->user = srv_dup(m->user);
	job->password = srv_dup(m->password);
	job->password_len = m->password.len;
	job->scheme = srv_dup(m->scheme);
	job->remote_ip = srv_dup(m->remote_ip);
	job->local_ip = srv_dup(m->local_ip);
	if (job->service == NULL || job->user == NULL ||
	    job->password == NULL || job->scheme == NULL ||
	    job->remote_ip == NULL || job->local_ip == NULL) {
		srv_job_free(job);
		return NULL;
	}
	return job;
}

/* The stored secrets the service's own mechanisms use: announced in the
 * hello when every plugin serves them. A secret never leaves the
 * service: workers relay SCRAM steps instead (CREDENTIALS is refused). */
static const char *const srv_credential_table[] = {"SCRAM-SHA-256", NULL};

static int srv_credential_allowed(const char *scheme)
{
	size_t i;

	for (i = 0; srv_credential_table[i] != NULL; i++) {
		if (strcmp(scheme, srv_credential_table[i]) == 0)
			return 1;
	}
	return 0;
}

static int srv_has_scheme(const struct srv *srv, const char *scheme)
{
	size_t n = strlen(scheme);
	const char *p = srv->schemes;

	while ((p = strstr(p, scheme)) != NULL) {
		if ((p == srv->schemes || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ' '))
			return 1;
		p += n;
	}
	return 0;
}

/* Replies PH_OK with a record of `count` key/value pairs. */
static int srv_reply_fields(struct srv_conn *conn, uint32_t request_id,
			    const char *record, const char *const *kv,
			    size_t count, const unsigned char *ticket)
{
	ph_user *u = record != NULL
			 ? ph__user_deserialize(record, strlen(record))
			 : ph__user_create();
	char *text = NULL;
	int ret;
	size_t i;

	for (i = 0; u != NULL && i < count; i++) {
		if (ph__user_set(u, kv[2 * i], kv[2 * i + 1]) < 0)
			break;
	}
	if (u != NULL && i == count)
		text = ph__user_serialize(u);
	ph__user_destroy(&u);
	if (text == NULL || strlen(text) > PH__AUTH_MAX_RECORD) {
		free(text);
		return srv_reply(conn, request_id, PH_ETEMP, 0,
				 "SCRAM reply too large", NULL);
	}
	ret = srv_reply_ticket(conn, request_id, PH_OK, 0, "ok", text, ticket);
	explicit_bzero(text, strlen(text));
	free(text);
	return ret;
}

/* The stored secret arrived from the chain (or not: the mechanism then
 * goes on with made-up parameters and fails at the proof). */
static void srv_scram_secret(struct srv_conn *conn, struct srv_job *job)
{
	struct srv_scram *sc = srv_scram_find(conn, job->scram_id);
	ph_user *u = NULL;
	char *secret = NULL, id[16];
	struct ph_str out;
	int step;

	if (sc == NULL) { /* expired or evicted meanwhile */
		srv_reply(conn, job->request_id, PH_ETEMP, 0,
			  "SCRAM exchange expired", NULL);
		return;
	}
	if (job->result != PH_OK && job->result != PH_EUNKNOWN &&
	    job->result != PH_ENOTSUP) {
		srv_scram_free(conn, sc);
		srv_reply(conn, job->request_id, PH_ETEMP, 0, job->message,
			  NULL);
		return;
	}
	if (job->result == PH_OK && job->record != NULL &&
	    (u = ph__user_deserialize(job->record, strlen(job->record))) !=
		NULL &&
	    ph__user_get(u, "credentials") != NULL) {
		secret = strdup(ph__user_get(u, "credentials"));
		ph__user_unset(u, "credentials");
		sc->record = ph__user_serialize(u);
	}
	ph__user_destroy(&u);
	step = ph__sasl_set_credentials(sc->sasl, secret, &out);
	if (secret != NULL) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	if (step != PH__SASL_CHALLENGE) {
		char msg[PH__AUTH_MAX_MESSAGE];

		snprintf(msg, sizeof(msg), "%.*s", (int)out.len, out.data);
		srv_scram_free(conn, sc);
		srv_reply(conn, job->request_id, PH_EAUTH, 0, msg, NULL);
		return;
	}
	snprintf(id, sizeof(id), "%u", sc->id);
	{
		char *challenge = strndup(out.data, out.len);
		/* "user" too: a worker's client takes no record without */
		const char *kv[] = {"user",
				    ph__sasl_authcid(sc->sasl),
				    "scram_session",
				    id,
				    "scram_challenge",
				    challenge != NULL ? challenge : ""};

		if (challenge == NULL)
			srv_reply(conn, job->request_id, PH_ETEMP, 0,
				  "out of memory", NULL);
		else
			srv_reply_fields(conn, job->request_id, NULL, kv, 3,
					 NULL);
		free(challenge);
	}
}

/* SCRAM client-first: parsed here, the secret fetched by the pool. */
static int srv_scram_first(struct srv_conn *conn,
			   const struct ph__auth_request_msg *m)
{
	struct srv *srv = conn->srv;
	struct ph__sasl_cbind cb[PH__SASL_CBIND_MAX];
	char names[PH__SASL_CBIND_MAX][64], msg[PH__AUTH_MAX_MESSAGE];
	struct ph_str out, first = {m->password.data, m->password.len};
	struct srv_scram *sc, *next;
	struct srv_job *job;
	int advertised, n, step;

	n = ph__auth_cbind_decode(m->cbind, &advertised, cb, names,
				  PH__SASL_CBIND_MAX);
	if (n < 0) {
		ph__log_error("auth: malformed channel binding, closing");
		srv_conn_close(conn);
		return -1;
	}
	if (!srv_has_scheme(srv, "SCRAM-SHA-256") ||
	    (strcmp(m->scheme.data, "SCRAM-SHA-256") != 0 &&
	     strcmp(m->scheme.data, "SCRAM-SHA-256-PLUS") != 0))
		return srv_reply(conn, m->request_id, PH_ETEMP, 0,
				 "mechanism not served", NULL);
	for (sc = conn->scrams; sc != NULL; sc = next) {
		next = sc->next;
		if (ev_now(srv->loop) - sc->started > SRV_SCRAM_TIMEOUT)
			srv_scram_free(conn, sc);
	}
	if (conn->scram_count >= SRV_SCRAM_MAX) {
		for (sc = conn->scrams; sc->next != NULL; sc = sc->next)
			;
		srv_scram_free(conn, sc); /* the oldest */
	}
	if (srv->pending >= srv->params.max_pending)
		return srv_reply(conn, m->request_id, PH_ETEMP, 0,
				 "auth service overloaded", NULL);
	sc = calloc(1, sizeof(*sc));
	if (sc == NULL ||
	    (sc->sasl = ph__sasl_create(m->scheme.data)) == NULL ||
	    ph__sasl_set_cbind(sc->sasl, advertised, cb, (size_t)n) < 0) {
		if (sc != NULL)
			ph__sasl_destroy(&sc->sasl);
		free(sc);
		return srv_reply(conn, m->request_id, PH_ETEMP, 0,
				 "out of memory", NULL);
	}
	step = ph__sasl_step(sc->sasl, &first, &out);
	if (step != PH__SASL_VERIFY) {
		/* malformed, or a channel-binding refusal: not a guess */
		snprintf(msg, sizeof(msg), "%.*s", (int)out.len, out.data);
		ph__sasl_destroy(&sc->sasl);
		free(sc);
		return srv_reply(conn, m->request_id, PH_EAUTH, 0, msg, NULL);
	}
	do
		sc->id = ++srv->next_scram_id;
	while (sc->id == 0 || srv_scram_find(conn, sc->id) != NULL);
	sc->started = ev_now(srv->loop);
	sc->next = conn->scrams;
	conn->scrams = sc;
	conn->scram_count++;
	job = srv_job_create(m, conn->id);
	if (job != NULL) {
		free(job->user);
		free(job->scheme);
		job->user = strdup(ph__sasl_authcid(sc->sasl));
		job->scheme = strdup("SCRAM-SHA-256");
		job->scram_id = sc->id;
	}
	if (job == NULL || job->user == NULL || job->scheme == NULL) {
		if (job != NULL)
			srv_job_free(job);
		srv_scram_free(conn, sc);
		return srv_reply(conn, m->request_id, PH_ETEMP, 0,
				 "out of memory", NULL);
	}
	srv->pending++;
	pthread_mutex_lock(&srv->lock);
	srv_queue_push(&srv->todo_head, &srv->todo_tail, job);
	pthread_cond_signal(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	return 0;
}

/* SCRAM client-final: the proof is checked here; a failure is counted
 * and logged like a wrong password. */
static int srv_scram_final(struct srv_conn *conn,
			   const struct ph__auth_request_msg *m)
{
	struct srv *srv = conn->srv;
	struct ph_str out, final = {m->password.data, m->password.len};
	char *end, user[PH__AUTH_MAX_USER + 1], text[PH__AUTH_MAX_MESSAGE];
	unsigned long id = strtoul(m->user.data, &end, 10);
	struct srv_scram *sc = NULL;
	int step, server_error, ret;
	unsigned delay;

	if (m->user.len > 0 && *end == '\0' && id <= UINT32_MAX)
		sc = srv_scram_find(conn, (uint32_t)id);
	if (sc == NULL)
		return srv_reply(conn, m->request_id, PH_EAUTH, 0,
				 "no such SCRAM exchange", NULL);
	step = ph__sasl_step(sc->sasl, &final, &out);
	snprintf(user, sizeof(user), "%s", ph__sasl_authcid(sc->sasl));
	snprintf(text, sizeof(text), "%.*s", (int)out.len, out.data);
	if (step == PH__SASL_SUCCESS && sc->record != NULL) {
		const char *kv[] = {"scram_final", text};
		unsigned char ticket[PH__AUTH_TICKET_LEN];
		char name[96], rip[64];
		int has;

		ph__auth_penalty_success(srv->penalty, user);
		srv_log_clean(name, sizeof(name), user, 0);
		srv_log_clean(rip, sizeof(rip), m->remote_ip.data, 1);
		ph__log_info("auth ok: user=<%s> rip=%s", name, rip);
		has = srv_ticket(srv, sc->record, m->service.data,
				 m->remote_ip.data, ticket);
		ret = srv_reply_fields(conn, m->request_id, sc->record, kv, 1,
				       has ? ticket : NULL);
		OPENSSL_cleanse(ticket, sizeof(ticket));
		srv_scram_free(conn, sc);
		return ret;
	}
	srv_scram_free(conn, sc);
	{
		struct srv_job tmp = {.user = user,
				      .remote_ip = (char *)m->remote_ip.data,
				      .service = (char *)m->service.data};
		char reason[PH__AUTH_MAX_MESSAGE + 32];

		server_error = strncmp(text, "e=", 2) == 0;
		delay = ph__auth_penalty_fail(srv->penalty, m->remote_ip.data,
					      user, ev_now(srv->loop));
		snprintf(reason, sizeof(reason), "%s %s", m->scheme.data,
			 server_error ? text : "proof mismatch");
		srv_log_failure(&tmp, reason);
	}
	return srv_reply(conn, m->request_id, PH_EAUTH, delay,
			 server_error ? text : "authentication failed", NULL);
}

/* REDEEM, on a master connection only: the ticket's record, once. */
static int srv_redeem(struct srv_conn *conn,
		      const struct ph__auth_request_msg *m)
{
	struct srv *srv = conn->srv;
	char *record = NULL, rip[64], service[32], name[96];
	const char *why = NULL;
	ph_user *u;
	int ret;

	ret = ph__auth_tickets_redeem(srv->tickets, ev_now(srv->loop),
				      (const unsigned char *)m->password.data,
				      m->password.len, m->service.data,
				      m->remote_ip.data, &record, &why);
	srv_log_clean(rip, sizeof(rip), m->remote_ip.data, 1);
	srv_log_clean(service, sizeof(service), m->service.data, 1);
	if (ret != PH_OK) {
		ph__log_warning("session ticket refused: rip=%s service=%s: %s",
				rip, service, why);
		return srv_reply(conn, m->request_id, PH_EAUTH, 0, why, NULL);
	}
	u = ph__user_deserialize(record, strlen(record));
	srv_log_name(name, sizeof(name),
		     u != NULL && ph__user_get(u, "user") != NULL
			 ? ph__user_get(u, "user")
			 : "?");
	ph__user_destroy(&u);
	ph__log_info("session ticket redeemed: user=<%s> rip=%s service=%s",
		     name, rip, service);
	ret = srv_reply(conn, m->request_id, PH_OK, 0, "ok", record);
	OPENSSL_cleanse(record, strlen(record));
	free(record);
	return ret;
}

/* EXTERNAL_VERIFY: the service verifies the relayed chain against the
 * listener's CA itself and names the user; only then does the chain
 * look the user up. A failure counts and logs like a wrong password. */
static int srv_external(struct srv_conn *conn,
			const struct ph__auth_request_msg *m)
{
	struct srv *srv = conn->srv;
	char user[PH__AUTH_MAX_USER + 1];
	const char *why = NULL;
	struct srv_job *job;

	if (ph__auth_external_verify(srv->params.external, m->listener.data,
				     m->chain, m->chain_count, m->user.data,
				     user, sizeof(user), &why) < 0) {
		struct srv_job tmp = {
		    .user = user[0] != '\0' ? user : (char *)m->user.data,
		    .remote_ip = (char *)m->remote_ip.data,
		    .service = (char *)m->service.data};
		char reason[160];
		unsigned delay;

		snprintf(reason, sizeof(reason), "EXTERNAL: %s", why);
		delay = ph__auth_penalty_fail(srv->penalty, m->remote_ip.data,
					      tmp.user, ev_now(srv->loop));
		srv_log_failure(&tmp, reason);
		return srv_reply(conn, m->request_id, PH_EAUTH, delay,
				 "authentication failed", NULL);
	}
	if (srv->pending >= srv->params.max_pending)
		return srv_reply(conn, m->request_id, PH_ETEMP, 0,
				 "auth service overloaded", NULL);
	job = srv_job_create(m, conn->id);
	if (job != NULL) {
		free(job->user);
		job->user = strdup(user);
	}
	if (job == NULL || job->user == NULL) {
		if (job != NULL)
			srv_job_free(job);
		return srv_reply(conn, m->request_id, PH_ETEMP, 0,
				 "out of memory", NULL);
	}
	srv->pending++;
	pthread_mutex_lock(&srv->lock);
	srv_queue_push(&srv->todo_head, &srv->todo_tail, job);
	pthread_cond_signal(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	return 0;
}

/* Returns -1 when the connection was closed. */
static int srv_request(struct srv_conn *conn, unsigned char *buf, size_t len)
{
	struct srv *srv = conn->srv;
	struct ph__auth_request_msg m;
	struct srv_job *job;
	int ok = ph__auth_decode_request(buf, len, &m) == PH_OK;

	/* A master connection only redeems; no one else ever does. */
	if (ok && conn->master)
		ok = m.type == PH__AUTH_MSG_REDEEM;
	else if (ok)
		ok = m.type == PH__AUTH_MSG_PLAIN ||
		     m.type == PH__AUTH_MSG_LOOKUP ||
		     m.type == PH__AUTH_MSG_CREDENTIALS ||
		     m.type == PH__AUTH_MSG_SCRAM_FIRST ||
		     m.type == PH__AUTH_MSG_SCRAM_FINAL ||
		     m.type == PH__AUTH_MSG_EXTERNAL_VERIFY;
	if (!ok) {
		/* Only the request types in the table are answered; a peer
		 * that sends anything else is broken or hostile. */
		ph__log_error("auth: malformed or unknown request, closing");
		srv_conn_close(conn);
		return -1;
	}
	if (m.type == PH__AUTH_MSG_REDEEM)
		return srv_redeem(conn, &m);
	if (m.type == PH__AUTH_MSG_CREDENTIALS)
		return srv_reply(conn, m.request_id, PH_ENOTSUP, 0,
				 "secrets stay in the auth service", NULL);
	if (m.type == PH__AUTH_MSG_SCRAM_FINAL)
		return srv_scram_final(conn, &m);
	/* not subject to the lockout: the certificate is the credential */
	if (m.type == PH__AUTH_MSG_EXTERNAL_VERIFY)
		return srv_external(conn, &m);
	/* SCRAM_FIRST starts a login: locked out too */
	if ((m.type == PH__AUTH_MSG_PLAIN ||
	     m.type == PH__AUTH_MSG_SCRAM_FIRST) &&
	    ph__auth_penalty_locked(srv->penalty, m.remote_ip.data,
				    ev_now(srv->loop))) {
		struct srv_job tmp = {.user = (char *)m.user.data,
				      .remote_ip = (char *)m.remote_ip.data,
				      .service = (char *)m.service.data};

		srv_log_failure(&tmp, "locked out");
		return srv_reply(conn, m.request_id, PH_EAUTH,
				 srv->params.penalty.max_delay_ms, "locked out",
				 NULL);
	}
	if (m.type == PH__AUTH_MSG_SCRAM_FIRST)
		return srv_scram_first(conn, &m);
	if (srv->pending >= srv->params.max_pending)
		return srv_reply(conn, m.request_id, PH_ETEMP, 0,
				 "auth service overloaded", NULL);
	job = srv_job_create(&m, conn->id);
	if (job == NULL)
		return srv_reply(conn, m.request_id, PH_ETEMP, 0,
				 "out of memory", NULL);
	srv->pending++;
	pthread_mutex_lock(&srv->lock);
	srv_queue_push(&srv->todo_head, &srv->todo_tail, job);
	pthread_cond_signal(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	return 0;
}

static void srv_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct srv_conn *conn = w->data;
	unsigned char buf[PH__AUTH_MSG_MAX + 1];
	int i;

	/* A bounded batch per wakeup keeps one worker from starving the
	 * others. */
	for (i = 0; i < 64; i++) {
		ssize_t n = recv(conn->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			srv_conn_close(conn);
			return;
		}
		if (n > PH__AUTH_MSG_MAX) {
			ph__log_error("auth: oversized request, closing");
			srv_conn_close(conn);
			return;
		}
		if (srv_request(conn, buf, (size_t)n) < 0)
			return;
	}
}

static void srv_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct srv_conn *conn = w->data;
	int ret = ph__auth_outq_flush(&conn->outq, conn->fd);

	if (ret < 0)
		srv_conn_close(conn);
	else if (ret == 0)
		ev_io_stop(loop, w);
}

static int srv_hello(struct srv_conn *conn)
{
	unsigned char buf[PH__AUTH_MSG_MAX];
	struct ph_str schemes = {conn->srv->schemes,
				 strlen(conn->srv->schemes)};
	int len = ph__auth_encode_hello(buf, schemes);

	return len < 0 ? -1 : srv_send(conn, buf, (size_t)len);
}

/* Allowed credential schemes every link of the chain lists. */
static void srv_common_schemes(struct srv *srv)
{
	const char *const *list;
	size_t i, j, k;

	srv->schemes[0] = '\0';
	if (srv->chain_count == 0)
		return;
	list = srv->chain[0].b.ops->credential_schemes;
	for (i = 0; list != NULL && list[i] != NULL; i++) {
		int everywhere = srv_credential_allowed(list[i]);

		for (j = 1; j < srv->chain_count && everywhere; j++) {
			const char *const *other =
			    srv->chain[j].b.ops->credential_schemes;

			everywhere = 0;
			for (k = 0; other != NULL && other[k] != NULL; k++)
				everywhere |= strcmp(other[k], list[i]) == 0;
		}
		if (everywhere &&
		    strlen(srv->schemes) + strlen(list[i]) + 2 <
			sizeof(srv->schemes) &&
		    strpbrk(list[i], " \t") == NULL) {
			if (srv->schemes[0] != '\0')
				strcat(srv->schemes, " ");
			strcat(srv->schemes, list[i]);
		}
	}
}

static void srv_control_cb(struct ev_loop *loop, ev_io *w, int revents);

enum srv_conn_kind { SRV_WORKER, SRV_MASTER, SRV_CONTROL };

static int srv_conn_add(struct srv *srv, int fd, enum srv_conn_kind kind)
{
	struct srv_conn *conn = calloc(1, sizeof(*conn));

	if (conn == NULL || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		free(conn);
		close(fd);
		return -1;
	}
	conn->srv = srv;
	conn->fd = fd;
	conn->id = ++srv->next_conn_id;
	conn->master = kind == SRV_MASTER;
	conn->control = kind == SRV_CONTROL;
	ev_io_init(&conn->rio, conn->control ? srv_control_cb : srv_read_cb, fd,
		   EV_READ);
	ev_io_init(&conn->wio, srv_write_cb, fd, EV_WRITE);
	conn->rio.data = conn->wio.data = conn;
	ev_io_start(srv->loop, &conn->rio);
	conn->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = conn;
	srv->conns = conn;
	return conn->control ? 0 : srv_hello(conn);
}

/* The master's control socket: each ATTACH brings one socket end of a
 * session process that is about to redeem a ticket (still root). */
static void srv_control_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct srv_conn *conn = w->data;
	struct srv *srv = conn->srv;
	unsigned char buf[PH__AUTH_MSG_MAX + 1];

	for (int i = 0; i < 64; i++) {
		int fd, malformed;
		ssize_t n =
		    ph__fd_recv(conn->fd, buf, sizeof(buf), &fd, &malformed);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			ph__log_warning("auth: master control socket closed");
			srv_conn_close(conn);
			return;
		}
		if (fd < 0 || ph__auth_decode_attach(buf, (size_t)n) < 0) {
			ph__log_error("auth: malformed attach on the master "
				      "control socket");
			if (fd >= 0)
				close(fd);
			continue;
		}
		srv_conn_add(srv, fd, SRV_MASTER);
	}
}

static void srv_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct srv *srv = w->data;
	int fd =
	    accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			ph__log_warning("auth: accept: %s", strerror(errno));
		return;
	}
	srv_conn_add(srv, fd, SRV_WORKER);
}

static void srv_signal_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct signalfd_siginfo si;

	if (read(w->fd, &si, sizeof(si)) == sizeof(si))
		ev_break(loop, EVBREAK_ALL);
}

static int srv_start_threads(struct srv *srv)
{
	size_t i, n = srv->params.threads > 0 ? srv->params.threads : 4;

	srv->threads = calloc(n, sizeof(*srv->threads));
	if (srv->threads == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (pthread_create(&srv->threads[i], NULL, srv_thread, srv) !=
		    0)
			break;
		srv->thread_count++;
	}
	return srv->thread_count > 0 ? 0 : -1;
}

static void srv_stop_threads(struct srv *srv)
{
	struct srv_job *job;
	size_t i;

	pthread_mutex_lock(&srv->lock);
	srv->stopping = 1;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	for (i = 0; i < srv->thread_count; i++)
		pthread_join(srv->threads[i], NULL);
	free(srv->threads);
	while ((job = srv_queue_pop(&srv->todo_head, &srv->todo_tail)))
		srv_job_free(job);
	while ((job = srv_queue_pop(&srv->done_head, &srv->done_tail)))
		srv_job_free(job);
}

int ph__auth_server_run(const struct ph__auth_backend *chain, size_t count,
			const struct ph__auth_server_params *params, int *fds,
			size_t fd_count, int listen_fd, int master_fd)
{
	struct srv srv = {
	    .params = *params, .listen_fd = listen_fd, .chain_count = count};
	sigset_t mask;
	int sfd = -1, status = 1;
	size_t i;

	if (srv.params.max_pending == 0)
		srv.params.max_pending = 1024;
	/* Blocked before the pool starts, so only the signalfd sees them. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	srv.loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	srv.penalty = ph__auth_penalty_create(&params->penalty);
	srv.tickets = ph__auth_tickets_create(
	    params->ticket_max > 0 ? params->ticket_max : PH__AUTH_TICKET_MAX,
	    params->ticket_ttl > 0 ? params->ticket_ttl : PH__AUTH_TICKET_TTL);
	srv.chain = calloc(count > 0 ? count : 1, sizeof(*srv.chain));
	pthread_mutex_init(&srv.lock, NULL);
	pthread_cond_init(&srv.cond, NULL);
	if (sfd < 0 || srv.loop == NULL || srv.penalty == NULL ||
	    srv.tickets == NULL || srv.chain == NULL) {
		ph__log_error("auth: cannot start: %s", strerror(errno));
		for (i = 0; i < fd_count; i++)
			close(fds[i]);
		if (master_fd >= 0)
			close(master_fd);
		goto out;
	}
	for (i = 0; i < count; i++) {
		srv.chain[i].b = chain[i];
		pthread_mutex_init(&srv.chain[i].lock, NULL);
	}
	srv_common_schemes(&srv);
	for (i = 0; i < fd_count; i++)
		srv_conn_add(&srv, fds[i], SRV_WORKER);
	if (master_fd >= 0)
		srv_conn_add(&srv, master_fd, SRV_CONTROL);
	ev_async_init(&srv.done_async, srv_done_cb);
	srv.done_async.data = &srv;
	ev_async_start(srv.loop, &srv.done_async);
	ev_io_init(&srv.signal_io, srv_signal_cb, sfd, EV_READ);
	ev_io_start(srv.loop, &srv.signal_io);
	if (listen_fd >= 0) {
		fcntl(listen_fd, F_SETFL, O_NONBLOCK);
		ev_io_init(&srv.accept_io, srv_accept_cb, listen_fd, EV_READ);
		srv.accept_io.data = &srv;
		ev_io_start(srv.loop, &srv.accept_io);
	}
	if (srv_start_threads(&srv) < 0) {
		ph__log_error("auth: cannot start the thread pool");
		goto out_conns;
	}
	ph__log_info("auth: serving %zu plugin(s) with %zu thread(s)", count,
		     srv.thread_count);
	ev_run(srv.loop, 0);
	status = 0;
	srv_stop_threads(&srv);
out_conns:
	while (srv.conns != NULL)
		srv_conn_close(srv.conns);
out:
	if (listen_fd >= 0)
		close(listen_fd);
	if (sfd >= 0)
		close(sfd);
	if (srv.chain != NULL) {
		for (i = 0; i < count; i++)
			pthread_mutex_destroy(&srv.chain[i].lock);
	}
	free(srv.chain);
	ph__auth_penalty_destroy(&srv.penalty);
	ph__auth_tickets_destroy(&srv.tickets);
	pthread_cond_destroy(&srv.cond);
	pthread_mutex_destroy(&srv.lock);
	if (srv.loop != NULL)
		ev_loop_destroy(srv.loop);
	return status;
}
