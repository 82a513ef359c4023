/* plugins/auth-passwdfile/passwdfile-parse.c - reading passwd-files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "passwdfile.h"

#define PASSWDFILE_MAX_LINE    8192
#define PASSWDFILE_MAX_ENTRIES 1000000

/* Dovecot scheme names that all carry a crypt(3) string. */
static const char *const passwdfile_crypt_schemes[] = {
    "CRYPT",	 "SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT",
    "MD5-CRYPT", "DES-CRYPT",	 "YESCRYPT",	 NULL,
};

static int passwdfile_scheme(const char *name, enum passwdfile_scheme *r)
{
	size_t i;

	for (i = 0; passwdfile_crypt_schemes[i] != NULL; i++) {
		if (strcasecmp(name, passwdfile_crypt_schemes[i]) == 0) {
			*r = PASSWDFILE_CRYPT;
			return 0;
		}
	}
	if (strcasecmp(name, "PLAIN") == 0)
		*r = PASSWDFILE_PLAIN;
	else if (strcasecmp(name, "SCRAM-SHA-256") == 0)
		*r = PASSWDFILE_SCRAM_SHA_256;
	else
		return -1;
	return 0;
}

static int passwdfile_parse_password(char *field, struct passwdfile_entry *e,
				     const char **error_r)
{
	char *end;

	if (field[0] == '\0') {
		e->scheme = PASSWDFILE_NONE;
		e->secret = strdup("");
		return 0;
	}
	if (field[0] == '{') {
		end = strchr(field, '}');
		if (end == NULL) {
			*error_r = "unterminated {SCHEME}";
			return -1;
		}
		*end = '\0';
		if (passwdfile_scheme(field + 1, &e->scheme) < 0) {
			*error_r = "unknown password scheme";
			return -1;
		}
		field = end + 1;
		if (e->scheme == PASSWDFILE_CRYPT && field[0] != '$') {
			*error_r = "CRYPT secret is not a $id$ crypt string";
			return -1;
		}
	} else if (field[0] == '$') {
		e->scheme = PASSWDFILE_CRYPT;
	} else {
		/* Never guess PLAIN: it must be written {PLAIN}. */
		*error_r = "password without {SCHEME} and not a crypt string";
		return -1;
	}
	e->secret = strdup(field);
	return 0;
}

int passwdfile_parse_line(char *line, unsigned lineno,
			  struct passwdfile_entry *entry_r,
			  const char **error_r)
{
	char *fields[7] = {NULL};
	char *p = line, *extra = NULL;
	size_t n = 0;

	memset(entry_r, 0, sizeof(*entry_r));
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	/* Up to seven ':'-separated fields; the rest is the extra fields. */
	fields[n++] = line;
	for (p = line; *p != '\0'; p++) {
		if (*p != ':')
			continue;
		*p = '\0';
		if (n == 7) {
			extra = p + 1;
			break;
		}
		fields[n++] = p + 1;
	}
	if (fields[0][0] == '\0') {
		*error_r = "empty user name";
		return -1;
	}
	if (strpbrk(fields[0], " \t\r") != NULL) {
		*error_r = "blank in user name";
		return -1;
	}
	if (n < 2) {
		*error_r = "missing password field";
		return -1;
	}
	entry_r->line = lineno;
	if (passwdfile_parse_password(fields[1], entry_r, error_r) < 0)
		return -1;
	entry_r->user = strdup(fields[0]);
	entry_r->uid = strdup(n > 2 ? fields[2] : "");
	entry_r->gid = strdup(n > 3 ? fields[3] : "");
	entry_r->home = strdup(n > 5 ? fields[5] : "");
	entry_r->extra = strdup(extra != NULL ? extra : "");
	if (entry_r->user == NULL || entry_r->secret == NULL ||
	    entry_r->uid == NULL || entry_r->gid == NULL ||
	    entry_r->home == NULL || entry_r->extra == NULL) {
		passwdfile_entry_free(entry_r);
		*error_r = "out of memory";
		return -1;
	}
	return 1;
}

void passwdfile_entry_free(struct passwdfile_entry *e)
{
	if (e->secret != NULL)
		explicit_bzero(e->secret, strlen(e->secret));
	free(e->user);
	free(e->secret);
	free(e->uid);
	free(e->gid);
	free(e->home);
	free(e->extra);
	memset(e, 0, sizeof(*e));
}

static int passwdfile_cmp(const void *a, const void *b)
{
	const struct passwdfile_entry *x = a, *y = b;
	int c = strcmp(x->user, y->user);

	/* Same user twice: the earlier line sorts first and wins. */
	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

static int passwdfile_add(struct passwdfile *f, size_t *alloc,
			  const struct passwdfile_entry *e)
{
	if (f->count == *alloc) {
		size_t n = *alloc == 0 ? 16 : *alloc * 2;
		struct passwdfile_entry *ne;

		ne = realloc(f->entries, n * sizeof(*ne));
		if (ne == NULL)
			return -ENOMEM;
		f->entries = ne;
		*alloc = n;
	}
	f->entries[f->count++] = *e;
	return 0;
}

static void passwdfile_dedup(struct passwdfile *f, passwdfile_warn_fn *warn,
			     void *ctx)
{
	size_t i, out = 0;

	for (i = 0; i < f->count; i++) {
		if (out > 0 &&
		    strcmp(f->entries[out - 1].user, f->entries[i].user) == 0) {
			warn(ctx, f->entries[i].line, "duplicate user ignored");
			passwdfile_entry_free(&f->entries[i]);
			continue;
		}
		f->entries[out++] = f->entries[i];
	}
	f->count = out;
}

int passwdfile_load(const char *path, struct passwdfile *file_r,
		    passwdfile_warn_fn *warn, void *ctx)
{
	struct passwdfile_entry e;
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	unsigned lineno = 0;
	const char *error;
	ssize_t len;
	FILE *fp;
	int ret = 0;

	memset(file_r, 0, sizeof(*file_r));
	fp = fopen(path, "re");
	if (fp == NULL)
		return -errno;
	while ((len = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if ((size_t)len > PASSWDFILE_MAX_LINE ||
		    memchr(line, '\0', (size_t)len) != NULL) {
			warn(ctx, lineno, "line too long or holds a NUL");
			file_r->bad_lines++;
			continue;
		}
		switch (passwdfile_parse_line(line, lineno, &e, &error)) {
		case 1:
			if (file_r->count >= PASSWDFILE_MAX_ENTRIES) {
				passwdfile_entry_free(&e);
				warn(ctx, lineno, "too many entries");
				break;
			}
			if (passwdfile_add(file_r, &alloc, &e) < 0) {
				passwdfile_entry_free(&e);
				ret = -ENOMEM;
				goto out;
			}
			break;
		case 0:
			break;
		default:
			warn(ctx, lineno, error);
			file_r->bad_lines++;
			break;
		}
	}
	if (ferror(fp))
		ret = -EIO;
out:
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	fclose(fp);
	if (ret < 0) {
		passwdfile_free(file_r);
		return ret;
	}
	qsort(file_r->entries, file_r->count, sizeof(*file_r->entries),
	      passwdfile_cmp);
	passwdfile_dedup(file_r, warn, ctx);
	return 0;
}

void passwdfile_free(struct passwdfile *file)
{
	size_t i;

	for (i = 0; i < file->count; i++)
		passwdfile_entry_free(&file->entries[i]);
	free(file->entries);
	memset(file, 0, sizeof(*file));
}

const struct passwdfile_entry *passwdfile_find(const struct passwdfile *file,
					       const char *user)
{
	size_t lo = 0, hi = file->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(user, file->entries[mid].user);

		if (c == 0)
			return &file->entries[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}
