/* Fuzz target: passwd-file lines (plugins/auth-passwdfile), each
 * LF-separated line parsed as the loader would. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "plugins/auth-passwdfile/passwdfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	unsigned lineno = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		struct passwdfile_entry e;
		const char *err;
		char *line = malloc(len + 1);

		if (line == NULL)
			return 0;
		memcpy(line, p, len);
		line[len] = '\0';
		if (memchr(p, '\0', len) == NULL &&
		    passwdfile_parse_line(line, ++lineno, &e, &err) == 1) {
			if (e.user[0] == '\0' || strchr(e.user, ':') != NULL)
				abort();
			passwdfile_entry_free(&e);
		}
		free(line);
		p += len + (nl != NULL);
	}
	return 0;
}
