/* protobuf-c encoding and decoding of stored records. Decoded messages live
 * in an arena; packing writes into a caller-owned growable buffer. */
#ifndef LEDGER_CODEC_H
#define LEDGER_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "annals.pb-c.h"
#include "arena.h"

typedef struct codec_buf {
	uint8_t *data;
	size_t bytes;      /* used */
	size_t cap;
} codec_buf;

void codec_buf_free(codec_buf *b);

/* Pack m into b (replacing its content); false when out of memory. */
bool codec_pack(codec_buf *b, const ProtobufCMessage *m);

/* Decode stored bytes; NULL when they are not a valid message. */
Annals__Envelope *codec_envelope_decode(arena *a, const void *bytes, size_t n);
Annals__Body *codec_body_decode(arena *a, const void *bytes, size_t n);

/* Read one protobuf wire varint at *p (before end) and move *p past it;
 * false when it runs past end or over 64 bits. */
bool codec_wire_varint(uint64_t *out, const uint8_t **p, const uint8_t *end);

/* recorded_at_us (field 2) of stored envelope bytes, read from the wire
 * format without decoding the rest; false when the bytes end early. */
bool codec_envelope_recorded_at(uint64_t *out, const void *bytes, size_t n);

/* True when m packs to exactly these bytes (DESIGN §5: a reader of hashed
 * bytes refuses a record that does not re-encode to the same bytes). */
bool codec_canonical(arena *a, const ProtobufCMessage *m,
                     const void *bytes, size_t n);

#endif
