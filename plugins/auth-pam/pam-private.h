/* plugins/auth-pam/pam-private.h - shared between the plugin (parent
 * side, in an auth service pool thread) and the conversation child. */
#ifndef AUTH_PAM_PRIVATE_H
#define AUTH_PAM_PRIVATE_H

#include <stddef.h>

#define PAM_PLUGIN_MAX_USER 256

/* What the child reports through its pipe (one write, < PIPE_BUF). */
struct pam_plugin_answer {
	int stage;  /* 1 authenticate, 2 acct_mgmt, 0 start/setup */
	int pam_rc; /* PAM_* result of that stage */
	char user[PAM_PLUGIN_MAX_USER]; /* PAM_USER after success */
	char reason[128];		/* pam_strerror() text */
};

struct pam_plugin_request {
	const char *service; /* PAM service name */
	const char *user;
	const char *password; /* NUL-free */
	const char *rhost;    /* may be "" */
};

/* Runs in the forked child: the whole PAM transaction, then fills *ans.
 * Never returns an error: failures are in ans->pam_rc. */
void pam_plugin_converse(const struct pam_plugin_request *req,
			 struct pam_plugin_answer *ans);

#endif
