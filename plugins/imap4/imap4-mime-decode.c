/*
 * imap4-mime-decode.c - text for SEARCH: RFC 2047 encoded words in header
 * values, and body parts undone from base64 / quoted-printable and
 * converted to UTF-8 (iconv), streamed in pieces; plus a streaming
 * case-insensitive (Unicode simple case folding) substring matcher.
 */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>
#include <posthorn/abi.h>
#include "imap4-casefold.h"
#include "imap4-mime-decode.h"

/* Appends `len` bytes in `charset` as UTF-8; unknown charsets and bad
 * sequences pass through as they are (the bytes still match ASCII). */
static void to_utf8(struct imap_str *out, const char *charset, const char *in,
		    size_t len)
{
	iconv_t cd;
	char buf[1024];

	if (charset == NULL || strcasecmp(charset, "utf-8") == 0 ||
	    strcasecmp(charset, "us-ascii") == 0 ||
	    (cd = iconv_open("UTF-8", charset)) == (iconv_t)-1) {
		imap_str_append(out, in, len);
		return;
	}
	while (len > 0) {
		char *ip = (char *)in, *op = buf;
		size_t il = len, ol = sizeof(buf);
		size_t r = iconv(cd, &ip, &il, &op, &ol);

		imap_str_append(out, buf, (size_t)(op - buf));
		if (r == (size_t)-1 && errno != E2BIG) {
			/* skip one bad byte and go on */
			if (il > 0) {
				imap_str_appendc(out, *ip);
				ip++;
				il--;
			}
		}
		in = ip;
		len = il;
	}
	iconv_close(cd);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int is_b64(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Decodes base64 text (junk skipped) with OpenSSL; returns bytes. */
static size_t b64_decode(const char *in, size_t len, unsigned char *out)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	unsigned char clean[4096];
	size_t total = 0, i = 0;
	int n;

	if (ctx == NULL)
		return 0;
	EVP_DecodeInit(ctx);
	while (i < len) {
		size_t k = 0;

		while (i < len && k < sizeof(clean) - 4) {
			if (is_b64((unsigned char)in[i]) || in[i] == '=')
				clean[k++] = (unsigned char)in[i];
			i++;
		}
		/* encoded words often drop the padding: complete the quad */
		while (i == len && k % 4 != 0)
			clean[k++] = '=';
		if (EVP_DecodeUpdate(ctx, out + total, &n, clean, (int)k) < 0)
			break;
		total += (size_t)n;
	}
	if (EVP_DecodeFinal(ctx, out + total, &n) > 0)
		total += (size_t)n;
	EVP_ENCODE_CTX_free(ctx);
	return total;
}

/* "=?charset?B|Q?text?=" at `p`; appends the UTF-8 text and returns the
 * length consumed, or 0 when it is no encoded word. */
static size_t encoded_word(const char *p, struct imap_str *out)
{
	const char *cs, *enc, *text, *end;
	char charset[64];
	size_t cl, tl, i, n = 0;
	unsigned char *dec;

	if (p[0] != '=' || p[1] != '?')
		return 0;
	cs = p + 2;
	enc = strchr(cs, '?');
	if (enc == NULL || enc[1] == '\0' || enc[2] != '?')
		return 0;
	text = enc + 3;
	end = strstr(text, "?=");
	if (end == NULL || memchr(text, ' ', (size_t)(end - text)) != NULL)
		return 0;
	cl = (size_t)(enc - cs);
	if (cl == 0 || cl >= sizeof(charset))
		return 0;
	memcpy(charset, cs, cl);
	charset[cl] = '\0';
	if (strchr(charset, '*') != NULL)
		*strchr(charset, '*') = '\0'; /* RFC 2231 language */
	tl = (size_t)(end - text);
	dec = malloc(tl + 4);
	if (dec == NULL)
		return 0;
	if (enc[1] == 'B' || enc[1] == 'b') {
		n = b64_decode(text, tl, dec);
	} else if (enc[1] == 'Q' || enc[1] == 'q') {
		for (i = 0; i < tl; i++) {
			if (text[i] == '_') {
				dec[n++] = ' ';
			} else if (text[i] == '=' && i + 2 < tl &&
				   hexval(text[i + 1]) >= 0 &&
				   hexval(text[i + 2]) >= 0) {
				dec[n++] =
				    (unsigned char)(hexval(text[i + 1]) * 16 +
						    hexval(text[i + 2]));
				i += 2;
			} else {
				dec[n++] = (unsigned char)text[i];
			}
		}
	} else {
		free(dec);
		return 0;
	}
	to_utf8(out, charset, (const char *)dec, n);
	free(dec);
	return (size_t)(end + 2 - p);
}

void mime_header_decode(const char *raw, struct imap_str *out)
{
	const char *p = raw;
	int after_word = 0;

	while (*p != '\0') {
		size_t n = encoded_word(p, out);

		if (n > 0) {
			p += n;
			after_word = 1;
			continue;
		}
		if (after_word && (*p == ' ' || *p == '\t')) {
			/* white space between two encoded words goes */
			const char *q = p;

			while (*q == ' ' || *q == '\t')
				q++;
			if (q[0] == '=' && q[1] == '?') {
				struct imap_str probe;

				imap_str_init(&probe, 0);
				if (encoded_word(q, &probe) > 0) {
					imap_str_free(&probe);
					p = q;
					continue;
				}
				imap_str_free(&probe);
			}
		}
		after_word = 0;
		imap_str_appendc(out, *p++);
	}
}

/* ---- body decoder ---- */

void mime_body_decoder_init(struct mime_body_decoder *d, const char *cte,
			    const char *charset)
{
	memset(d, 0, sizeof(*d));
	d->kind = MIME_CTE_NONE;
	if (cte != NULL) {
		size_t n;

		while (*cte == ' ' || *cte == '\t')
			cte++;
		n = strcspn(cte, " \t;(");
		if (n == 6 && strncasecmp(cte, "base64", 6) == 0)
			d->kind = MIME_CTE_BASE64;
		else if (n == 16 &&
			 strncasecmp(cte, "quoted-printable", 16) == 0)
			d->kind = MIME_CTE_QP;
		else if (!((n == 4 && strncasecmp(cte, "7bit", 4) == 0) ||
			   (n == 4 && strncasecmp(cte, "8bit", 4) == 0) ||
			   (n == 6 && strncasecmp(cte, "binary", 6) == 0) ||
			   n == 0))
			d->kind = MIME_CTE_UNKNOWN; /* cannot decode it */
	}
	d->cd = (iconv_t)-1;
	if (charset != NULL && strcasecmp(charset, "utf-8") != 0 &&
	    strcasecmp(charset, "us-ascii") != 0)
		d->cd = iconv_open("UTF-8", charset);
	if (d->kind == MIME_CTE_BASE64) {
		d->b64 = EVP_ENCODE_CTX_new();
		if (d->b64 != NULL)
			EVP_DecodeInit(d->b64);
	}
}

void mime_body_decoder_free(struct mime_body_decoder *d)
{
	if (d->cd != (iconv_t)-1)
		iconv_close(d->cd);
	d->cd = (iconv_t)-1;
	if (d->b64 != NULL)
		EVP_ENCODE_CTX_free(d->b64);
	d->b64 = NULL;
}

/* Charset step: converts decoded bytes (keeping a torn sequence for the
 * next call) and appends UTF-8 to `out`. */
static void charset_step(struct mime_body_decoder *d, const char *in,
			 size_t len, struct imap_str *out)
{
	char buf[4096];

	if (d->cd == (iconv_t)-1) {
		imap_str_append(out, in, len);
		return;
	}
	while (len > 0 || d->pending_len > 0) {
		char joined[sizeof(d->pending) + 256];
		size_t take = len < 256 ? len : 256;
		char *ip = joined, *op = buf;
		size_t il, ol = sizeof(buf), r;

		memcpy(joined, d->pending, d->pending_len);
		memcpy(joined + d->pending_len, in, take);
		il = d->pending_len + take;
		in += take;
		len -= take;
		d->pending_len = 0;
		r = iconv(d->cd, &ip, &il, &op, &ol);
		imap_str_append(out, buf, (size_t)(op - buf));
		if (r == (size_t)-1 && errno == EINVAL &&
		    il < sizeof(d->pending) && len == 0) {
			memcpy(d->pending, ip, il); /* torn: wait for more */
			d->pending_len = il;
			return;
		}
		if (r == (size_t)-1 && il > 0) {
			/* invalid: pass the rest of this piece through */
			imap_str_append(out, ip, il);
		}
		if (len == 0)
			return;
	}
}

void mime_body_decoder_feed(struct mime_body_decoder *d, const char *in,
			    size_t len, struct imap_str *out)
{
	unsigned char clean[4096], dec[4096];
	size_t i = 0;
	int n;

	switch (d->kind) {
	case MIME_CTE_UNKNOWN:
		return; /* no text to search */
	case MIME_CTE_NONE:
		charset_step(d, in, len, out);
		return;
	case MIME_CTE_BASE64:
		while (i < len && d->b64 != NULL) {
			size_t k = d->b64q_len, whole;

			/* only whole quads go to OpenSSL, so junk or a stray
			 * last character costs one quad, not the piece */
			memcpy(clean, d->b64q, k);
			while (i < len && k < sizeof(clean)) {
				if (is_b64((unsigned char)in[i]) ||
				    in[i] == '=')
					clean[k++] = (unsigned char)in[i];
				i++;
			}
			whole = k - k % 4;
			d->b64q_len = k - whole;
			memcpy(d->b64q, clean + whole, d->b64q_len);
			if (EVP_DecodeUpdate(d->b64, dec, &n, clean,
					     (int)whole) < 0) {
				EVP_DecodeInit(d->b64); /* junk: restart */
				continue;
			}
			charset_step(d, (const char *)dec, (size_t)n, out);
		}
		return;
	case MIME_CTE_QP:
		for (i = 0; i < len; i++) {
			char c = in[i];
			size_t k = 0;

			/* a "=XX" or soft break may be torn between pieces */
			if (d->qp_len > 0 || c == '=') {
				d->qp[d->qp_len++] = c;
				if (d->qp_len < 3)
					continue;
				if (hexval(d->qp[1]) >= 0 &&
				    hexval(d->qp[2]) >= 0) {
					dec[k++] =
					    (unsigned char)(hexval(d->qp[1]) *
								16 +
							    hexval(d->qp[2]));
				} else if (d->qp[1] == '\r' &&
					   d->qp[2] == '\n') {
					/* soft line break */
				} else if (d->qp[1] == '\n') {
					d->qp_len = 0;
					i--; /* d->qp[2] goes again */
					continue;
				} else {
					memcpy(dec, d->qp, 3);
					k = 3;
				}
				d->qp_len = 0;
			} else {
				dec[k++] = (unsigned char)c;
			}
			charset_step(d, (const char *)dec, k, out);
		}
		return;
	}
}

/* ---- matcher ---- */

int mime_matcher_init(struct mime_matcher *m, const char *needle)
{
	struct imap_str n;

	memset(m, 0, sizeof(*m));
	imap_str_init(&n, 0);
	imap_casefold_utf8(needle, strlen(needle), 0, &n);
	imap_str_init(&m->folded, 0);
	m->len = n.len;
	m->needle = n.data != NULL ? n.data : strdup("");
	/* the joint needs len - 1 bytes of the previous piece */
	m->tail = malloc(m->len + 1);
	if (n.failed || m->needle == NULL || m->tail == NULL) {
		mime_matcher_free(m);
		return PH_ENOMEM;
	}
	m->found = m->len == 0;
	return PH_OK;
}

void mime_matcher_free(struct mime_matcher *m)
{
	free(m->needle);
	free(m->tail);
	imap_str_free(&m->folded);
	m->needle = m->tail = NULL;
}

/* Folds the next piece into m->folded, carrying a torn UTF-8 sequence
 * over to the next piece. */
static void fold_piece(struct mime_matcher *m, const char *data, size_t len)
{
	size_t used;

	imap_str_truncate(&m->folded, 0);
	if (m->carry_len > 0) {
		char tmp[8];
		size_t take = len < 3 ? len : 3, n = m->carry_len + take;

		memcpy(tmp, m->carry, m->carry_len);
		memcpy(tmp + m->carry_len, data, take);
		used = imap_casefold_utf8(tmp, n, 1, &m->folded);
		if (used < m->carry_len) {
			/* still incomplete (piece shorter than the rest) */
			memcpy(m->carry, tmp, n);
			m->carry_len = n;
			return;
		}
		data += used - m->carry_len;
		len -= used - m->carry_len;
		m->carry_len = 0;
	}
	used = imap_casefold_utf8(data, len, 1, &m->folded);
	m->carry_len = len - used;
	memcpy(m->carry, data + used, m->carry_len);
}

/* Matches the folded piece, and across the joint with the last one. */
static int match_piece(struct mime_matcher *m, const char *data, size_t len)
{
	size_t keep = m->len - 1, b;

	if (m->tail_len > 0 && len > 0) {
		/* tail + head of this piece; the tail is shorter than the
		 * needle so a match here spans the joint */
		char *joint;
		int hit;

		b = len < keep ? len : keep;
		joint = malloc(m->tail_len + b);
		if (joint != NULL) {
			memcpy(joint, m->tail, m->tail_len);
			memcpy(joint + m->tail_len, data, b);
			hit = memmem(joint, m->tail_len + b, m->needle,
				     m->len) != NULL;
			free(joint);
			if (hit)
				return 1;
		}
	}
	if (memmem(data, len, m->needle, m->len) != NULL)
		return 1;
	if (len >= keep) {
		memcpy(m->tail, data + len - keep, keep);
		m->tail_len = keep;
	} else {
		size_t old =
		    m->tail_len + len > keep ? keep - len : m->tail_len;

		memmove(m->tail, m->tail + m->tail_len - old, old);
		memcpy(m->tail + old, data, len);
		m->tail_len = old + len;
	}
	return 0;
}

void mime_matcher_feed(struct mime_matcher *m, const char *data, size_t len)
{
	if (m->found || len == 0)
		return;
	fold_piece(m, data, len);
	if (m->folded.failed) {
		imap_str_truncate(&m->folded, 0);
		m->folded.failed = 0;
		return; /* out of memory: this piece cannot match */
	}
	if (match_piece(m, m->folded.data, m->folded.len))
		m->found = 1;
}
