/* core/auth-penalty.c - failure counters in a capped hash + LRU list. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
#include "auth-penalty.h"

#define PENALTY_KEY_MAX 600

struct penalty_entry {
	struct penalty_entry *hnext;	   /* hash chain */
	struct penalty_entry *prev, *next; /* LRU: head = most recent */
	uint64_t hash;
	unsigned failures;
	double last_failure;
	char key[]; /* "i:<ip>" or "u:<user>" */
};

struct ph__auth_penalty {
	struct ph__auth_penalty_params params;
	struct penalty_entry **buckets;
	size_t nbuckets, count;
	struct penalty_entry *head, *tail;
	uint64_t seed;
};

struct ph__auth_penalty *
ph__auth_penalty_create(const struct ph__auth_penalty_params *params)
{
	struct ph__auth_penalty *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->params = *params;
	if (p->params.max_entries == 0)
		p->params.max_entries = 1;
	p->nbuckets = 64;
	while (p->nbuckets < p->params.max_entries && p->nbuckets < (1u << 20))
		p->nbuckets *= 2;
	p->buckets = calloc(p->nbuckets, sizeof(*p->buckets));
	/* A secret seed keeps chosen user names from colliding on purpose. */
	if (p->buckets == NULL ||
	    RAND_bytes((unsigned char *)&p->seed, sizeof(p->seed)) != 1) {
		free(p->buckets);
		free(p);
		return NULL;
	}
	return p;
}

void ph__auth_penalty_destroy(struct ph__auth_penalty **pp)
{
	struct ph__auth_penalty *p = *pp;
	struct penalty_entry *e, *next;

	if (p == NULL)
		return;
	for (e = p->head; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	free(p->buckets);
	free(p);
	*pp = NULL;
}

static uint64_t penalty_hash(const struct ph__auth_penalty *p, const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ p->seed;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 32);
}

static void penalty_lru_unlink(struct ph__auth_penalty *p,
			       struct penalty_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		p->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		p->tail = e->prev;
	e->prev = e->next = NULL;
}

static void penalty_lru_front(struct ph__auth_penalty *p,
			      struct penalty_entry *e)
{
	e->next = p->head;
	if (p->head != NULL)
		p->head->prev = e;
	p->head = e;
	if (p->tail == NULL)
		p->tail = e;
}

static void penalty_remove(struct ph__auth_penalty *p, struct penalty_entry *e)
{
	struct penalty_entry **pp = &p->buckets[e->hash & (p->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	penalty_lru_unlink(p, e);
	free(e);
	p->count--;
}

static void penalty_key(char *buf, char kind, const char *name)
{
	size_t len = strlen(name);

	if (len > PENALTY_KEY_MAX - 3)
		len = PENALTY_KEY_MAX - 3;
	buf[0] = kind;
	buf[1] = ':';
	memcpy(buf + 2, name, len);
	buf[len + 2] = '\0';
}

/* Finds (and with `create`, makes) the counter for `kind`:`name`, moves
 * it to the LRU front and forgets failures older than the window. */
static struct penalty_entry *penalty_get(struct ph__auth_penalty *p, char kind,
					 const char *name, double now,
					 int create)
{
	char key[PENALTY_KEY_MAX];
	struct penalty_entry *e;
	uint64_t h;
	size_t len;

	penalty_key(key, kind, name);
	h = penalty_hash(p, key);
	for (e = p->buckets[h & (p->nbuckets - 1)]; e != NULL; e = e->hnext) {
		if (e->hash == h && strcmp(e->key, key) == 0)
			break;
	}
	if (e == NULL) {
		if (!create)
			return NULL;
		if (p->count >= p->params.max_entries)
			penalty_remove(p, p->tail);
		len = strlen(key);
		e = calloc(1, sizeof(*e) + len + 1);
		if (e == NULL)
			return NULL;
		memcpy(e->key, key, len + 1);
		e->hash = h;
		e->hnext = p->buckets[h & (p->nbuckets - 1)];
		p->buckets[h & (p->nbuckets - 1)] = e;
		p->count++;
	} else {
		penalty_lru_unlink(p, e);
	}
	penalty_lru_front(p, e);
	if (e->failures > 0 && now - e->last_failure > p->params.window)
		e->failures = 0;
	return e;
}

int ph__auth_penalty_locked(struct ph__auth_penalty *p, const char *ip,
			    double now)
{
	struct penalty_entry *e;

	if (p->params.lockout_failures == 0 || ip[0] == '\0')
		return 0;
	e = penalty_get(p, 'i', ip, now, 0);
	return e != NULL && e->failures >= p->params.lockout_failures;
}

static unsigned penalty_delay(const struct ph__auth_penalty *p, unsigned n)
{
	uint64_t d;

	if (n <= 1)
		return 0;
	if (n - 2 >= 32)
		return p->params.max_delay_ms;
	d = (uint64_t)p->params.base_delay_ms << (n - 2);
	return d > p->params.max_delay_ms ? p->params.max_delay_ms
					  : (unsigned)d;
}

static unsigned penalty_count(struct ph__auth_penalty *p, char kind,
			      const char *name, double now)
{
	struct penalty_entry *e;

	if (name[0] == '\0')
		return 0;
	e = penalty_get(p, kind, name, now, 1);
	if (e == NULL)
		return 0;
	if (e->failures < UINT32_MAX)
		e->failures++;
	e->last_failure = now;
	return e->failures;
}

unsigned ph__auth_penalty_fail(struct ph__auth_penalty *p, const char *ip,
			       const char *user, double now)
{
	unsigned by_ip = penalty_count(p, 'i', ip, now);
	unsigned by_user = penalty_count(p, 'u', user, now);

	return penalty_delay(p, by_ip > by_user ? by_ip : by_user);
}

void ph__auth_penalty_success(struct ph__auth_penalty *p, const char *user)
{
	struct penalty_entry *e;

	if (user[0] == '\0')
		return;
	e = penalty_get(p, 'u', user, 0, 0);
	if (e != NULL)
		penalty_remove(p, e);
}

size_t ph__auth_penalty_count(const struct ph__auth_penalty *p)
{
	return p->count;
}
