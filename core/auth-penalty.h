/* core/auth-penalty.h - brute-force protection in the auth service:
 * failure counters per remote IP and per user name, an increasing delay
 * before each failure answer (0, 1, 2, 4, 8 ... capped, like Dovecot's
 * auth penalty) and a per-IP lockout. Memory is bounded: one hash table
 * with an LRU cap; the least recently touched counter is forgotten. */
#ifndef PH_CORE_AUTH_PENALTY_H
#define PH_CORE_AUTH_PENALTY_H

#include <stddef.h>

struct ph__auth_penalty_params {
	unsigned base_delay_ms;	   /* delay of the 2nd failure (1000) */
	unsigned max_delay_ms;	   /* cap (15000) */
	unsigned lockout_failures; /* per IP; 0 disables (50) */
	double window;		   /* seconds a failure is remembered (900) */
	size_t max_entries;	   /* counters kept (65536) */
};

#define PH__AUTH_PENALTY_DEFAULTS                                              \
	{                                                                      \
		1000, 15000, 50, 900.0, 65536                                  \
	}

struct ph__auth_penalty;

struct ph__auth_penalty *
ph__auth_penalty_create(const struct ph__auth_penalty_params *params);
void ph__auth_penalty_destroy(struct ph__auth_penalty **p);
/* Non-zero while `ip` has reached lockout_failures within the window. */
int ph__auth_penalty_locked(struct ph__auth_penalty *p, const char *ip,
			    double now);
/* Records a failure of `user` from `ip` (either may be "") and returns
 * the delay in milliseconds the answer must wait. */
unsigned ph__auth_penalty_fail(struct ph__auth_penalty *p, const char *ip,
			       const char *user, double now);
/* A successful login forgets the user name's failures (not the IP's:
 * one valid account must not let an attacker reset its address). */
void ph__auth_penalty_success(struct ph__auth_penalty *p, const char *user);
/* Counters currently held (for tests and bounds checks). */
size_t ph__auth_penalty_count(const struct ph__auth_penalty *p);

#endif
