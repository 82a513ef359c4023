/* core/master.c - process supervision. The master uses no event loop:
 * it blocks the signals it handles and waits with sigtimedwait(), so no
 * handler ever runs asynchronously and children start from a clean
 * state. Each configuration is a generation (config, plugins, sockets,
 * auth service, workers); a reload starts a new generation and retires
 * the old one once its workers have finished their connections. */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "config-extra.h"
#include "fdpass.h"
#include "log.h"
#include "master.h"
#include "plugins.h"
#include "session.h"
#include "tls.h"
#include "worker.h"
#ifdef PH_HAVE_AUTH
#include <openssl/crypto.h>
#include "auth-proto.h"
#include "auth-redeem.h"
#include "auth-service.h"
#include "user.h"
#endif

struct slot {
	pid_t pid;
	double started, restart_at;
	unsigned quick_failures;
	int handoff_fd; /* master end of the worker's handoff socket */
};

/* A per-user session process (see session.h). Until it reports that it
 * runs, the worker that handed it over keeps the connection and waits
 * for our answer (see handoff.h). */
struct session_proc {
	struct session_proc *next;
	pid_t pid;
	uid_t uid;
	char user[64];
	int status_fd; /* the child's report pipe; -1 once read */
	int worker_fd; /* dup of the worker's handoff socket; -1: answered */
	char session_id[32], peer_ip[64];
	/* The child's reason, when it gave one. */
	char why[PH__SESSION_STATUS_MAX];
	double deadline; /* to have started by; killed after */
	int killed;
};

struct gen {
	struct gen *next;
	unsigned id;
	struct ph__config *cfg;
	struct ph__plugin_set plugins;
	struct ph__worker_socket *socks;
	char **sock_addrs;
	size_t sock_count;
	SSL_CTX **ctxs;
	struct slot *workers;
	unsigned worker_count;
	pid_t auth_pid;
	double auth_started, auth_restart_at;
	unsigned auth_failures;
	int auth_listen_fd;
	/* The master's end of its control socket to this generation's auth
	 * service (a new pair at each start of the service): session
	 * processes attach their ticket redeems here. -1: none. */
	int auth_ctl_fd;
	char *auth_path;
	int retiring;
	int drop;
	uid_t uid;
	gid_t gid;
};

static struct {
	struct gen *gens; /* newest first */
	unsigned next_id;
	int stopping;
	const char *config_path;
	struct session_proc *sessions;
	unsigned session_count;
	/* master_wait()'s poll set, kept between rounds (and reachable
	 * from here in a forked session child). */
	struct pollfd *pfds;
	struct poll_entry *polls;
	size_t poll_cap;
} M;

struct poll_entry {
	struct slot *slot;
	struct gen *gen;
	struct session_proc *session; /* a report pipe, when set */
};

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- generations ---- */

static void gen_free(struct gen *g)
{
	for (size_t i = 0; i < g->sock_count; i++) {
		if (g->socks[i].fd >= 0)
			close(g->socks[i].fd);
		free(g->sock_addrs[i]);
	}
	free(g->socks);
	free(g->sock_addrs);
	if (g->auth_listen_fd >= 0)
		close(g->auth_listen_fd);
	if (g->auth_ctl_fd >= 0)
		close(g->auth_ctl_fd);
	for (size_t i = 0; g->cfg != NULL && i < g->cfg->listener_count; i++) {
		if (g->ctxs != NULL && g->ctxs[i] != NULL)
			SSL_CTX_free(g->ctxs[i]);
	}
	free(g->ctxs);
	for (unsigned i = 0; g->workers != NULL && i < g->worker_count; i++) {
		if (g->workers[i].handoff_fd >= 0)
			close(g->workers[i].handoff_fd);
	}
	free(g->workers);
	free(g->auth_path);
	ph__plugin_set_clear(&g->plugins);
	ph__config_free(&g->cfg);
	free(g);
}

static char *located(const ph_config *sec, const char *key, char *msg)
{
	char *out = NULL;

	if (asprintf(&out, "%s:%d: %s", ph__config_section_file(sec),
		     ph__config_key_line(sec, key), msg) < 0)
		out = NULL;
	free(msg);
	return out;
}

/* Config + plugins + TLS contexts + user: everything that can fail
 * before a socket is touched. */
static struct gen *gen_prepare(const char *path, char **error_r)
{
	struct gen *g = calloc(1, sizeof(*g));

	*error_r = NULL;
	if (g == NULL)
		return NULL;
	g->auth_listen_fd = -1;
	g->auth_ctl_fd = -1;
	g->cfg = ph__config_load(path, error_r);
	if (g->cfg == NULL)
		goto fail;
	if (ph__plugin_set_load_config(&g->plugins, g->cfg, error_r) < 0)
		goto fail;
	g->ctxs = calloc(g->cfg->listener_count + 1, sizeof(*g->ctxs));
	if (g->ctxs == NULL)
		goto fail;
	for (size_t i = 0; i < g->cfg->listener_count; i++) {
		struct ph__listener_config *l = &g->cfg->listeners[i];
		char *err = NULL;

		if (l->tls == PH_TLS_NONE)
			continue;
		const char *key = "tls";
		const ph_config *sec = l->section;

		g->ctxs[i] = ph__tls_ctx_create(g->cfg, l, &err, &sec, &key);
		if (g->ctxs[i] == NULL) {
			*error_r = located(sec, key, err);
			goto fail;
		}
	}
	if (g->cfg->user != NULL) {
		struct passwd *pw = getpwnam(g->cfg->user);

		if (pw == NULL) {
			const ph_config *core =
			    ph__config_section(g->cfg, "core");
			*error_r = located(core, "user",
					   strdup("[core] user: no such user"));
			goto fail;
		}
		if (getuid() == 0) {
			g->drop = 1;
			g->uid = pw->pw_uid;
			g->gid = pw->pw_gid;
		} else if (getuid() != pw->pw_uid) {
			ph__log_warning("not running as root: [core] user = "
					"%s ignored, workers keep uid %ld",
					g->cfg->user, (long)getuid());
		}
	}
	g->worker_count = g->cfg->workers;
	g->workers = calloc(g->worker_count, sizeof(*g->workers));
	if (g->workers == NULL)
		goto fail;
	for (unsigned i = 0; i < g->worker_count; i++)
		g->workers[i].handoff_fd = -1;
	return g;
fail:
	if (*error_r == NULL)
		*error_r = strdup("out of memory");
	gen_free(g);
	return NULL;
}

static int bind_socket(const char *text, char **error_r)
{
	struct ph__addr addr;
	int fd, one = 1;

	if (ph__addr_parse(text, &addr) < 0) {
		if (asprintf(error_r, "bad address %s", text) < 0)
			*error_r = NULL;
		return -1;
	}
	fd = socket(addr.ss.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr.ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&addr.ss, addr.len) < 0 ||
	    listen(fd, 1024) < 0)
		goto fail;
	return fd;
fail:
	if (asprintf(error_r, "cannot listen on %s: %s", text,
		     strerror(errno)) < 0)
		*error_r = NULL;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Listening sockets: re-used (dup) from `old` where the address is
 * unchanged, bound otherwise. */
static int gen_bind(struct gen *g, const struct gen *old, char **error_r)
{
	size_t total = 0;

	for (size_t i = 0; i < g->cfg->listener_count; i++)
		total += g->cfg->listeners[i].listen_count;
	g->socks = calloc(total + 1, sizeof(*g->socks));
	g->sock_addrs = calloc(total + 1, sizeof(*g->sock_addrs));
	if (g->socks == NULL || g->sock_addrs == NULL)
		return PH_ENOMEM;
	for (size_t i = 0; i < g->cfg->listener_count; i++) {
		struct ph__listener_config *l = &g->cfg->listeners[i];

		for (size_t a = 0; a < l->listen_count; a++) {
			int fd = -1;

			for (size_t k = 0; old != NULL && k < old->sock_count;
			     k++) {
				if (strcmp(old->sock_addrs[k], l->listen[a]) ==
				    0) {
					fd = fcntl(old->socks[k].fd,
						   F_DUPFD_CLOEXEC, 3);
					break;
				}
			}
			if (fd < 0) {
				char *err = NULL;

				fd = bind_socket(l->listen[a], &err);
				if (fd < 0) {
					*error_r =
					    located(l->section, "listen", err);
					return PH_EIO;
				}
			}
			g->socks[g->sock_count].fd = fd;
			g->socks[g->sock_count].listener = i;
			g->sock_addrs[g->sock_count] = strdup(l->listen[a]);
			g->sock_count++;
		}
	}
	return PH_OK;
}

/* ---- children ---- */

/* In a fresh child: close every inherited descriptor not in `keep`. */
static void close_other_fds(const int *keep, size_t keep_count)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int dfd;

	if (d == NULL)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		int fd = atoi(de->d_name), kept = 0;

		if (de->d_name[0] == '.' || fd <= 2 || fd == dfd)
			continue;
		for (size_t i = 0; i < keep_count; i++)
			kept |= keep[i] == fd;
		if (!kept)
			close(fd);
	}
	closedir(d);
}

static void child_reset_signals(void)
{
	sigset_t none;

	signal(SIGHUP, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static pid_t spawn_worker(struct gen *g, unsigned idx, int auth_fd)
{
	int hv[2] = {-1, -1};
	pid_t pid;

	/* The worker hands sessions of system users back over this. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, hv) < 0) {
		ph__log_error("socketpair: %s", strerror(errno));
		hv[0] = hv[1] = -1;
	}
	pid = fork();
	if (pid < 0) {
		ph__log_error("fork: %s", strerror(errno));
		if (hv[0] >= 0) {
			close(hv[0]);
			close(hv[1]);
		}
		return -1;
	}
	if (pid == 0) {
		struct ph__worker_params p = {
		    .cfg = g->cfg,
		    .plugins = &g->plugins,
		    .socks = g->socks,
		    .sock_count = g->sock_count,
		    .ssl_ctxs = g->ctxs,
		    .auth_fd = auth_fd,
		    .auth_path = g->auth_path,
		    .index = idx + 1,
		    .drop_privileges = g->drop,
		    .uid = g->uid,
		    .gid = g->gid,
		    .handoff_fd = hv[1],
		    .master_root = getuid() == 0,
		};
		int *keep = calloc(g->sock_count + 2, sizeof(int));
		size_t n = 0;

		child_reset_signals();
		if (keep != NULL) {
			for (size_t i = 0; i < g->sock_count; i++)
				keep[n++] = g->socks[i].fd;
			keep[n++] = auth_fd;
			keep[n++] = hv[1];
			close_other_fds(keep, n);
			free(keep);
		}
		exit(ph__worker_run(&p));
	}
	if (hv[1] >= 0)
		close(hv[1]);
	if (g->workers[idx].handoff_fd >= 0)
		close(g->workers[idx].handoff_fd);
	g->workers[idx].handoff_fd = hv[0];
	g->workers[idx].pid = pid;
	g->workers[idx].started = now_mono();
	g->workers[idx].restart_at = 0;
	return pid;
}

static __attribute__((unused)) int auth_listen(struct gen *g)
{
#ifdef PH_HAVE_AUTH
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char tmp[sizeof(sun.sun_path)];
	int fd;

	if (mkdir(g->cfg->state_dir, 0755) < 0 && errno != EEXIST) {
		ph__log_warning("state_dir %s: %s (no auth socket)",
				g->cfg->state_dir, strerror(errno));
		return -1;
	}
	if (asprintf(&g->auth_path, "%s/auth.sock", g->cfg->state_dir) < 0) {
		g->auth_path = NULL;
		return -1;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/auth.sock.%u",
			     g->cfg->state_dir, g->id) >= sizeof(tmp)) {
		ph__log_warning("state_dir %s: path too long",
				g->cfg->state_dir);
		return -1;
	}
	strcpy(sun.sun_path, tmp);
	unlink(tmp);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, 128) < 0) {
		ph__log_warning("auth socket %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (g->drop && chown(tmp, g->uid, g->gid) < 0)
		ph__log_warning("chown %s: %s", tmp, strerror(errno));
	chmod(tmp, 0660);
	/* Atomic switch: new clients reach the newest generation. */
	if (rename(tmp, g->auth_path) < 0)
		ph__log_warning("rename %s: %s", tmp, strerror(errno));
	g->auth_listen_fd = fd;
	return fd;
#else
	(void)g;
	return -1;
#endif
}

#ifdef PH_HAVE_AUTH
/* Forks the auth service with `count` worker sockets (owned by the child
 * afterwards; `fds` needs room for two more), the generation's
 * listening socket and a new control socket to the master (tickets
 * issued by a previous service died with it, and so does its pair). */
static pid_t spawn_auth(struct gen *g, int *fds, size_t count)
{
	int ctl[2] = {-1, -1};
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0) {
		ph__log_error("socketpair: %s", strerror(errno));
		ctl[0] = ctl[1] = -1;
	}
	pid = fork();
	if (pid == 0) {
		child_reset_signals();
		fds[count] = g->auth_listen_fd;
		fds[count + 1] = ctl[1];
		close_other_fds(fds, count + 2);
		ph__log_init(g->cfg->log_target, g->cfg->log_level, "auth");
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		exit(ph__auth_service_run(g->cfg, fds, count, g->auth_listen_fd,
					  ctl[1]));
	}
	if (pid < 0)
		ph__log_error("fork: %s", strerror(errno));
	if (ctl[1] >= 0)
		close(ctl[1]);
	if (g->auth_ctl_fd >= 0)
		close(g->auth_ctl_fd);
	g->auth_ctl_fd = pid > 0 ? ctl[0] : -1;
	if (pid <= 0 && ctl[0] >= 0)
		close(ctl[0]);
	g->auth_started = now_mono();
	return pid;
}
#endif

/* Forks the auth service (when auth is built in and configured) and the
 * workers, each worker with its end of a socketpair to the service. */
static int gen_start(struct gen *g)
{
	int *worker_ends = calloc(g->worker_count, sizeof(int));

	if (worker_ends == NULL)
		return PH_ENOMEM;
	for (unsigned i = 0; i < g->worker_count; i++)
		worker_ends[i] = -1;
#ifdef PH_HAVE_AUTH
	if (g->cfg->auth_plugin_count > 0) {
		int *auth_ends = calloc(g->worker_count + 2, sizeof(int));
		pid_t pid;

		if (auth_ends == NULL) {
			free(worker_ends);
			return PH_ENOMEM;
		}
		for (unsigned i = 0; i < g->worker_count; i++) {
			int sv[2];

			if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
				       0, sv) < 0) {
				ph__log_error("socketpair: %s",
					      strerror(errno));
				sv[0] = sv[1] = -1;
			}
			auth_ends[i] = sv[0];
			worker_ends[i] = sv[1];
		}
		auth_listen(g);
		pid = spawn_auth(g, auth_ends, g->worker_count);
		g->auth_pid = pid > 0 ? pid : 0;
		for (unsigned i = 0; i < g->worker_count; i++) {
			if (auth_ends[i] >= 0)
				close(auth_ends[i]);
		}
		free(auth_ends);
	}
#endif
	for (unsigned i = 0; i < g->worker_count; i++) {
		spawn_worker(g, i, worker_ends[i]);
		if (worker_ends[i] >= 0)
			close(worker_ends[i]);
	}
	free(worker_ends);
	return PH_OK;
}

/* ---- per-user session processes ---- */

/* How long a session process may take to start (ticket redeem, uid
 * switch, plugin init, mail store) before it is killed and its login
 * answered with a temporary failure. Workers wait longer than this. */
#define SESSION_START_TIMEOUT 60.0

/* One line per session that could not start: who, from where, why. */
static void session_log_failure(const char *user, const char *uid,
				const char *peer_ip, const char *why)
{
	ph__log_error("session for %s (uid %s) from %s failed: %s",
		      user != NULL ? user : "?", uid != NULL ? uid : "?",
		      peer_ip != NULL && *peer_ip != '\0' ? peer_ip : "?", why);
}

/* Tells the worker (its handoff socket `worker_fd`) how the handoff of
 * session `sid` went. A worker that is gone, or not waiting for this
 * one (an ABI 1.1 protocol), just does not hear it. */
static void handoff_answer(int worker_fd, const char *sid, int result)
{
	unsigned char buf[PH__HANDOFF_RESULT_MAX];
	int len = ph__handoff_encode_result(buf, sizeof(buf), result,
					    (struct ph_str){sid, strlen(sid)});

	if (len < 0 || worker_fd < 0)
		return;
	if (send(worker_fd, buf, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) <
		0 &&
	    errno != EPIPE && errno != ECONNREFUSED && errno != ECONNRESET)
		ph__log_warning("answering the worker about session %s: %s",
				sid, strerror(errno));
}

/* The session runs (PH_OK) or could not start (logged with `why`). */
static void session_outcome(struct session_proc *sp, int result,
			    const char *why)
{
	char uid[24];

	if (sp->worker_fd < 0)
		return;
	if (result < 0) {
		snprintf(uid, sizeof(uid), "%lu", (unsigned long)sp->uid);
		session_log_failure(sp->user, uid, sp->peer_ip, why);
	}
	handoff_answer(sp->worker_fd, sp->session_id, result);
	close(sp->worker_fd);
	sp->worker_fd = -1;
}

/* Reads the child's one report ("ok" or why it failed), or its end. */
static void session_status_read(struct session_proc *sp)
{
	char buf[PH__SESSION_STATUS_MAX + 1];
	ssize_t n;
	int ret;

	if (sp->status_fd < 0)
		return;
	n = read(sp->status_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	close(sp->status_fd);
	sp->status_fd = -1;
	if (n <= 0)
		return; /* gone without a word: the reap says how */
	ret =
	    ph__session_status_parse(buf, (size_t)n, sp->why, sizeof(sp->why));
	if (ret == 1)
		session_outcome(sp, PH_OK, NULL);
	else if (ret == 0)
		session_outcome(sp, PH_ETEMP, sp->why);
	else
		session_outcome(sp, PH_ETEMP,
				"malformed report from the session process");
}

static int session_reaped(pid_t pid, const char *what)
{
	for (struct session_proc **pp = &M.sessions; *pp != NULL;
	     pp = &(*pp)->next) {
		struct session_proc *sp = *pp;

		if (sp->pid != pid)
			continue;
		/* A report may still wait in the pipe. */
		session_status_read(sp);
		if (sp->worker_fd >= 0) {
			char why[192];

			if (sp->killed)
				snprintf(why, sizeof(why),
					 "not started within %.0f s: killed",
					 SESSION_START_TIMEOUT);
			else
				snprintf(why, sizeof(why),
					 "session process %s before it started",
					 what);
			session_outcome(sp, PH_ETEMP, why);
		}
		if (sp->status_fd >= 0)
			close(sp->status_fd);
		ph__log_info("session process for %s (uid %lu) %s", sp->user,
			     (unsigned long)sp->uid, what);
		*pp = sp->next;
		free(sp);
		M.session_count--;
		return 1;
	}
	return 0;
}

/* Kills sessions that did not start in time (their reap answers); the
 * time left to the next deadline goes to *next_r. */
static void session_deadlines(double *next_r)
{
	double t = now_mono();

	for (struct session_proc *sp = M.sessions; sp != NULL; sp = sp->next) {
		if (sp->worker_fd < 0 || sp->killed)
			continue;
		if (sp->deadline <= t) {
			kill(sp->pid, SIGKILL);
			sp->killed = 1;
		} else if (sp->deadline - t < *next_r) {
			*next_r = sp->deadline - t;
		}
	}
}

static void signal_sessions(int sig)
{
	for (struct session_proc *sp = M.sessions; sp != NULL; sp = sp->next)
		kill(sp->pid, sig);
}

#ifdef PH_HAVE_AUTH
/* How long a session process waits for the auth service's answer. */
#define SESSION_REDEEM_TIMEOUT 10.0

static void session_policy(struct gen *g, const struct ph__handoff_msg *m,
			   struct ph__session_policy *p)
{
	struct ph__plugin *proto =
	    ph__plugin_set_find(&g->plugins, m->protocol.data);

	p->euid = geteuid();
	p->first_valid_uid = ph__config_first_valid_uid(g->cfg);
	p->master_root = getuid() == 0;
	p->have_channel = 1;
	p->can_resume = proto != NULL &&
			proto->desc->kind == PH_PLUGIN_PROTOCOL &&
			ph__protocol_can_resume(proto->desc->ops);
}

static __attribute__((noreturn)) void session_refuse(const char *claimed,
						     const char *why, int fd)
{
	ph__log_error("session refused: user=%s: %s", claimed, why);
	ph__session_report(PH_EPERM, "session refused: %s", why);
	close(fd);
	_exit(1);
}

/* The record the auth service vouches for, by the login's ticket: it
 * must name the user (and uid) the worker claimed, and pass the policy.
 * In the child, still root; refuses (never returns) otherwise. */
static ph_user *session_redeem(struct gen *g, const struct ph__handoff_msg *m,
			       int fd, const char *claimed, uid_t claimed_uid,
			       uid_t *uid_r, gid_t *gid_r)
{
	struct ph__session_policy policy;
	char why[PH__AUTH_MAX_MESSAGE + 64], *record = NULL;
	const char *reason = NULL, *name;
	ph_user *user;
	int ret;

	ret = ph__auth_redeem(
	    g->auth_ctl_fd, (const unsigned char *)m->ticket.data,
	    m->ticket.len, m->protocol.data, m->peer_ip.data,
	    SESSION_REDEEM_TIMEOUT, &record, why, sizeof(why));
	if (g->auth_ctl_fd >= 0)
		close(g->auth_ctl_fd);
	g->auth_ctl_fd = -1;
	if (ret < 0)
		session_refuse(claimed, why, fd);
	user = ph__user_deserialize(record, strlen(record));
	OPENSSL_cleanse(record, strlen(record));
	free(record);
	name = user != NULL ? ph__user_get(user, "user") : NULL;
	if (name == NULL)
		session_refuse(claimed,
			       "malformed record from the auth service", fd);
	if (strcmp(name, claimed) != 0) {
		snprintf(why, sizeof(why),
			 "the ticket is for another user (%.64s)", name);
		session_refuse(claimed, why, fd);
	}
	session_policy(g, m, &policy);
	if (ph__session_decide(&policy, ph__user_get(user, "uid"),
			       ph__user_get(user, "gid"), uid_r, gid_r,
			       &reason) != PH__SESSION_HANDOFF)
		session_refuse(claimed,
			       reason != NULL ? reason
					      : "the ticket's record needs no "
						"session process",
			       fd);
	if (*uid_r != claimed_uid)
		session_refuse(
		    claimed, "the worker's uid differs from the ticket's", fd);
	return user;
}

/* In the child: redeem the ticket, become the user the auth service
 * vouched for, then serve. Never returns. */
static void session_child(struct gen *g, const struct ph__handoff_msg *m,
			  int fd, const char *claimed, uid_t claimed_uid,
			  int status_fd)
{
	int keep[3] = {fd, g->auth_ctl_fd, status_fd};
	ph_user *user;
	uid_t uid;
	gid_t gid;

	child_reset_signals();
	close_other_fds(keep, 3);
	ph__session_report_init(status_fd);
	/* The session runs as the user and never does TLS (the worker
	 * keeps it): the listeners' private keys must not be in its memory
	 * (OpenSSL clears key material when freeing it). */
	for (struct gen *o = M.gens; o != NULL; o = o->next) {
		for (size_t i = 0;
		     o->ctxs != NULL && i < o->cfg->listener_count; i++) {
			SSL_CTX_free(o->ctxs[i]);
			o->ctxs[i] = NULL;
		}
	}
	ph__log_init(g->cfg->log_target, g->cfg->log_level, "session");
	prctl(PR_SET_NAME, PH__SESSION_PROC_NAME, 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	user = session_redeem(g, m, fd, claimed, claimed_uid, &uid, &gid);
	if (ph__session_drop_privileges(ph__user_get(user, "user"), uid, gid,
					ph__user_get(user, "home")) < 0)
		_exit(1);
	/* After the uid change, which clears it. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(1);
	exit(ph__session_run(g->cfg, &g->plugins, m, fd, user));
}

/* A worker handed us a logged-in session: check its claim (the worker
 * is unprivileged, we are root), then fork its process, which serves
 * only the record the auth service vouches for. Takes `fd`. The worker
 * (`worker_fd`, its handoff socket) hears how it went: at once when it
 * fails here, from session_outcome() once the child reports or dies. */
static void session_spawn(struct gen *g, const struct ph__handoff_msg *m,
			  int fd, int worker_fd)
{
	char reason[256];
	int st[2] = {-1, -1};
	ph_user *user = ph__user_deserialize(m->user.data, m->user.len);
	const char *name = user != NULL ? ph__user_get(user, "user") : NULL;
	struct ph__session_policy policy;
	const char *why = "malformed user record";
	struct session_proc *sp = NULL;
	int listener_ok = 0;
	uid_t uid;
	gid_t gid;
	pid_t pid;

	session_policy(g, m, &policy);
	for (size_t i = 0; i < g->cfg->listener_count; i++) {
		const struct ph__listener_config *l = &g->cfg->listeners[i];

		if (strcmp(l->name, m->listener.data) == 0 &&
		    strcmp(l->protocol, m->protocol.data) == 0)
			listener_ok = 1;
	}
	if (!listener_ok)
		why = "unknown listener or protocol";
	if (user == NULL || name == NULL || !listener_ok ||
	    ph__session_decide(&policy, ph__user_get(user, "uid"),
			       ph__user_get(user, "gid"), &uid, &gid,
			       &why) != PH__SESSION_HANDOFF) {
		ph__log_error("session handoff refused: user=%s: %s",
			      name != NULL ? name : "?",
			      why != NULL ? why : "uid of the master");
		snprintf(reason, sizeof(reason), "handoff refused: %s",
			 why != NULL ? why : "uid of the master");
		goto fail;
	}
	if (m->ticket.len == 0) {
		ph__log_error("session refused: user=%s: no session ticket",
			      name);
		snprintf(reason, sizeof(reason), "no session ticket");
		goto fail;
	}
	if (g->cfg->max_connections > 0 &&
	    M.session_count >= g->cfg->max_connections) {
		ph__log_warning("session limit of %u reached: closing the "
				"session of %s",
				g->cfg->max_connections, name);
		snprintf(reason, sizeof(reason),
			 "session limit of %u reached ([core] max_connections)",
			 g->cfg->max_connections);
		goto fail;
	}
	sp = calloc(1, sizeof(*sp));
	if (sp == NULL) {
		snprintf(reason, sizeof(reason), "out of memory");
		goto fail;
	}
	/* The child's report: whether the worker may let go. */
	if (pipe2(st, O_CLOEXEC) < 0) {
		snprintf(reason, sizeof(reason), "pipe: %s", strerror(errno));
		goto fail;
	}
	pid = fork();
	if (pid == 0) {
		free(sp); /* the parent's bookkeeping */
		close(st[0]);
		session_child(g, m, fd, name, uid, st[1]);
	}
	if (pid < 0) {
		snprintf(reason, sizeof(reason), "fork: %s", strerror(errno));
		goto fail;
	}
	close(st[1]);
	fcntl(st[0], F_SETFL, O_NONBLOCK);
	sp->pid = pid;
	sp->uid = uid;
	sp->status_fd = st[0];
	sp->worker_fd = fcntl(worker_fd, F_DUPFD_CLOEXEC, 3);
	sp->deadline = now_mono() + SESSION_START_TIMEOUT;
	snprintf(sp->user, sizeof(sp->user), "%s", name);
	snprintf(sp->session_id, sizeof(sp->session_id), "%s",
		 m->session_id.data);
	snprintf(sp->peer_ip, sizeof(sp->peer_ip), "%s", m->peer_ip.data);
	sp->next = M.sessions;
	M.sessions = sp;
	M.session_count++;
	ph__log_info("session process for %s (uid %lu) started: pid %ld", name,
		     (unsigned long)uid, (long)pid);
	close(fd);
	ph__user_destroy(&user);
	return;
fail:
	session_log_failure(name,
			    user != NULL ? ph__user_get(user, "uid") : NULL,
			    m->peer_ip.data, reason);
	handoff_answer(worker_fd, m->session_id.data, PH_ETEMP);
	if (st[0] >= 0) {
		close(st[0]);
		close(st[1]);
	}
	free(sp);
	close(fd);
	ph__user_destroy(&user);
}
#endif

/* Reads one handoff datagram from a worker. Returns -1 when the worker's
 * end is gone. */
static int handoff_receive(struct gen *g, struct slot *s)
{
	static unsigned char buf[PH__HANDOFF_MSG_MAX + 1];
	struct ph__handoff_msg m;
	int fd, malformed;
	ssize_t n =
	    ph__fd_recv(s->handoff_fd, buf, sizeof(buf), &fd, &malformed);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	if (fd < 0 || ph__handoff_decode(buf, (size_t)n, &m) != PH_OK) {
		ph__log_error("worker (pid %ld) sent a malformed session "
			      "handoff: ignored",
			      (long)s->pid);
		if (fd >= 0)
			close(fd);
		return 0;
	}
#ifdef PH_HAVE_AUTH
	session_spawn(g, &m, fd, s->handoff_fd);
#else
	(void)g;
	close(fd);
#endif
	return 0;
}

static void describe_status(int status, char *buf, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, size, "exited with status %d",
			 WEXITSTATUS(status));
}

static void reap(void)
{
	pid_t pid;
	int status;
	char what[128];

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		describe_status(status, what, sizeof(what));
		if (session_reaped(pid, what))
			continue;
		for (struct gen *g = M.gens; g != NULL; g = g->next) {
			if (pid == g->auth_pid) {
				g->auth_pid = 0;
				if (!M.stopping && !g->retiring) {
					double t = now_mono();

					g->auth_failures =
					    t - g->auth_started < 10.
						? g->auth_failures + 1
						: 0;
					g->auth_restart_at =
					    t +
					    (g->auth_failures > 0 ? 1. : 0.);
					ph__log_error("auth service (pid %ld) "
						      "%s; restarting",
						      (long)pid, what);
				} else
					ph__log_info("auth service (pid %ld) "
						     "%s",
						     (long)pid, what);
				break;
			}
			for (unsigned i = 0; i < g->worker_count; i++) {
				struct slot *s = &g->workers[i];
				double t = now_mono(), delay;

				if (s->pid != pid)
					continue;
				s->pid = 0;
				if (s->handoff_fd >= 0)
					close(s->handoff_fd);
				s->handoff_fd = -1;
				if (M.stopping || g->retiring) {
					ph__log_info("worker %u (pid %ld) %s",
						     i + 1, (long)pid, what);
					break;
				}
				if (t - s->started < 10.)
					s->quick_failures++;
				else
					s->quick_failures = 0;
				delay =
				    s->quick_failures == 0
					? 0.
					: 0.5 *
					      (double)(1u
						       << (s->quick_failures > 6
							       ? 6
							       : s->quick_failures -
								     1));
				if (delay > 30.)
					delay = 30.;
				s->restart_at = t + delay;
				ph__log_error("worker %u (pid %ld) %s; "
					      "restarting in %.1f s",
					      i + 1, (long)pid, what, delay);
				break;
			}
		}
	}
}

static void restart_due(double *next_r)
{
	struct gen *g = M.gens;
	double t = now_mono();

	if (g == NULL || M.stopping || g->retiring)
		return;
#ifdef PH_HAVE_AUTH
	/* The restarted service has no socketpairs: workers reconnect
	 * through the listening socket, which the master kept open. */
	if (g->auth_pid == 0 && g->auth_restart_at > 0 &&
	    g->auth_listen_fd >= 0) {
		if (g->auth_restart_at <= t) {
			int fds[2];
			pid_t pid = spawn_auth(g, fds, 0);

			if (pid > 0) {
				g->auth_pid = pid;
				g->auth_restart_at = 0;
				ph__log_info("auth service restarted (pid %ld)",
					     (long)pid);
			}
		} else if (g->auth_restart_at - t < *next_r) {
			*next_r = g->auth_restart_at - t;
		}
	}
#endif
	for (unsigned i = 0; i < g->worker_count; i++) {
		struct slot *s = &g->workers[i];

		if (s->pid != 0 || s->restart_at == 0)
			continue;
		if (s->restart_at <= t) {
			/* The socketpair end died with the old worker:
			 * the new one dials the auth socket instead. */
			if (spawn_worker(g, i, -1) > 0)
				ph__log_info("worker %u restarted (pid %ld)",
					     i + 1, (long)s->pid);
		} else if (s->restart_at - t < *next_r) {
			*next_r = s->restart_at - t;
		}
	}
}

static unsigned gen_alive(const struct gen *g)
{
	unsigned n = 0;

	for (unsigned i = 0; i < g->worker_count; i++)
		n += g->workers[i].pid != 0;
	return n;
}

/* Frees retired generations whose workers are gone. */
static void retire_finished(void)
{
	struct gen **pp = &M.gens;

	while (*pp != NULL) {
		struct gen *g = *pp;

		if (!g->retiring || gen_alive(g) > 0) {
			pp = &g->next;
			continue;
		}
		if (g->auth_pid > 0) {
			kill(g->auth_pid, SIGTERM);
			pp = &g->next;
			continue;
		}
		ph__log_info("configuration generation %u retired", g->id);
		*pp = g->next;
		gen_free(g);
	}
}

static void signal_gen(struct gen *g, int sig)
{
	for (unsigned i = 0; i < g->worker_count; i++) {
		if (g->workers[i].pid > 0)
			kill(g->workers[i].pid, sig);
	}
}

static void reload(void)
{
	struct gen *old = M.gens, *g;
	char *err = NULL;

	ph__log_info("SIGHUP: reloading %s", M.config_path);
	g = gen_prepare(M.config_path, &err);
	if (g == NULL || gen_bind(g, old, &err) < 0) {
		ph__log_error("reload failed, keeping the running "
			      "configuration: %s",
			      err != NULL ? err : "error");
		free(err);
		if (g != NULL)
			gen_free(g);
		return;
	}
	g->id = ++M.next_id;
	ph__log_init(g->cfg->log_target, g->cfg->log_level, "master");
	g->next = M.gens;
	M.gens = g;
	gen_start(g);
	if (old != NULL) {
		/* Old workers stop accepting now and exit when their last
		 * connection closes; their auth service follows them. */
		old->retiring = 1;
		signal_gen(old, SIGUSR1);
		/* A retiring generation never spawns again: the master's
		 * copies of its sockets would only keep a removed address
		 * accepting into a backlog nobody serves. */
		for (size_t i = 0; i < old->sock_count; i++) {
			if (old->socks[i].fd >= 0)
				close(old->socks[i].fd);
			old->socks[i].fd = -1;
		}
	}
	ph__log_info("configuration generation %u running", g->id);
}

static void shutdown_all(void)
{
	double deadline;
	sigset_t set;

	M.stopping = 1;
	for (struct gen *g = M.gens; g != NULL; g = g->next)
		signal_gen(g, SIGTERM);
	/* Sessions say goodbye themselves; TLS relays in the workers carry
	 * it out and close when their session does. */
	signal_sessions(SIGTERM);
	deadline =
	    now_mono() +
	    (M.gens != NULL
		 ? (double)ph__config_core_uint(M.gens->cfg, "shutdown_timeout")
		 : 10.) +
	    5.;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		unsigned alive = 0;
		struct timespec ts = {0, 200000000L};

		reap();
		alive = M.session_count;
		for (struct gen *g = M.gens; g != NULL; g = g->next)
			alive += gen_alive(g);
		if (alive == 0)
			break;
		if (now_mono() > deadline) {
			ph__log_warning("%u worker(s) or session(s) did not "
					"stop: killing",
					alive);
			for (struct gen *g = M.gens; g != NULL; g = g->next)
				signal_gen(g, SIGKILL);
			signal_sessions(SIGKILL);
			deadline = now_mono() + 5.;
		}
		sigtimedwait(&set, NULL, &ts);
	}
	for (struct gen *g = M.gens; g != NULL; g = g->next) {
		if (g->auth_pid > 0)
			kill(g->auth_pid, SIGTERM);
	}
	for (;;) {
		unsigned alive = 0;
		struct timespec ts = {0, 200000000L};

		reap();
		for (struct gen *g = M.gens; g != NULL; g = g->next)
			alive += g->auth_pid > 0;
		if (alive == 0 || now_mono() > deadline + 5.)
			break;
		sigtimedwait(&set, NULL, &ts);
	}
	if (M.gens != NULL && M.gens->auth_path != NULL)
		unlink(M.gens->auth_path);
	while (M.gens != NULL) {
		struct gen *g = M.gens;

		M.gens = g->next;
		gen_free(g);
	}
}

/* One round of the master's loop: waits for a signal, a handoff or the
 * next restart, handles them. Returns 1 when told to stop. */
static int master_wait(int sfd)
{
	struct pollfd *pfds;
	size_t n = 1, cap = 1;
	double next = 1.;
	int stop = 0;

	restart_due(&next);
	session_deadlines(&next);
	for (struct gen *g = M.gens; g != NULL; g = g->next)
		cap += g->worker_count;
	for (struct session_proc *sp = M.sessions; sp != NULL; sp = sp->next)
		cap += sp->status_fd >= 0;
	if (cap > M.poll_cap) {
		struct pollfd *np = realloc(M.pfds, cap * sizeof(*np));
		struct poll_entry *ne =
		    np != NULL ? realloc(M.polls, cap * sizeof(*ne)) : NULL;

		if (np != NULL)
			M.pfds = np;
		if (ne == NULL) {
			sleep(1);
			return 0;
		}
		M.polls = ne;
		M.poll_cap = cap;
	}
	pfds = M.pfds;
	pfds[0].fd = sfd;
	pfds[0].events = POLLIN;
	pfds[0].revents = 0;
	for (struct gen *g = M.gens; g != NULL; g = g->next) {
		for (unsigned i = 0; i < g->worker_count; i++) {
			if (g->workers[i].handoff_fd < 0)
				continue;
			pfds[n].fd = g->workers[i].handoff_fd;
			pfds[n].events = POLLIN;
			pfds[n].revents = 0;
			M.polls[n].slot = &g->workers[i];
			M.polls[n].gen = g;
			M.polls[n].session = NULL;
			n++;
		}
	}
	for (struct session_proc *sp = M.sessions; sp != NULL; sp = sp->next) {
		if (sp->status_fd < 0)
			continue;
		pfds[n].fd = sp->status_fd;
		pfds[n].events = POLLIN;
		pfds[n].revents = 0;
		M.polls[n].slot = NULL;
		M.polls[n].gen = NULL;
		M.polls[n].session = sp;
		n++;
	}
	if (poll(pfds, n, (int)(next * 1000.) + 1) > 0) {
		for (size_t i = 1; i < n; i++) {
			if (pfds[i].revents == 0)
				continue;
			if (M.polls[i].session != NULL) {
				session_status_read(M.polls[i].session);
				continue;
			}
			/* A burst of logins: a bounded batch per round. */
			struct slot *slot = M.polls[i].slot;

			for (int k = 0; k < 16; k++) {
				if (handoff_receive(M.polls[i].gen, slot) < 0) {
					close(slot->handoff_fd);
					slot->handoff_fd = -1;
					break;
				}
				if (!(pfds[i].revents & POLLIN))
					break;
				struct pollfd again = {slot->handoff_fd, POLLIN,
						       0};
				if (poll(&again, 1, 0) <= 0 ||
				    !(again.revents & POLLIN))
					break;
			}
		}
		if (pfds[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGTERM ||
				    si.ssi_signo == SIGINT) {
					ph__log_info("%s: stopping",
						     si.ssi_signo == SIGTERM
							 ? "SIGTERM"
							 : "SIGINT");
					stop = 1;
				} else if (si.ssi_signo == SIGHUP && !stop) {
					reload();
				}
			}
		}
	}
	reap();
	retire_finished();
	return stop;
}

int ph__master_run(const char *config_path)
{
	struct gen *g;
	char *err = NULL;
	sigset_t set;
	int sfd;

	M.config_path = config_path;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	g = gen_prepare(config_path, &err);
	if (g == NULL || gen_bind(g, NULL, &err) < 0) {
		ph__log_error("%s", err != NULL ? err : "error");
		free(err);
		if (g != NULL)
			gen_free(g);
		return 1;
	}
	g->id = ++M.next_id;
	ph__log_init(g->cfg->log_target, g->cfg->log_level, "master");
	M.gens = g;
	ph__log_info("posthornd %s starting: %u worker(s), %zu socket(s)",
		     PH_CORE_VERSION, g->worker_count, g->sock_count);
	gen_start(g);
	/* Signals arrive as reads on a signalfd, so the master can also
	 * wait for session handoffs from its workers. */
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		ph__log_error("signalfd: %s", strerror(errno));
		shutdown_all();
		return 1;
	}
	while (!master_wait(sfd))
		;
	close(sfd);
	free(M.pfds);
	free(M.polls);
	shutdown_all();
	ph__log_info("stopped");
	return 0;
}

int ph__master_check(const char *config_path)
{
	char *err = NULL;
	struct gen *g = gen_prepare(config_path, &err);

	if (g == NULL) {
		fprintf(stderr, "posthornd: %s\n", err != NULL ? err : "error");
		free(err);
		return 1;
	}
	ph__config_print(g->cfg, stdout);
	fflush(stdout);
	fprintf(stderr, "posthornd: configuration %s is ok\n", config_path);
	gen_free(g);
	return 0;
}
