/* C2SP signed notes with Ed25519 and C2SP tlog-checkpoints (DESIGN §5),
 * with OpenSSL libcrypto for Ed25519, SHA-256 and base64.
 *
 *   signer key   PRIVATE+KEY+<name>+<8 hex keyhash>+<base64(0x01 || seed)>
 *   verifier key <name>+<8 hex keyhash>+<base64(0x01 || public key)>
 *   keyhash      first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key)
 *   checkpoint   "<origin>\n<size>\n<base64 root>\n"
 *   signed note  body, "\n", then lines "— <name> <base64(keyhash || sig)>\n"
 *
 * Functions returning const char * return NULL on success, else a static
 * English reason. */
#ifndef LEDGER_NOTE_H
#define LEDGER_NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limits.h"

#define NOTE_SIGNATURES_MAX 100u  /* signature lines read from one note (C2SP: at least 16) */
#define NOTE_BYTES_MAX      65536u

typedef struct note_signer {
	char name[LEDGER_ORIGIN_BYTES_MAX + 1];
	uint32_t key_hash;
	uint8_t seed[32];
	uint8_t public_key[32];
} note_signer;

typedef struct note_verifier {
	char name[LEDGER_ORIGIN_BYTES_MAX + 1];
	uint32_t key_hash;
	uint8_t public_key[32];
} note_verifier;

typedef struct note_checkpoint {
	char origin[LEDGER_ORIGIN_BYTES_MAX + 1];
	uint64_t size;
	uint8_t root[LEDGER_HASH_BYTES];
} note_checkpoint;

/* Standard padded base64 of in[0..n) into out (cap bytes, NUL included),
 * with OpenSSL. Returns the text length, or 0 when it does not fit. */
size_t note_b64_encode(char *out, size_t cap, const uint8_t *in, size_t n);

/* Decode canonical padded base64 in[0..n): writes the first cap decoded
 * bytes to out and the whole decoded length to *out_bytes; false when the
 * text is not canonical base64. */
bool note_b64_decode(uint8_t *out, size_t cap, size_t *out_bytes,
                     const char *in, size_t n);

/* Make a new Ed25519 key named name (a valid origin) from OpenSSL's RNG. */
const char *note_signer_generate(note_signer *out, const char *name);

/* Write the signer key text (no newline) into buf of cap bytes. Returns the
 * length, or 0 when cap is too small. */
size_t note_signer_format(char *buf, size_t cap, const note_signer *s);

/* Parse signer key text; surrounding white space is ignored. Checks that the
 * key hash matches the name and key. */
const char *note_signer_parse(note_signer *out, const char *text, size_t n);

/* The verifier key of a signer. */
void note_verifier_of(note_verifier *out, const note_signer *s);

/* Write the verifier key text (no newline); length or 0 as above. */
size_t note_verifier_format(char *buf, size_t cap, const note_verifier *v);

/* Parse verifier key text; surrounding white space is ignored. */
const char *note_verifier_parse(note_verifier *out, const char *text, size_t n);

/* Write the signed checkpoint note for (origin = s->name, size, root) into
 * buf of cap bytes; returns its length or 0 when it does not fit. */
size_t note_sign_checkpoint(char *buf, size_t cap, const note_signer *s,
                            uint64_t size, const uint8_t root[LEDGER_HASH_BYTES]);

/* Open a signed checkpoint note: the text must be valid UTF-8 without
 * control characters but '\n', its body a well-formed checkpoint (extension
 * lines allowed and ignored), and at least one signature line must verify
 * under v (name and key hash match). Signature lines by other keys are
 * ignored; a line with v's name and key hash that fails verification is an
 * error; more than NOTE_SIGNATURES_MAX lines is an error. The origin must be
 * v's name. */
const char *note_open_checkpoint(note_checkpoint *out, const char *note,
                                 size_t n, const note_verifier *v);

#endif
