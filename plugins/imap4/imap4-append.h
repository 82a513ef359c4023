/* imap4-append.h - APPEND with the message literal streamed to storage
 * as it arrives (never buffered whole). */
#ifndef IMAP4_APPEND_H
#define IMAP4_APPEND_H

#include "imap4-private.h"

/* The literal of `size` bytes just announced is an APPEND message. */
int imap_append_wants_literal(struct imap_client *c, uint64_t size);
/* Starts the storage append and the parser's streaming; answers and
 * returns < 0 when refused. */
int imap_append_literal_begin(struct imap_client *c,
			      const struct imap_event *ev);
void imap_append_literal_data(struct imap_client *c, const char *data,
			      size_t len);
/* Drops an unfinished append. */
void imap_append_abort(struct imap_client *c);

#endif
