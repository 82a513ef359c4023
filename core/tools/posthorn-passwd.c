/* posthorn-passwd - reads a password from stdin (without echo on a
 * terminal) and prints a "{CRYPT}$y$..." yescrypt hash for a passwd-file,
 * or with -s SCRAM-SHA-256 a "{SCRAM-SHA-256}iter,salt,StoredKey,ServerKey"
 * secret (Dovecot's format; allows SCRAM logins, RFC 7677).
 * Usage: posthorn-passwd [-n] [-s CRYPT|SCRAM-SHA-256]
 *        (-n: read a second time to confirm) */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

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

#define SCRAM_ITERATIONS 4096

static void print_b64(const unsigned char *data, size_t len)
{
	unsigned char out[128];

	EVP_EncodeBlock(out, data, (int)len);
	fputs((const char *)out, stdout);
}

/* SaltedPassword = PBKDF2(pw, salt, i); StoredKey = H(HMAC(SP, "Client
 * Key")); ServerKey = HMAC(SP, "Server Key") (RFC 5802 section 3). */
static int print_scram(const char *pw)
{
	unsigned char salt[16], salted[32], ckey[32], stored[32], skey[32];
	unsigned len = 0;

	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    !PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, sizeof(salt),
			       SCRAM_ITERATIONS, EVP_sha256(), sizeof(salted),
			       salted) ||
	    HMAC(EVP_sha256(), salted, sizeof(salted),
		 (const unsigned char *)"Client Key", 10, ckey, &len) == NULL ||
	    HMAC(EVP_sha256(), salted, sizeof(salted),
		 (const unsigned char *)"Server Key", 10, skey, &len) == NULL ||
	    !EVP_Digest(ckey, sizeof(ckey), stored, NULL, EVP_sha256(), NULL))
		return -1;
	printf("{SCRAM-SHA-256}%d,", SCRAM_ITERATIONS);
	print_b64(salt, sizeof(salt));
	putchar(',');
	print_b64(stored, sizeof(stored));
	putchar(',');
	print_b64(skey, sizeof(skey));
	putchar('\n');
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(ckey, sizeof(ckey));
	return 0;
}

static int print_crypt(const char *pw)
{
	struct crypt_data *data = calloc(1, sizeof(*data));
	char *setting = crypt_gensalt_ra("$y$", 0, NULL, 0);
	const char *hash = NULL;
	int ret = -1;

	if (setting != NULL && data != NULL)
		hash = crypt_r(pw, setting, data);
	if (hash != NULL && hash[0] == '$') {
		printf("{CRYPT}%s\n", hash);
		ret = 0;
	}
	if (data != NULL)
		explicit_bzero(data, sizeof(*data));
	free(data);
	free(setting);
	return ret;
}

static int usage(void)
{
	fprintf(stderr, "usage: posthorn-passwd [-n] [-s CRYPT|SCRAM-SHA-256] "
			"< password\n");
	return 2;
}

int main(int argc, char **argv)
{
	char pw[PASSWD_MAX], again[PASSWD_MAX];
	const char *scheme = "CRYPT";
	int confirm = 0, len, opt, ret;

	while ((opt = getopt(argc, argv, "ns:")) != -1) {
		if (opt == 'n')
			confirm = 1;
		else if (opt == 's')
			scheme = optarg;
		else
			return usage();
	}
	if (optind != argc || (strcasecmp(scheme, "CRYPT") != 0 &&
			       strcasecmp(scheme, "SCRAM-SHA-256") != 0))
		return usage();
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
	ret = strcasecmp(scheme, "CRYPT") == 0 ? print_crypt(pw)
					       : print_scram(pw);
	explicit_bzero(pw, sizeof(pw));
	if (ret < 0) {
		fprintf(stderr, "posthorn-passwd: hashing failed\n");
		return 1;
	}
	return 0;
}
