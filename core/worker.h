/* core/worker.h - a serving process: one libev loop, the shared listening
 * sockets, the protocol and storage plugins, many connections. */
#ifndef PH_CORE_WORKER_H
#define PH_CORE_WORKER_H

#include <openssl/ssl.h>
#include <sys/types.h>

#include "config.h"
#include "plugins.h"

struct ph__worker_socket {
	int fd;		 /* listening, non-blocking */
	size_t listener; /* index into cfg->listeners */
};

struct ph__worker_params {
	struct ph__config *cfg;
	struct ph__plugin_set *plugins;
	const struct ph__worker_socket *socks;
	size_t sock_count;
	SSL_CTX **ssl_ctxs;    /* per listener, NULL for tls = none */
	int auth_fd;	       /* socketpair end, or -1 */
	const char *auth_path; /* else connect here (re-spawned workers) */
	unsigned index;	       /* 1-based, for the log */
	int drop_privileges;
	uid_t uid;
	gid_t gid;
	/* Per-user sessions: this worker's end of its socketpair with the
	 * master (-1: none), and whether the master runs as root. */
	int handoff_fd;
	int master_root;
};

/* Runs the worker until it is told to stop; returns the exit status.
 * SIGTERM/SIGINT: stop accepting, goodbye(SHUTDOWN) to every connection,
 * exit. SIGUSR1 (reload): stop accepting, exit when the last connection
 * has closed. */
int ph__worker_run(const struct ph__worker_params *params);

#endif
