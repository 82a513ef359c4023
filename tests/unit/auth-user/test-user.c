/* Unit tests for core/user.c: ph_user records and their wire form. */
#include <stdlib.h>
#include <string.h>
#include "cunit-main.h"
#include "core/user.h"

static void test_set_get(void)
{
	ph_user *u = ph__user_create();

	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	CU_ASSERT_EQUAL(ph__user_set(u, "user", "alice"), PH_OK);
	CU_ASSERT_EQUAL(ph__user_set(u, "home", "/home/alice"), PH_OK);
	CU_ASSERT_STRING_EQUAL(ph__user_get(u, "user"), "alice");
	CU_ASSERT_STRING_EQUAL(ph__user_get(u, "home"), "/home/alice");
	CU_ASSERT_PTR_NULL(ph__user_get(u, "mail"));
	/* setting again replaces */
	CU_ASSERT_EQUAL(ph__user_set(u, "home", "/srv/a"), PH_OK);
	CU_ASSERT_STRING_EQUAL(ph__user_get(u, "home"), "/srv/a");
	ph__user_destroy(&u);
	CU_ASSERT_PTR_NULL(u);
}

static void test_bad_keys(void)
{
	ph_user *u = ph__user_create();

	CU_ASSERT_EQUAL(ph__user_set(u, "", "x"), PH_EINVAL);
	CU_ASSERT_EQUAL(ph__user_set(u, "a=b", "x"), PH_EINVAL);
	CU_ASSERT_EQUAL(ph__user_set(u, "a\tb", "x"), PH_EINVAL);
	CU_ASSERT_EQUAL(ph__user_set(u, "a\nb", "x"), PH_EINVAL);
	CU_ASSERT_EQUAL(ph__user_set(u, "k", "x\ty"), PH_EINVAL);
	CU_ASSERT_EQUAL(ph__user_set(u, "k", "x\ny"), PH_EINVAL);
	CU_ASSERT_EQUAL(ph__user_set(u, NULL, "x"), PH_EINVAL);
	CU_ASSERT_EQUAL(ph__user_set(u, "k", NULL), PH_EINVAL);
	/* '=' is fine in a value */
	CU_ASSERT_EQUAL(ph__user_set(u, "k", "a=b"), PH_OK);
	ph__user_destroy(&u);
}

static void test_round_trip(void)
{
	ph_user *u = ph__user_create(), *v;
	char *s;

	ph__user_set(u, "user", "alice");
	ph__user_set(u, "mail", "/var/vmail/alice/Maildir");
	ph__user_set(u, "empty", "");
	ph__user_set(u, "eq", "x=y=z");
	s = ph__user_serialize(u);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(
	    s, "user=alice\tmail=/var/vmail/alice/Maildir\tempty=\teq=x=y=z");
	v = ph__user_deserialize(s, strlen(s));
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(ph__user_get(v, "user"), "alice");
	CU_ASSERT_STRING_EQUAL(ph__user_get(v, "mail"),
			       "/var/vmail/alice/Maildir");
	CU_ASSERT_STRING_EQUAL(ph__user_get(v, "empty"), "");
	CU_ASSERT_STRING_EQUAL(ph__user_get(v, "eq"), "x=y=z");
	free(s);
	ph__user_destroy(&u);
	ph__user_destroy(&v);
}

static void test_empty_record(void)
{
	ph_user *u = ph__user_create(), *v;
	char *s = ph__user_serialize(u);

	CU_ASSERT_STRING_EQUAL(s, "");
	v = ph__user_deserialize(s, 0);
	CU_ASSERT_PTR_NOT_NULL(v);
	CU_ASSERT_PTR_NULL(ph__user_get(v, "user"));
	free(s);
	ph__user_destroy(&u);
	ph__user_destroy(&v);
}

static void test_deserialize_missing_eq(void)
{
	CU_ASSERT_PTR_NULL(ph__user_deserialize("user=a\tnoeq", 11));
}

static void test_deserialize_empty_key(void)
{
	CU_ASSERT_PTR_NULL(ph__user_deserialize("=x", 2));
}

static void test_deserialize_nul(void)
{
	CU_ASSERT_PTR_NULL(ph__user_deserialize("user=a\0b", 8));
}

static void test_deserialize_duplicate(void)
{
	CU_ASSERT_PTR_NULL(ph__user_deserialize("a=1\ta=2", 7));
}

static void test_deserialize_trailing_tab(void)
{
	CU_ASSERT_PTR_NULL(ph__user_deserialize("a=1\t", 4));
}

static void test_deserialize_newline(void)
{
	CU_ASSERT_PTR_NULL(ph__user_deserialize("a=1\nb", 5));
}

static CU_TestInfo tests[] = {
    {"set and get", test_set_get},
    {"bad keys and values", test_bad_keys},
    {"serialise round trip", test_round_trip},
    {"empty record", test_empty_record},
    {"deserialise: field without =", test_deserialize_missing_eq},
    {"deserialise: empty key", test_deserialize_empty_key},
    {"deserialise: NUL", test_deserialize_nul},
    {"deserialise: duplicate key", test_deserialize_duplicate},
    {"deserialise: trailing tab", test_deserialize_trailing_tab},
    {"deserialise: newline in value", test_deserialize_newline},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"user", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
