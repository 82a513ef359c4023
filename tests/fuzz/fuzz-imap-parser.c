/* Fuzz target: the IMAP command parser. The first byte picks the chunk
 * size (so splits at every position get explored) and how literals are
 * taken; the rest is fed as client input. Every parsed command is walked
 * completely. */
#include <stdint.h>
#include <string.h>
#include "plugins/imap4/imap4-parser.h"

static size_t walk(const struct imap_parser *p, const struct imap_arg *list,
		   unsigned depth)
{
	const struct imap_arg *a;
	size_t n = 0;

	if (depth > 64)
		__builtin_trap();
	for (a = imap_arg_child(p, list); a != NULL; a = imap_arg_next(p, a)) {
		if (a->type == IMAP_ARG_LIST)
			n += walk(p, a, depth + 1);
		else if (imap_arg_is_string(a))
			n += strlen(imap_arg_str(p, a)) <= a->len;
		n++;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_limits lim = imap_parser_default_limits;
	struct imap_parser *p;
	size_t chunk, off = 1;
	unsigned mode;

	if (size < 1)
		return 0;
	chunk = (data[0] & 0x0f) + 1;
	mode = data[0] >> 4;
	lim.max_line = 200;
	lim.max_literal = 100;
	lim.max_command = 1000;
	lim.max_stream = 500;
	lim.max_depth = 8;
	lim.max_args = 50;
	p = imap_parser_create(&lim);
	if (p == NULL)
		return 0;
	while (off < size && !imap_parser_must_close(p)) {
		size_t len = size - off < chunk ? size - off : chunk, used;
		struct imap_event ev;
		enum imap_event_type t;

		t = imap_parser_feed(p, (const char *)data + off, len, &used,
				     &ev);
		if (used > len)
			__builtin_trap();
		off += used;
		switch (t) {
		case IMAP_EV_LITERAL:
			(void)imap_parser_literal_begin(
			    p, (enum imap_literal_mode)(mode++ % 3));
			break;
		case IMAP_EV_COMMAND:
			if (imap_parser_tag(p) == NULL ||
			    imap_parser_command(p) == NULL)
				__builtin_trap();
			(void)walk(p, imap_parser_root(p), 0);
			break;
		case IMAP_EV_ERROR:
			if (ev.error == NULL)
				__builtin_trap();
			if (ev.close)
				goto out;
			break;
		case IMAP_EV_LITERAL_DATA:
			if (ev.data_len > 0 && ev.data == NULL)
				__builtin_trap();
			break;
		case IMAP_EV_NONE:
			if (used != len)
				__builtin_trap();
			break;
		}
	}
out:
	imap_parser_destroy(&p);
	return 0;
}
