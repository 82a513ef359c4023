/* core/inbuf.c - bounded input buffer, CRLF/LF line splitting. */
#include <stdlib.h>
#include <string.h>

#include "inbuf.h"

int ph__inbuf_init(struct ph__inbuf *b, size_t size)
{
	memset(b, 0, sizeof(*b));
	b->data = malloc(size);
	if (b->data == NULL)
		return PH_ENOMEM;
	b->size = size;
	return PH_OK;
}

void ph__inbuf_free(struct ph__inbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

size_t ph__inbuf_prepare(struct ph__inbuf *b, unsigned char **tail_r)
{
	if (b->start > 0) {
		memmove(b->data, b->data + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
	}
	*tail_r = b->data + b->end;
	return b->size - b->end;
}

void ph__inbuf_commit(struct ph__inbuf *b, size_t n)
{
	b->end += n;
	/* Bytes of an over-long line are dropped as they arrive, so a client
	 * cannot fill the buffer with them. */
	if (b->discarding) {
		unsigned char *lf =
		    memchr(b->data + b->start, '\n', b->end - b->start);

		if (lf == NULL) {
			b->start = b->end = 0;
		} else {
			b->start = (size_t)(lf - b->data) + 1;
			b->discarding = 0;
		}
	}
}

size_t ph__inbuf_used(const struct ph__inbuf *b)
{
	return b->end - b->start;
}

int ph__inbuf_full(const struct ph__inbuf *b)
{
	return b->end - b->start >= b->size;
}

void ph__inbuf_clear(struct ph__inbuf *b)
{
	b->start = b->end = 0;
	b->discarding = 0;
}

int ph__inbuf_read_line(struct ph__inbuf *b, size_t max_len,
			struct ph_str *line_r)
{
	const unsigned char *p, *lf;
	size_t used, len;

	line_r->data = NULL;
	line_r->len = 0;
	if (b->discarding)
		ph__inbuf_commit(b, 0);
	if (b->discarding)
		return PH_AGAIN;
	p = b->data + b->start;
	used = b->end - b->start;
	lf = memchr(p, '\n', used);
	if (lf != NULL) {
		len = (size_t)(lf - p);
		b->start += len + 1;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len > max_len)
			return PH_ETOOBIG;
		line_r->data = (const char *)p;
		line_r->len = len;
		return PH_OK;
	}
	/* No LF yet: too long already (a trailing CR may still belong to
	 * the line end), or it can never fit the buffer. */
	if (used > max_len + 1 ||
	    (used == max_len + 1 && p[used - 1] != '\r') || used >= b->size) {
		b->start = b->end = 0;
		b->discarding = 1;
		return PH_ETOOBIG;
	}
	return PH_AGAIN;
}

int ph__inbuf_read_bytes(struct ph__inbuf *b, size_t max, struct ph_str *data_r)
{
	size_t used = b->end - b->start;

	data_r->data = NULL;
	data_r->len = 0;
	if (used == 0 || max == 0)
		return PH_AGAIN;
	if (max > used)
		max = used;
	data_r->data = (const char *)b->data + b->start;
	data_r->len = max;
	b->start += max;
	return PH_OK;
}
