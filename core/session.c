/* core/session.c - the per-user session process. */
#include <errno.h>
#include <grp.h>
#include <signal.h>
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
		ph__log_error("session: refusing to run as uid %ld gid %ld",
			      (long)uid, (long)gid);
		return PH_EPERM;
	}
	if (initgroups(name, gid) < 0 && setgroups(1, &gid) < 0) {
		ph__log_error("session for %s: setgroups: %s", name,
			      strerror(errno));
		return PH_EPERM;
	}
	if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		ph__log_error("session for %s: cannot switch to uid %ld: %s",
			      name, (long)uid, strerror(errno));
		return PH_EPERM;
	}
	/* Never continue as root: check that it took, and that it cannot
	 * be undone. */
	if (getresuid(&r, &e, &s) < 0 || r != uid || e != uid || s != uid ||
	    getresgid(&rg, &eg, &sg) < 0 || rg != gid || eg != gid ||
	    sg != gid || setuid(0) == 0 || seteuid(0) == 0) {
		ph__log_error("session for %s: privileges not dropped", name);
		return PH_EPERM;
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (home == NULL || home[0] != '/' || chdir(home) < 0) {
		if (home != NULL)
			ph__log_warning("session for %s: chdir %s: %s", name,
					home, strerror(errno));
		if (chdir("/") < 0)
			return PH_EPERM;
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
		ph__log_error("session: bad handoff (listener %s, protocol %s)",
			      m->listener.data, m->protocol.data);
		goto fail;
	}
	l.proto = proto;
	s.loop = ev_default_loop(EVFLAG_AUTO);
	if (s.loop == NULL) {
		ph__log_error("cannot create the event loop");
		goto fail;
	}
	ph__api_set_loop(s.loop);
	if (ph__plugin_set_init(plugins, PH_PLUGIN_STORAGE, cfg, &err) < 0 ||
	    ph__plugin_set_init(plugins, PH_PLUGIN_PROTOCOL, cfg, &err) < 0) {
		ph__log_error("%s", err != NULL ? err : "plugin init failed");
		free(err);
		goto fail;
	}
	if (cfg->storage_plugin != NULL) {
		struct ph__plugin *sp =
		    ph__plugin_set_find(plugins, cfg->storage_plugin);

		ph__api_set_storage(sp->desc->ops, sp->state);
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
		ph__log_error("session: out of memory");
		ph__plugin_set_clear(plugins);
		return 1;
	}
	if (s.env.conn_count > 0)
		ev_run(s.loop, 0);
	ph__api_set_storage(NULL, NULL);
	ph__plugin_set_clear(plugins);
	return 0;
fail:
	close(fd);
#ifdef PH_HAVE_AUTH
	ph__user_destroy(&user);
#endif
	ph__plugin_set_clear(plugins);
	return 1;
}
