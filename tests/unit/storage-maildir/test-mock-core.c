/* Unit tests of tests/support/mock-core.c, the core stand-in plugin tests
 * use. */
#include "cunit-main.h"
#include "mock-core.h"

#include <string.h>

static const struct ph_setting_def defs[] = {
    {.key = "size", .type = PH_SETTING_SIZE, .default_value = "4k"},
    {.key = "flag", .type = PH_SETTING_BOOL, .default_value = "yes"},
    {.key = "name", .type = PH_SETTING_STRING, .default_value = "dflt"},
    {0},
};

static void test_config(void)
{
	static const char *const kv[] = {"name", "given", "t", "2m", NULL};
	const struct ph_core_api *api = ph_mock_core_api();
	ph_config *cfg = ph_mock_config_create(kv, defs);
	uint64_t v = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(api->config_get(cfg, "name"), "given");
	CU_ASSERT_PTR_NULL(api->config_get(cfg, "missing"));
	CU_ASSERT_EQUAL(api->config_get_uint(cfg, "size", &v), PH_OK);
	CU_ASSERT_EQUAL(v, 4096);
	CU_ASSERT_EQUAL(api->config_get_uint(cfg, "flag", &v), PH_OK);
	CU_ASSERT_EQUAL(v, 1);
	CU_ASSERT_EQUAL(api->config_get_uint(cfg, "missing", &v), PH_ENOTFOUND);
	ph_mock_config_destroy(&cfg);
	CU_ASSERT_PTR_NULL(cfg);
}

static void test_user(void)
{
	const struct ph_core_api *api = ph_mock_core_api();
	ph_user *u = ph_mock_user_create("alice");

	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	CU_ASSERT_STRING_EQUAL(api->user_get(u, "user"), "alice");
	CU_ASSERT_EQUAL(api->user_set(u, "mail", "/m"), PH_OK);
	CU_ASSERT_EQUAL(api->user_set(u, "mail", "/n"), PH_OK);
	CU_ASSERT_STRING_EQUAL(api->user_get(u, "mail"), "/n");
	CU_ASSERT_EQUAL(api->user_set(u, "a=b", "x"), PH_EINVAL);
	CU_ASSERT_EQUAL(api->user_set(u, "k", "x\ty"), PH_EINVAL);
	CU_ASSERT_PTR_NULL(api->user_get(u, "home"));
	ph_mock_user_destroy(&u);
}

static void test_log(void)
{
	const struct ph_core_api *api = ph_mock_core_api();

	ph_mock_log_reset();
	ph_mock_log_quiet(1);
	api->log(PH_LOG_WARNING, "hello %d", 42);
	ph_mock_log_quiet(0);
	CU_ASSERT_EQUAL(ph_mock_log_count(PH_LOG_WARNING), 1);
	CU_ASSERT_STRING_EQUAL(ph_mock_log_last(), "hello 42");
	CU_ASSERT_STRING_EQUAL(api->strerror(PH_ENOTFOUND), "not found");
	CU_ASSERT_PTR_NULL(api->timer_add(1, 0, NULL, NULL));
}

static CU_TestInfo tests[] = {
    {"config", test_config},
    {"user", test_user},
    {"log", test_log},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"mock-core", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
