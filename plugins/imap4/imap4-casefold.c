/* imap4-casefold.c - simple case folding of UTF-8 (see imap4-casefold.h);
 * the table itself is generated (imap4-casefold-data.c). */
#include "imap4-casefold.h"

uint32_t imap_casefold_cp(uint32_t cp)
{
	unsigned lo = 0, hi = imap_casefold_table_len;

	if (cp < 0x80)
		return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (imap_casefold_table[mid].from == cp)
			return imap_casefold_table[mid].to;
		if (imap_casefold_table[mid].from < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return cp;
}

/* Length of the sequence a lead byte starts (0: not a lead byte). */
static size_t seq_len(unsigned char b)
{
	if (b >= 0xc2 && b <= 0xdf)
		return 2;
	if (b >= 0xe0 && b <= 0xef)
		return 3;
	if (b >= 0xf0 && b <= 0xf4)
		return 4;
	return 0;
}

/* Decodes a complete sequence of `n` bytes; 0 when it is not valid. */
static uint32_t decode(const unsigned char *s, size_t n)
{
	uint32_t cp = s[0] & (0x7f >> n);
	size_t i;

	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return cp;
}

static void encode(uint32_t cp, struct imap_str *out)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	imap_str_append(out, b, n);
}

size_t imap_casefold_utf8(const char *in, size_t len, int more,
			  struct imap_str *out)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, run = 0;

	while (i < len) {
		size_t n;
		uint32_t cp;

		if (s[i] < 0x80 && (s[i] < 'A' || s[i] > 'Z')) {
			i++; /* unchanged ASCII: copied as a run below */
			run++;
			continue;
		}
		imap_str_append(out, s + i - run, run);
		run = 0;
		if (s[i] < 0x80) {
			imap_str_appendc(out, (char)(s[i++] + 32));
			continue;
		}
		n = seq_len(s[i]);
		if (n > 0 && i + n > len) {
			/* torn: keep it for the next piece if it may still
			 * be valid, else it is junk */
			size_t k;

			for (k = i + 1; k < len && (s[k] & 0xc0) == 0x80; k++)
				;
			if (more && k == len)
				return i;
			n = 0;
		}
		cp = n > 0 ? decode(s + i, n) : 0;
		if (cp == 0) {
			imap_str_appendc(out, (char)s[i++]);
			continue;
		}
		encode(imap_casefold_cp(cp), out);
		i += n;
	}
	imap_str_append(out, s + i - run, run);
	return len;
}
