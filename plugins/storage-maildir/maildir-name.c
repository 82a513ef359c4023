/* maildir-name.c - mailbox name validation and the Maildir++ mapping.
 *
 * API names are UTF-8 with the configured separator. On disk a mailbox is
 * ROOT/.A.B for "A<sep>B"; the bytes stay UTF-8. With separator '/', a
 * '.' inside a component is written "%2E" (so "a.b" and "a/b" differ on
 * disk); '%' and '*' are refused in names (LIST wildcards), which keeps
 * the escape unambiguous. Every check below exists so that no name can
 * reach outside the user's root. */
#include "maildir-private.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool maildir_name_is_inbox(const char *name)
{
	return strcasecmp(name, "INBOX") == 0;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid or a
 * control character (C0, DEL, C1). */
static size_t name_utf8_char(const unsigned char *p)
{
	uint32_t cp;
	size_t n;

	if (p[0] < 0x80)
		return p[0] < 0x20 || p[0] == 0x7f ? 0 : 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0; /* continuation byte, overlong C0/C1, F5.. */
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
	    (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return n;
}

int maildir_name_to_dir(char sep, const char *name, char *dir_r,
			size_t dir_size, bool *is_inbox_r, const char **error_r)
{
	size_t len = strlen(name), out = 0;
	const char *p = name;

	*is_inbox_r = false;
	if (len == 0 || len > MAILDIR_NAME_MAX) {
		*error_r =
		    len == 0 ? "empty mailbox name" : "mailbox name too long";
		return PH_EINVAL;
	}
	if (maildir_name_is_inbox(name)) {
		*is_inbox_r = true;
		dir_r[0] = '\0';
		return PH_OK;
	}
	if (strstr(name, "..") != NULL || (sep == '.' && strchr(name, '/'))) {
		*error_r = "mailbox name contains \"..\" or '/'";
		return PH_EINVAL;
	}
	if (name[0] == sep || name[len - 1] == sep) {
		*error_r = "mailbox name starts or ends with the separator";
		return PH_EINVAL;
	}
	if (dir_size < 2)
		return PH_EINVAL;
	dir_r[out++] = '.';
	/* A leading INBOX component is stored as "INBOX" in any case. */
	if (strncasecmp(name, "INBOX", 5) == 0 && name[5] == sep) {
		memcpy(dir_r + out, "INBOX", 5);
		out += 5;
		p += 5;
	}
	while (*p != '\0') {
		size_t n = name_utf8_char((const unsigned char *)p);
		const char *emit = p;
		size_t emit_len = n;

		if (n == 0) {
			*error_r = "mailbox name is not valid UTF-8 or holds "
				   "control characters";
			return PH_EINVAL;
		}
		if (*p == '%' || *p == '*') {
			*error_r = "mailbox name contains a wildcard";
			return PH_EINVAL;
		}
		if (*p == sep) {
			if (p[1] == sep) {
				*error_r = "empty mailbox name component";
				return PH_EINVAL;
			}
			emit = ".";
			emit_len = 1;
		} else if (*p == '.') {
			emit = "%2E"; /* only reached when sep is '/' */
			emit_len = 3;
		}
		if (out + emit_len >= dir_size || out + emit_len > 255) {
			*error_r = "mailbox name too long on disk";
			return PH_EINVAL;
		}
		memcpy(dir_r + out, emit, emit_len);
		out += emit_len;
		p += n;
	}
	dir_r[out] = '\0';
	return PH_OK;
}

int maildir_dir_to_name(char sep, const char *dirent, char *name_r,
			size_t name_size)
{
	char check[MAILDIR_FILENAME_MAX + 2];
	const char *p = dirent + 1, *error;
	size_t out = 0;
	bool inbox;

	if (dirent[0] != '.' || dirent[1] == '\0' || dirent[1] == '.')
		return PH_EINVAL;
	while (*p != '\0') {
		char c = *p;

		if (c == '.') {
			c = sep;
		} else if (sep == '/' && strncmp(p, "%2E", 3) == 0) {
			p += 2;
			c = '.';
		}
		if (out + 1 >= name_size)
			return PH_EINVAL;
		name_r[out++] = c;
		p++;
	}
	name_r[out] = '\0';
	/* Only names the forward mapping makes back are mailboxes. */
	if (maildir_name_to_dir(sep, name_r, check, sizeof(check), &inbox,
				&error) != PH_OK ||
	    inbox || strcmp(check, dirent) != 0)
		return PH_EINVAL;
	return PH_OK;
}

bool maildir_keyword_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > MAILDIR_KEYWORD_LEN)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p))
			return false;
	}
	return true;
}
