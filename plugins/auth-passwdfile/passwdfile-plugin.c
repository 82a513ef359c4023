/* plugins/auth-passwdfile/passwdfile-plugin.c - the auth plugin: verifies
 * passwords against a passwd-file, re-read whenever its mtime changes.
 * Thread safe: the parsed file is a refcounted snapshot, so hashing (the
 * slow part) runs without any lock held. */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <posthorn/posthorn.h>
#include "passwdfile.h"

struct pwf_snapshot {
	struct passwdfile file;
	unsigned refs;
};

struct pwf_state {
	const struct ph_core_api *api;
	char *path;
	pthread_mutex_t lock;
	struct pwf_snapshot *current;
	struct stat st; /* of the file `current` was read from */
	int stale_logged;
	/* verified for unknown users (same timing); made at the first
	 * password check, not at init: posthorn-deliver and lookups never
	 * pay for it */
	pthread_mutex_t dummy_lock;
	char *dummy_hash;
};

static void pwf_warn(void *ctx, unsigned line, const char *msg)
{
	struct pwf_state *st = ctx;

	st->api->log(PH_LOG_WARNING, "%s:%u: %s", st->path, line, msg);
}

static void pwf_snapshot_unref(struct pwf_snapshot *snap)
{
	if (snap != NULL && --snap->refs == 0) {
		passwdfile_free(&snap->file);
		free(snap);
	}
}

static int pwf_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Called with the lock held. Keeps the old snapshot when the file is
 * gone or unreadable, so a bad edit never locks everyone out. */
static int pwf_refresh(struct pwf_state *st, const char **error_r)
{
	struct pwf_snapshot *snap = NULL;
	struct stat now;
	int ret;

	if (stat(st->path, &now) < 0) {
		if (st->current != NULL) {
			if (!st->stale_logged)
				st->api->log(
				    PH_LOG_WARNING,
				    "%s: %s (using the last copy read)",
				    st->path, strerror(errno));
			st->stale_logged = 1;
			return 0;
		}
		*error_r = "passwd-file cannot be read";
		return PH_ETEMP;
	}
	if (st->current != NULL && pwf_same_file(&now, &st->st))
		return 0;
	snap = calloc(1, sizeof(*snap));
	if (snap == NULL)
		return PH_ENOMEM;
	ret = passwdfile_load(st->path, &snap->file, pwf_warn, st);
	if (ret < 0) {
		free(snap);
		st->api->log(PH_LOG_ERROR, "%s: %s", st->path, strerror(-ret));
		if (st->current != NULL)
			return 0;
		*error_r = "passwd-file cannot be read";
		return PH_ETEMP;
	}
	snap->refs = 1;
	pwf_snapshot_unref(st->current);
	st->current = snap;
	st->st = now;
	st->stale_logged = 0;
	st->api->log(PH_LOG_INFO, "%s: %zu users", st->path, snap->file.count);
	return 0;
}

static int pwf_acquire(struct pwf_state *st, struct pwf_snapshot **snap_r,
		       const char **error_r)
{
	int ret;

	pthread_mutex_lock(&st->lock);
	ret = pwf_refresh(st, error_r);
	if (ret == 0) {
		st->current->refs++;
		*snap_r = st->current;
	}
	pthread_mutex_unlock(&st->lock);
	return ret;
}

static void pwf_release(struct pwf_state *st, struct pwf_snapshot *snap)
{
	pthread_mutex_lock(&st->lock);
	pwf_snapshot_unref(snap);
	pthread_mutex_unlock(&st->lock);
}

/* Runs crypt(3) on `password` with the setting in `hash` and compares in
 * constant time. Returns 1 on a match. */
static int pwf_crypt_match(const char *password, const char *hash)
{
	struct crypt_data *data = calloc(1, sizeof(*data));
	const char *out;
	int match = 0;

	if (data == NULL)
		return 0;
	out = crypt_r(password, hash, data);
	if (out != NULL && out[0] != '*' && strlen(out) == strlen(hash))
		match = CRYPTO_memcmp(out, hash, strlen(hash)) == 0;
	OPENSSL_cleanse(data, sizeof(*data));
	free(data);
	return match;
}

/* Compares digests, so the time does not depend on where or whether the
 * lengths differ. */
static int pwf_plain_match(struct ph_str password, const char *secret)
{
	unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
	unsigned la = 0, lb = 0;

	if (!EVP_Digest(password.data, password.len, a, &la, EVP_sha256(),
			NULL) ||
	    !EVP_Digest(secret, strlen(secret), b, &lb, EVP_sha256(), NULL))
		return 0;
	return CRYPTO_memcmp(a, b, la) == 0 && la == lb;
}

static int pwf_b64(const char *text, unsigned char *out, size_t max,
		   size_t *len_r)
{
	size_t len = strlen(text), pad = 0;
	int n;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > max)
		return -1;
	if (text[len - 1] == '=')
		pad = text[len - 2] == '=' ? 2 : 1;
	n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)len);
	if (n < 0)
		return -1;
	*len_r = (size_t)n - pad;
	return 0;
}

/* {SCRAM-SHA-256}iterations,salt,StoredKey,ServerKey (Dovecot's format,
 * base64 fields): a plaintext password matches when
 * SHA256(HMAC(PBKDF2(password, salt, i), "Client Key")) == StoredKey. */
static int pwf_scram_match(struct ph_str password, const char *secret)
{
	unsigned char salt[256], stored[64], salted[32], ckey[32], skey[32];
	char buf[1024], *iter_s, *salt_s, *stored_s, *save = NULL;
	size_t salt_len, stored_len;
	unsigned ckey_len = 0;
	unsigned long iter;
	char *end;
	int match;

	if (strlen(secret) >= sizeof(buf))
		return 0;
	strcpy(buf, secret);
	iter_s = strtok_r(buf, ",", &save);
	salt_s = strtok_r(NULL, ",", &save);
	stored_s = strtok_r(NULL, ",", &save);
	if (iter_s == NULL || salt_s == NULL || stored_s == NULL)
		return 0;
	errno = 0;
	iter = strtoul(iter_s, &end, 10);
	if (errno != 0 || *end != '\0' || iter < 1 || iter > 10000000 ||
	    pwf_b64(salt_s, salt, sizeof(salt), &salt_len) < 0 ||
	    pwf_b64(stored_s, stored, sizeof(stored), &stored_len) < 0 ||
	    stored_len != 32)
		return 0;
	if (!PKCS5_PBKDF2_HMAC(password.data, (int)password.len, salt,
			       (int)salt_len, (int)iter, EVP_sha256(),
			       sizeof(salted), salted) ||
	    HMAC(EVP_sha256(), salted, sizeof(salted),
		 (const unsigned char *)"Client Key", 10, ckey,
		 &ckey_len) == NULL ||
	    !EVP_Digest(ckey, ckey_len, skey, NULL, EVP_sha256(), NULL))
		return 0;
	match = CRYPTO_memcmp(skey, stored, 32) == 0;
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(ckey, sizeof(ckey));
	return match;
}

static void pwf_fill_extra(struct pwf_state *st, const char *extra,
			   ph_user *user)
{
	char *copy = strdup(extra), *tok, *save = NULL;

	if (copy == NULL)
		return;
	for (tok = strtok_r(copy, " \t", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '=');

		if (eq == NULL)
			continue; /* flags like "nopassword" are not honoured */
		*eq = '\0';
		/* Dovecot's userdb_ prefix marks the same user fields. */
		if (strncmp(tok, "userdb_", 7) == 0)
			tok += 7;
		if (strcmp(tok, "user") == 0 ||
		    st->api->user_set(user, tok, eq + 1) < 0)
			st->api->log(PH_LOG_WARNING,
				     "%s: extra field '%s' ignored", st->path,
				     tok);
	}
	free(copy);
}

static int pwf_fill(struct pwf_state *st, const struct passwdfile_entry *e,
		    ph_user *user)
{
	if (st->api->user_set(user, "user", e->user) < 0)
		return PH_ETEMP;
	if (e->uid[0] != '\0')
		st->api->user_set(user, "uid", e->uid);
	if (e->gid[0] != '\0')
		st->api->user_set(user, "gid", e->gid);
	if (e->home[0] != '\0')
		st->api->user_set(user, "home", e->home);
	pwf_fill_extra(st, e->extra, user);
	return PH_OK;
}

/* Called with dummy_lock held. */
static int pwf_make_dummy(struct pwf_state *st)
{
	unsigned char rnd[24];
	char pw[sizeof(rnd) * 2 + 1], *setting;
	struct crypt_data *data;
	const char *hash;
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	for (i = 0; i < sizeof(rnd); i++)
		pw[i * 2] = 'a' + (rnd[i] & 15),
		       pw[i * 2 + 1] = 'a' + (rnd[i] >> 4);
	pw[sizeof(pw) - 1] = '\0';
	setting = crypt_gensalt_ra("$y$", 0, NULL, 0);
	data = calloc(1, sizeof(*data));
	hash =
	    setting != NULL && data != NULL ? crypt_r(pw, setting, data) : NULL;
	if (hash != NULL && hash[0] == '$')
		st->dummy_hash = strdup(hash);
	free(setting);
	free(data);
	return st->dummy_hash != NULL ? 0 : -1;
}

/* The dummy hash, made on first use. Every password check asks for it
 * before it looks the user up, so the first answer costs the same for a
 * known and an unknown name. NULL when yescrypt failed. */
static const char *pwf_dummy(struct pwf_state *st)
{
	const char *hash;

	pthread_mutex_lock(&st->dummy_lock);
	if (st->dummy_hash == NULL)
		(void)pwf_make_dummy(st);
	hash = st->dummy_hash;
	pthread_mutex_unlock(&st->dummy_lock);
	return hash;
}

/* Where yescrypt is missing, init fails at once (cheap: no hashing). */
static int pwf_have_yescrypt(void)
{
	char *setting = crypt_gensalt_ra("$y$", 0, NULL, 0);

	free(setting);
	return setting != NULL;
}

static int pwf_verify_plain(void *state, const struct ph_auth_request *req,
			    ph_user *user, const char **error_r)
{
	struct pwf_state *st = state;
	const struct passwdfile_entry *e;
	struct pwf_snapshot *snap = NULL;
	char name[512];
	int ret, match = 0;
	/* crypt(3) sees a C string: a NUL inside would truncate it. */
	int nul = memchr(req->password.data, '\0', req->password.len) != NULL;
	const char *dummy = pwf_dummy(st);
	char *pw;

	if (dummy == NULL) {
		*error_r = "cannot make the yescrypt dummy hash";
		return PH_ETEMP;
	}
	if (req->user.len >= sizeof(name) ||
	    memchr(req->user.data, '\0', req->user.len) != NULL) {
		*error_r = "invalid user name";
		return PH_EUNKNOWN;
	}
	memcpy(name, req->user.data, req->user.len);
	name[req->user.len] = '\0';
	ret = pwf_acquire(st, &snap, error_r);
	if (ret < 0)
		return ret;
	pw = malloc(req->password.len + 1);
	if (pw == NULL) {
		pwf_release(st, snap);
		return PH_ETEMP;
	}
	memcpy(pw, req->password.data, req->password.len);
	pw[req->password.len] = '\0';
	e = passwdfile_find(&snap->file, name);
	if (e == NULL) {
		(void)pwf_crypt_match(pw, dummy);
		*error_r = "unknown user";
		ret = PH_EUNKNOWN;
		goto out;
	}
	switch (e->scheme) {
	case PASSWDFILE_CRYPT:
		match = pwf_crypt_match(pw, e->secret);
		break;
	case PASSWDFILE_PLAIN:
		match = pwf_plain_match(req->password, e->secret);
		break;
	case PASSWDFILE_SCRAM_SHA_256:
		match = pwf_scram_match(req->password, e->secret);
		break;
	case PASSWDFILE_NONE:
		(void)pwf_crypt_match(pw, dummy);
		break;
	}
	if (!match || nul) {
		*error_r = e->scheme == PASSWDFILE_NONE ? "login disabled"
							: "password mismatch";
		ret = PH_EAUTH;
		goto out;
	}
	ret = pwf_fill(st, e, user);
out:
	OPENSSL_cleanse(pw, req->password.len);
	free(pw);
	pwf_release(st, snap);
	return ret;
}

static const struct passwdfile_entry *
pwf_lookup_entry(struct pwf_state *st, const struct ph_auth_request *req,
		 struct pwf_snapshot **snap_r, int *ret_r, const char **error_r)
{
	char name[512];
	const struct passwdfile_entry *e;

	*snap_r = NULL;
	*ret_r = PH_EUNKNOWN;
	*error_r = "unknown user";
	if (req->user.len >= sizeof(name) ||
	    memchr(req->user.data, '\0', req->user.len) != NULL)
		return NULL;
	memcpy(name, req->user.data, req->user.len);
	name[req->user.len] = '\0';
	*ret_r = pwf_acquire(st, snap_r, error_r);
	if (*ret_r < 0)
		return NULL;
	e = passwdfile_find(&(*snap_r)->file, name);
	*ret_r = e != NULL ? PH_OK : PH_EUNKNOWN;
	return e;
}

static int pwf_lookup(void *state, const struct ph_auth_request *req,
		      ph_user *user, const char **error_r)
{
	struct pwf_state *st = state;
	const struct passwdfile_entry *e;
	struct pwf_snapshot *snap = NULL;
	int ret;

	e = pwf_lookup_entry(st, req, &snap, &ret, error_r);
	if (e != NULL)
		ret = pwf_fill(st, e, user);
	if (snap != NULL)
		pwf_release(st, snap);
	return ret;
}

/* A SCRAM-SHA-256 secret derived from a {PLAIN} password (RFC 5802 3),
 * with a fresh salt: malloc'd "iter,salt,StoredKey,ServerKey". */
static char *pwf_scram_from_plain(const char *password)
{
	unsigned char salt[16], salted[32], ckey[32], stored[32], skey[32];
	unsigned char b64[4][64];
	unsigned len = 0;
	char *out = NULL;

	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    !PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt,
			       sizeof(salt), 4096, EVP_sha256(), sizeof(salted),
			       salted) ||
	    HMAC(EVP_sha256(), salted, sizeof(salted),
		 (const unsigned char *)"Client Key", 10, ckey, &len) == NULL ||
	    HMAC(EVP_sha256(), salted, sizeof(salted),
		 (const unsigned char *)"Server Key", 10, skey, &len) == NULL ||
	    !EVP_Digest(ckey, sizeof(ckey), stored, NULL, EVP_sha256(), NULL))
		goto out;
	EVP_EncodeBlock(b64[0], salt, sizeof(salt));
	EVP_EncodeBlock(b64[1], stored, sizeof(stored));
	EVP_EncodeBlock(b64[2], skey, sizeof(skey));
	if (asprintf(&out, "4096,%s,%s,%s", b64[0], b64[1], b64[2]) < 0)
		out = NULL;
out:
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(ckey, sizeof(ckey));
	return out;
}

/* The secret of entry `e` in `want`'s format, malloc'd; NULL when the
 * entry has none (a crypt hash cannot become a SCRAM secret). */
static char *pwf_secret(const struct passwdfile_entry *e,
			enum passwdfile_scheme want)
{
	if (e->scheme == want)
		return strdup(e->secret);
	if (want == PASSWDFILE_SCRAM_SHA_256 && e->scheme == PASSWDFILE_PLAIN)
		return pwf_scram_from_plain(e->secret);
	return NULL;
}

static int pwf_lookup_credentials(void *state,
				  const struct ph_auth_request *req,
				  const char *scheme, ph_user *user,
				  const char **error_r)
{
	struct pwf_state *st = state;
	const struct passwdfile_entry *e;
	struct pwf_snapshot *snap = NULL;
	enum passwdfile_scheme want;
	char *secret;
	int ret;

	if (strcmp(scheme, "PLAIN") == 0)
		want = PASSWDFILE_PLAIN;
	else if (strcmp(scheme, "SCRAM-SHA-256") == 0)
		want = PASSWDFILE_SCRAM_SHA_256;
	else
		return PH_ENOTSUP;
	e = pwf_lookup_entry(st, req, &snap, &ret, error_r);
	if (e != NULL) {
		secret = pwf_secret(e, want);
		if (secret == NULL) {
			*error_r = "no secret in that scheme";
			ret = PH_ENOTSUP;
		} else {
			ret = pwf_fill(st, e, user);
			if (ret == PH_OK &&
			    st->api->user_set(user, "credentials", secret) < 0)
				ret = PH_ETEMP;
			explicit_bzero(secret, strlen(secret));
			free(secret);
		}
	}
	if (snap != NULL)
		pwf_release(st, snap);
	return ret;
}

static const char *const pwf_schemes[] = {"PLAIN", "SCRAM-SHA-256", NULL};

/* Not const: init() publishes credential_schemes only with scram = yes,
 * since SCRAM then must work for every user of the file. */
static struct ph_auth_ops pwf_ops = {
    PH_AUTH_OPS_INIT,
    .thread_safe = 1,
    .verify_plain = pwf_verify_plain,
    .lookup = pwf_lookup,
    .credential_schemes = pwf_schemes,
    .lookup_credentials = pwf_lookup_credentials,
};

static void pwf_fini(void *state)
{
	struct pwf_state *st = state;

	if (st == NULL)
		return;
	pwf_snapshot_unref(st->current);
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_destroy(&st->dummy_lock);
	free(st->dummy_hash);
	free(st->path);
	free(st);
}

static int pwf_init(const struct ph_core_api *api, const ph_config *config,
		    void **state_r, const char **error_r)
{
	struct pwf_state *st;
	const char *path = api->config_get(config, "path");
	uint64_t scram = 0;
	int ret;

	if (path == NULL || path[0] == '\0') {
		*error_r = "auth-passwdfile: 'path' is required";
		return PH_EINVAL;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return PH_ENOMEM;
	st->api = api;
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->dummy_lock, NULL);
	st->path = strdup(path);
	if (st->path == NULL || !pwf_have_yescrypt()) {
		pwf_fini(st);
		*error_r = "auth-passwdfile: out of memory or no yescrypt";
		return PH_ENOMEM;
	}
	if (api->config_get_uint(config, "scram", &scram) == PH_OK && scram)
		pwf_ops.credential_schemes = pwf_schemes;
	else
		pwf_ops.credential_schemes = NULL;
	ret = pwf_refresh(st, error_r);
	if (ret < 0) {
		pwf_fini(st);
		*error_r = "auth-passwdfile: cannot read 'path'";
		return ret;
	}
	*state_r = st;
	return PH_OK;
}

static const struct ph_setting_def pwf_settings[] = {
    {"path", PH_SETTING_STRING, NULL, NULL, 0,
     "passwd-file: user:{SCHEME}secret:uid:gid:gecos:home:shell:extra"},
    {"scram", PH_SETTING_BOOL, "no", NULL, 0,
     "offer SCRAM-SHA-256: every user needs a {SCRAM-SHA-256} or {PLAIN} "
     "secret"},
    {NULL, 0, NULL, NULL, 0, NULL},
};

PH_EXPORT const struct ph_plugin posthorn_plugin = {
    PH_PLUGIN_INIT,
    .kind = PH_PLUGIN_AUTH,
    .name = "auth-passwdfile",
    .version = "0.1.0",
    .description = "Dovecot-compatible passwd-file",
    .settings = pwf_settings,
    .init = pwf_init,
    .fini = pwf_fini,
    .ops = &pwf_ops,
};
