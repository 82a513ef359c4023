/* tests/support/cunit-main.h - one main() for every CUnit suite:
 *
 *     static CU_TestInfo tests[] = {{"name", fn}, CU_TEST_INFO_NULL};
 *     static CU_SuiteInfo suites[] = {{"suite", NULL, NULL, NULL, NULL,
 *                                      tests}, CU_SUITE_INFO_NULL};
 *     PH_CUNIT_MAIN(suites)
 *
 * Exits non-zero when any assertion failed, so ctest sees it. */
#ifndef PH_TEST_CUNIT_MAIN_H
#define PH_TEST_CUNIT_MAIN_H

#include <CUnit/Basic.h>
#include <stdlib.h>

#define PH_CUNIT_MAIN(suites)                                                  \
	int main(void)                                                         \
	{                                                                      \
		unsigned failed;                                               \
		if (CU_initialize_registry() != CUE_SUCCESS)                   \
			return 2;                                              \
		if (CU_register_suites(suites) != CUE_SUCCESS) {               \
			CU_cleanup_registry();                                 \
			return 2;                                              \
		}                                                              \
		CU_basic_set_mode(CU_BRM_VERBOSE);                             \
		CU_basic_run_tests();                                          \
		failed = CU_get_number_of_failures() +                         \
			 CU_get_number_of_tests_failed();                      \
		CU_cleanup_registry();                                         \
		return failed == 0 ? 0 : 1;                                    \
	}

#endif
