/* Config parsing: good files, and each bad input with its FILE:LINE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config-extra.h"
#include "core/config.h"
#include "cunit-main.h"

static char path[64];

static const char *write_file(const char *text)
{
	FILE *f;

	strcpy(path, "/tmp/ph-config-XXXXXX");
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

/* Loads `text`; expects failure with "PATH:LINE: ..." containing `what`. */
static void expect_error(const char *text, int line, const char *what)
{
	char *err = NULL, prefix[128];
	struct ph__config *cfg = ph__config_load(write_file(text), &err);

	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(err);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	if (strncmp(err, prefix, strlen(prefix)) != 0 ||
	    strstr(err, what) == NULL)
		fprintf(stderr, "\nunexpected error: %s (wanted %s%s)\n", err,
			prefix, what);
	CU_ASSERT_NSTRING_EQUAL(err, prefix, strlen(prefix));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, what));
	free(err);
	ph__config_free(&cfg);
	unlink(path);
}

static struct ph__config *load_ok(const char *text)
{
	char *err = NULL;
	struct ph__config *cfg = ph__config_load(write_file(text), &err);

	if (cfg == NULL)
		fprintf(stderr, "\nunexpected error: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL(cfg);
	free(err);
	unlink(path);
	return cfg;
}

static const char good[] = "; comment\n"
			   "[core]\n"
			   "plugin_dir = /p\n"
			   "workers = 3\n"
			   "idle_timeout = 2m\n"
			   "output_limit = 1M\n"
			   "[storage]\n"
			   "plugin = storage-maildir\n"
			   "[auth]\n"
			   "plugins = a b\n"
			   "[listener.imap]\n"
			   "protocol = imap4\n"
			   "listen = 127.0.0.1:143, [::1]:143\n"
			   "tls = starttls\n"
			   "cert = /c.pem\n"
			   "key = /k.pem\n"
			   "greeting = per listener\n"
			   "[listener.imaps]\n"
			   "protocol = imap4\n"
			   "listen = 127.0.0.1:993\n"
			   "tls = implicit\n"
			   "cert = /c.pem\n"
			   "key = /k.pem\n"
			   "allow_plaintext = yes\n"
			   "[imap4]\n"
			   "max_line = 8k\n";

static void test_good(void)
{
	struct ph__config *cfg = load_ok(good);

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(cfg->plugin_dir, "/p");
	CU_ASSERT_EQUAL(cfg->workers, 3);
	CU_ASSERT_EQUAL(cfg->idle_timeout, 120);
	CU_ASSERT_EQUAL(cfg->output_limit, 1024 * 1024);
	CU_ASSERT_EQUAL(cfg->max_connections, 10000);
	CU_ASSERT_STRING_EQUAL(cfg->storage_plugin, "storage-maildir");
	CU_ASSERT_EQUAL(cfg->auth_plugin_count, 2);
	CU_ASSERT_STRING_EQUAL(cfg->auth_plugins[1], "b");
	CU_ASSERT_EQUAL_FATAL(cfg->listener_count, 2);
	CU_ASSERT_STRING_EQUAL(cfg->listeners[0].name, "imap");
	CU_ASSERT_EQUAL(cfg->listeners[0].listen_count, 2);
	CU_ASSERT_STRING_EQUAL(cfg->listeners[0].listen[1], "[::1]:143");
	CU_ASSERT_EQUAL(cfg->listeners[0].tls, PH_TLS_STARTTLS);
	CU_ASSERT_EQUAL(cfg->listeners[0].allow_plaintext, 0);
	CU_ASSERT_EQUAL(cfg->listeners[1].tls, PH_TLS_IMPLICIT);
	CU_ASSERT_EQUAL(cfg->listeners[1].allow_plaintext, 1);
	ph__config_free(&cfg);
	CU_ASSERT_PTR_NULL(cfg);
}

static const struct ph_setting_def imap_defs[] = {
    {"max_line", PH_SETTING_SIZE, "64k", NULL, 0, ""},
    {"greeting", PH_SETTING_STRING, "hello", NULL, 1, ""},
    {"idle", PH_SETTING_TIME, "30m", NULL, 1, ""},
    {NULL, 0, NULL, NULL, 0, NULL},
};

static void test_plugin_fallback(void)
{
	struct ph__config *cfg = load_ok(good);
	char *err = NULL;
	uint64_t v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(
	    ph__config_validate_plugin(cfg, "imap4", imap_defs, &err), PH_OK);
	const ph_config *l0 = cfg->listeners[0].section;
	const ph_config *l1 = cfg->listeners[1].section;

	/* listener value, plugin value, plugin default */
	CU_ASSERT_STRING_EQUAL(ph__config_get(l0, "greeting"), "per listener");
	CU_ASSERT_STRING_EQUAL(ph__config_get(l1, "greeting"), "hello");
	CU_ASSERT_EQUAL(ph__config_get_uint(l1, "max_line", &v), PH_OK);
	CU_ASSERT_EQUAL(v, 8192);
	CU_ASSERT_EQUAL(ph__config_get_uint(l1, "idle", &v), PH_OK);
	CU_ASSERT_EQUAL(v, 1800);
	CU_ASSERT_EQUAL(ph__config_get_uint(l1, "allow_plaintext", &v), PH_OK);
	CU_ASSERT_EQUAL(v, 1);
	CU_ASSERT_STRING_EQUAL(ph__config_get(l1, "tls"), "implicit");
	CU_ASSERT_PTR_NULL(ph__config_get(l1, "nope"));
	CU_ASSERT_EQUAL(ph__config_get_uint(l1, "nope", &v), PH_ENOTFOUND);
	/* [storage-maildir] etc. absent: every section is claimed. */
	CU_ASSERT_EQUAL(ph__config_check_sections(cfg, &err), PH_OK);
	ph__config_free(&cfg);
}

static void expect_plugin_error(const char *text, int line, const char *what)
{
	struct ph__config *cfg = load_ok(text);
	char *err = NULL, prefix[128];

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT(ph__config_validate_plugin(cfg, "imap4", imap_defs, &err) <
		  0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(err);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", cfg->path, line);
	if (strncmp(err, prefix, strlen(prefix)) != 0 ||
	    strstr(err, what) == NULL)
		fprintf(stderr, "\nunexpected error: %s\n", err);
	CU_ASSERT_NSTRING_EQUAL(err, prefix, strlen(prefix));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, what));
	free(err);
	ph__config_free(&cfg);
}

static void test_plugin_unknown_key(void)
{
	expect_plugin_error("[imap4]\nmax_line = 1k\nbogus = 1\n", 3,
			    "unknown key 'bogus' in [imap4]");
}

static void test_plugin_bad_value(void)
{
	expect_plugin_error("[imap4]\nmax_line = lots\n", 2,
			    "[imap4] max_line: bad value 'lots'");
}

static void test_plugin_listener_unknown_key(void)
{
	expect_plugin_error("[listener.x]\nprotocol = imap4\nlisten = "
			    "127.0.0.1:1\nfoo = bar\n",
			    4, "unknown key 'foo' in [listener.x]");
}

static void test_plugin_key_not_per_listener(void)
{
	expect_plugin_error("[listener.x]\nprotocol = imap4\nlisten = "
			    "127.0.0.1:1\nmax_line = 1k\n",
			    4, "only allowed in [imap4]");
}

static void test_plugin_listener_bad_value(void)
{
	expect_plugin_error("[listener.x]\nprotocol = imap4\nlisten = "
			    "127.0.0.1:1\nidle = soon\n",
			    4, "[listener.x] idle: bad value 'soon'");
}

static void test_unknown_section(void)
{
	struct ph__config *cfg = load_ok("[core]\n[imap44]\nx = 1\n");
	char *err = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT(ph__config_check_sections(cfg, &err) < 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(err);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2: unknown section [imap44]"));
	free(err);
	ph__config_free(&cfg);
}

static void test_unknown_key(void)
{
	expect_error("[core]\nworkers = 1\nworkres = 2\n", 3,
		     "unknown key 'workres' in [core]");
}

static void test_bad_value_uint(void)
{
	expect_error("[core]\n\nmax_connections = many\n", 3,
		     "[core] max_connections: bad value 'many'");
}

static void test_bad_value_time(void)
{
	expect_error("[core]\nidle_timeout = 5 minutes\n", 2,
		     "idle_timeout: bad value");
}

static void test_bad_value_enum(void)
{
	expect_error("[core]\nlog = file\n", 2,
		     "bad value 'file' (expected one of stderr, syslog)");
}

static void test_bad_workers(void)
{
	expect_error("[core]\nworkers = 0\n", 2, "[core] workers");
}

static void test_bad_tls_mode(void)
{
	expect_error("[listener.a]\nprotocol = echo\nlisten = 127.0.0.1:1\n"
		     "tls = sometimes\n",
		     4, "[listener.a] tls: bad value 'sometimes'");
}

static void test_missing_cert(void)
{
	expect_error("[listener.a]\nprotocol = echo\nlisten = 127.0.0.1:1\n"
		     "tls = implicit\nkey = /k.pem\n",
		     4, "tls = implicit needs both 'cert' and 'key'");
}

static void test_duplicate_listener(void)
{
	expect_error("[listener.a]\nprotocol = echo\nlisten = 127.0.0.1:1\n"
		     "\n[listener.a]\nprotocol = echo\n",
		     5, "duplicate section [listener.a] (first at line 1)");
}

static void test_duplicate_key(void)
{
	expect_error("[core]\nworkers = 1\nworkers = 2\n", 3,
		     "duplicate key 'workers'");
}

static void test_bad_address(void)
{
	expect_error("[listener.a]\nprotocol = echo\nlisten = 127.0.0.1:1, "
		     "localhost:143\n",
		     3, "bad address 'localhost:143'");
	expect_error("[listener.a]\nprotocol = echo\nlisten = ::1:143\n", 3,
		     "bad address '::1:143'");
	expect_error("[listener.a]\nprotocol = echo\nlisten = 127.0.0.1:0\n", 3,
		     "bad address");
	expect_error("[listener.a]\nprotocol = echo\nlisten = "
		     "127.0.0.1:65536\n",
		     3, "bad address");
	expect_error("[listener.a]\nprotocol = echo\nlisten = 1.2.3.4.5:1\n", 3,
		     "bad address");
}

static void test_address_reused(void)
{
	expect_error("[listener.a]\nprotocol = echo\nlisten = 127.0.0.1:1\n"
		     "[listener.b]\nprotocol = echo\nlisten = 127.0.0.1:1\n",
		     6, "already used by [listener.a]");
}

static void test_missing_protocol(void)
{
	expect_error("[core]\n[listener.a]\nlisten = 127.0.0.1:1\n", 2,
		     "missing 'protocol'");
}

static void test_syntax_error(void)
{
	expect_error("[core]\nworkers 2\n", 2, "syntax error");
	expect_error("[core\n", 1, "missing ']'");
}

static void test_key_outside_section(void)
{
	expect_error("workers = 2\n[core]\n", 1, "outside of a section");
}

static void test_missing_file(void)
{
	char *err = NULL;

	CU_ASSERT_PTR_NULL(ph__config_load("/nonexistent/posthorn.ini", &err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(err);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/posthorn.ini"));
	free(err);
}

static void test_parse_values(void)
{
	uint64_t n;
	static const char *const e[] = {"a", "b", NULL};

	CU_ASSERT_EQUAL(
	    ph__config_parse_value(PH_SETTING_SIZE, "10k", NULL, &n), PH_OK);
	CU_ASSERT_EQUAL(n, 10240);
	CU_ASSERT_EQUAL(ph__config_parse_value(PH_SETTING_SIZE, "2G", NULL, &n),
			PH_OK);
	CU_ASSERT_EQUAL(n, 2ull << 30);
	CU_ASSERT_EQUAL(ph__config_parse_value(PH_SETTING_SIZE, "2X", NULL, &n),
			PH_EINVAL);
	CU_ASSERT_EQUAL(ph__config_parse_value(
			    PH_SETTING_SIZE, "99999999999999999999G", NULL, &n),
			PH_EINVAL);
	CU_ASSERT_EQUAL(ph__config_parse_value(PH_SETTING_SIZE,
					       "18014398509481984k", NULL, &n),
			PH_EINVAL);
	CU_ASSERT_EQUAL(ph__config_parse_value(PH_SETTING_TIME, "1d", NULL, &n),
			PH_OK);
	CU_ASSERT_EQUAL(n, 86400);
	CU_ASSERT_EQUAL(ph__config_parse_value(PH_SETTING_TIME, "", NULL, &n),
			PH_EINVAL);
	CU_ASSERT_EQUAL(ph__config_parse_value(PH_SETTING_UINT, "-1", NULL, &n),
			PH_EINVAL);
	CU_ASSERT_EQUAL(ph__config_parse_value(PH_SETTING_BOOL, "On", NULL, &n),
			PH_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(
	    ph__config_parse_value(PH_SETTING_BOOL, "maybe", NULL, &n),
	    PH_EINVAL);
	CU_ASSERT_EQUAL(ph__config_parse_value(PH_SETTING_ENUM, "B", e, &n),
			PH_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(ph__config_parse_value(PH_SETTING_ENUM, "c", e, &n),
			PH_EINVAL);
}

static void test_print(void)
{
	struct ph__config *cfg = load_ok(good);
	char *buf = NULL;
	size_t len = 0;
	char *err = NULL;
	FILE *f = open_memstream(&buf, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(
	    ph__config_validate_plugin(cfg, "imap4", imap_defs, &err), PH_OK);
	ph__config_print(cfg, f);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "[core]\nplugin_dir = /p\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "max_connections = 10000\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "[imap4]\nmax_line = 8k\n"
					   "greeting = hello\nidle = 30m\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "greeting = per listener\n"));
	free(buf);
	ph__config_free(&cfg);
}

static CU_TestInfo tests[] = {
    {"good file", test_good},
    {"listener > plugin > default", test_plugin_fallback},
    {"plugin: unknown key", test_plugin_unknown_key},
    {"plugin: bad value", test_plugin_bad_value},
    {"plugin: unknown key in listener", test_plugin_listener_unknown_key},
    {"plugin: key not allowed per listener", test_plugin_key_not_per_listener},
    {"plugin: bad value in listener", test_plugin_listener_bad_value},
    {"unknown section", test_unknown_section},
    {"unknown key", test_unknown_key},
    {"bad uint", test_bad_value_uint},
    {"bad time", test_bad_value_time},
    {"bad enum", test_bad_value_enum},
    {"bad workers", test_bad_workers},
    {"bad tls mode", test_bad_tls_mode},
    {"missing cert for implicit TLS", test_missing_cert},
    {"duplicate listener", test_duplicate_listener},
    {"duplicate key", test_duplicate_key},
    {"bad address", test_bad_address},
    {"address used twice", test_address_reused},
    {"missing protocol", test_missing_protocol},
    {"syntax error", test_syntax_error},
    {"key outside a section", test_key_outside_section},
    {"missing file", test_missing_file},
    {"value parsing", test_parse_values},
    {"effective config print", test_print},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"config", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

PH_CUNIT_MAIN(suites)
