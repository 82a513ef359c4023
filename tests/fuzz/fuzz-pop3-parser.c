/* Fuzz target: POP3 command lines. The input is split at LF like the core
 * frames lines; every line goes through the parser and, when it parsed,
 * its numeric arguments through pop3_parse_number. */
#include <stdint.h>
#include <string.h>
#include "plugins/pop3/pop3-parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((lf ? lf : end) - p);
		struct pop3_command cmd;
		uint64_t n;

		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (pop3_parse_command(p, len, &cmd) == POP3_PARSE_OK) {
			for (unsigned i = 0; i < cmd.argc; i++) {
				if (cmd.args[i].data < p ||
				    cmd.args[i].data + cmd.args[i].len >
					p + len)
					__builtin_trap();
				(void)pop3_parse_number(cmd.args[i], &n);
			}
		}
		p = lf ? lf + 1 : end;
	}
	return 0;
}
