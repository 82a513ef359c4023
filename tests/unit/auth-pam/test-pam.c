/* Unit tests for plugins/auth-pam under pam_wrapper: good password, bad
 * password, unknown user, account refused by pam_acct_mgmt, an account
 * PAM accepts without a passwd entry, and a hanging stack (timeout). */
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <posthorn/posthorn.h>
#include <CUnit/Basic.h>
#include "auth-fake.h"
#include "core/user.h"

extern const struct ph_plugin posthorn_plugin;

static char dir[64];
static char me[64], my_home[256];
static unsigned my_uid;

/* The plugin's config (the keys it reads: service, timeout, mail). */
struct fake_config {
	const char *kv[7];
};

static const ph_config *config(struct fake_config *c, const char *service,
			       const char *timeout)
{
	const char *kv[7] = {"service", service,     "timeout", timeout,
			     "mail",	"~/Maildir", NULL};

	memcpy(c->kv, kv, sizeof(kv));
	return ph_auth_fake_config(c->kv);
}

static const char *str(const char *s)
{
	return s != NULL ? s : "(null)";
}

static void *plugin(const char *service, const char *timeout)
{
	struct fake_config c;
	const char *err = NULL;
	void *state = NULL;

	CU_ASSERT_EQUAL_FATAL(posthorn_plugin.init(ph_auth_fake_api(),
						   config(&c, service, timeout),
						   &state, &err),
			      PH_OK);
	return state;
}

static int verify(void *state, const char *user, const char *pw,
		  ph_user **user_r, const char **err)
{
	return ph_auth_fake_verify(posthorn_plugin.ops, state, user, pw, user_r,
				   err);
}

static void test_good_password(void)
{
	void *st = plugin("posthorn-test", "5");
	const char *err;
	ph_user *u;
	char uid[16], mail[300];

	CU_ASSERT_EQUAL(verify(st, me, "right pw", &u, &err), PH_OK);
	snprintf(uid, sizeof(uid), "%u", my_uid);
	snprintf(mail, sizeof(mail), "%s/Maildir", my_home);
	CU_ASSERT_STRING_EQUAL(str(ph__user_get(u, "user")), me);
	CU_ASSERT_STRING_EQUAL(str(ph__user_get(u, "uid")), uid);
	CU_ASSERT_STRING_EQUAL(str(ph__user_get(u, "home")), my_home);
	CU_ASSERT_STRING_EQUAL(str(ph__user_get(u, "mail")), mail);
	ph__user_destroy(&u);
	posthorn_plugin.fini(st);
}

static void test_bad_password(void)
{
	void *st = plugin("posthorn-test", "5");
	const char *err;

	CU_ASSERT_EQUAL(verify(st, me, "wrong pw", NULL, &err), PH_EAUTH);
	CU_ASSERT_PTR_NOT_NULL(err);
	CU_ASSERT_EQUAL(verify(st, me, "right pw\0x", NULL, &err), PH_OK);
	posthorn_plugin.fini(st);
}

static void test_nul_in_password(void)
{
	const struct ph_auth_ops *ops = posthorn_plugin.ops;
	struct ph_auth_request req = PH_AUTH_REQUEST_INIT;
	void *st = plugin("posthorn-test", "5");
	ph_user *u = ph__user_create();
	const char *err;

	req.user.data = me;
	req.user.len = strlen(me);
	req.password.data = "right pw\0x";
	req.password.len = 10;
	req.service = req.remote_ip = req.local_ip = "";
	CU_ASSERT_EQUAL(ops->verify_plain(st, &req, u, &err), PH_EAUTH);
	ph__user_destroy(&u);
	posthorn_plugin.fini(st);
}

static void test_unknown_user(void)
{
	void *st = plugin("posthorn-test", "5");
	const char *err;

	/* pam_matrix: a name missing from its passdb is an auth error */
	CU_ASSERT_EQUAL(verify(st, "no-such-user-x", "pw", NULL, &err),
			PH_EAUTH);
	posthorn_plugin.fini(st);
}

static void test_acct_mgmt_refuses(void)
{
	/* pam_matrix's account module allows the user only for the service
	 * named in the passdb: authentication passes, the account fails */
	void *st = plugin("posthorn-other", "5");
	const char *err;

	CU_ASSERT_EQUAL(verify(st, me, "right pw", NULL, &err), PH_EAUTH);
	posthorn_plugin.fini(st);
}

static void test_no_passwd_entry(void)
{
	void *st = plugin("posthorn-test", "5");
	const char *err;

	CU_ASSERT_EQUAL(verify(st, "ph-ghost-account", "ghost pw", NULL, &err),
			PH_EAUTH);
	CU_ASSERT_STRING_EQUAL(str(err), "no passwd entry");
	posthorn_plugin.fini(st);
}

static void test_missing_service_file(void)
{
	void *st = plugin("posthorn-nonexistent", "5");
	const char *err;

	CU_ASSERT_NOT_EQUAL(verify(st, me, "right pw", NULL, &err), PH_OK);
	posthorn_plugin.fini(st);
}

static void test_hanging_stack(void)
{
	void *st = plugin("posthorn-hang", "1");
	struct timespec a, b;
	const char *err;
	double took;

	clock_gettime(CLOCK_MONOTONIC, &a);
	CU_ASSERT_EQUAL(verify(st, me, "right pw", NULL, &err), PH_ETEMP);
	clock_gettime(CLOCK_MONOTONIC, &b);
	took = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	CU_ASSERT(took >= 0.9 && took < 5.0); /* the 1 s timeout, under load */
	CU_ASSERT_STRING_EQUAL(str(err), "PAM stack timed out");
	posthorn_plugin.fini(st);
}

static void test_no_pam_fail_delay(void)
{
	/* pam_faildelay asks for 3 s after a failure; the plugin drops it */
	void *st = plugin("posthorn-delay", "10");
	struct timespec a, b;
	const char *err;
	double took;

	clock_gettime(CLOCK_MONOTONIC, &a);
	CU_ASSERT_EQUAL(verify(st, me, "wrong pw", NULL, &err), PH_EAUTH);
	clock_gettime(CLOCK_MONOTONIC, &b);
	took = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	CU_ASSERT(took < 2.5); /* well below the 3 s asked for */
	CU_ASSERT_EQUAL(verify(st, me, "right pw", NULL, &err), PH_OK);
	posthorn_plugin.fini(st);
}

static void test_lookup(void)
{
	const struct ph_auth_ops *ops = posthorn_plugin.ops;
	struct ph_auth_request req = PH_AUTH_REQUEST_INIT;
	void *st = plugin("posthorn-test", "5");
	ph_user *u = ph__user_create();
	const char *err;

	req.user.data = me;
	req.user.len = strlen(me);
	req.service = req.remote_ip = req.local_ip = "";
	CU_ASSERT_EQUAL(ops->lookup(st, &req, u, &err), PH_OK);
	CU_ASSERT_STRING_EQUAL(str(ph__user_get(u, "home")), my_home);
	req.user = PH_STR_LIT("ph-ghost-account");
	CU_ASSERT_EQUAL(ops->lookup(st, &req, u, &err), PH_EUNKNOWN);
	ph__user_destroy(&u);
	posthorn_plugin.fini(st);
}

static void test_bad_service_name(void)
{
	struct fake_config c;
	const char *err = NULL;
	void *state = NULL;

	CU_ASSERT_EQUAL(posthorn_plugin.init(ph_auth_fake_api(),
					     config(&c, "../etc/passwd", "5"),
					     &state, &err),
			PH_EINVAL);
}

static void write_file(const char *name, const char *fmt, ...)
{
	char path[128];
	va_list ap;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	if (fp == NULL) {
		perror(path);
		exit(2);
	}
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	fclose(fp);
}

/* First run: builds the PAM service directory and re-executes this test
 * under pam_wrapper. */
static void setup_and_reexec(char **argv)
{
	char services[96], preload[512];
	const char *asan = getenv("ASAN_OPTIONS");
	char asan_opts[512];

	snprintf(dir, sizeof(dir), "/tmp/ph-pam-XXXXXX");
	if (mkdtemp(dir) == NULL)
		exit(2);
	snprintf(services, sizeof(services), "%s/services", dir);
	mkdir(services, 0755);
	write_file("passdb",
		   "%s:right pw:posthorn-test\n"
		   "ph-ghost-account:ghost pw:posthorn-test\n",
		   me);
	write_file("services/posthorn-test",
		   "auth required %s passdb=%s/passdb\n"
		   "account required %s passdb=%s/passdb\n",
		   PAM_MATRIX, dir, PAM_MATRIX, dir);
	write_file("services/posthorn-other",
		   "auth required %s passdb=%s/passdb\n"
		   "account required %s passdb=%s/passdb\n",
		   PAM_MATRIX, dir, PAM_MATRIX, dir);
	write_file("services/posthorn-delay",
		   "auth optional %s delay=3000000\n"
		   "auth required %s passdb=%s/passdb\n"
		   "account required %s\n",
		   PAM_FAILDELAY, PAM_MATRIX, dir, PAM_PERMIT);
	write_file("services/posthorn-hang", "auth required %s /bin/sleep 5\n",
		   PAM_EXEC);
	snprintf(preload, sizeof(preload), "%s", PAM_WRAPPER_LIB);
	setenv("LD_PRELOAD", preload, 1);
	setenv("PAM_WRAPPER", "1", 1);
	setenv("PAM_WRAPPER_SERVICE_DIR", services, 1);
	setenv("PAM_WRAPPER_DISABLE_DEEPBIND", "1", 1);
	setenv("PH_PAM_TEST_DIR", dir, 1);
	snprintf(asan_opts, sizeof(asan_opts), "%s%sverify_asan_link_order=0",
		 asan != NULL ? asan : "", asan != NULL ? ":" : "");
	setenv("ASAN_OPTIONS", asan_opts, 1);
	execv("/proc/self/exe", argv);
	perror("execv");
	exit(2);
}

static void cleanup_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static CU_TestInfo tests[] = {
    {"good password", test_good_password},
    {"bad password", test_bad_password},
    {"NUL in password", test_nul_in_password},
    {"unknown user", test_unknown_user},
    {"pam_acct_mgmt refuses", test_acct_mgmt_refuses},
    {"no passwd entry", test_no_passwd_entry},
    {"missing service file", test_missing_service_file},
    {"hanging stack times out", test_hanging_stack},
    {"PAM's failure delay dropped", test_no_pam_fail_delay},
    {"lookup", test_lookup},
    {"bad service name", test_bad_service_name},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"auth-pam", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
	struct passwd *pw = getpwuid(getuid());
	const char *d = getenv("PH_PAM_TEST_DIR");
	unsigned failed;

	(void)argc;
	if (pw == NULL)
		return 2;
	snprintf(me, sizeof(me), "%s", pw->pw_name);
	snprintf(my_home, sizeof(my_home), "%s", pw->pw_dir);
	my_uid = (unsigned)pw->pw_uid;
	if (d == NULL || getenv("PAM_WRAPPER") == NULL)
		setup_and_reexec(argv);
	snprintf(dir, sizeof(dir), "%s", d);
	if (CU_initialize_registry() != CUE_SUCCESS ||
	    CU_register_suites(suites) != CUE_SUCCESS)
		return 2;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	cleanup_dir();
	return failed == 0 ? 0 : 1;
}
