/* Fuzz target: the POP3 wire encoder. The first byte picks the TOP line
 * count (255 = RETR) and the chunk size; the rest is the message. Checks
 * that the output is the same for one-shot and chunked feeding, stays
 * within the documented bound, and never contains a line "." before the
 * terminator. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t lines;
	size_t chunk, cap, a, b;
	char *out1, *out2;
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
	if (out1 == NULL || out2 == NULL)
		goto out;
	a = run(in, size, size ? size : 1, lines, out1);
	b = run(in, size, chunk, lines, out2);
	if (a != b || memcmp(out1, out2, a) != 0)
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
	return 0;
}
