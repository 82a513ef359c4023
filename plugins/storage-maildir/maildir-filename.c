/* maildir-filename.c - Maildir file names: "BASE:2,INFO" where BASE is
 * "SEC.MUSECPPIDQN.HOST[,S=psize][,W=vsize]" and INFO the flag letters in
 * ASCII order (D draft, F flagged, R answered, S seen, T deleted). Letters
 * we do not know (P, Dovecot's a-z keywords) are kept on renames. */
#include "maildir-private.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static const struct {
	char letter;
	uint32_t flag;
} filename_flags[] = {
    {'D', PH_FLAG_DRAFT}, {'F', PH_FLAG_FLAGGED}, {'R', PH_FLAG_ANSWERED},
    {'S', PH_FLAG_SEEN},  {'T', PH_FLAG_DELETED},
};
#define FILENAME_NFLAGS (sizeof(filename_flags) / sizeof(filename_flags[0]))

int maildir_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void maildir_filename_new_base(char *buf, size_t size)
{
	static unsigned counter;
	char host[64], safe[3 * sizeof(host)];
	struct timeval tv;
	size_t o = 0;

	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	/* '/' and ':' are forbidden in Maildir names; ',' would confuse
	 * the ,S= fields. */
	for (const char *h = host; *h && o + 5 < sizeof(safe); h++) {
		if (*h == '/' || *h == ':' || *h == ',')
			o += (size_t)maildir_fmt(safe + o, sizeof(safe) - o,
						 "\\%03o", (unsigned char)*h);
		else
			safe[o++] = *h;
	}
	safe[o] = '\0';
	gettimeofday(&tv, NULL);
	maildir_fmt(buf, size, "%lld.M%06ldP%dQ%u.%s", (long long)tv.tv_sec,
		    (long)tv.tv_usec, (int)getpid(), ++counter, safe);
}

size_t maildir_filename_base_len(const char *name)
{
	const char *info = strstr(name, ":2,");

	return info ? (size_t)(info - name) : strlen(name);
}

uint32_t maildir_filename_flags(const char *name)
{
	const char *info = strstr(name, ":2,");
	uint32_t flags = 0;

	if (info == NULL)
		return 0;
	for (info += 3; *info; info++)
		for (size_t i = 0; i < FILENAME_NFLAGS; i++)
			if (*info == filename_flags[i].letter)
				flags |= filename_flags[i].flag;
	return flags;
}

int maildir_filename_set_flags(const char *name, uint32_t flags, char *buf,
			       size_t size)
{
	size_t base = maildir_filename_base_len(name);
	const char *old = name[base] ? name + base + 3 : "";
	bool letters[128] = {false};
	size_t o;

	for (; *old; old++)
		if ((unsigned char)*old < 128)
			letters[(unsigned char)*old] = true;
	for (size_t i = 0; i < FILENAME_NFLAGS; i++)
		letters[(unsigned char)filename_flags[i].letter] =
		    (flags & filename_flags[i].flag) != 0;
	if (base + 3 >= size)
		return PH_ETOOBIG;
	memcpy(buf, name, base);
	memcpy(buf + base, ":2,", 3);
	o = base + 3;
	for (int c = 33; c < 127; c++) {
		if (!letters[c] || c == ',' || c == '/' || c == ':')
			continue;
		if (o + 1 >= size)
			return PH_ETOOBIG;
		buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return o > MAILDIR_FILENAME_MAX ? PH_ETOOBIG : (int)o;
}

static uint64_t filename_field(const char *name, size_t base, const char *key)
{
	const char *p = name;

	while ((p = strstr(p, key)) != NULL && (size_t)(p - name) < base) {
		char *end;
		unsigned long long v;

		p += 3;
		v = strtoull(p, &end, 10);
		if (end != p && (*end == ',' || *end == ':' || *end == '\0'))
			return v;
	}
	return 0;
}

void maildir_filename_sizes(const char *name, uint64_t *psize_r,
			    uint64_t *vsize_r)
{
	size_t base = maildir_filename_base_len(name);

	*psize_r = filename_field(name, base, ",S=");
	*vsize_r = filename_field(name, base, ",W=");
}
