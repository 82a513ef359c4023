/* Fuzz target: SASL server steps fed with base64 client responses.
 * Byte 0 picks the mechanism (% 3: PLAIN, LOGIN, SCRAM-SHA-256; bit 2:
 * SCRAM with no stored secret; bit 3: the TLS variant, EXTERNAL for the
 * user "user" instead of PLAIN and SCRAM-SHA-256-PLUS instead of SCRAM;
 * bit 4: the connection offers -PLUS and has channel-binding data), then
 * each LF-separated line is one client response as sent on the wire. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/sasl-scram.h"

static const char *const mechs[] = {"PLAIN", "LOGIN", "SCRAM-SHA-256"};
static const char *const tls_mechs[] = {"EXTERNAL", "LOGIN",
					"SCRAM-SHA-256-PLUS"};

/* tls-exporter: 32 bytes of 'x'; tls-server-end-point: 32 of 'y' */
static const struct ph__sasl_cbind cbind[] = {
    {"tls-exporter", (const unsigned char *)"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
     32},
    {"tls-server-end-point",
     (const unsigned char *)"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", 32},
};

/* RFC 7677's user "user", password "pencil" */
#define FUZZ_SECRET                                                            \
	"4096,W22ZaJ0SNY7soEsUEjb6gQ==,"                                       \
	"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"                        \
	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p, *end;
	struct ph__sasl *s;
	struct ph_str out;
	int ret;

	if (size == 0)
		return 0;
	s = ph__sasl_create((data[0] & 8 ? tls_mechs : mechs)[data[0] % 3]);
	if (s == NULL)
		return 0;
	if (ph__sasl_is_external(s))
		ph__sasl_set_external(s, "user");
	if (data[0] & 16)
		ph__sasl_set_cbind(s, 1, cbind, 2);
	p = (const char *)data + 1;
	end = (const char *)data + size;
	ret = ph__sasl_step(s, NULL, &out);
	while (ret == PH__SASL_CHALLENGE && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		unsigned char *raw;
		size_t raw_len;
		char *b64;
		size_t b64_len;

		if (ph__base64_decode(p, len, &raw, &raw_len) < 0)
			break;
		/* what decodes encodes back to text of the same length
		   (non-zero padding bits are accepted, never produced) */
		if (ph__base64_encode(raw, raw_len, &b64, &b64_len) == 0) {
			if (b64_len != len)
				abort();
			free(b64);
		}
		ret = ph__sasl_step(s, &(struct ph_str){(char *)raw, raw_len},
				    &out);
		free(raw);
		p += len + (nl != NULL);
		if (ret == PH__SASL_VERIFY && ph__sasl_credentials_scheme(s))
			ret = ph__sasl_set_credentials(
			    s, data[0] & 4 ? NULL : FUZZ_SECRET, &out);
	}
	if (ret == PH__SASL_VERIFY) {
		const char *authcid = ph__sasl_authcid(s);

		/* the contract: a verified identity is non-empty, NUL-free,
		   and the authzid is empty or the same */
		if (authcid[0] == '\0' ||
		    (ph__sasl_authzid(s)[0] != '\0' &&
		     strcmp(ph__sasl_authzid(s), authcid) != 0))
			abort();
	}
	ph__sasl_destroy(&s);
	return 0;
}
