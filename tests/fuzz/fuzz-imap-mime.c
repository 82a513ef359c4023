/* Fuzz target: the MIME engine. The first byte picks the chunk size; the
 * rest is a message. Everything derived from the tree is computed:
 * ENVELOPE, BODYSTRUCTURE, BODY, the cache form read back, and section
 * lookups along the first parts. Small limits reach the limit paths. */
#include <stdint.h>
#include <string.h>
#include "plugins/imap4/imap4-mime-decode.h"
#include "plugins/imap4/imap4-mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_limits lim = {
	    .max_depth = 8, .max_parts = 50, .max_header = 2000};
	struct mime_parser *mp;
	struct mime_part *root, *again;
	struct imap_str out;
	struct mime_range r;
	uint32_t path[4] = {1, 2, 1, 1};
	size_t chunk, off = 1;
	unsigned k;

	if (size < 1)
		return 0;
	chunk = (size_t)(data[0] % 64) + 1;
	mp = mime_parser_create(&lim);
	if (mp == NULL)
		return 0;
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (mime_parser_feed(mp, data + off, n) < 0) {
			mime_parser_destroy(&mp);
			return 0;
		}
		off += n;
	}
	root = mime_parser_finish(&mp);
	if (root == NULL)
		return 0;
	if (root->body_end > size - 1)
		__builtin_trap();
	imap_str_init(&out, 0);
	mime_write_envelope(&out, root);
	mime_write_bodystructure(&out, root, 1);
	mime_write_bodystructure(&out, root, 0);
	imap_str_truncate(&out, 0);
	if (mime_parts_serialize(root, &out) == PH_OK &&
	    mime_parts_deserialize(out.data, out.len, &again) == PH_OK)
		mime_part_free(&again);
	for (k = 0; k <= 4; k++) {
		enum mime_section_kind kind;

		for (kind = MIME_SEC_ALL; kind <= MIME_SEC_MIME; kind++) {
			if (mime_section_find(root, path, k, kind, &r) ==
				PH_OK &&
			    r.off + r.len > size - 1)
				__builtin_trap();
		}
	}
	/* the SEARCH decoders over the same input */
	for (k = 0; k < MH_COUNT; k++) {
		if (root->hdr[k] != NULL) {
			imap_str_truncate(&out, 0);
			mime_header_decode(root->hdr[k], &out);
		}
	}
	{
		static const char *const ctes[] = {"base64", "quoted-printable",
						   NULL};
		struct mime_body_decoder d;
		struct mime_matcher m;

		mime_body_decoder_init(&d, ctes[data[0] % 3],
				       data[0] & 0x80 ? "iso-8859-1" : NULL);
		if (mime_matcher_init(&m, "ab") == 0) {
			for (off = 1; off < size; off += chunk) {
				size_t n =
				    size - off < chunk ? size - off : chunk;

				imap_str_truncate(&out, 0);
				mime_body_decoder_feed(
				    &d, (const char *)data + off, n, &out);
				mime_matcher_feed(&m, out.data, out.len);
			}
			mime_matcher_free(&m);
		}
		mime_body_decoder_free(&d);
	}
	imap_str_free(&out);
	mime_part_free(&root);
	return 0;
}
