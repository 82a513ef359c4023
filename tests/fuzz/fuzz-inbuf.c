/* The connection input buffer's line/byte reader: input arrives in chunks
 * whose sizes the fuzzer picks; every line returned obeys the limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/inbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ph__inbuf b;
	size_t max_len, pos = 2;

	if (size < 2)
		return 0;
	max_len = data[0] % 64 + 1;
	if (ph__inbuf_init(&b, (size_t)(data[1] % 128) + 16) < 0)
		return 0;
	while (pos < size) {
		unsigned char *tail;
		size_t room = ph__inbuf_prepare(&b, &tail);
		size_t n = (size_t)(data[pos] % 32) + 1;
		struct ph_str s;
		int ret;

		pos++;
		if (n > size - pos)
			n = size - pos;
		if (n > room)
			n = room;
		memcpy(tail, data + pos, n);
		ph__inbuf_commit(&b, n);
		pos += n;
		if (n > 0 && data[pos - 1] == '#') {
			if (ph__inbuf_read_bytes(&b, max_len, &s) == PH_OK &&
			    (s.len == 0 || s.len > max_len))
				abort();
			continue;
		}
		while ((ret = ph__inbuf_read_line(&b, max_len, &s)) !=
		       PH_AGAIN) {
			if (ret == PH_ETOOBIG)
				continue;
			if (ret != PH_OK || s.len > max_len ||
			    memchr(s.data, '\n', s.len) != NULL)
				abort();
		}
		if (ph__inbuf_used(&b) > b.size)
			abort();
	}
	ph__inbuf_free(&b);
	return 0;
}
