/* libFuzzer target: decoding a stored body (codec_body_decode, then
 * codec_canonical), as verify and `show` do. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond) do { if (!(cond)) { \
	fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, \
	        __FILE__, __LINE__); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	arena a;

	arena_init(&a);
	Annals__Body *body = codec_body_decode(&a, data, size);
	if (body && codec_canonical(&a, &body->base, data, size)) {
		codec_buf b = { 0 };
		FUZZ_ASSERT(codec_pack(&b, &body->base));
		FUZZ_ASSERT(b.bytes == size && (size == 0 || memcmp(b.data, data, size) == 0));
		codec_buf_free(&b);
		volatile size_t sum = body->salt.len + strlen(body->summary) +
		                      strlen(body->instrument) + strlen(body->reason);
		for (size_t i = 0; i < body->n_sources; i++)
			sum += strlen(body->sources[i]->url);
		for (size_t i = 0; i < body->n_participants; i++)
			sum += strlen(body->participants[i]->name);
		(void)sum;
	}
	arena_free(&a);
	return 0;
}
