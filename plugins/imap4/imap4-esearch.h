/* imap4-esearch.h - SEARCH RETURN (MIN MAX ALL COUNT) and the ESEARCH
 * response (RFC 4731). The SEARCH command feeds matches in ascending
 * order; only MIN, MAX, COUNT and the compressed ALL set are kept. */
#ifndef IMAP4_ESEARCH_H
#define IMAP4_ESEARCH_H

#include "imap4-private.h"

enum imap_esearch_ret {
	IMAP_ESEARCH_MIN = 1u << 0,
	IMAP_ESEARCH_MAX = 1u << 1,
	IMAP_ESEARCH_ALL = 1u << 2,
	IMAP_ESEARCH_COUNT = 1u << 3,
};

struct imap_esearch {
	unsigned ret; /* enum imap_esearch_ret; 0: a plain SEARCH */
	uint32_t min, max, count;
	uint32_t run_lo, run_hi; /* the ALL range being built */
	struct imap_str all;
};

/* Parses "RETURN (...)" when `*args` starts with it and moves *args past
 * it. Returns 0, or -1 after answering BAD. */
int imap_esearch_arg(struct imap_client *c, const char *tag,
		     const struct imap_arg **args, struct imap_esearch *es);
/* One more match (ascending). */
void imap_esearch_add(struct imap_esearch *es, uint32_t n);
/* Writes the "* ESEARCH" line and frees what `es` holds. */
void imap_esearch_write(struct imap_client *c, const char *tag,
			struct imap_esearch *es, int uid);
void imap_esearch_free(struct imap_esearch *es);

#endif
