/* A bump allocator for per-record scratch memory: reset after each record,
 * so the append loop does not call malloc once its chunks are warm. */
#ifndef LEDGER_ARENA_H
#define LEDGER_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#define ARENA_CHUNK_BYTES (32u * 1024u)   /* small: many arenas live for one call */

typedef struct arena_chunk arena_chunk;

typedef struct arena {
	arena_chunk *head;      /* chunk being filled */
	arena_chunk *spare;     /* chunks kept for reuse after a reset */
	size_t used;            /* bytes used in head */
	ProtobufCAllocator pb;  /* protobuf-c allocator drawing from this arena */
} arena;

void arena_init(arena *a);

/* n bytes aligned for any type, or NULL when out of memory. Valid until the
 * next arena_reset or arena_free. */
void *arena_alloc(arena *a, size_t n);

/* Copy n bytes and a NUL. */
char *arena_strndup(arena *a, const char *s, size_t n);

/* Forget every allocation; keeps the chunks. */
void arena_reset(arena *a);

/* Release every chunk; a may be reused after arena_init. */
void arena_free(arena *a);

/* Make the malloc'd array *p (*cap elements of `size` bytes) hold at least
 * `need`, doubling from 1024 elements, never past `max`. Returns 0, or -1
 * (p and cap unchanged) when out of memory or past max. */
int array_reserve(void **p, size_t *cap, size_t need, size_t size, size_t max);

#endif
