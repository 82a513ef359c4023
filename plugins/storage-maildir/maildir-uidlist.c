/* maildir-uidlist.c - posthorn-uidlist, the durable UID map.
 *
 *   posthorn-uidlist 1 V<uidvalidity> N<uidnext>
 *   <uid> <base name>
 *   ...
 *
 * Plain text and append-only: each new message adds one line with
 * O_APPEND, expunged ones stay until the next rewrite. It is what keeps
 * UIDs (and UIDVALIDITY) when the binary index is lost or corrupt; lines
 * for files that no longer exist are simply skipped on a rebuild. A line
 * torn by a crash mid-append is ended by the next appender and skipped by
 * readers; a later line for the same UID wins. */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UIDLIST_FILE	 "posthorn-uidlist"
#define UIDLIST_TMP	 "posthorn-uidlist.tmp"
#define UIDLIST_MAX_LINE 512

void maildir_uidlist_clear(struct maildir_uidlist *ul)
{
	for (size_t i = 0; i < ul->count; i++)
		free(ul->e[i].base);
	free(ul->e);
	memset(ul, 0, sizeof(*ul));
}

int maildir_uidlist_read(const char *dir, struct maildir_uidlist *ul)
{
	char path[PATH_MAX], line[UIDLIST_MAX_LINE];
	size_t alloc = 0;
	unsigned version;
	FILE *f;

	memset(ul, 0, sizeof(*ul));
	maildir_fmt(path, sizeof(path), "%s/" UIDLIST_FILE, dir);
	if ((f = fopen(path, "re")) == NULL)
		return PH_ENOTFOUND;
	if (fgets(line, sizeof(line), f) == NULL ||
	    sscanf(line, "posthorn-uidlist %u V%" SCNu32 " N%" SCNu32, &version,
		   &ul->uidvalidity, &ul->uidnext) != 3 ||
	    version != 1 || ul->uidvalidity == 0 || ul->uidnext == 0) {
		fclose(f);
		return PH_ENOTFOUND;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);
		char *sp, *end;
		unsigned long uid;

		if (len == 0 || line[len - 1] != '\n') {
			/* Overlong: skip the rest of it; torn at the end:
			 * the loop ends. */
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		line[len - 1] = '\0';
		uid = strtoul(line, &end, 10);
		sp = end;
		/* A line torn by a crash (completed with a newline by the
		 * next appender) is skipped; a later line for the same UID
		 * replaces it; UIDs must ascend. */
		if (sp == line || *sp != ' ' || sp[1] == '\0' || uid == 0 ||
		    uid >= UINT32_MAX ||
		    (ul->count > 0 && uid < ul->e[ul->count - 1].uid))
			continue;
		if (ul->count > 0 && uid == ul->e[ul->count - 1].uid) {
			char *b = strdup(sp + 1);

			if (b == NULL)
				goto nomem;
			free(ul->e[ul->count - 1].base);
			ul->e[ul->count - 1].base = b;
			continue;
		}
		if (ul->count == alloc) {
			size_t n = alloc ? alloc * 2 : 256;
			void *p = realloc(ul->e, n * sizeof(*ul->e));

			if (p == NULL)
				goto nomem;
			ul->e = p;
			alloc = n;
		}
		ul->e[ul->count].uid = (uint32_t)uid;
		if ((ul->e[ul->count].base = strdup(sp + 1)) == NULL)
			goto nomem;
		ul->count++;
		if (uid >= ul->uidnext)
			ul->uidnext = (uint32_t)uid + 1;
	}
	fclose(f);
	return PH_OK;
nomem:
	fclose(f);
	maildir_uidlist_clear(ul);
	return PH_ENOMEM;
}

static int uidlist_lines(FILE *f, const struct maildir_index *idx,
			 uint32_t from)
{
	for (uint32_t i = from; i < idx->count; i++) {
		const struct maildir_rec *r = &idx->recs[i];
		const char *name = maildir_index_name(idx, r);

		if (r->flags & MAILDIR_REC_REMOVED)
			continue;
		if (fprintf(f, "%" PRIu32 " %.*s\n", r->uid,
			    (int)maildir_filename_base_len(name), name) < 0)
			return PH_EIO;
	}
	return PH_OK;
}

static int uidlist_close(FILE *f, bool do_fsync)
{
	int ret = fflush(f) == 0 ? PH_OK : PH_EIO;

	if (ret == PH_OK && do_fsync && fdatasync(fileno(f)) < 0)
		ret = PH_EIO;
	if (fclose(f) != 0)
		ret = PH_EIO;
	return ret;
}

int maildir_uidlist_rewrite(const char *dir, const struct maildir_index *idx,
			    bool do_fsync)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	FILE *f;
	int fd, ret;

	maildir_fmt(tmp, sizeof(tmp), "%s/" UIDLIST_TMP, dir);
	maildir_fmt(path, sizeof(path), "%s/" UIDLIST_FILE, dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		return PH_EIO;
	}
	ret = fprintf(f, "posthorn-uidlist 1 V%" PRIu32 " N%" PRIu32 "\n",
		      idx->uidvalidity, idx->uidnext) < 0
		  ? PH_EIO
		  : uidlist_lines(f, idx, 0);
	if (uidlist_close(f, do_fsync) < 0)
		ret = PH_EIO;
	if (ret == PH_OK && rename(tmp, path) < 0)
		ret = PH_EIO;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

int maildir_uidlist_append(const char *dir, const struct maildir_index *idx,
			   uint32_t from, bool do_fsync)
{
	char path[PATH_MAX];
	struct stat st;
	FILE *f;
	int fd, ret;

	maildir_fmt(path, sizeof(path), "%s/" UIDLIST_FILE, dir);
	fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	/* Missing, or mostly lines of expunged messages: rewrite it. */
	if (fd < 0 || fstat(fd, &st) < 0 ||
	    (uint64_t)st.st_size > 65536 + (uint64_t)idx->count * 160) {
		if (fd >= 0)
			close(fd);
		return maildir_uidlist_rewrite(dir, idx, do_fsync);
	}
	if ((f = fdopen(fd, "a")) == NULL) {
		close(fd);
		return PH_EIO;
	}
	/* A crash may have left a torn last line: end it first, so the
	 * next line stays whole (the reader skips the fragment). */
	{
		char last = '\n';

		if (st.st_size > 0 &&
		    pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n')
			fputc('\n', f);
	}
	ret = uidlist_lines(f, idx, from);
	if (uidlist_close(f, do_fsync) < 0)
		ret = PH_EIO;
	return ret;
}
