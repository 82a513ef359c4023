/* Fuzz target: the auth service's wire decoders (core/auth-proto.c, the
 * channel-binding field, EXTERNAL_VERIFY's certificate chain, the
 * reply's session ticket and ATTACH included) and user records (core/user.c).
 * What decodes must re-encode to the same bytes; a user record must survive a
 * serialise round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/auth-proto.h"
#include "core/sasl-scram.h"
#include "core/user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf, out[PH__AUTH_MSG_MAX];
	struct ph__auth_request_msg req;
	struct ph__auth_reply_msg reply;
	ph_user *user;
	int n;

	if (size > PH__AUTH_MSG_MAX + 16)
		return 0;
	buf = malloc(size > 0 ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	if (ph__auth_decode_request(buf, size, &req) == 0) {
		struct ph__sasl_cbind cb[4];
		char names[4][64];
		int adv;

		/* a chain only in EXTERNAL_VERIFY, and only within limits */
		if (req.type == PH__AUTH_MSG_EXTERNAL_VERIFY) {
			size_t total = 0;

			if (req.chain_count == 0 ||
			    req.chain_count > PH__AUTH_MAX_CHAIN ||
			    req.listener.len == 0)
				abort();
			for (size_t i = 0; i < req.chain_count; i++) {
				if (req.chain[i].len == 0)
					abort();
				total += req.chain[i].len;
			}
			if (total > PH__AUTH_MAX_CHAIN_BYTES)
				abort();
		} else if (req.chain_count != 0 || req.listener.len != 0) {
			abort();
		}
		n = ph__auth_encode_request(out, &req);
		if (n != (int)size || memcmp(out, data, size) != 0)
			abort();
		/* channel-binding state: what decodes re-encodes the same */
		n = ph__auth_cbind_decode(req.cbind, &adv, cb, names, 4);
		if (n >= 0 && req.cbind.len > 0 &&
		    (ph__auth_cbind_encode(out, adv, cb, (size_t)n) !=
			 (int)req.cbind.len ||
		     memcmp(out, req.cbind.data, req.cbind.len) != 0))
			abort();
	}
	if (ph__auth_decode_reply(buf, size, &reply) == 0) {
		/* a ticket only with success, and only whole */
		if (reply.ticket.len != 0 &&
		    (reply.ticket.len != PH__AUTH_TICKET_LEN ||
		     reply.result != PH_OK))
			abort();
		n = ph__auth_encode_reply(out, &reply);
		if (n != (int)size || memcmp(out, data, size) != 0)
			abort();
	}
	/* ATTACH: the header alone */
	if (ph__auth_decode_attach(buf, size) == 0 &&
	    (ph__auth_encode_attach(out) != (int)size ||
	     memcmp(out, data, size) != 0))
		abort();
	user = ph__user_deserialize((const char *)data, size);
	if (user != NULL) {
		char *text = ph__user_serialize(user);

		if (text == NULL || strlen(text) != size ||
		    memcmp(text, data, size) != 0)
			abort();
		free(text);
		ph__user_destroy(&user);
	}
	free(buf);
	return 0;
}
