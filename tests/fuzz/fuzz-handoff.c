/* Fuzz target: the session handoff message the master (root) decodes
 * from an unprivileged worker (core/handoff.c). What decodes must
 * re-encode to the same bytes, its ticket must have the one valid
 * length, and its user record must parse or be refused without harm.
 * The same bytes also go through the two small messages of a handoff's
 * outcome: a session child's report to the master (parsed as root; the
 * child may already run as the user) and the master's answer to the
 * worker, which must re-encode to the same bytes too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/handoff.h"
#include "core/user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char out[PH__HANDOFF_MSG_MAX];
	struct ph__handoff_msg m;
	unsigned char *buf;
	int n;

	if (size > PH__HANDOFF_MSG_MAX + 16)
		return 0;
	buf = malloc(size > 0 ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	if (ph__handoff_decode(buf, size, &m) == 0) {
		ph_user *user = ph__user_deserialize(m.user.data, m.user.len);

		n = ph__handoff_encode(out, &m);
		if (n != (int)size || memcmp(out, data, size) != 0)
			abort();
		if (strlen(m.listener.data) != m.listener.len ||
		    strlen(m.user.data) != m.user.len)
			abort();
		/* the session ticket: none, or exactly its length */
		if (m.ticket.len != 0 && m.ticket.len != PH__AUTH_TICKET_LEN)
			abort();
		ph__user_destroy(&user);
	}
	{
		char why[64];
		struct ph_str sid;
		int result, ret;

		ret = ph__session_status_parse((const char *)data, size, why,
					       sizeof(why));
		if (ret == 0 && strlen(why) >= sizeof(why))
			abort();
		memcpy(buf, data, size);
		if (ph__handoff_decode_result(buf, size, &result, &sid) == 0) {
			n = ph__handoff_encode_result(out, sizeof(out), result,
						      sid);
			if (n != (int)size || memcmp(out, data, size) != 0 ||
			    result > 0 || strlen(sid.data) != sid.len)
				abort();
		}
	}
	free(buf);
	return 0;
}
