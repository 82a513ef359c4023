/* Unit tests for plugins/auth-passwdfile: line parsing, file loading and
 * the plugin's verify/lookup through a minimal core API. */
#include <crypt.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <posthorn/posthorn.h>
#include "auth-fake.h"
#include "cunit-main.h"
#include "core/user.h"
#include "passwdfile.h"

extern const struct ph_plugin posthorn_plugin;

static char tmpdir[64];
static char path[256];
static int fake_scram;

/* The plugin's config: path = `path_value`, scram = fake_scram. */
static const ph_config *config(const char *path_value)
{
	static const char *kv[5];

	kv[0] = "path";
	kv[1] = path_value;
	kv[2] = "scram";
	kv[3] = fake_scram ? "yes" : "no";
	kv[4] = NULL;
	return ph_auth_fake_config(kv);
}

static void write_file(const char *text)
{
	FILE *fp = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs(text, fp);
	fclose(fp);
}

static char *make_hash(const char *prefix, const char *pw)
{
	char *setting = crypt_gensalt_ra(prefix, 0, NULL, 0);
	struct crypt_data data;
	char *hash;

	memset(&data, 0, sizeof(data));
	hash = strdup(crypt_r(pw, setting, &data));
	free(setting);
	return hash;
}

static void noop_warn(void *ctx, unsigned line, const char *msg)
{
	(*(unsigned *)ctx)++;
}

/* ---- line parsing ---- */

static int parse(const char *text, struct passwdfile_entry *e)
{
	char buf[512];
	const char *err;

	snprintf(buf, sizeof(buf), "%s", text);
	return passwdfile_parse_line(buf, 1, e, &err);
}

static void test_line_full(void)
{
	struct passwdfile_entry e;

	CU_ASSERT_EQUAL_FATAL(
	    parse("alice:{PLAIN}pw:1000:100::/home/alice::mail=/m/a x=1", &e),
	    1);
	CU_ASSERT_STRING_EQUAL(e.user, "alice");
	CU_ASSERT_EQUAL(e.scheme, PASSWDFILE_PLAIN);
	CU_ASSERT_STRING_EQUAL(e.secret, "pw");
	CU_ASSERT_STRING_EQUAL(e.uid, "1000");
	CU_ASSERT_STRING_EQUAL(e.gid, "100");
	CU_ASSERT_STRING_EQUAL(e.home, "/home/alice");
	CU_ASSERT_STRING_EQUAL(e.extra, "mail=/m/a x=1");
	passwdfile_entry_free(&e);
}

static void test_line_short(void)
{
	struct passwdfile_entry e;

	CU_ASSERT_EQUAL_FATAL(parse("bob:$6$salt$hash", &e), 1);
	CU_ASSERT_EQUAL(e.scheme, PASSWDFILE_CRYPT);
	CU_ASSERT_STRING_EQUAL(e.secret, "$6$salt$hash");
	CU_ASSERT_STRING_EQUAL(e.home, "");
	CU_ASSERT_STRING_EQUAL(e.extra, "");
	passwdfile_entry_free(&e);
}

static void test_line_schemes(void)
{
	struct passwdfile_entry e;

	CU_ASSERT_EQUAL_FATAL(parse("a:{SHA512-CRYPT}$6$s$h", &e), 1);
	CU_ASSERT_EQUAL(e.scheme, PASSWDFILE_CRYPT);
	CU_ASSERT_STRING_EQUAL(e.secret, "$6$s$h");
	passwdfile_entry_free(&e);
	CU_ASSERT_EQUAL_FATAL(parse("a:{crypt}$y$j9T$x$y", &e), 1);
	CU_ASSERT_EQUAL(e.scheme, PASSWDFILE_CRYPT);
	passwdfile_entry_free(&e);
	CU_ASSERT_EQUAL_FATAL(parse("a:{SCRAM-SHA-256}4096,c2FsdA==,x,y", &e),
			      1);
	CU_ASSERT_EQUAL(e.scheme, PASSWDFILE_SCRAM_SHA_256);
	passwdfile_entry_free(&e);
	CU_ASSERT_EQUAL_FATAL(parse("a::1:1", &e), 1);
	CU_ASSERT_EQUAL(e.scheme, PASSWDFILE_NONE);
	passwdfile_entry_free(&e);
}

static void test_line_comment_blank(void)
{
	struct passwdfile_entry e;

	CU_ASSERT_EQUAL(parse("# alice:{PLAIN}x", &e), 0);
	CU_ASSERT_EQUAL(parse("", &e), 0);
	CU_ASSERT_EQUAL(parse("   ", &e), 0);
}

static void test_line_bare_plain_refused(void)
{
	struct passwdfile_entry e;

	CU_ASSERT_EQUAL(parse("alice:secret", &e), -1);
}

static void test_line_unknown_scheme(void)
{
	struct passwdfile_entry e;

	CU_ASSERT_EQUAL(parse("alice:{MD4}abc", &e), -1);
	CU_ASSERT_EQUAL(parse("alice:{PLAIN", &e), -1);
	CU_ASSERT_EQUAL(parse("alice:{CRYPT}notcrypt", &e), -1);
}

static void test_line_no_password_field(void)
{
	struct passwdfile_entry e;

	CU_ASSERT_EQUAL(parse("alice", &e), -1);
}

static void test_line_empty_user(void)
{
	struct passwdfile_entry e;

	CU_ASSERT_EQUAL(parse(":{PLAIN}x", &e), -1);
	CU_ASSERT_EQUAL(parse("a b:{PLAIN}x", &e), -1);
}

static void test_line_extra_with_colon(void)
{
	struct passwdfile_entry e;

	CU_ASSERT_EQUAL_FATAL(parse("a:{PLAIN}x:1:2:g:/h:/bin/sh:k=v:w", &e),
			      1);
	CU_ASSERT_STRING_EQUAL(e.extra, "k=v:w");
	passwdfile_entry_free(&e);
}

/* ---- file loading ---- */

static void test_load_file(void)
{
	struct passwdfile f;
	unsigned warned = 0;

	write_file("# users\n"
		   "carol:{PLAIN}c\n"
		   "bad line\n"
		   "alice:{PLAIN}a1\r\n"
		   "alice:{PLAIN}a2\n"
		   "\n"
		   "bob:{PLAIN}b");
	CU_ASSERT_EQUAL_FATAL(passwdfile_load(path, &f, noop_warn, &warned), 0);
	CU_ASSERT_EQUAL(f.count, 3);
	CU_ASSERT_EQUAL(f.bad_lines, 1);
	CU_ASSERT_EQUAL(warned, 2); /* bad line + duplicate */
	CU_ASSERT_PTR_NOT_NULL(passwdfile_find(&f, "bob"));
	CU_ASSERT_PTR_NOT_NULL(passwdfile_find(&f, "carol"));
	CU_ASSERT_PTR_NULL(passwdfile_find(&f, "dave"));
	/* first line wins, CR stripped */
	CU_ASSERT_STRING_EQUAL(passwdfile_find(&f, "alice")->secret, "a1");
	passwdfile_free(&f);
}

static void test_load_missing(void)
{
	struct passwdfile f;
	unsigned warned = 0;
	char missing[300];

	snprintf(missing, sizeof(missing), "%s/nope", tmpdir);
	CU_ASSERT(passwdfile_load(missing, &f, noop_warn, &warned) < 0);
}

/* ---- the plugin ---- */

static const struct ph_auth_ops *ops(void)
{
	return posthorn_plugin.ops;
}

static int verify(void *state, const char *user, const char *pw,
		  ph_user **user_r, const char **error_r)
{
	return ph_auth_fake_verify(ops(), state, user, pw, user_r, error_r);
}

static void *init_plugin(void)
{
	void *state = NULL;
	const char *err = NULL;

	CU_ASSERT_EQUAL_FATAL(posthorn_plugin.init(ph_auth_fake_api(),
						   config(path), &state, &err),
			      PH_OK);
	return state;
}

static void test_plugin_descriptor(void)
{
	CU_ASSERT_EQUAL(posthorn_plugin.kind, PH_PLUGIN_AUTH);
	CU_ASSERT_STRING_EQUAL(posthorn_plugin.name, "auth-passwdfile");
	CU_ASSERT_STRING_EQUAL(posthorn_plugin.settings[0].key, "path");
	CU_ASSERT(ops()->thread_safe);
}

static void test_plugin_no_path(void)
{
	void *state = NULL;
	const char *err = NULL;

	CU_ASSERT_EQUAL(
	    posthorn_plugin.init(ph_auth_fake_api(), config(""), &state, &err),
	    PH_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(err);
}

static void test_plugin_missing_file(void)
{
	char missing[300];
	void *state = NULL;
	const char *err = NULL;

	snprintf(missing, sizeof(missing), "%s/nope", tmpdir);
	CU_ASSERT(posthorn_plugin.init(ph_auth_fake_api(), config(missing),
				       &state, &err) < 0);
	CU_ASSERT_PTR_NOT_NULL(err);
}

static void test_plugin_verify(void)
{
	char *y = make_hash("$y$", "yes pw"), *six = make_hash("$6$", "six");
	char text[1024];
	const char *err;
	ph_user *u;
	void *state;

	snprintf(text, sizeof(text),
		 "alice:{CRYPT}%s:1000:1000::/home/alice::mail=/m/alice "
		 "userdb_quota=10M\n"
		 "bob:%s\n"
		 "carol:{PLAIN}plain pw\n"
		 "dave::::\n",
		 y, six);
	write_file(text);
	state = init_plugin();
	CU_ASSERT_EQUAL(verify(state, "alice", "yes pw", &u, &err), PH_OK);
	CU_ASSERT_STRING_EQUAL(ph__user_get(u, "user"), "alice");
	CU_ASSERT_STRING_EQUAL(ph__user_get(u, "uid"), "1000");
	CU_ASSERT_STRING_EQUAL(ph__user_get(u, "home"), "/home/alice");
	CU_ASSERT_STRING_EQUAL(ph__user_get(u, "mail"), "/m/alice");
	CU_ASSERT_STRING_EQUAL(ph__user_get(u, "quota"), "10M");
	ph__user_destroy(&u);
	CU_ASSERT_EQUAL(verify(state, "alice", "yes pW", NULL, &err), PH_EAUTH);
	CU_ASSERT_EQUAL(verify(state, "alice", "", NULL, &err), PH_EAUTH);
	CU_ASSERT_EQUAL(verify(state, "bob", "six", NULL, &err), PH_OK);
	CU_ASSERT_EQUAL(verify(state, "bob", "sixx", NULL, &err), PH_EAUTH);
	CU_ASSERT_EQUAL(verify(state, "carol", "plain pw", NULL, &err), PH_OK);
	CU_ASSERT_EQUAL(verify(state, "carol", "plain p", NULL, &err),
			PH_EAUTH);
	CU_ASSERT_EQUAL(verify(state, "carol", "plain pww", NULL, &err),
			PH_EAUTH);
	CU_ASSERT_EQUAL(verify(state, "dave", "", NULL, &err), PH_EAUTH);
	CU_ASSERT_EQUAL(verify(state, "dave", "x", NULL, &err), PH_EAUTH);
	CU_ASSERT_EQUAL(verify(state, "eve", "x", NULL, &err), PH_EUNKNOWN);
	CU_ASSERT_STRING_EQUAL(err, "unknown user");
	posthorn_plugin.fini(state);
	free(y);
	free(six);
}

static void test_plugin_nul_in_password(void)
{
	struct ph_auth_request req = PH_AUTH_REQUEST_INIT;
	ph_user *u = ph__user_create();
	const char *err;
	void *state;

	write_file("carol:{PLAIN}ab\n");
	state = init_plugin();
	req.user = PH_STR_LIT("carol");
	req.password.data = "ab\0c";
	req.password.len = 4;
	req.service = req.remote_ip = req.local_ip = "";
	CU_ASSERT_EQUAL(ops()->verify_plain(state, &req, u, &err), PH_EAUTH);
	req.password.len = 2;
	CU_ASSERT_EQUAL(ops()->verify_plain(state, &req, u, &err), PH_OK);
	ph__user_destroy(&u);
	posthorn_plugin.fini(state);
}

/* RFC 7677 section 3: user "user", password "pencil", salt
 * W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations; StoredKey and ServerKey
 * computed from them independently (Python hashlib: PBKDF2-HMAC-SHA256,
 * HMAC "Client Key"/"Server Key", SHA-256). */
static void test_plugin_scram_secret(void)
{
	const char *err;
	void *state;

	write_file("user:{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,"
		   "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
		   "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=\n");
	state = init_plugin();
	CU_ASSERT_EQUAL(verify(state, "user", "pencil", NULL, &err), PH_OK);
	CU_ASSERT_EQUAL(verify(state, "user", "pencil2", NULL, &err), PH_EAUTH);
	posthorn_plugin.fini(state);
}

static void test_plugin_reload(void)
{
	struct timespec ts[2] = {{0, UTIME_NOW}, {0, 0}};
	const char *err;
	void *state;

	write_file("alice:{PLAIN}one\n");
	state = init_plugin();
	CU_ASSERT_EQUAL(verify(state, "alice", "one", NULL, &err), PH_OK);
	write_file("alice:{PLAIN}two\nbob:{PLAIN}b\n");
	/* a different mtime even within the same second */
	ts[1].tv_sec = time(NULL) + 10;
	utimensat(AT_FDCWD, path, ts, 0);
	CU_ASSERT_EQUAL(verify(state, "alice", "one", NULL, &err), PH_EAUTH);
	CU_ASSERT_EQUAL(verify(state, "alice", "two", NULL, &err), PH_OK);
	CU_ASSERT_EQUAL(verify(state, "bob", "b", NULL, &err), PH_OK);
	/* the file disappears: the last copy keeps serving */
	unlink(path);
	CU_ASSERT_EQUAL(verify(state, "alice", "two", NULL, &err), PH_OK);
	posthorn_plugin.fini(state);
}

/* CPU time of this thread, which runs the hashing: unlike wall time it
 * does not grow when the machine is busy with other jobs. */
static double seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Median time of three verify() calls. */
static double verify_time(void *state, const char *user, const char *pw,
			  int want)
{
	double t[3], t0, x;
	const char *err;
	int i, j;

	for (i = 0; i < 3; i++) {
		t0 = seconds_now();
		CU_ASSERT_EQUAL(verify(state, user, pw, NULL, &err), want);
		t[i] = seconds_now() - t0;
	}
	for (i = 0; i < 3; i++)
		for (j = i + 1; j < 3; j++)
			if (t[j] < t[i])
				x = t[i], t[i] = t[j], t[j] = x;
	return t[1];
}

/* The yescrypt dummy that evens out unknown users' timing is made at the
 * first password check: init and lookups (posthorn-deliver) stay cheap,
 * and an unknown user still costs what a known one does. */
static void test_plugin_dummy_lazy_equal_timing(void)
{
	struct ph_auth_request req = PH_AUTH_REQUEST_INIT;
	char *y = make_hash("$y$", "yes pw"), text[512];
	ph_user *u = ph__user_create();
	double t0, t_cheap, t_known, t_unknown, t_first;
	const char *err;
	void *state;

	snprintf(text, sizeof(text), "alice:{CRYPT}%s\n", y);
	write_file(text);
	t0 = seconds_now();
	state = init_plugin();
	req.user = PH_STR_LIT("alice");
	req.password = PH_STR_LIT("");
	req.service = req.remote_ip = req.local_ip = "";
	CU_ASSERT_EQUAL(ops()->lookup(state, &req, u, &err), PH_OK);
	t_cheap = seconds_now() - t0;
	/* the first check pays for the dummy too, known user or not */
	t0 = seconds_now();
	CU_ASSERT_EQUAL(verify(state, "ghost", "x", NULL, &err), PH_EUNKNOWN);
	t_first = seconds_now() - t0;
	t_known = verify_time(state, "alice", "yes pw", PH_OK);
	t_unknown = verify_time(state, "ghost", "yes pw", PH_EUNKNOWN);
	CU_ASSERT(t_cheap < t_known / 2);
	CU_ASSERT(t_first > t_known * 1.25);
	CU_ASSERT(t_unknown > t_known / 2 && t_unknown < t_known * 2);
	ph__user_destroy(&u);
	posthorn_plugin.fini(state);
	free(y);
}

static void test_plugin_lookup(void)
{
	struct ph_auth_request req = PH_AUTH_REQUEST_INIT;
	ph_user *u = ph__user_create();
	const char *err;
	void *state;

	write_file("alice:{PLAIN}pw:::::: mail=/m/a\n"
		   "bob:$6$salt$hash\n");
	state = init_plugin();
	req.user = PH_STR_LIT("alice");
	req.password = PH_STR_LIT("");
	req.service = req.remote_ip = req.local_ip = "";
	CU_ASSERT_EQUAL(ops()->lookup(state, &req, u, &err), PH_OK);
	CU_ASSERT_STRING_EQUAL(ph__user_get(u, "mail"), "/m/a");
	CU_ASSERT_EQUAL(
	    ops()->lookup_credentials(state, &req, "PLAIN", u, &err), PH_OK);
	CU_ASSERT_STRING_EQUAL(ph__user_get(u, "credentials"), "pw");
	CU_ASSERT_EQUAL(
	    ops()->lookup_credentials(state, &req, "CRAM-MD5", u, &err),
	    PH_ENOTSUP);
	req.user = PH_STR_LIT("bob");
	CU_ASSERT_EQUAL(
	    ops()->lookup_credentials(state, &req, "SCRAM-SHA-256", u, &err),
	    PH_ENOTSUP);
	req.user = PH_STR_LIT("zed");
	CU_ASSERT_EQUAL(ops()->lookup(state, &req, u, &err), PH_EUNKNOWN);
	ph__user_destroy(&u);
	posthorn_plugin.fini(state);
}

/* With scram = yes the plugin publishes SCRAM-SHA-256 and derives the
 * secret of a {PLAIN} user; the derived keys must be RFC 5802's. */
static void test_plugin_scram_setting(void)
{
	struct ph_auth_request req = PH_AUTH_REQUEST_INIT;
	unsigned char salt[64], stored[64], skey[64], salted[32], ckey[32],
	    h[32], sk[32];
	char salt64[64], stored64[64], skey64[64];
	ph_user *u = ph__user_create();
	unsigned iter = 0, len;
	const char *err;
	void *state;
	int n;

	write_file("alice:{PLAIN}pw\n");
	state = init_plugin();
	CU_ASSERT_PTR_NULL(ops()->credential_schemes);
	posthorn_plugin.fini(state);
	fake_scram = 1;
	state = init_plugin();
	fake_scram = 0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(ops()->credential_schemes);
	CU_ASSERT_STRING_EQUAL(ops()->credential_schemes[1], "SCRAM-SHA-256");
	req.user = PH_STR_LIT("alice");
	req.password = PH_STR_LIT("");
	req.service = req.remote_ip = req.local_ip = "";
	CU_ASSERT_EQUAL_FATAL(
	    ops()->lookup_credentials(state, &req, "SCRAM-SHA-256", u, &err),
	    PH_OK);
	n = sscanf(ph__user_get(u, "credentials"), "%u,%63[^,],%63[^,],%63s",
		   &iter, salt64, stored64, skey64);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_EQUAL(iter, 4096);
	n = EVP_DecodeBlock(salt, (unsigned char *)salt64, (int)strlen(salt64));
	CU_ASSERT_EQUAL_FATAL(n, 18); /* 16 bytes + padding */
	EVP_DecodeBlock(stored, (unsigned char *)stored64,
			(int)strlen(stored64));
	EVP_DecodeBlock(skey, (unsigned char *)skey64, (int)strlen(skey64));
	PKCS5_PBKDF2_HMAC("pw", 2, salt, 16, 4096, EVP_sha256(), 32, salted);
	HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10,
	     ckey, &len);
	HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Server Key", 10,
	     sk, &len);
	EVP_Digest(ckey, 32, h, NULL, EVP_sha256(), NULL);
	CU_ASSERT(memcmp(h, stored, 32) == 0);
	CU_ASSERT(memcmp(sk, skey, 32) == 0);
	ph__user_destroy(&u);
	posthorn_plugin.fini(state);
}

static int suite_init(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ph-pwf-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/users", tmpdir);
	return 0;
}

static int suite_clean(void)
{
	unlink(path);
	return rmdir(tmpdir);
}

static CU_TestInfo line_tests[] = {
    {"all fields", test_line_full},
    {"trailing fields omitted", test_line_short},
    {"schemes", test_line_schemes},
    {"comments and blank lines", test_line_comment_blank},
    {"password without scheme refused", test_line_bare_plain_refused},
    {"unknown or broken scheme", test_line_unknown_scheme},
    {"no password field", test_line_no_password_field},
    {"bad user name", test_line_empty_user},
    {"extra fields keep ':'", test_line_extra_with_colon},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo file_tests[] = {
    {"load with bad lines and duplicates", test_load_file},
    {"missing file", test_load_missing},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo plugin_tests[] = {
    {"descriptor", test_plugin_descriptor},
    {"path required", test_plugin_no_path},
    {"missing file fails init", test_plugin_missing_file},
    {"verify crypt/plain/unknown", test_plugin_verify},
    {"NUL in password", test_plugin_nul_in_password},
    {"SCRAM-SHA-256 secret (RFC 7677)", test_plugin_scram_secret},
    {"re-read on mtime change", test_plugin_reload},
    {"lookup and credentials", test_plugin_lookup},
    {"lazy dummy hash, equal timing", test_plugin_dummy_lazy_equal_timing},
    {"scram = yes: SCRAM from {PLAIN}", test_plugin_scram_setting},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"lines", suite_init, suite_clean, NULL, NULL, line_tests},
    {"file", suite_init, suite_clean, NULL, NULL, file_tests},
    {"plugin", suite_init, suite_clean, NULL, NULL, plugin_tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
