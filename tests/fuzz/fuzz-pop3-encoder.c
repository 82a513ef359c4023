/* Fuzz target: the POP3 wire encoder. The first byte picks the TOP line
 * count (255 = RETR) and the chunk size; the rest is the message. Checks
 * that the output is the same for one-shot and chunked feeding and the
 * same as a byte-at-a-time reference encoder, stays within the documented
 * bound, and never contains a line "." before the terminator. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "plugins/pop3/pop3-encoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t run(const char *in, size_t len, size_t chunk, uint64_t lines,
		  char *out)
{
	struct pop3_encoder enc;
	size_t o = 0;

	pop3_encoder_init(&enc, lines);
	for (size_t i = 0; i < len; i += chunk) {
		size_t n = len - i < chunk ? len - i : chunk;
		size_t w = pop3_encoder_feed(&enc, in + i, n, out + o);

		if (w > POP3_ENCODER_OUT_MAX(n))
			__builtin_trap();
		o += w;
	}
	return o + pop3_encoder_finish(&enc, out + o);
}

/* The encoder's rules one byte at a time, as simply as they can be
 * written (RETR and TOP), to compare the fast encoder with. */
static size_t reference(const char *in, size_t len, uint64_t lines, char *out)
{
	int line_start = 1, prev_cr = 0, line_empty = 1, in_body = 0, done = 0;
	size_t o = 0;

	for (size_t i = 0; i < len && !done; i++) {
		char c = in[i];

		if (c == '\n') {
			if (!prev_cr)
				out[o++] = '\r';
			out[o++] = '\n';
			prev_cr = 0;
			if (!in_body && line_empty) {
				in_body = 1;
				done = lines == 0;
			} else if (in_body && lines != POP3_ENCODER_UNLIMITED) {
				done = --lines == 0;
			}
			line_start = line_empty = 1;
			continue;
		}
		if (line_start && c == '.')
			out[o++] = '.';
		if (c != '\r')
			line_empty = 0;
		line_start = 0;
		prev_cr = c == '\r';
		out[o++] = c;
	}
	if (!line_start) {
		if (!prev_cr)
			out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t lines;
	size_t chunk, cap, a, b;
	char *out1, *out2, *out3 = NULL;
	const char *in;

	if (size < 1)
		return 0;
	lines = data[0] == 255 ? POP3_ENCODER_UNLIMITED : data[0] % 8;
	chunk = (size_t)(data[0] % 13) + 1;
	in = (const char *)data + 1;
	size--;
	cap = POP3_ENCODER_OUT_MAX(size) + POP3_ENCODER_FINISH_MAX;
	out1 = malloc(cap);
	out2 = malloc(cap);
	out3 = malloc(cap);
	if (out1 == NULL || out2 == NULL || out3 == NULL)
		goto out;
	a = run(in, size, size ? size : 1, lines, out1);
	b = run(in, size, chunk, lines, out2);
	if (a != b || memcmp(out1, out2, a) != 0)
		__builtin_trap();
	b = reference(in, size, lines, out3);
	if (a != b || memcmp(out1, out3, a) != 0)
		__builtin_trap();
	/* Ends with a terminator and has no other "\n.\r" before it. */
	if (a < 3 || memcmp(out1 + a - 3, ".\r\n", 3) != 0)
		__builtin_trap();
	for (size_t i = 0; i + 3 < a; i++)
		if (out1[i] == '\n' && out1[i + 1] == '.' &&
		    out1[i + 2] == '\r' && i != a - 4)
			__builtin_trap();
out:
	free(out1);
	free(out2);
	free(out3);
	return 0;
}
