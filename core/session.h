/* core/session.h - a per-user session process: forked by the master for
 * one connection a worker handed over (see handoff.h), switched to the
 * user's uid/gid/home, serving that connection on its own libev loop and
 * exiting when it closes. */
#ifndef PH_CORE_SESSION_H
#define PH_CORE_SESSION_H

#include <sys/types.h>

#include "config.h"
#include "handoff.h"
#include "plugins.h"

/* Process name of session processes (prctl PR_SET_NAME, /proc/PID/comm). */
#define PH__SESSION_PROC_NAME "ph-session"

/* In the freshly forked child, still root: initgroups/setresgid/
 * setresuid to the user and verify that root is gone for good, then
 * chdir to `home` (or "/"). PH_OK, or PH_EPERM after logging why (the
 * caller must exit then). */
int ph__session_drop_privileges(const char *name, uid_t uid, gid_t gid,
				const char *home);

/* Serves the connection `fd` (owned) described by `m` for `user` (the
 * record the auth service vouched for, owned; never the worker's
 * m->user) with the configuration's plugins (loaded, not yet
 * initialised) until it closes. Returns the exit status. */
int ph__session_run(struct ph__config *cfg, struct ph__plugin_set *plugins,
		    const struct ph__handoff_msg *m, int fd, ph_user *user);

/* The session's one report to the master (see handoff.h), so that the
 * worker, which still holds the connection, learns whether to answer the
 * login: `fd` is the write end of the master's pipe, owned from here on
 * (-1: nobody listens). */
void ph__session_report_init(int fd);
/* Reports once and closes the pipe: PH_OK (conn_resume() accepted the
 * session) or a negative code with why it could not start (printf-style;
 * logged here too when nobody listens). Later calls do nothing. */
void ph__session_report(int result, const char *fmt, ...) PH_PRINTF(2, 3);

#endif
