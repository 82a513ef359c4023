/* posthorn-passwd - reads a password from stdin (without echo on a
 * terminal) and prints a "{CRYPT}$y$..." yescrypt hash for a passwd-file.
 * Usage: posthorn-passwd [-n]   (-n: read a second time to confirm) */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PASSWD_MAX 1024

/* Reads one line into buf (without its LF); echo off when stdin is a tty.
 * Returns its length, or -1 on EOF/error/too long. */
static int passwd_read(const char *prompt, char *buf, size_t size)
{
	struct termios old, noecho;
	int tty = isatty(STDIN_FILENO);
	size_t len;
	int ok;

	if (tty) {
		fputs(prompt, stderr);
		if (tcgetattr(STDIN_FILENO, &old) < 0)
			return -1;
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho) < 0)
			return -1;
	}
	ok = fgets(buf, (int)size, stdin) != NULL;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (!ok)
		return -1;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	else if (len == size - 1)
		return -1; /* no LF within the limit: too long */
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	return (int)len;
}

int main(int argc, char **argv)
{
	char pw[PASSWD_MAX], again[PASSWD_MAX];
	struct crypt_data *data;
	const char *hash;
	char *setting;
	int confirm = argc > 1 && strcmp(argv[1], "-n") == 0;
	int len;

	if (argc > 2 || (argc == 2 && !confirm)) {
		fprintf(stderr, "usage: posthorn-passwd [-n] < password\n");
		return 2;
	}
	len = passwd_read("Password: ", pw, sizeof(pw));
	if (len <= 0) {
		fprintf(stderr, "posthorn-passwd: no password read\n");
		return 1;
	}
	if (confirm) {
		if (passwd_read("Again: ", again, sizeof(again)) < 0 ||
		    strcmp(pw, again) != 0) {
			explicit_bzero(pw, sizeof(pw));
			explicit_bzero(again, sizeof(again));
			fprintf(stderr, "posthorn-passwd: passwords differ\n");
			return 1;
		}
		explicit_bzero(again, sizeof(again));
	}
	setting = crypt_gensalt_ra("$y$", 0, NULL, 0);
	data = calloc(1, sizeof(*data));
	if (setting == NULL || data == NULL) {
		fprintf(stderr, "posthorn-passwd: crypt_gensalt: %s\n",
			strerror(errno));
		return 1;
	}
	hash = crypt_r(pw, setting, data);
	explicit_bzero(pw, sizeof(pw));
	if (hash == NULL || hash[0] == '*') {
		fprintf(stderr, "posthorn-passwd: crypt failed\n");
		return 1;
	}
	printf("{CRYPT}%s\n", hash);
	explicit_bzero(data, sizeof(*data));
	free(data);
	free(setting);
	return 0;
}
