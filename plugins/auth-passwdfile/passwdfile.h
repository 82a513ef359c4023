/* plugins/auth-passwdfile/passwdfile.h - a parsed passwd-file:
 *   user:{SCHEME}secret:uid:gid:gecos:home:shell:extra_fields
 * Trailing fields may be empty or omitted; everything after the seventh
 * ':' is the extra fields (space-separated key=value). */
#ifndef PASSWDFILE_H
#define PASSWDFILE_H

#include <stddef.h>
#include <sys/types.h>

enum passwdfile_scheme {
	PASSWDFILE_NONE,  /* empty password field: login disabled */
	PASSWDFILE_CRYPT, /* crypt(3) string */
	PASSWDFILE_PLAIN, /* {PLAIN}, only when explicit */
	PASSWDFILE_SCRAM_SHA_256,
};

struct passwdfile_entry {
	char *user;
	enum passwdfile_scheme scheme;
	char *secret; /* without the {SCHEME} prefix */
	char *uid, *gid, *home;
	char *extra; /* raw extra fields, or "" */
	unsigned line;
};

struct passwdfile {
	struct passwdfile_entry *entries; /* sorted by user */
	size_t count;
	unsigned bad_lines;
};

/* Parses one line (without its LF; modified in place: the entry's
 * strings are copied). Returns 1 with *entry_r filled, 0 for a blank or
 * comment line, -1 when malformed with *error_r set (static). */
int passwdfile_parse_line(char *line, unsigned lineno,
			  struct passwdfile_entry *entry_r,
			  const char **error_r);
void passwdfile_entry_free(struct passwdfile_entry *entry);

/* Reads a whole file. Malformed lines are skipped and reported through
 * warn(ctx, line, message); the first of duplicate users wins. Returns
 * 0, or -errno when the file cannot be read. */
typedef void passwdfile_warn_fn(void *ctx, unsigned line, const char *msg);
int passwdfile_load(const char *path, struct passwdfile *file_r,
		    passwdfile_warn_fn *warn, void *ctx);
void passwdfile_free(struct passwdfile *file);
const struct passwdfile_entry *passwdfile_find(const struct passwdfile *file,
					       const char *user);

#endif
