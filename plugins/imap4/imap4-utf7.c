/* imap4-utf7.c - modified UTF-7 <-> UTF-8. */
#include <string.h>
#include <posthorn/abi.h>
#include "imap4-utf7.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_value(char c)
{
	const char *p = c != '\0' ? strchr(b64, c) : NULL;

	return p != NULL ? (int)(p - b64) : -1;
}

static void put_utf8(struct imap_str *out, uint32_t cp)
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

int imap_utf7_decode(const char *in, struct imap_str *out)
{
	const char *p = in;
	int prev_encoded = 0;

	while (*p != '\0') {
		unsigned char c = (unsigned char)*p;
		uint32_t bits = 0, high = 0;
		unsigned nbits = 0, units = 0;

		if (c < 0x20 || c > 0x7e)
			return PH_EINVAL;
		if (c != '&') {
			imap_str_appendc(out, (char)c);
			prev_encoded = 0;
			p++;
			continue;
		}
		p++;
		if (*p == '-') {
			imap_str_appendc(out, '&');
			prev_encoded = 0;
			p++;
			continue;
		}
		if (prev_encoded)
			return PH_EINVAL; /* "&AAA-&AAA-" must be one run */
		while (*p != '-') {
			int v = b64_value(*p);

			if (v < 0)
				return PH_EINVAL;
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			p++;
			if (nbits < 16)
				continue;
			nbits -= 16;
			{
				uint32_t u = (bits >> nbits) & 0xffff;

				units++;
				if (high != 0) {
					if (u < 0xdc00 || u > 0xdfff)
						return PH_EINVAL;
					put_utf8(out,
						 0x10000 +
						     ((high - 0xd800) << 10) +
						     (u - 0xdc00));
					high = 0;
				} else if (u >= 0xd800 && u <= 0xdbff) {
					high = u;
				} else if ((u >= 0xdc00 && u <= 0xdfff) ||
					   (u >= 0x20 && u <= 0x7e)) {
					return PH_EINVAL;
				} else {
					put_utf8(out, u);
				}
			}
		}
		/* leftover bits must be fewer than 6 and zero */
		if (units == 0 || high != 0 || nbits >= 6 ||
		    (bits & ((1u << nbits) - 1)) != 0)
			return PH_EINVAL;
		p++;
		prev_encoded = 1;
	}
	return out->failed ? PH_ENOMEM : PH_OK;
}

/* Next code point of UTF-8, or -1 when invalid. */
static int32_t utf8_next(const unsigned char **pp)
{
	const unsigned char *p = *pp;
	uint32_t cp;
	unsigned n, i;

	if (p[0] < 0x80) {
		*pp = p + 1;
		return p[0];
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		cp = p[0] & 0x1f;
		n = 1;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		cp = p[0] & 0x0f;
		n = 2;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		cp = p[0] & 0x07;
		n = 3;
	} else {
		return -1;
	}
	for (i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*pp = p + n + 1;
	return (int32_t)cp;
}

int imap_utf7_encode(const char *in, struct imap_str *out)
{
	const unsigned char *p = (const unsigned char *)in;

	while (*p != '\0') {
		uint32_t bits = 0;
		unsigned nbits = 0;

		if (*p >= 0x20 && *p <= 0x7e) {
			if (*p == '&')
				imap_str_appends(out, "&-");
			else
				imap_str_appendc(out, (char)*p);
			p++;
			continue;
		}
		imap_str_appendc(out, '&');
		while (*p != '\0' && (*p < 0x20 || *p > 0x7e)) {
			int32_t cp = utf8_next(&p);
			uint32_t units[2];
			unsigned n = 1, i;

			if (cp < 0)
				return PH_EINVAL;
			if (cp >= 0x10000) {
				units[0] =
				    0xd800 + (((uint32_t)cp - 0x10000) >> 10);
				units[1] =
				    0xdc00 + (((uint32_t)cp - 0x10000) & 0x3ff);
				n = 2;
			} else {
				units[0] = (uint32_t)cp;
			}
			for (i = 0; i < n; i++) {
				bits = (bits << 16) | units[i];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					imap_str_appendc(
					    out, b64[(bits >> nbits) & 0x3f]);
				}
			}
		}
		if (nbits > 0)
			imap_str_appendc(out,
					 b64[(bits << (6 - nbits)) & 0x3f]);
		imap_str_appendc(out, '-');
	}
	return out->failed ? PH_ENOMEM : PH_OK;
}
