/* imap4-mime-decode.h - decoding message text for SEARCH (RFC 2047 words,
 * base64 / quoted-printable bodies, charsets to UTF-8) and a streaming
 * case-insensitive substring matcher. */
#ifndef IMAP4_MIME_DECODE_H
#define IMAP4_MIME_DECODE_H

#include <iconv.h>
#include <stddef.h>
#include "imap4-str.h"

/* Appends the header value with RFC 2047 encoded words decoded to UTF-8
 * (white space between adjacent encoded words dropped). */
void mime_header_decode(const char *raw, struct imap_str *out);

enum mime_cte {
	MIME_CTE_NONE,
	MIME_CTE_BASE64,
	MIME_CTE_QP,
	MIME_CTE_UNKNOWN, /* an encoding we cannot undo: no text */
};

struct mime_body_decoder {
	enum mime_cte kind;
	iconv_t cd;	       /* (iconv_t)-1: no conversion */
	void *b64;	       /* EVP_ENCODE_CTX */
	unsigned char b64q[4]; /* base64 characters short of a quad */
	size_t b64q_len;
	char qp[3];
	size_t qp_len;
	char pending[16]; /* a multibyte sequence torn between pieces */
	size_t pending_len;
};

/* `cte`: the Content-Transfer-Encoding value (NULL: none); `charset`:
 * NULL or the part's charset. */
void mime_body_decoder_init(struct mime_body_decoder *d, const char *cte,
			    const char *charset);
/* Decodes the next piece of the part's body, appending UTF-8. */
void mime_body_decoder_feed(struct mime_body_decoder *d, const char *in,
			    size_t len, struct imap_str *out);
void mime_body_decoder_free(struct mime_body_decoder *d);

/* Substring search over a stream of pieces, case-insensitive by Unicode
 * simple case folding of UTF-8 (imap4-casefold.h); bytes that are not
 * UTF-8 compare exactly. */
struct mime_matcher {
	char *needle; /* folded */
	size_t len;
	char *tail; /* the last len - 1 folded bytes seen */
	size_t tail_len;
	char carry[4]; /* a UTF-8 sequence torn between pieces */
	size_t carry_len;
	struct imap_str folded; /* the current piece, folded */
	int found;
};
int mime_matcher_init(struct mime_matcher *m, const char *needle);
void mime_matcher_feed(struct mime_matcher *m, const char *data, size_t len);
void mime_matcher_free(struct mime_matcher *m);

#endif
