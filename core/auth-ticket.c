/* core/auth-ticket.c - the auth service's one-time session tickets. */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <posthorn/abi.h>
#include "auth-ticket.h"

#define TICKET_BUCKETS 1024

struct ticket {
	struct ticket *prev, *next; /* issue order: oldest first */
	struct ticket *hnext;	    /* bucket chain */
	double expires;
	unsigned char id[PH__AUTH_TICKET_LEN];
	char *record, *service, *remote_ip;
};

struct ph__auth_tickets {
	size_t max, count;
	double ttl;
	struct ticket *oldest, *newest;
	struct ticket *buckets[TICKET_BUCKETS];
};

/* The ticket is random: its first bytes spread the buckets evenly. */
static struct ticket **ticket_bucket(struct ph__auth_tickets *t,
				     const unsigned char *id)
{
	unsigned h = (unsigned)id[0] | (unsigned)id[1] << 8;

	return &t->buckets[h % TICKET_BUCKETS];
}

static void ticket_free(struct ticket *k)
{
	if (k->record != NULL)
		OPENSSL_cleanse(k->record, strlen(k->record));
	OPENSSL_cleanse(k->id, sizeof(k->id));
	free(k->record);
	free(k->service);
	free(k->remote_ip);
	free(k);
}

static void ticket_remove(struct ph__auth_tickets *t, struct ticket *k)
{
	struct ticket **pp = ticket_bucket(t, k->id);

	while (*pp != k)
		pp = &(*pp)->hnext;
	*pp = k->hnext;
	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		t->oldest = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	else
		t->newest = k->prev;
	t->count--;
	ticket_free(k);
}

/* Tickets expire in issue order (one ttl for all). */
static void ticket_sweep(struct ph__auth_tickets *t, double now)
{
	while (t->oldest != NULL && t->oldest->expires <= now)
		ticket_remove(t, t->oldest);
}

struct ph__auth_tickets *ph__auth_tickets_create(size_t max, double ttl)
{
	struct ph__auth_tickets *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->max = max > 0 ? max : 1;
	t->ttl = ttl;
	return t;
}

void ph__auth_tickets_destroy(struct ph__auth_tickets **tp)
{
	struct ph__auth_tickets *t = *tp;

	if (t == NULL)
		return;
	while (t->oldest != NULL)
		ticket_remove(t, t->oldest);
	free(t);
	*tp = NULL;
}

int ph__auth_tickets_issue(struct ph__auth_tickets *t, double now,
			   const char *record, const char *service,
			   const char *remote_ip,
			   unsigned char ticket_r[PH__AUTH_TICKET_LEN])
{
	struct ticket *k, **bucket;

	ticket_sweep(t, now);
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return PH_ENOMEM;
	if (RAND_bytes(k->id, sizeof(k->id)) != 1) {
		free(k);
		return PH_ETEMP;
	}
	k->record = strdup(record);
	k->service = strdup(service != NULL ? service : "");
	k->remote_ip = strdup(remote_ip != NULL ? remote_ip : "");
	if (k->record == NULL || k->service == NULL || k->remote_ip == NULL) {
		ticket_free(k);
		return PH_ENOMEM;
	}
	while (t->count >= t->max)
		ticket_remove(t, t->oldest);
	k->expires = now + t->ttl;
	bucket = ticket_bucket(t, k->id);
	k->hnext = *bucket;
	*bucket = k;
	k->prev = t->newest;
	if (t->newest != NULL)
		t->newest->next = k;
	else
		t->oldest = k;
	t->newest = k;
	t->count++;
	memcpy(ticket_r, k->id, PH__AUTH_TICKET_LEN);
	return PH_OK;
}

int ph__auth_tickets_redeem(struct ph__auth_tickets *t, double now,
			    const unsigned char *ticket, size_t len,
			    const char *service, const char *remote_ip,
			    char **record_r, const char **why_r)
{
	struct ticket *k;
	int expired, bound;

	*record_r = NULL;
	*why_r = "unknown ticket";
	if (len != PH__AUTH_TICKET_LEN)
		return PH_EAUTH;
	for (k = *ticket_bucket(t, ticket); k != NULL; k = k->hnext) {
		if (CRYPTO_memcmp(k->id, ticket, PH__AUTH_TICKET_LEN) == 0)
			break;
	}
	if (k == NULL) {
		ticket_sweep(t, now);
		return PH_EAUTH;
	}
	expired = k->expires <= now;
	bound = strcmp(k->service, service != NULL ? service : "") == 0 &&
		strcmp(k->remote_ip, remote_ip != NULL ? remote_ip : "") == 0;
	if (!expired && bound) {
		*record_r = k->record;
		k->record = NULL;
	}
	/* One use, whatever the outcome. */
	ticket_remove(t, k);
	ticket_sweep(t, now);
	if (expired) {
		*why_r = "expired ticket";
		return PH_EAUTH;
	}
	if (!bound) {
		*why_r = "ticket issued for another service or address";
		return PH_EAUTH;
	}
	*why_r = NULL;
	return PH_OK;
}

size_t ph__auth_tickets_count(const struct ph__auth_tickets *t)
{
	return t->count;
}
