/* libFuzzer target: decoding a stored envelope as verify and `annals
 * check` do (codec_envelope_decode, then codec_canonical), with the
 * invariant of DESIGN §5 that a canonical record re-encodes to its own
 * bytes. */
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
	Annals__Envelope *env = codec_envelope_decode(&a, data, size);
	if (env && codec_canonical(&a, &env->base, data, size)) {
		codec_buf b = { 0 };
		FUZZ_ASSERT(codec_pack(&b, &env->base));
		FUZZ_ASSERT(b.bytes == size && (size == 0 || memcmp(b.data, data, size) == 0));
		codec_buf_free(&b);
		/* Read every field a verifier reads. */
		volatile size_t sum = env->prev_hash.len + env->stream_prev.len +
		                      env->heads_root.len + env->body_hash.len +
		                      env->content_mac.len + env->n_aliases +
		                      env->n_external_ids;
		if (env->date)
			sum += strlen(env->date->edtf);
		for (size_t i = 0; i < env->n_aliases; i++)
			sum += strlen(env->aliases[i]);
		sum += strlen(env->id) + strlen(env->country) +
		       strlen(env->organization) + strlen(env->list);
		(void)sum;
	}
	arena_free(&a);
	return 0;
}
