/* plugins/auth-pam/pam-plugin.c - authenticates system accounts through
 * PAM. Each conversation runs in a forked child (OpenSSH's auth-pam.c,
 * Dovecot's auth workers): the pool thread waits for its answer with a
 * timeout and kills it when the stack hangs, answering PH_ETEMP. The user
 * record comes from getpwnam(): uid, gid, home, mail = ~/Maildir. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <security/pam_appl.h>
#include <posthorn/posthorn.h>
#include "pam-private.h"

struct pam_state {
	const struct ph_core_api *api;
	char *service;
	char *mail; /* template: a leading "~" is the home directory */
	unsigned timeout_ms;
};

/* error_r text: per thread, since calls run concurrently. */
static __thread char pam_reason[200];

static const char *pam_why(const char *fmt, const char *detail)
{
	snprintf(pam_reason, sizeof(pam_reason), fmt, detail);
	return pam_reason;
}

static double pam_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Waits for the child's answer; kills it after the timeout. Returns 0
 * with *ans filled, or -1 (timeout or the child died). */
static int pam_wait(struct pam_state *st, pid_t pid, int fd,
		    struct pam_plugin_answer *ans, int *timed_out)
{
	double deadline = pam_now() + st->timeout_ms / 1000.0;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	size_t got = 0;
	int ret = -1;

	*timed_out = 0;
	for (;;) {
		double left = deadline - pam_now();
		int n;

		if (left <= 0) {
			*timed_out = 1;
			break;
		}
		n = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			continue; /* re-checks the deadline */
		n = (int)read(fd, (char *)ans + got, sizeof(*ans) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* child gone without a full answer */
		got += (size_t)n;
		if (got == sizeof(*ans)) {
			ret = 0;
			break;
		}
	}
	/* The whole group, so helpers a module spawned (unix_chkpwd) go too;
	 * one that made its own session (pam_exec's child) is out of reach,
	 * but it holds none of our descriptors. */
	if (ret < 0)
		kill(-pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return ret;
}

/* Forks the conversation child. Returns 0 with *ans, or a PH_E*. */
static int pam_run(struct pam_state *st, const struct pam_plugin_request *req,
		   struct pam_plugin_answer *ans, const char **error_r)
{
	int fds[2], timed_out;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		*error_r = pam_why("pipe: %s", strerror(errno));
		return PH_ETEMP;
	}
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		*error_r = pam_why("fork: %s", strerror(errno));
		return PH_ETEMP;
	}
	if (pid == 0) {
		struct pam_plugin_answer a;
		ssize_t n;

		close(fds[0]);
		setpgid(0, 0);
		pam_plugin_converse(req, &a);
		n = write(fds[1], &a, sizeof(a));
		_exit(n == (ssize_t)sizeof(a) ? 0 : 1);
	}
	setpgid(pid, pid); /* also here: whichever runs first wins the race */
	close(fds[1]);
	if (pam_wait(st, pid, fds[0], ans, &timed_out) < 0) {
		close(fds[0]);
		*error_r = timed_out ? "PAM stack timed out" : "PAM child died";
		return PH_ETEMP;
	}
	close(fds[0]);
	return PH_OK;
}

/* PAM's answer as a chain result. */
static int pam_result(const struct pam_plugin_answer *ans)
{
	if (ans->pam_rc == PAM_SUCCESS)
		return PH_OK;
	if (ans->stage == 1) {
		switch (ans->pam_rc) {
		case PAM_USER_UNKNOWN:
			return PH_EUNKNOWN;
		case PAM_AUTH_ERR:
		case PAM_CRED_INSUFFICIENT:
		case PAM_MAXTRIES:
		case PAM_PERM_DENIED:
			return PH_EAUTH;
		default:
			return PH_ETEMP;
		}
	}
	if (ans->stage == 2) {
		switch (ans->pam_rc) {
		case PAM_ACCT_EXPIRED:
		case PAM_NEW_AUTHTOK_REQD:
		case PAM_PERM_DENIED:
		case PAM_AUTH_ERR:
		case PAM_USER_UNKNOWN:
			return PH_EAUTH;
		default:
			return PH_ETEMP;
		}
	}
	return PH_ETEMP;
}

/* Fills the record from the passwd database. */
static int pam_fill(struct pam_state *st, const char *name, ph_user *user,
		    const char **error_r)
{
	struct passwd pw, *res = NULL;
	char buf[4096], num[32], *mail = NULL;
	int rc = getpwnam_r(name, &pw, buf, sizeof(buf), &res);

	if (rc != 0) {
		*error_r = pam_why("getpwnam: %s", strerror(rc));
		return PH_ETEMP;
	}
	if (res == NULL) {
		*error_r = "no passwd entry";
		return PH_EUNKNOWN;
	}
	st->api->user_set(user, "user", pw.pw_name);
	snprintf(num, sizeof(num), "%lu", (unsigned long)pw.pw_uid);
	st->api->user_set(user, "uid", num);
	snprintf(num, sizeof(num), "%lu", (unsigned long)pw.pw_gid);
	st->api->user_set(user, "gid", num);
	st->api->user_set(user, "home", pw.pw_dir);
	if (st->mail[0] == '~' &&
	    asprintf(&mail, "%s%s", pw.pw_dir, st->mail + 1) < 0)
		return PH_ETEMP;
	rc = st->api->user_set(user, "mail", mail != NULL ? mail : st->mail);
	free(mail);
	return rc < 0 ? PH_ETEMP : PH_OK;
}

static int pam_copy_name(const struct ph_str *in, char *out)
{
	if (in->len == 0 || in->len >= PAM_PLUGIN_MAX_USER ||
	    memchr(in->data, '\0', in->len) != NULL)
		return -1;
	memcpy(out, in->data, in->len);
	out[in->len] = '\0';
	return 0;
}

static int pam_verify_plain(void *state, const struct ph_auth_request *req,
			    ph_user *user, const char **error_r)
{
	struct pam_state *st = state;
	char name[PAM_PLUGIN_MAX_USER], *pw;
	struct pam_plugin_request preq;
	struct pam_plugin_answer ans;
	int ret;

	if (pam_copy_name(&req->user, name) < 0) {
		*error_r = "invalid user name";
		return PH_EUNKNOWN;
	}
	/* PAM takes C strings: a NUL would cut the password short. */
	if (memchr(req->password.data, '\0', req->password.len) != NULL) {
		*error_r = "NUL in password";
		return PH_EAUTH;
	}
	pw = strndup(req->password.data, req->password.len);
	if (pw == NULL)
		return PH_ETEMP;
	preq.service = st->service;
	preq.user = name;
	preq.password = pw;
	preq.rhost = req->remote_ip != NULL ? req->remote_ip : "";
	ret = pam_run(st, &preq, &ans, error_r);
	explicit_bzero(pw, req->password.len);
	free(pw);
	if (ret < 0)
		return ret;
	ret = pam_result(&ans);
	if (ret != PH_OK) {
		*error_r = pam_why("%s", ans.reason);
		return ret;
	}
	ret =
	    pam_fill(st, ans.user[0] != '\0' ? ans.user : name, user, error_r);
	/* authenticated but no account to serve: refuse, don't fall through */
	return ret == PH_EUNKNOWN ? PH_EAUTH : ret;
}

static int pam_lookup(void *state, const struct ph_auth_request *req,
		      ph_user *user, const char **error_r)
{
	char name[PAM_PLUGIN_MAX_USER];

	if (pam_copy_name(&req->user, name) < 0) {
		*error_r = "invalid user name";
		return PH_EUNKNOWN;
	}
	return pam_fill(state, name, user, error_r);
}

static void pam_fini(void *state)
{
	struct pam_state *st = state;

	if (st == NULL)
		return;
	free(st->service);
	free(st->mail);
	free(st);
}

static int pam_init(const struct ph_core_api *api, const ph_config *config,
		    void **state_r, const char **error_r)
{
	struct pam_state *st = calloc(1, sizeof(*st));
	const char *service = api->config_get(config, "service");
	const char *mail = api->config_get(config, "mail");
	uint64_t timeout = 20;

	if (st == NULL)
		return PH_ENOMEM;
	api->config_get_uint(config, "timeout", &timeout);
	st->api = api;
	st->service = strdup(service != NULL ? service : "posthorn");
	st->mail = strdup(mail != NULL ? mail : "~/Maildir");
	st->timeout_ms =
	    timeout > 0 && timeout < 3600 ? (unsigned)timeout * 1000 : 20000;
	if (st->service == NULL || st->mail == NULL) {
		pam_fini(st);
		return PH_ENOMEM;
	}
	if (st->service[0] == '\0' || strchr(st->service, '/') != NULL) {
		pam_fini(st);
		*error_r = "auth-pam: 'service' must be a PAM service name";
		return PH_EINVAL;
	}
	*state_r = st;
	return PH_OK;
}

static const struct ph_auth_ops pam_ops = {
    PH_AUTH_OPS_INIT,
    /* each conversation is its own process */
    .thread_safe = 1,
    .verify_plain = pam_verify_plain,
    .lookup = pam_lookup,
};

static const struct ph_setting_def pam_settings[] = {
    {"service", PH_SETTING_STRING, "posthorn", NULL, 0,
     "PAM service name (/etc/pam.d/<service>)"},
    {"timeout", PH_SETTING_TIME, "20s", NULL, 0,
     "a PAM conversation taking longer fails temporarily"},
    {"mail", PH_SETTING_STRING, "~/Maildir", NULL, 0,
     "mail location; a leading ~ is the user's home"},
    {NULL, 0, NULL, NULL, 0, NULL},
};

PH_EXPORT const struct ph_plugin posthorn_plugin = {
    PH_PLUGIN_INIT,
    .kind = PH_PLUGIN_AUTH,
    .name = "auth-pam",
    .version = "0.1.0",
    .description = "system accounts through PAM",
    .settings = pam_settings,
    .init = pam_init,
    .fini = pam_fini,
    .ops = &pam_ops,
};
