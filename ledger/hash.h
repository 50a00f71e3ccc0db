/* SHA-256 and HMAC-SHA-256 from OpenSSL with the digest fetched once, so
 * the append and verify loops allocate nothing per call. */
#ifndef LEDGER_HASH_H
#define LEDGER_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "limits.h"

typedef struct hasher {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
	EVP_MAC *mac;
	EVP_MAC_CTX *mac_ctx;        /* keyed by hasher_set_key */
} hasher;

/* Fetch SHA-256 and HMAC; returns 0 on success, -1 when OpenSSL fails. */
int hasher_init(hasher *h);

/* Fetch SHA-256 only (no HMAC: hasher_set_key and hasher_hmac must not be
 * called), for the Merkle and read paths; returns 0 or -1. */
int hasher_init_sha256(hasher *h);

/* Free what hasher_init or hasher_init_sha256 made; a zeroed h is fine. */
void hasher_free(hasher *h);

/* SHA-256(prefix || data); prefix may be NULL with prefix_bytes 0. */
void hasher_sha256(hasher *h, uint8_t out[LEDGER_HASH_BYTES],
                   const void *prefix, size_t prefix_bytes,
                   const void *data, size_t bytes);

/* Key HMAC-SHA-256; returns 0 or -1. */
int hasher_set_key(hasher *h, const uint8_t *key, size_t key_bytes);

/* HMAC-SHA-256(key, data) with the key set by hasher_set_key. */
void hasher_hmac(hasher *h, uint8_t out[LEDGER_HASH_BYTES],
                 const void *data, size_t bytes);

/* Lower-case hex of bytes into out (2 * bytes + 1 with the NUL). */
void hex_encode(char *out, const uint8_t *bytes, size_t n);

/* Parse exactly 2 * n hex digits (either case); returns 0 or -1. */
int hex_decode(uint8_t *out, size_t n, const char *hex, size_t hex_bytes);

#endif
