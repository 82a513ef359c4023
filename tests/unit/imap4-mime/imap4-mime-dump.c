/* imap4-mime-dump FILE... - prints what the MIME engine computes for each
 * message file, in IMAP FETCH syntax, one line per file:
 *   <name> (RFC822.SIZE n ENVELOPE (...) BODYSTRUCTURE (...))
 * Used by the differential test against Dovecot (diff-dovecot.py). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "imap4-mime.h"

int main(int argc, char **argv)
{
	int i, ret = 0;

	for (i = 1; i < argc; i++) {
		struct imap_str out;
		struct mime_part *root;
		struct stat st;
		int fd = open(argv[i], O_RDONLY);

		if (fd < 0 || fstat(fd, &st) < 0 ||
		    mime_parse_fd(fd, 0, (uint64_t)st.st_size, NULL, &root) <
			0) {
			perror(argv[i]);
			ret = 1;
			if (fd >= 0)
				close(fd);
			continue;
		}
		close(fd);
		imap_str_init(&out, 0);
		imap_str_printf(
		    &out, "%s (RFC822.SIZE %llu ENVELOPE ", argv[i],
		    (unsigned long long)(root->hdr_wire + root->body_wire));
		mime_write_envelope(&out, root);
		imap_str_appends(&out, " BODYSTRUCTURE ");
		mime_write_bodystructure(&out, root, 1);
		imap_str_appends(&out, ")\n");
		fwrite(out.data, 1, out.len, stdout);
		imap_str_free(&out);
		mime_part_free(&root);
	}
	return ret;
}
