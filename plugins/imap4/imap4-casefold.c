/* imap4-casefold.c - simple case folding of UTF-8 (see imap4-casefold.h);
 * the table itself is generated (imap4-casefold-data.c). */
#include "imap4-casefold.h"

static uint32_t table_lookup(uint32_t cp)
{
	unsigned lo = 0, hi = imap_casefold_table_len;

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

/* Two-byte UTF-8 (Latin, Greek, Cyrillic, Armenian...) by direct index,
 * built on first use: most non-ASCII mail text is there. Every folding
 * of a code point below 0x800 is below 0x10000. */
#define DIRECT_MAX 0x800
static uint16_t direct[DIRECT_MAX];
static int direct_ready;

uint32_t imap_casefold_cp(uint32_t cp)
{
	if (cp < 0x80)
		return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
	if (cp >= DIRECT_MAX)
		return table_lookup(cp);
	if (!direct_ready) {
		uint32_t i;

		for (i = 0; i < DIRECT_MAX; i++)
			direct[i] = (uint16_t)table_lookup(i);
		direct_ready = 1;
	}
	return direct[cp];
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

/* Writes `cp` as UTF-8 to `b` (room for 4); returns the length. */
static size_t encode(uint32_t cp, unsigned char *b)
{
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (unsigned char)(0xf0 | (cp >> 18));
	b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	b[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Folds from the first non-ASCII byte on, one code point at a time,
 * through a small buffer. */
static size_t fold_general(const char *in, size_t len, int more,
			   struct imap_str *out)
{
	const unsigned char *s = (const unsigned char *)in;
	unsigned char buf[512];
	size_t i = 0, bl = 0;

	while (i < len) {
		size_t n;
		uint32_t cp;

		if (bl > sizeof(buf) - 4) {
			imap_str_append(out, buf, bl);
			bl = 0;
		}
		if (s[i] < 0x80) {
			buf[bl++] = s[i] >= 'A' && s[i] <= 'Z'
					? (unsigned char)(s[i] + 32)
					: s[i];
			i++;
			continue;
		}
		n = seq_len(s[i]);
		if (n > 0 && i + n > len) {
			/* torn: keep it for the next piece if it may still
			 * be valid, else it is junk */
			size_t k;

			for (k = i + 1; k < len && (s[k] & 0xc0) == 0x80; k++)
				;
			if (more && k == len) {
				imap_str_append(out, buf, bl);
				return i;
			}
			n = 0;
		}
		cp = n > 0 ? decode(s + i, n) : 0;
		if (cp == 0) {
			buf[bl++] = s[i++]; /* not UTF-8: as it is */
			continue;
		}
		bl += encode(imap_casefold_cp(cp), buf + bl);
		i += n;
	}
	imap_str_append(out, buf, bl);
	return len;
}

size_t imap_casefold_utf8(const char *in, size_t len, int more,
			  struct imap_str *out)
{
	size_t at = out->len, i;
	unsigned char *d;

	/* fast path for ASCII: copy, then lower-case in place */
	imap_str_append(out, in, len);
	if (out->failed || len == 0)
		return len;
	d = (unsigned char *)out->data + at;
	for (i = 0; i < len && d[i] < 0x80; i++) {
		if (d[i] >= 'A' && d[i] <= 'Z')
			d[i] += 32;
	}
	if (i == len)
		return len;
	imap_str_truncate(out, at + i);
	return i + fold_general(in + i, len - i, more, out);
}
