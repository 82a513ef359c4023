/* core/conn-session.c - moving a logged-in session to a per-user
 * process (see docs/sessions.md). Worker side: the policy gate on
 * logins, session_handoff(), sending the session to the master, and the
 * TLS relay that stays in the worker. Session side: adopting the
 * connection in the process that runs as the user. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api.h"
#include "conn-private.h"
#include "fdpass.h"
#include "handoff.h"
#include "log.h"
#include "session.h"
#ifdef PH_HAVE_AUTH
#include "login.h"
#include "user.h"
#endif

static void master_wio_cb(struct ev_loop *loop, ev_io *w, int revents);
static void relay_rio_cb(struct ev_loop *loop, ev_io *w, int revents);
static void relay_wio_cb(struct ev_loop *loop, ev_io *w, int revents);

#ifdef PH_HAVE_AUTH
/* How long a worker waits to hear how a handoff went before it stops
 * waiting. Longer than the master's deadline for a session to start (it
 * kills one that has not by then and answers, see master.c). */
#define HANDOFF_RESULT_TIMEOUT 90.0
#define HANDOFF_SWEEP_INTERVAL 5.0

/* The worker's ear on its handoff socket: the master's answers (one
 * worker env per process). */
static ev_io result_io;
static ev_timer result_sweep;
static struct ph__conn_env *result_env;
#endif

void ph__conn_session_init(ph_conn *c)
{
	c->relay_fd = -1;
	ev_init(&c->master_wio, master_wio_cb);
	ev_init(&c->relay_rio, relay_rio_cb);
	ev_init(&c->relay_wio, relay_wio_cb);
	c->master_wio.data = c->relay_rio.data = c->relay_wio.data = c;
}

/* ---- per-user sessions: the worker's half ---- */

#ifdef PH_HAVE_AUTH
static enum ph__session_decision
conn_session_decide(ph_conn *c, const ph_user *u, const char **why_r)
{
	struct ph__session_policy p = {
	    .euid = geteuid(),
	    .first_valid_uid = c->env->first_valid_uid,
	    .master_root = c->env->master_root,
	    .have_channel = c->env->handoff_fd >= 0,
	    .can_resume = ph__protocol_can_resume(c->ops),
	};
	uid_t uid;
	gid_t gid;

	return ph__session_decide(&p, ph__user_get(u, "uid"),
				  ph__user_get(u, "gid"), &uid, &gid, why_r);
}

/* Before a plugin hears of a successful login: a user who needs a uid
 * of their own and cannot get one is refused here, never served under
 * the worker's uid. So is one the auth service gave no session ticket
 * for (the master does not start a session on a worker's word; the
 * service vouches for password, SCRAM and EXTERNAL logins it checked
 * itself). Returns 1 when refused (and logged). */
int ph__conn_login_refused(ph_conn *c, const ph_user *u)
{
	const char *why = NULL;
	enum ph__session_decision d;

	if (u == NULL)
		return 0;
	d = conn_session_decide(c, u, &why);
	if (d == PH__SESSION_HANDOFF &&
	    (c->login == NULL || ph__login_ticket(c->login) == NULL)) {
		d = PH__SESSION_REFUSE;
		why = "no session ticket from the auth service";
	}
	if (d != PH__SESSION_REFUSE)
		return 0;
	ph__conn_logf(c, PH_LOG_WARNING, "login refused: user=%s uid=%s: %s",
		      ph__user_get(u, "user") != NULL ? ph__user_get(u, "user")
						      : "?",
		      ph__user_get(u, "uid"), why);
	return 1;
}
#endif

int ph__conn_session_handoff(ph_conn *c, const void *state, size_t len)
{
	if (c == NULL || (len > 0 && state == NULL))
		return PH_EINVAL;
	if (c->closing || c->handoff != CONN_HANDOFF_NONE)
		return PH_ECLOSED;
	if (len > PH_SESSION_STATE_MAX)
		return PH_ETOOBIG;
	if (c->owned_user != NULL)
		return 0; /* already in the user's own process */
#ifdef PH_HAVE_AUTH
	const ph_user *u = c->login != NULL ? ph__login_user(c->login) : NULL;
	const char *why = NULL;

	if (u == NULL)
		return PH_EINVAL;
	switch (conn_session_decide(c, u, &why)) {
	case PH__SESSION_STAY:
		return 0;
	case PH__SESSION_REFUSE:
		ph__conn_logf(c, PH_LOG_WARNING, "session not moved: %s", why);
		return PH_EPERM;
	case PH__SESSION_HANDOFF:
		break;
	}
	if (ph__login_ticket(c->login) == NULL) {
		/* the master would refuse it: fail the login here instead */
		ph__conn_logf(c, PH_LOG_WARNING,
			      "session not moved: no session ticket");
		return PH_EPERM;
	}
	if (ph__inbuf_used(&c->in) > PH__HANDOFF_MAX_INPUT)
		return PH_ETOOBIG;
	if (len > 0) {
		c->handoff_state = malloc(len);
		if (c->handoff_state == NULL)
			return PH_ENOMEM;
		memcpy(c->handoff_state, state, len);
	}
	c->handoff_state_len = len;
	c->handoff = CONN_HANDOFF_PENDING;
	ev_io_stop(c->env->loop, &c->rio);
	ph__conn_kick(c);
	return 1;
#else
	return 0;
#endif
}

#ifdef PH_HAVE_AUTH
/* One line per session that could not start: who, from where, why. */
static void handoff_log_failure(ph_conn *c, const char *why)
{
	const ph_user *u = c->login != NULL ? ph__login_user(c->login) : NULL;
	const char *name = u != NULL ? ph__user_get(u, "user") : NULL;
	const char *uid = u != NULL ? ph__user_get(u, "uid") : NULL;

	ph__conn_logf(c, PH_LOG_ERROR,
		      "session for %s (uid %s) from %s failed: %s",
		      name != NULL ? name : "?", uid != NULL ? uid : "?",
		      c->peer_ip, why);
}

/* The session did not start. `why`: the reason, when it is ours to log
 * (NULL: the master logged it). The plugin answers the login with a
 * temporary failure (ABI 1.2), then the connection closes. Closing
 * rather than going back to the non-authenticated state: the plugin's
 * state ended at the handoff, the core binds a connection to the user it
 * authenticated, and the client's input after the login went to the
 * session process with the handoff: run here it would run in the wrong
 * state, or partly. So it is dropped, never run, and the client retries
 * on a new connection, as RFC 5530's UNAVAILABLE invites. */
static void handoff_failed(ph_conn *c, const char *why)
{
	struct ev_loop *loop = c->env->loop;
	int answer = ph__protocol_can_answer_failure(c->ops);

	if (why != NULL)
		handoff_log_failure(c, why);
	ph__conn_logf(c, PH_LOG_INFO, "session not started: %s",
		      answer ? "answering the login with a temporary failure"
			     : "closing (the protocol plugin predates ABI "
			       "1.2 and cannot answer)");
	ev_io_stop(loop, &c->master_wio);
	ev_io_stop(loop, &c->relay_rio);
	ev_io_stop(loop, &c->relay_wio);
	if (c->relay_fd >= 0)
		close(c->relay_fd);
	c->relay_fd = -1;
	c->handoff = CONN_HANDOFF_NONE;
	c->handoff_waiting = 0;
	c->relay_eof = 0;
	ph__inbuf_clear(&c->in);
	if (c->reason == NULL)
		c->reason = "session not started";
	if (answer && !c->closing) {
		const char *prev = ph__conn_plugin_enter(c);

		c->ops->conn_handoff_failed(c->l->proto->state, c,
					    c->handoff_state,
					    c->handoff_state_len);
		ph__api_set_current(prev);
	}
	ph__conn_close(c); /* flushes the answer, bounded, then closes */
}

/* The master told us how the handoff of the connection with session id
 * `sid` went. */
static void handoff_result(struct ph__conn_env *env, const char *sid,
			   int result)
{
	ph_conn *c;

	for (c = env->conns; c != NULL; c = c->next) {
		if (c->handoff_waiting && !c->destroy_scheduled &&
		    strcmp(c->session_id, sid) == 0)
			break;
	}
	if (c == NULL) {
		/* Closed meanwhile, or not one we wait for. */
		ph__log_debug("handoff result for unknown session %s", sid);
		return;
	}
	c->handoff_waiting = 0;
	if (result < 0) {
		handoff_failed(c, NULL);
		return;
	}
	if (c->handoff == CONN_HANDOFF_PENDING) {
		/* Plaintext: the session holds the socket; ours just closes
		 * (never shut down: that would cut the session off). */
		c->reason = "moved to a session process";
		c->closing = 1;
		ev_io_stop(env->loop, &c->wio);
		ph__conn_schedule_destroy(c, 0.);
	} else if (c->relay_eof) {
		/* The session ended before we heard it had started. */
		c->reason = "session ended";
		ph__conn_close(c);
	}
}

/* The master is gone: no session will start (session children die with
 * it), so every waiting login is answered. */
static void handoff_fail_waiting(struct ph__conn_env *env)
{
	for (ph_conn *c = env->conns; c != NULL; c = c->next) {
		if (c->handoff_waiting && !c->destroy_scheduled)
			handoff_failed(c, "the master is gone");
	}
}

static void result_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ph__conn_env *env = w->data;
	unsigned char buf[PH__HANDOFF_RESULT_MAX + 1];

	for (int i = 0; i < 64; i++) {
		ssize_t n =
		    recv(env->handoff_fd, buf, sizeof(buf), MSG_DONTWAIT);
		struct ph_str sid;
		int result;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* The master is gone: nobody will start these. */
			ev_io_stop(loop, w);
			ph__log_error("the master's handoff socket closed");
			handoff_fail_waiting(env);
			return;
		}
		if (ph__handoff_decode_result(buf, (size_t)n, &result, &sid) !=
		    PH_OK) {
			ph__log_warning("malformed handoff result from the "
					"master: ignored");
			continue;
		}
		handoff_result(env, sid.data, result);
	}
}

/* The backstop for a handoff the master never answered (it answers every
 * one it could decode, and kills a session that has not started in
 * time): stop waiting, as if it had started. Answering instead could put
 * a second answer on a session that does run (its "ok" lost on the way);
 * letting go is at worst the plain disconnect of a session that died.
 * Stops when none wait. */
static void result_sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ph__conn_env *env = w->data;
	int waiting = 0;

	for (ph_conn *c = env->conns; c != NULL; c = c->next) {
		if (!c->handoff_waiting || c->destroy_scheduled)
			continue;
		if (c->handoff_deadline > ev_now(loop)) {
			waiting = 1;
			continue;
		}
		ph__conn_logf(c, PH_LOG_ERROR,
			      "no answer from the master about the session "
			      "in %.0f s: letting go",
			      HANDOFF_RESULT_TIMEOUT);
		handoff_result(env, c->session_id, PH_OK);
	}
	if (!waiting)
		ev_timer_stop(loop, w);
}

/* Starts listening for the master's answers (once per process) and
 * returns 1 when the worker can wait for one. */
static int handoff_can_wait(ph_conn *c)
{
	struct ph__conn_env *env = c->env;

	if (!ph__protocol_can_answer_failure(c->ops))
		return 0;
	if (result_env == NULL) {
		result_env = env;
		ev_io_init(&result_io, result_io_cb, env->handoff_fd, EV_READ);
		ev_timer_init(&result_sweep, result_sweep_cb,
			      HANDOFF_SWEEP_INTERVAL, HANDOFF_SWEEP_INTERVAL);
		result_io.data = result_sweep.data = env;
		ev_io_start(env->loop, &result_io);
	}
	if (result_env != env || !ev_is_active(&result_io))
		return 0;
	if (!ev_is_active(&result_sweep))
		ev_timer_again(env->loop, &result_sweep);
	c->handoff_waiting = 1;
	c->handoff_deadline = ev_now(env->loop) + HANDOFF_RESULT_TIMEOUT;
	return 1;
}
#endif

/* Sends the session to the master: >0 sent, 0 the socket is full (try
 * again when writable), <0 failed. */
static int handoff_sendmsg(ph_conn *c, const unsigned char *buf, size_t len,
			   int fd)
{
	for (;;) {
		ssize_t n = ph__fd_send(c->env->handoff_fd, buf, len, fd,
					MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n >= 0)
			return 1;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			return 0;
		return -1;
	}
}

static void relay_start(ph_conn *c, int fd)
{
	c->relay_fd = fd;
	c->handoff = CONN_HANDOFF_RELAY;
	ev_io_set(&c->relay_rio, fd, EV_READ);
	ev_io_set(&c->relay_wio, fd, EV_WRITE);
	ev_io_start(c->env->loop, &c->relay_rio);
	/* The session process keeps its own idle timeout. */
	ev_timer_stop(c->env->loop, &c->idle);
	c->idle_secs = 0;
}

static void handoff_send(ph_conn *c)
{
#ifdef PH_HAVE_AUTH
	static unsigned char buf[PH__HANDOFF_MSG_MAX];
	const ph_user *u = c->login != NULL ? ph__login_user(c->login) : NULL;
	char *record = u != NULL ? ph__user_serialize(u) : NULL;
	struct ph__handoff_msg m = {0};
	int sv[2] = {-1, -1}, len, ret;

	if (record == NULL) {
		handoff_failed(c, "out of memory");
		return;
	}
	m.flags = c->tls_active ? PH__HANDOFF_TLS : 0;
	m.peer_port = c->peer_port;
	m.local_port = c->local_port;
	m.listener = (struct ph_str){c->l->cfg->name, strlen(c->l->cfg->name)};
	m.protocol =
	    (struct ph_str){c->l->proto->name, strlen(c->l->proto->name)};
	m.session_id = (struct ph_str){c->session_id, strlen(c->session_id)};
	m.peer_ip = (struct ph_str){c->peer_ip, strlen(c->peer_ip)};
	m.local_ip = (struct ph_str){c->local_ip, strlen(c->local_ip)};
	if (c->tls_active) {
		const char *v = SSL_get_version(c->ssl);
		const char *ci =
		    SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl));

		m.tls_version = (struct ph_str){v, v != NULL ? strlen(v) : 0};
		m.tls_cipher = (struct ph_str){ci, ci != NULL ? strlen(ci) : 0};
	}
	m.user = (struct ph_str){record, strlen(record)};
	if (ph__login_ticket(c->login) != NULL)
		m.ticket =
		    (struct ph_str){(const char *)ph__login_ticket(c->login),
				    PH__AUTH_TICKET_LEN};
	m.state = (struct ph_str){c->handoff_state, c->handoff_state_len};
	m.input = (struct ph_str){(const char *)c->in.data + c->in.start,
				  ph__inbuf_used(&c->in)};
	len = ph__handoff_encode(buf, &m);
	explicit_bzero(record, strlen(record));
	free(record);
	if (len < 0) {
		char why[96];

		snprintf(why, sizeof(why),
			 "handoff message too big (%zu input bytes)",
			 ph__inbuf_used(&c->in));
		handoff_failed(c, why);
		return;
	}
	if (c->tls_active &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sv) < 0) {
		char why[128];

		snprintf(why, sizeof(why), "socketpair: %s", strerror(errno));
		handoff_failed(c, why);
		return;
	}
	ret =
	    handoff_sendmsg(c, buf, (size_t)len, c->tls_active ? sv[1] : c->fd);
	if (sv[1] >= 0)
		close(sv[1]);
	if (ret == 0) {
		/* Full: wait, then encode again (nothing changed meanwhile:
		 * input is not read while the handoff is pending). */
		if (sv[0] >= 0)
			close(sv[0]);
		ev_io_set(&c->master_wio, c->env->handoff_fd, EV_WRITE);
		ev_io_start(c->env->loop, &c->master_wio);
		return;
	}
	if (ret < 0) {
		char why[128];

		snprintf(why, sizeof(why),
			 "handing the session to the master: %s",
			 strerror(errno));
		if (sv[0] >= 0)
			close(sv[0]);
		handoff_failed(c, why);
		return;
	}
	ph__conn_logf(c, PH_LOG_INFO, "session moved to a process of its own%s",
		      c->tls_active ? " (TLS relayed here)" : "");
	ph__inbuf_clear(&c->in);
	if (!c->tls_active) {
		if (handoff_can_wait(c)) {
			/* Keep the socket, unread and unwritten, until the
			 * session runs: we may still have to answer. */
			ev_timer_stop(c->env->loop, &c->idle);
			c->idle_secs = 0;
			return;
		}
		/* The master holds the socket now; ours just closes. */
		c->reason = "moved to a session process";
		c->closing = 1;
		ev_io_stop(c->env->loop, &c->wio);
		ph__conn_schedule_destroy(c, 0.);
		return;
	}
	relay_start(c, sv[0]);
	handoff_can_wait(c);
	ph__conn_after(c);
#else
	ph__conn_close_now(c, "session handoff failed");
#endif
}

static void master_wio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	ph_conn *c = w->data;

	ev_io_stop(loop, w);
	handoff_send(c);
}

/* The plugin is off the stack: end its state, flush what it said, then
 * send (plaintext output must leave before the socket does). */
void ph__conn_handoff_step(ph_conn *c)
{
	if (c->handoff_waiting)
		return; /* sent: the master's answer decides */
	if (c->opened) {
		const char *prev = ph__conn_plugin_enter(c);

		c->opened = 0;
		c->ops->conn_closed(c->pstate);
		c->pstate = NULL;
		ph__api_set_current(prev);
	}
	if (c->state != CONN_HANDSHAKE)
		ph__conn_flush(c);
	if (c->destroy_scheduled || c->out.head != NULL ||
	    ev_is_active(&c->master_wio))
		return;
	handoff_send(c);
}

/* ---- the TLS relay: client (TLS, here) <-> session (plaintext) ---- */

/* The session's end of the relay closed before the master said whether
 * it ever started: hold the TLS connection until it does (a session
 * that failed to start leaves the answer to us). */
static void relay_lost(ph_conn *c)
{
	c->relay_eof = 1;
	ev_io_stop(c->env->loop, &c->relay_rio);
	ev_io_stop(c->env->loop, &c->relay_wio);
	ph__inbuf_clear(&c->in);
}

/* Decrypted client input goes to the session as the socket allows; the
 * client's EOF follows once everything before it is through. */
void ph__conn_relay_push(ph_conn *c)
{
	if (c->relay_eof) {
		/* The session is gone and we wait to hear whether it ever
		 * started: what the client sends meanwhile goes nowhere. */
		ph__inbuf_clear(&c->in);
		return;
	}
	while (ph__inbuf_used(&c->in) > 0) {
		ssize_t n =
		    send(c->relay_fd, c->in.data + c->in.start,
			 ph__inbuf_used(&c->in), MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				ev_io_start(c->env->loop, &c->relay_wio);
				return;
			}
			if (c->handoff_waiting) {
				relay_lost(c);
				return;
			}
			ph__conn_close_now(c, "session process gone");
			return;
		}
		c->in.start += (size_t)n;
		if (c->in.start == c->in.end)
			ph__inbuf_clear(&c->in);
	}
	ev_io_stop(c->env->loop, &c->relay_wio);
	if (c->eof && !c->relay_shut) {
		shutdown(c->relay_fd, SHUT_WR);
		c->relay_shut = 1;
	}
}

/* Reads the session while the client drains what we queued. */
void ph__conn_relay_update(ph_conn *c)
{
	int want;

	if (c->closing) {
		ev_io_stop(c->env->loop, &c->relay_rio);
		ev_io_stop(c->env->loop, &c->relay_wio);
		return;
	}
	ph__conn_relay_push(c);
	if (c->destroy_scheduled || c->relay_eof)
		return;
	want = c->out_mem + c->out_file < CONN_RELAY_HIGH;
	if (want && !ev_is_active(&c->relay_rio))
		ev_io_start(c->env->loop, &c->relay_rio);
	else if (!want)
		ev_io_stop(c->env->loop, &c->relay_rio);
}

static void relay_rio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	ph_conn *c = w->data;
	unsigned char buf[CONN_CHUNK_SIZE];
	ssize_t n;

	if (c->closing) {
		ev_io_stop(loop, w);
		return;
	}
	n = read(c->relay_fd, buf, sizeof(buf));
	if (n > 0) {
		ph__conn_write(c, buf, (size_t)n);
	} else if (n <= 0 && c->handoff_waiting &&
		   (n == 0 || (errno != EAGAIN && errno != EINTR))) {
		relay_lost(c);
	} else if (n == 0) {
		/* The session ended: flush its last words, then close. */
		ev_io_stop(loop, w);
		c->reason = "session ended";
		ph__conn_close(c);
	} else if (errno != EAGAIN && errno != EINTR) {
		ph__conn_close_now(c, "session process gone");
	}
	ph__conn_after(c);
}

static void relay_wio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	ph_conn *c = w->data;

	ph__conn_relay_push(c);
	ph__conn_after(c);
}

/* ---- per-user sessions: the session process's half ---- */

static void copy_field(char *dst, size_t size, struct ph_str s)
{
	snprintf(dst, size, "%.*s", (int)s.len, s.data);
}

ph_conn *ph__conn_adopt(struct ph__conn_env *env, struct ph__listener_rt *l,
			int fd, const struct ph__handoff_msg *m, ph_user *user)
{
	size_t size = env->input_buffer + 2;
	ph_conn *c = calloc(1, sizeof(*c));
	const char *prev;
	int ret;

	if (size < m->input.len)
		size = m->input.len;
	if (c == NULL || ph__inbuf_init(&c->in, size) < 0) {
		free(c);
		close(fd);
#ifdef PH_HAVE_AUTH
		ph__user_destroy(&user);
#endif
		return NULL;
	}
	/* The worker's socket, never trusted to be non-blocking: a
	 * blocking one would stall this loop at its first drained read. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	ph__conn_init(c, env, l, fd);
	c->owned_user = user;
	copy_field(c->session_id, sizeof(c->session_id), m->session_id);
	copy_field(c->peer_ip, sizeof(c->peer_ip), m->peer_ip);
	copy_field(c->local_ip, sizeof(c->local_ip), m->local_ip);
	c->peer_port = m->peer_port;
	c->local_port = m->local_port;
	if (m->flags & PH__HANDOFF_TLS) {
		c->tls_remote = 1;
		c->tls_version_remote =
		    strndup(m->tls_version.data, m->tls_version.len);
		c->tls_cipher_remote =
		    strndup(m->tls_cipher.data, m->tls_cipher.len);
	}
	snprintf(c->log_prefix, sizeof(c->log_prefix), "%s %s", c->session_id,
		 c->peer_ip);
	if (m->input.len > 0) {
		unsigned char *tail;

		ph__inbuf_prepare(&c->in, &tail);
		memcpy(tail, m->input.data, m->input.len);
		ph__inbuf_commit(&c->in, m->input.len);
	}
	ph__conn_set_idle_timeout(c, env->default_idle_timeout);
	prev = ph__conn_plugin_enter(c);
	ret = c->ops->conn_resume(l->proto->state, c, user, m->state.data,
				  m->state.len, &c->pstate);
	ph__api_set_current(prev);
	if (ret < 0) {
		ph__session_report(ret, "%s refused to resume the session: %s",
				   l->proto->name, ph__strerror(ret));
		/* Closed, never shut down: the worker answers on it. */
		c->handoff = CONN_HANDOFF_PENDING;
		ph__conn_close_now(c, "refused by protocol");
		return c;
	}
	/* Running: the worker may let go. Said before the login's answer
	 * leaves (it is flushed below), so that a session killed from here
	 * on is never answered twice. */
	ph__session_report(PH_OK, NULL);
	c->opened = 1;
	/* Pipelined commands that came along with the login. */
	if (ph__inbuf_used(&c->in) > 0)
		ph__conn_dispatch_input(c);
	ph__conn_after(c);
	return c;
}
