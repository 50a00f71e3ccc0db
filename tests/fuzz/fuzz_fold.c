/* libFuzzer target: decoding a stored projection fold (fold_decode), then
 * using it as status.c does: encode it again, compose it with itself. A
 * decoded fold must encode to a buffer of exactly fold_encoded_bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond) do { if (!(cond)) { \
	fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, \
	        __FILE__, __LINE__); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fold f, g;

	fold_init(&f);
	fold_init(&g);
	if (fold_decode(&f, data, size)) {
		size_t n = fold_encoded_bytes(&f);
		uint8_t *buf = malloc(n ? n : 1);
		FUZZ_ASSERT(buf != NULL);
		FUZZ_ASSERT(fold_encode(buf, n, &f) == n);
		/* What was encoded decodes, and encodes to the same bytes. */
		FUZZ_ASSERT(fold_decode(&g, buf, n));
		uint8_t *again = malloc(n ? n : 1);
		FUZZ_ASSERT(again && fold_encode(again, n, &g) == n &&
		            memcmp(again, buf, n) == 0);
		free(again);
		free(buf);
		FUZZ_ASSERT(fold_compose(&g, &f));
		for (size_t i = 0; i < g.lists_count; i++)
			(void)fold_list_on(&g.lists[i]);
	}
	fold_free(&f);
	fold_free(&g);
	return 0;
}
