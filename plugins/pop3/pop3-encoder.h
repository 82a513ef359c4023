/* pop3-encoder.h - a stored message to POP3 multi-line wire form (pure).
 *
 * Resumable and chunked: feed the body in pieces of any size, in order;
 * the state between pieces is a few flags, so memory is bounded by the
 * caller's buffers. It
 *  - turns a bare LF into CR LF (a CR LF stays as is, a lone CR too);
 *  - byte-stuffs a '.' that starts a line (RFC 1939 section 3);
 *  - for TOP, sends the header, the blank line and then only `body_lines`
 *    lines of the body (RFC 1939 section 7), ignoring the rest;
 *  - ends with CR LF if the message did not, then the ".\r\n" terminator.
 * It also records whether the input was already wire form (CR LF only,
 * no line starting with '.'), so the caller may send such a message as a
 * file range next time. */
#ifndef POP3_ENCODER_H
#define POP3_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#define POP3_ENCODER_UNLIMITED UINT64_MAX
/* Room pop3_encoder_finish() needs at most: "\r\n" + ".\r\n". */
#define POP3_ENCODER_FINISH_MAX 5
/* Output room for `n` input bytes: every byte may become two. */
#define POP3_ENCODER_OUT_MAX(n) (2 * (n))

struct pop3_encoder {
	uint64_t body_lines_left; /* TOP; POP3_ENCODER_UNLIMITED for RETR */
	unsigned line_start : 1;  /* the next byte starts a line */
	unsigned prev_cr : 1;	  /* the last byte fed was CR */
	unsigned line_empty : 1;  /* the current line has no content yet */
	unsigned in_body : 1;	  /* the header's blank line was seen */
	unsigned done : 1;	  /* TOP's limit reached: ignore input */
	unsigned changed : 1;	  /* output differs from input (stuffed or
				     LF turned into CR LF) */
};

/* body_lines: for TOP the number of body lines to send, else
 * POP3_ENCODER_UNLIMITED. */
void pop3_encoder_init(struct pop3_encoder *enc, uint64_t body_lines);

/* Encodes all `len` bytes of `in` into `out`, which must have room for
 * POP3_ENCODER_OUT_MAX(len) bytes. Returns the bytes written. */
size_t pop3_encoder_feed(struct pop3_encoder *enc, const char *in, size_t len,
			 char *out);

/* True when further input would be ignored (TOP limit reached). */
int pop3_encoder_done(const struct pop3_encoder *enc);

/* Writes the end of the response (at most POP3_ENCODER_FINISH_MAX bytes)
 * and returns its length. */
size_t pop3_encoder_finish(struct pop3_encoder *enc, char *out);

#endif
