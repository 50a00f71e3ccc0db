/* Runs every CUnit suite: each tests/test_NAME.c defines suite_NAME(), which
 * adds its suite; the Makefile lists them in suites.inc. Exits non-zero when
 * any test fails. `test_run NAME...` runs only the named suites. */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#define SUITE(name) void suite_##name(void);
#include "suites.inc"
#undef SUITE

struct suite_entry {
	const char *name;
	void (*add)(void);
};

static const struct suite_entry suites[] = {
#define SUITE(name) { #name, suite_##name },
#include "suites.inc"
#undef SUITE
};

static int wanted(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
		if (wanted(suites[i].name, argc, argv))
			suites[i].add();
	CU_basic_set_mode(CU_BRM_NORMAL);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() +
	                  CU_get_number_of_tests_failed();
	unsigned ran = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	if (ran == 0) {
		fprintf(stderr, "test_run: no test ran\n");
		return 1;
	}
	return failed ? 1 : 0;
}
