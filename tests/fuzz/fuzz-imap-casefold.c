/* fuzz-imap-casefold.c - Unicode simple case folding and the SEARCH
 * matcher. Input: one byte `k`, a needle of k % 32 bytes, then the text.
 * Checks that folding is idempotent, that folding in pieces (carrying
 * torn sequences) gives the same bytes as folding at once, and that the
 * matcher's answer does not depend on how the text is cut. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "plugins/imap4/imap4-casefold.h"
#include "plugins/imap4/imap4-mime-decode.h"

static int match(const char *needle, const char *text, size_t len, size_t step)
{
	struct mime_matcher m;
	size_t i;
	int found;

	if (mime_matcher_init(&m, needle) < 0)
		return -1;
	for (i = 0; i < len; i += step)
		mime_matcher_feed(&m, text + i,
				  len - i < step ? len - i : step);
	found = m.found;
	mime_matcher_free(&m);
	return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_str a, b, c;
	char needle[32], carry[8];
	const char *text;
	size_t nlen, len, i, step, carry_len = 0;
	int whole;

	if (size < 1)
		return 0;
	nlen = data[0] % 32;
	if (nlen > size - 1)
		nlen = size - 1;
	memcpy(needle, data + 1, nlen);
	needle[nlen] = '\0';
	text = (const char *)data + 1 + nlen;
	len = size - 1 - nlen;
	step = data[0] / 32 + 1;

	imap_str_init(&a, 0);
	imap_str_init(&b, 0);
	imap_str_init(&c, 0);
	if (imap_casefold_utf8(text, len, 0, &a) != len)
		abort();
	imap_casefold_utf8(a.data != NULL ? a.data : "", a.len, 0, &b);
	if (a.len != b.len || (a.len > 0 && memcmp(a.data, b.data, a.len)))
		abort(); /* not idempotent */
	/* in pieces of `step` bytes, the torn tail passed again */
	for (i = 0; i < len;) {
		char piece[16];
		size_t n = len - i < step ? len - i : step, used;

		memcpy(piece, carry, carry_len);
		memcpy(piece + carry_len, text + i, n);
		i += n;
		used = imap_casefold_utf8(piece, carry_len + n, i < len, &c);
		carry_len = carry_len + n - used;
		if (carry_len > 3)
			abort();
		memcpy(carry, piece + used, carry_len);
	}
	if (a.len != c.len || (a.len > 0 && memcmp(a.data, c.data, a.len)))
		abort(); /* pieces fold differently */
	imap_str_free(&a);
	imap_str_free(&b);
	imap_str_free(&c);

	whole = match(needle, text, len, len + 1);
	for (step = 1; step <= 5; step++) {
		if (match(needle, text, len, step) != whole)
			abort();
	}
	return 0;
}
