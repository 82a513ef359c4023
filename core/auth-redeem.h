/* core/auth-redeem.h - a session process's one request to the auth
 * service: redeem the login's ticket for the authoritative user record
 * (see auth-ticket.h). Runs in the freshly forked session child, still
 * root, before it switches uid: blocking, with a deadline, so the
 * master's own loop never waits for the service. */
#ifndef PH_CORE_AUTH_REDEEM_H
#define PH_CORE_AUTH_REDEEM_H

#include <stddef.h>

/* control_fd: the master's control socket to the auth service of the
 * generation that issued the ticket. A private socketpair is attached
 * there (ATTACH), then REDEEM goes over it. PH_OK with *record_r
 * (malloc'd "k=v\tk=v", caller frees), or a negative PH_E* with the
 * reason in why (NUL-terminated, for the log): PH_EAUTH when the
 * service refused the ticket, PH_ETEMP when it could not be asked. */
int ph__auth_redeem(int control_fd, const unsigned char *ticket,
		    size_t ticket_len, const char *service,
		    const char *remote_ip, double timeout, char **record_r,
		    char *why, size_t why_size);

#endif
