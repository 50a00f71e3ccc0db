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

bool codec_wire_varint(uint64_t *out, const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

bool codec_envelope_recorded_at(uint64_t *out, const void *bytes, size_t n)
{
	const uint8_t *p = bytes, *end = p + n;
	uint64_t tag, v;

	*out = 0;
	/* Walk the fields: at most one per remaining byte. */
	while (p < end && codec_wire_varint(&tag, &p, end)) {
		switch (tag & 7) {
		case 0:
			if (!codec_wire_varint(&v, &p, end))
				return false;
			if (tag >> 3 == 2) {
				*out = v;
				return true;
			}
			break;
		case 1: if ((size_t)(end - p) < 8) return false; p += 8; break;
		case 5: if ((size_t)(end - p) < 4) return false; p += 4; break;
		case 2:
			if (!codec_wire_varint(&v, &p, end) || v > (uint64_t)(end - p))
				return false;
			p += v;
			break;
		default:
			return false;
		}
	}
	return p == end;     /* no field 2: recorded_at is 0 */
}

bool codec_canonical(arena *a, const ProtobufCMessage *m,
                     const void *bytes, size_t n)
{
	if (protobuf_c_message_get_packed_size(m) != n)
		return false;
	uint8_t *p = arena_alloc(a, n);
	return p && protobuf_c_message_pack(m, p) == n && memcmp(p, bytes, n) == 0;
}
