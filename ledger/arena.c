/* Bump allocator with chunk reuse. */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

struct arena_chunk {
	arena_chunk *next;
	size_t bytes;              /* usable bytes in data */
	alignas(max_align_t) unsigned char data[];
};

static void *arena_pb_alloc(void *ctx, size_t n)
{
	return arena_alloc(ctx, n);
}

static void arena_pb_free(void *ctx, void *p)
{
	(void)ctx;     /* freed all at once by arena_reset */
	(void)p;
}

void arena_init(arena *a)
{
	a->head = NULL;
	a->spare = NULL;
	a->used = 0;
	a->pb.alloc = arena_pb_alloc;
	a->pb.free = arena_pb_free;
	a->pb.allocator_data = a;
}

static arena_chunk *arena_chunk_new(arena *a, size_t n)
{
	arena_chunk *c = a->spare;

	if (c && c->bytes >= n) {
		a->spare = c->next;
		return c;
	}
	size_t bytes = n > ARENA_CHUNK_BYTES ? n : ARENA_CHUNK_BYTES;
	c = malloc(sizeof *c + bytes);
	if (c)
		c->bytes = bytes;
	return c;
}

void *arena_alloc(arena *a, size_t n)
{
	const size_t align = alignof(max_align_t);
	size_t at = (a->used + align - 1) & ~(align - 1);

	if (n == 0)
		n = 1;
	if (!a->head || at + n > a->head->bytes) {
		arena_chunk *c = arena_chunk_new(a, n);
		if (!c)
			return NULL;
		c->next = a->head;
		a->head = c;
		at = 0;
	}
	a->used = at + n;
	return a->head->data + at;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

void arena_reset(arena *a)
{
	while (a->head) {
		arena_chunk *c = a->head;
		a->head = c->next;
		c->next = a->spare;
		a->spare = c;
	}
	a->used = 0;
}

void arena_free(arena *a)
{
	arena_reset(a);
	while (a->spare) {
		arena_chunk *c = a->spare;
		a->spare = c->next;
		free(c);
	}
}

int array_reserve(void **p, size_t *cap, size_t need, size_t size, size_t max)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap * 2 : 1024;
	if (n > max || n < need || n > SIZE_MAX / size)
		return -1;
	void *q = realloc(*p, n * size);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}
