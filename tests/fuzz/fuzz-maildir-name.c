/* Fuzz target: storage-maildir mailbox names and file names.
 * Byte 0 picks the separator ('/' or '.'), the rest up to a NUL is a
 * name. Invariants: an accepted name maps to one ".X.Y" directory entry
 * of at most 255 bytes without '/' or an empty component, and maps back
 * to the same name; flag letters round-trip through file names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "plugins/storage-maildir/maildir-private.h"

static void check_name(char sep, const char *name)
{
	char dir[MAILDIR_FILENAME_MAX + 2], back[MAILDIR_NAME_MAX + 1];
	const char *error;
	bool inbox;

	if (maildir_name_to_dir(sep, name, dir, sizeof(dir), &inbox, &error) !=
		PH_OK ||
	    inbox)
		return;
	if (dir[0] != '.' || strlen(dir) > 255 || strchr(dir, '/') ||
	    strstr(dir, "..") || dir[strlen(dir) - 1] == '.')
		abort();
	if (maildir_dir_to_name(sep, dir, back, sizeof(back)) != PH_OK)
		abort();
	/* A leading INBOX component is normalised to upper case. */
	if (strncasecmp(name, "INBOX", 5) == 0 && name[5] == sep) {
		if (strcasecmp(back, name) != 0)
			abort();
	} else if (strcmp(back, name) != 0) {
		abort();
	}
}

static void check_filename(const char *name, uint32_t want)
{
	char buf[MAILDIR_FILENAME_MAX + 1];
	uint64_t ps, vs;
	int n;

	maildir_filename_sizes(name, &ps, &vs);
	(void)maildir_filename_flags(name);
	n = maildir_filename_set_flags(name, want, buf, sizeof(buf));
	if (n < 0)
		return;
	if ((size_t)n != strlen(buf) ||
	    maildir_filename_flags(buf) !=
		(want & PH_FLAGS_STORABLE & ~PH_FLAG_RECENT) ||
	    maildir_filename_base_len(buf) != maildir_filename_base_len(name))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name;

	if (size < 1 || size > 4096)
		return 0;
	name = strndup((const char *)data + 1, size - 1);
	if (name == NULL)
		return 0;
	check_name(data[0] & 1 ? '.' : '/', name);
	check_filename(name, data[0] >> 1);
	(void)maildir_keyword_valid(name);
	free(name);
	return 0;
}
