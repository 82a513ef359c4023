/* pop3-encoder.c - dot-stuffing and CR LF normalisation on the fly. */
#include "pop3-encoder.h"

#include <string.h>

void pop3_encoder_init(struct pop3_encoder *enc, uint64_t body_lines)
{
	*enc = (struct pop3_encoder){
	    .body_lines_left = body_lines,
	    .line_start = 1,
	    .line_empty = 1,
	};
}

int pop3_encoder_done(const struct pop3_encoder *enc)
{
	return enc->done;
}

/* A line ended: track the header/body boundary and TOP's line budget. */
static void pop3_encoder_end_line(struct pop3_encoder *enc)
{
	if (!enc->in_body) {
		if (enc->line_empty) {
			enc->in_body = 1;
			if (enc->body_lines_left == 0)
				enc->done = 1;
		}
	} else if (enc->body_lines_left != POP3_ENCODER_UNLIMITED &&
		   --enc->body_lines_left == 0) {
		enc->done = 1;
	}
	enc->line_start = 1;
	enc->line_empty = 1;
}

/* Copies the run in[0..n) (no '\n' in it) and updates the line state;
 * only the first byte of a line can need stuffing. */
static size_t encode_run(struct pop3_encoder *enc, const char *in, size_t n,
			 char *out)
{
	size_t o = 0;

	if (enc->line_start && in[0] == '.') {
		out[o++] = '.';
		enc->changed = 1;
	}
	memcpy(out + o, in, n);
	o += n;
	for (size_t i = 0; enc->line_empty && i < n; i++)
		enc->line_empty = in[i] == '\r';
	enc->line_start = 0;
	enc->prev_cr = in[n - 1] == '\r';
	return o;
}

size_t pop3_encoder_feed(struct pop3_encoder *enc, const char *in, size_t len,
			 char *out)
{
	size_t i = 0, o = 0;

	/* Runs up to each line end go by memchr/memcpy: a RETR of a big
	 * message is copied, not looked at byte by byte. */
	while (i < len && !enc->done) {
		const char *nl = memchr(in + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - in) : len;

		if (end > i)
			o += encode_run(enc, in + i, end - i, out + o);
		if (nl == NULL)
			break;
		if (!enc->prev_cr) {
			out[o++] = '\r';
			enc->changed = 1;
		}
		out[o++] = '\n';
		enc->prev_cr = 0;
		pop3_encoder_end_line(enc);
		i = end + 1;
	}
	return o;
}

size_t pop3_encoder_finish(struct pop3_encoder *enc, char *out)
{
	size_t o = 0;

	if (!enc->line_start) {
		/* The message did not end with a line end: add one so the
		 * terminator is a line of its own. */
		if (!enc->prev_cr)
			out[o++] = '\r';
		out[o++] = '\n';
		enc->changed = 1;
		enc->line_start = 1;
	}
	out[o++] = '.';
	out[o++] = '\r';
	out[o++] = '\n';
	enc->done = 1;
	return o;
}
