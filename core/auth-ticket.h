/* core/auth-ticket.h - one-time session tickets (Dovecot's login cookie
 * for the auth-master userdb lookup). When the auth service verifies a
 * system user's credentials it stores the authoritative user record
 * under a random ticket and gives the worker only the ticket; the
 * session process (root, before it switches uid) redeems the ticket over
 * a channel only the master can use and serves THAT record, so a
 * compromised worker cannot name the user a session runs as.
 * Bounded: at most `max` tickets, each valid `ttl` seconds; the oldest is
 * dropped when a new one would pass the cap. A ticket is deleted at its
 * first redeem, successful or not. */
#ifndef PH_CORE_AUTH_TICKET_H
#define PH_CORE_AUTH_TICKET_H

#include <stddef.h>
#include <posthorn/abi.h>

#define PH__AUTH_TICKET_LEN 32 /* bytes of RAND_bytes: 256 bits */
#define PH__AUTH_TICKET_TTL 60.0
#define PH__AUTH_TICKET_MAX 16384

struct ph__auth_tickets;

struct ph__auth_tickets *ph__auth_tickets_create(size_t max, double ttl);
void ph__auth_tickets_destroy(struct ph__auth_tickets **t);
/* Stores a copy of `record` bound to `service` and `remote_ip` and
 * writes a fresh ticket to ticket_r. PH_OK, PH_ENOMEM, or PH_ETEMP when
 * the random generator fails. */
int ph__auth_tickets_issue(struct ph__auth_tickets *t, double now,
			   const char *record, const char *service,
			   const char *remote_ip,
			   unsigned char ticket_r[PH__AUTH_TICKET_LEN]);
/* Looks the ticket up (constant-time comparison) and deletes it.
 * PH_OK with *record_r (malloc'd, caller frees), or PH_EAUTH with
 * *why_r (static text): unknown (never issued, already redeemed,
 * evicted), expired, or issued for another service or address. */
int ph__auth_tickets_redeem(struct ph__auth_tickets *t, double now,
			    const unsigned char *ticket, size_t len,
			    const char *service, const char *remote_ip,
			    char **record_r, const char **why_r);
/* Tickets currently held (expired ones until the next sweep). */
size_t ph__auth_tickets_count(const struct ph__auth_tickets *t);

#endif
