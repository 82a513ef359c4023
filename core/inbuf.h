/* core/inbuf.h - a connection's bounded input buffer with line and byte
 * reads. Pure (no I/O), so the edge cases are unit-tested directly. */
#ifndef PH_CORE_INBUF_H
#define PH_CORE_INBUF_H

#include <posthorn/abi.h>

struct ph__inbuf {
	unsigned char *data;
	size_t size, start, end;
	int discarding; /* inside an over-long line: drop up to its LF */
};

int ph__inbuf_init(struct ph__inbuf *b, size_t size);
void ph__inbuf_free(struct ph__inbuf *b);
/* Moves unread bytes to the front (never while a borrowed line is in
 * use) and returns the free room at the end; write there and commit. */
size_t ph__inbuf_prepare(struct ph__inbuf *b, unsigned char **tail_r);
void ph__inbuf_commit(struct ph__inbuf *b, size_t n);
size_t ph__inbuf_used(const struct ph__inbuf *b);
/* No room even after compaction. */
int ph__inbuf_full(const struct ph__inbuf *b);
void ph__inbuf_clear(struct ph__inbuf *b);
/* The conn_read_line() contract: PH_OK, PH_AGAIN or PH_ETOOBIG (the
 * over-long line is dropped up to its LF without buffering it, reported
 * once). A line that cannot fit the buffer counts as over-long. */
int ph__inbuf_read_line(struct ph__inbuf *b, size_t max_len,
			struct ph_str *line_r);
/* Up to `max` bytes (at least one): PH_OK or PH_AGAIN. */
int ph__inbuf_read_bytes(struct ph__inbuf *b, size_t max,
			 struct ph_str *data_r);

#endif
