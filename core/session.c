/* core/session.c - the per-user session process. */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "api.h"
#include "config-extra.h"
#include "conn.h"
#include "log.h"
#include "session.h"
#ifdef PH_HAVE_AUTH
#include "user.h"
#endif

/* The write end of the master's report pipe (see handoff.h), -1 once
 * used or when nobody listens. One per process: a session process serves
 * one connection. */
static int report_fd = -1;

void ph__session_report_init(int fd)
{
	report_fd = fd;
}

void ph__session_report(int result, const char *fmt, ...)
{
	char why[PH__SESSION_STATUS_MAX], buf[PH__SESSION_STATUS_MAX];
	size_t len;
	va_list ap;

	why[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
	}
	if (report_fd < 0) {
		if (result < 0)
			ph__log_error("session not started: %s", why);
		return;
	}
	len = ph__session_status_format(buf, result >= 0, why);
	/* One write below PIPE_BUF: atomic, and the master reads at once. */
	while (write(report_fd, buf, len) < 0 && errno == EINTR)
		;
	close(report_fd);
	report_fd = -1;
}

struct session {
	struct ev_loop *loop;
	struct ph__conn_env env;
	ev_signal sig_term, sig_int;
	ev_timer stop_timer;
	int stopping;
};

int ph__session_drop_privileges(const char *name, uid_t uid, gid_t gid,
				const char *home)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (uid == 0 || gid == 0) {
		ph__session_report(PH_EPERM,
				   "refusing to run as uid %ld gid %ld",
				   (long)uid, (long)gid);
		return PH_EPERM;
	}
	if (initgroups(name, gid) < 0 && setgroups(1, &gid) < 0) {
		ph__session_report(PH_EPERM, "setgroups: %s", strerror(errno));
		return PH_EPERM;
	}
	if (setresgid(gid, gid, gid) < 0) {
		ph__session_report(PH_EPERM, "setresgid to gid %ld: %s",
				   (long)gid, strerror(errno));
		return PH_EPERM;
	}
	if (setresuid(uid, uid, uid) < 0) {
		ph__session_report(PH_EPERM, "setresuid to uid %ld: %s",
				   (long)uid, strerror(errno));
		return PH_EPERM;
	}
	/* Never continue as root: check that it took, and that it cannot
	 * be undone. */
	if (getresuid(&r, &e, &s) < 0 || r != uid || e != uid || s != uid ||
	    getresgid(&rg, &eg, &sg) < 0 || rg != gid || eg != gid ||
	    sg != gid || setuid(0) == 0 || seteuid(0) == 0) {
		ph__session_report(PH_EPERM, "privileges not dropped");
		return PH_EPERM;
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (home == NULL || home[0] != '/' || chdir(home) < 0) {
		if (home != NULL)
			ph__log_warning("session for %s: chdir %s: %s", name,
					home, strerror(errno));
		if (chdir("/") < 0) {
			ph__session_report(PH_EPERM, "chdir /: %s",
					   strerror(errno));
			return PH_EPERM;
		}
	}
	return PH_OK;
}

static void session_on_free(void *ctx, ph_conn *conn)
{
	struct session *s = ctx;

	(void)conn;
	ev_break(s->loop, EVBREAK_ALL);
}

static void session_stop_timeout_cb(struct ev_loop *loop, ev_timer *t,
				    int revents)
{
	ph__log_warning("connection still open at shutdown");
	ev_break(loop, EVBREAK_ALL);
}

/* SIGTERM from the master (daemon stopping): goodbye, then close. */
static void session_signal_cb(struct ev_loop *loop, ev_signal *sig, int revents)
{
	struct session *s = sig->data;

	if (s->stopping)
		return;
	s->stopping = 1;
	for (ph_conn *c = s->env.conns; c != NULL; c = ph__conn_next(c))
		ph__conn_shutdown(c);
	ev_timer_init(&s->stop_timer, session_stop_timeout_cb,
		      s->env.close_timeout + 1., 0.);
	s->stop_timer.data = s;
	ev_timer_start(loop, &s->stop_timer);
}

/* The user's mail store must open before the session is accepted: if it
 * cannot, the process that authenticated answers the login with a
 * temporary failure (Dovecot's mail process prepares the mail user the
 * same way before it creates the client). Runs only for protocols that
 * can have that answer given (ABI 1.2); older ones answer in their
 * conn_resume() themselves. Opened and closed here: the protocol opens
 * its own handle in conn_resume(). */
static int session_mail_check(struct ph__plugin *sp, const ph_user *user)
{
	const struct ph_storage_ops *ops = sp->desc->ops;
	const char *prev = ph__api_set_current(sp->name), *error = NULL;
	ph_mail_user *mu = NULL;
	int ret = ops->user_open(sp->state, user, &mu, &error);

	if (ret >= 0)
		ops->user_close(&mu);
	ph__api_set_current(prev);
	if (ret < 0) {
		ph__session_report(ret, "mail store: %s",
				   error != NULL ? error : ph__strerror(ret));
		return ret;
	}
	return PH_OK;
}

int ph__session_run(struct ph__config *cfg, struct ph__plugin_set *plugins,
		    const struct ph__handoff_msg *m, int fd, ph_user *user)
{
	struct session s = {0};
	struct ph__listener_rt l = {0};
	struct ph__plugin *proto;
	char *err = NULL;

	proto = ph__plugin_set_find(plugins, m->protocol.data);
	for (size_t i = 0; i < cfg->listener_count; i++) {
		if (strcmp(cfg->listeners[i].name, m->listener.data) == 0)
			l.cfg = &cfg->listeners[i];
	}
	if (user == NULL || proto == NULL || l.cfg == NULL ||
	    strcmp(l.cfg->protocol, m->protocol.data) != 0) {
		ph__session_report(PH_EINVAL,
				   "bad handoff (listener %s, protocol %s)",
				   m->listener.data, m->protocol.data);
		goto fail;
	}
	l.proto = proto;
	s.loop = ev_default_loop(EVFLAG_AUTO);
	if (s.loop == NULL) {
		ph__session_report(PH_ENOMEM, "cannot create the event loop");
		goto fail;
	}
	ph__api_set_loop(s.loop);
	if (ph__plugin_set_init(plugins, PH_PLUGIN_STORAGE, cfg, &err) < 0 ||
	    ph__plugin_set_init(plugins, PH_PLUGIN_PROTOCOL, cfg, &err) < 0) {
		ph__session_report(PH_EINTERNAL, "%s",
				   err != NULL ? err : "plugin init failed");
		free(err);
		goto fail;
	}
	if (cfg->storage_plugin != NULL) {
		struct ph__plugin *sp =
		    ph__plugin_set_find(plugins, cfg->storage_plugin);

		ph__api_set_storage(sp->desc->ops, sp->state);
		if (ph__protocol_can_answer_failure(proto->desc->ops) &&
		    session_mail_check(sp, user) < 0)
			goto fail;
	}
	ph__conn_env_init(&s.env, s.loop, cfg);
	s.env.on_free = session_on_free;
	s.env.ctx = &s;
	s.env.first_valid_uid = ph__config_first_valid_uid(cfg);

	ev_signal_init(&s.sig_term, session_signal_cb, SIGTERM);
	ev_signal_init(&s.sig_int, session_signal_cb, SIGINT);
	s.sig_term.data = s.sig_int.data = &s;
	ev_signal_start(s.loop, &s.sig_term);
	ev_signal_start(s.loop, &s.sig_int);
	signal(SIGUSR1, SIG_IGN); /* reloads leave sessions alone */
	{
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	if (ph__conn_adopt(&s.env, &l, fd, m, user) == NULL) {
		ph__session_report(PH_ENOMEM, "out of memory");
		ph__plugin_set_clear(plugins);
		return 1;
	}
	if (s.env.conn_count > 0)
		ev_run(s.loop, 0);
	ph__api_set_storage(NULL, NULL);
	ph__plugin_set_clear(plugins);
	return 0;
fail:
	/* Closed, never shut down: the worker still answers on it. */
	close(fd);
	ph__api_set_storage(NULL, NULL);
#ifdef PH_HAVE_AUTH
	ph__user_destroy(&user);
#endif
	ph__plugin_set_clear(plugins);
	return 1;
}
