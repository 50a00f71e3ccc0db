/* protobuf-c glue. */
#include <stdlib.h>
#include <string.h>

#include "codec.h"

void codec_buf_free(codec_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->bytes = b->cap = 0;
}

bool codec_pack(codec_buf *b, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);

	if (n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < n)
			cap *= 2;
		uint8_t *p = realloc(b->data, cap);
		if (!p)
			return false;
		b->data = p;
		b->cap = cap;
	}
	b->bytes = protobuf_c_message_pack(m, b->data);
	return b->bytes == n;
}

Annals__Envelope *codec_envelope_decode(arena *a, const void *bytes, size_t n)
{
	return annals__envelope__unpack(&a->pb, n, bytes);
}

Annals__Body *codec_body_decode(arena *a, const void *bytes, size_t n)
{
	return annals__body__unpack(&a->pb, n, bytes);
}

bool codec_canonical(arena *a, const ProtobufCMessage *m,
                     const void *bytes, size_t n)
{
	if (protobuf_c_message_get_packed_size(m) != n)
		return false;
	uint8_t *p = arena_alloc(a, n);
	return p && protobuf_c_message_pack(m, p) == n && memcmp(p, bytes, n) == 0;
}
