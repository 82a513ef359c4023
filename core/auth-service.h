/* core/auth-service.h - the auth service process: loads the auth plugins
 * of the chain, answers workers' requests over UNIX sockets, runs plugin
 * calls on a thread pool so a blocking PAM call never stalls the others,
 * and applies failure penalties. */
#ifndef PH_CORE_AUTH_SERVICE_H
#define PH_CORE_AUTH_SERVICE_H

#include "config.h"

/* Runs the service until SIGTERM, serving `fd_count` worker sockets
 * (SOCK_SEQPACKET, owned) and accepting more on `listen_fd` (a UNIX
 * listening socket for posthorn-deliver and re-spawned workers; -1 for
 * none), and the master's control socket `master_fd` (owned; -1 for
 * none) for session tickets. Returns the process exit status. */
int ph__auth_service_run(const struct ph__config *cfg, int *fds,
			 size_t fd_count, int listen_fd, int master_fd);

#endif
