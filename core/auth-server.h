/* core/auth-server.h - the auth service's loop, independent of how the
 * plugins were loaded (ph__auth_service_run loads them from the config;
 * tests hand in ops tables directly). */
#ifndef PH_CORE_AUTH_SERVER_H
#define PH_CORE_AUTH_SERVER_H

#include <posthorn/auth.h>
#include "auth-external.h"
#include "auth-penalty.h"

/* One link of the chain: a plugin's ops and the state its init made. */
struct ph__auth_backend {
	const char *name;
	const struct ph_auth_ops *ops;
	void *state;
};

struct ph__auth_server_params {
	unsigned threads;   /* plugin-call pool size ([auth] workers) */
	size_t max_pending; /* queued + running requests (1024) */
	struct ph__auth_penalty_params penalty;
	/* Session tickets (auth-ticket.h); 0: the defaults. */
	size_t ticket_max;
	double ticket_ttl;
	/* SASL EXTERNAL: the listeners' client CAs (borrowed; NULL: every
	 * EXTERNAL_VERIFY fails). */
	const struct ph__auth_external *external;
};

/* Serves until SIGTERM or SIGINT (delivered through a signalfd; both are
 * blocked in the calling thread). fds, listen_fd and master_fd are
 * owned. master_fd (-1: none) is the master's control socket: ATTACH
 * messages there bring the connections on which session processes
 * redeem tickets (see auth-proto.h). Returns the process exit status. */
int ph__auth_server_run(const struct ph__auth_backend *chain, size_t count,
			const struct ph__auth_server_params *params, int *fds,
			size_t fd_count, int listen_fd, int master_fd);

#endif
