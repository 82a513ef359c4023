/* core/worker.c - the worker process. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "api.h"
#include "config-extra.h"
#include "conn.h"
#include "log.h"
#include "worker.h"
#ifdef PH_HAVE_AUTH
#include "auth-client.h"
#include "auth-proto.h"
#endif

#define IP_BUCKETS   1024
#define ACCEPT_BURST 64

struct ip_count {
	struct ip_count *next;
	unsigned count;
	char ip[64];
};

struct accept_watch {
	ev_io w;
	struct ph__listener_rt *l;
};

struct worker {
	const struct ph__worker_params *p;
	struct ev_loop *loop;
	struct ph__conn_env env;
	struct ph__listener_rt *listeners;
	struct accept_watch *accepts;
	size_t accept_count;
	struct ip_count *ips[IP_BUCKETS];
	int stopping; /* 1: drain, 2: shutdown */
	ev_signal sig_term, sig_int, sig_usr1;
	ev_timer stop_timer;
	/* Out of descriptors: accepting is paused (the pending connection
	 * would keep the listener readable and the loop spinning) until a
	 * connection closes or the timer fires. */
	ev_timer accept_resume;
	int accept_paused;
	int fds_exhausted; /* logged once until an accept succeeds again */
};

static unsigned ip_hash(const char *ip)
{
	unsigned h = 5381;

	for (; *ip != '\0'; ip++)
		h = h * 33 + (unsigned char)*ip;
	return h % IP_BUCKETS;
}

static struct ip_count *ip_find(struct worker *w, const char *ip, int create)
{
	struct ip_count **head = &w->ips[ip_hash(ip)], *e;

	for (e = *head; e != NULL; e = e->next) {
		if (strcmp(e->ip, ip) == 0)
			return e;
	}
	if (!create || (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	snprintf(e->ip, sizeof(e->ip), "%s", ip);
	e->next = *head;
	*head = e;
	return e;
}

static void ip_release(struct worker *w, const char *ip)
{
	struct ip_count **pp = &w->ips[ip_hash(ip)], *e;

	for (; (e = *pp) != NULL; pp = &e->next) {
		if (strcmp(e->ip, ip) != 0)
			continue;
		if (--e->count == 0) {
			*pp = e->next;
			free(e);
		}
		return;
	}
}

static void worker_accept_resume(struct worker *w);

static void worker_on_free(void *ctx, ph_conn *conn)
{
	struct worker *w = ctx;

	ip_release(w, ph__conn_peer_ip(conn));
	/* A descriptor is free again. */
	worker_accept_resume(w);
	if (w->stopping && w->env.conn_count == 0)
		ev_break(w->loop, EVBREAK_ALL);
}

#define ACCEPT_PAUSE 0.5 /* seconds before retrying after EMFILE */

static void worker_accept_pause(struct worker *w, const char *why)
{
	if (w->accept_paused)
		return;
	w->accept_paused = 1;
	if (!w->fds_exhausted)
		ph__log_error("accept: %s with %u connection(s) open: "
			      "pausing accept, retrying every %.1f s",
			      why, w->env.conn_count, ACCEPT_PAUSE);
	w->fds_exhausted = 1;
	for (size_t i = 0; i < w->accept_count; i++)
		ev_io_stop(w->loop, &w->accepts[i].w);
	ev_timer_set(&w->accept_resume, ACCEPT_PAUSE, 0.);
	ev_timer_start(w->loop, &w->accept_resume);
}

static void worker_accept_resume(struct worker *w)
{
	if (!w->accept_paused || w->stopping)
		return;
	w->accept_paused = 0;
	ev_timer_stop(w->loop, &w->accept_resume);
	for (size_t i = 0; i < w->accept_count; i++) {
		if (w->accepts[i].w.fd >= 0)
			ev_io_start(w->loop, &w->accepts[i].w);
	}
}

static void worker_accept_resume_cb(struct ev_loop *loop, ev_timer *t,
				    int revents)
{
	(void)loop;
	(void)revents;
	worker_accept_resume(t->data);
}

static void worker_accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct accept_watch *aw = (struct accept_watch *)io;
	struct worker *w = io->data;
	const struct ph__config *cfg = w->p->cfg;

	for (int i = 0; i < ACCEPT_BURST && !w->stopping; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char ip[64];
		unsigned short port;
		struct ip_count *ipc;
		int fd = accept4(io->fd, (struct sockaddr *)&ss, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				worker_accept_pause(w, strerror(errno));
				return;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ph__log_error("accept on [listener.%s]: %s",
					      aw->l->cfg->name,
					      strerror(errno));
			return;
		}
		if (w->fds_exhausted) {
			w->fds_exhausted = 0;
			ph__log_info("accept: resumed");
		}
		if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
			/* Replies are whole lines already: Nagle only adds
			 * delayed-ACK stalls (40 ms per pipelined reply). */
			int one = 1;
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
					 sizeof(one));
		}
		ph__addr_format((struct sockaddr *)&ss, ip, sizeof(ip), &port);
		if (cfg->max_connections > 0 &&
		    w->env.conn_count >= cfg->max_connections) {
			ph__log_warning("connection limit of %u reached: "
					"closing connection from %s:%u",
					cfg->max_connections, ip, port);
			close(fd);
			continue;
		}
		if (aw->l->cfg->max_connections > 0 &&
		    aw->l->conn_count >= aw->l->cfg->max_connections) {
			ph__log_warning("[listener.%s] connection limit of %u "
					"reached: closing connection from "
					"%s:%u",
					aw->l->cfg->name,
					aw->l->cfg->max_connections, ip, port);
			close(fd);
			continue;
		}
		ipc = ip_find(w, ip, 1);
		if (ipc == NULL) {
			close(fd);
			continue;
		}
		if (cfg->max_connections_per_ip > 0 &&
		    ipc->count >= cfg->max_connections_per_ip) {
			ph__log_warning(
			    "per-IP connection limit of %u reached: "
			    "closing connection from %s:%u",
			    cfg->max_connections_per_ip, ip, port);
			close(fd);
			continue;
		}
		ipc->count++;
		if (ph__conn_create(&w->env, aw->l, fd,
				    (struct sockaddr *)&ss) == NULL) {
			ph__log_error("out of memory accepting from %s", ip);
			ip_release(w, ip);
		}
	}
}

static void worker_stop_accepting(struct worker *w)
{
	ev_timer_stop(w->loop, &w->accept_resume);
	for (size_t i = 0; i < w->accept_count; i++) {
		if (w->accepts[i].w.fd < 0)
			continue;
		ev_io_stop(w->loop, &w->accepts[i].w);
		close(w->accepts[i].w.fd);
		w->accepts[i].w.fd = -1;
	}
}

static void worker_stop_timeout_cb(struct ev_loop *loop, ev_timer *t,
				   int revents)
{
	ph__log_warning("%u connection(s) still open at shutdown",
			((struct worker *)t->data)->env.conn_count);
	ev_break(loop, EVBREAK_ALL);
}

static void worker_signal_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct worker *w = s->data;

	if (s->signum == SIGUSR1) {
		if (w->stopping)
			return;
		ph__log_info("reload: no longer accepting; exiting after %u "
			     "connection(s) close",
			     w->env.conn_count);
		w->stopping = 1;
		worker_stop_accepting(w);
		if (w->env.conn_count == 0)
			ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (w->stopping == 2)
		return;
	ph__log_info("stopping: saying goodbye to %u connection(s)",
		     w->env.conn_count);
	w->stopping = 2;
	worker_stop_accepting(w);
	/* Destruction is deferred to the loop, so the list stays intact. */
	for (ph_conn *c = w->env.conns; c != NULL; c = ph__conn_next(c))
		ph__conn_shutdown(c);
	if (w->env.conn_count == 0) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	ev_timer_init(&w->stop_timer, worker_stop_timeout_cb,
		      w->env.close_timeout + 1., 0.);
	w->stop_timer.data = w;
	ev_timer_start(loop, &w->stop_timer);
}

static int worker_drop_privileges(const struct ph__worker_params *p)
{
	if (!p->drop_privileges)
		return PH_OK;
	if (setgroups(1, &p->gid) < 0 ||
	    setresgid(p->gid, p->gid, p->gid) < 0 ||
	    setresuid(p->uid, p->uid, p->uid) < 0) {
		ph__log_error("cannot drop privileges to %s: %s", p->cfg->user,
			      strerror(errno));
		return PH_EPERM;
	}
	return PH_OK;
}

static int worker_auth_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	if (path == NULL || strlen(path) >= sizeof(sun.sun_path))
		return -1;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ph__log_error("cannot connect to the auth service at %s: %s",
			      path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int ph__worker_run(const struct ph__worker_params *p)
{
	struct ph__config *cfg = p->cfg;
	struct worker w = {.p = p};
	char ident[32], *err = NULL;
	int status = 0;

	snprintf(ident, sizeof(ident), "worker %u", p->index);
	ph__log_init(cfg->log_target, cfg->log_level, ident);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	if (worker_drop_privileges(p) < 0)
		return 1;
	/* Changing the uid cleared it. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (p->drop_privileges || getuid() != 0)
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);

	w.loop = ev_default_loop(EVFLAG_AUTO);
	if (w.loop == NULL) {
		ph__log_error("cannot create the event loop");
		return 1;
	}
	ph__api_set_loop(w.loop);
	if (ph__plugin_set_init(p->plugins, PH_PLUGIN_STORAGE, cfg, &err) < 0 ||
	    ph__plugin_set_init(p->plugins, PH_PLUGIN_PROTOCOL, cfg, &err) <
		0) {
		ph__log_error("%s", err != NULL ? err : "plugin init failed");
		free(err);
		ph__plugin_set_clear(p->plugins);
		return 1;
	}
	if (cfg->storage_plugin != NULL) {
		struct ph__plugin *sp =
		    ph__plugin_set_find(p->plugins, cfg->storage_plugin);

		ph__api_set_storage(sp->desc->ops, sp->state);
	}

	ph__conn_env_init(&w.env, w.loop, cfg);
	w.env.on_free = worker_on_free;
	w.env.ctx = &w;
	w.env.handoff_fd = p->handoff_fd;
	w.env.master_root = p->master_root;
	w.env.first_valid_uid = ph__config_first_valid_uid(cfg);
#ifdef PH_HAVE_AUTH
	if (p->auth_fd >= 0 || p->auth_path != NULL) {
		int afd = p->auth_fd >= 0 ? p->auth_fd
					  : worker_auth_connect(p->auth_path);

		/* With the path the client reconnects by itself when the
		 * auth service is restarted. */
		w.env.auth = ph__auth_client_create(w.loop, afd);
		if (w.env.auth != NULL && p->auth_path != NULL)
			ph__auth_client_set_path(w.env.auth, p->auth_path);
	}
#else
	(void)worker_auth_connect;
	if (p->auth_fd >= 0)
		close(p->auth_fd);
#endif

	w.listeners = calloc(cfg->listener_count, sizeof(*w.listeners));
	w.accepts = calloc(p->sock_count, sizeof(*w.accepts));
	if ((cfg->listener_count > 0 && w.listeners == NULL) ||
	    (p->sock_count > 0 && w.accepts == NULL)) {
		ph__log_error("out of memory");
		free(w.listeners);
		free(w.accepts);
		return 1;
	}
	for (size_t i = 0; i < cfg->listener_count; i++) {
		w.listeners[i].cfg = &cfg->listeners[i];
		w.listeners[i].proto =
		    ph__plugin_set_find(p->plugins, cfg->listeners[i].protocol);
		w.listeners[i].ssl_ctx = p->ssl_ctxs[i];
	}
	for (size_t i = 0; i < p->sock_count; i++) {
		struct accept_watch *aw = &w.accepts[i];

		aw->l = &w.listeners[p->socks[i].listener];
		ev_io_init(&aw->w, worker_accept_cb, p->socks[i].fd, EV_READ);
		aw->w.data = &w;
		ev_io_start(w.loop, &aw->w);
	}
	w.accept_count = p->sock_count;
	ev_init(&w.accept_resume, worker_accept_resume_cb);
	w.accept_resume.data = &w;

	ev_signal_init(&w.sig_term, worker_signal_cb, SIGTERM);
	ev_signal_init(&w.sig_int, worker_signal_cb, SIGINT);
	ev_signal_init(&w.sig_usr1, worker_signal_cb, SIGUSR1);
	w.sig_term.data = w.sig_int.data = w.sig_usr1.data = &w;
	ev_signal_start(w.loop, &w.sig_term);
	ev_signal_start(w.loop, &w.sig_int);
	ev_signal_start(w.loop, &w.sig_usr1);
	{
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	ph__log_info("serving %zu socket(s)", p->sock_count);
	ev_run(w.loop, 0);

	ph__log_info("exiting");
	worker_stop_accepting(&w);
#ifdef PH_HAVE_AUTH
	ph__auth_client_destroy(&w.env.auth);
#endif
	ph__api_set_storage(NULL, NULL);
	ph__plugin_set_clear(p->plugins);
	free(w.listeners);
	free(w.accepts);
	for (size_t i = 0; i < IP_BUCKETS; i++) {
		while (w.ips[i] != NULL) {
			struct ip_count *e = w.ips[i];

			w.ips[i] = e->next;
			free(e);
		}
	}
	return status;
}
