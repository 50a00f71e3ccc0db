/* Digests with a pre-fetched EVP_MD. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "hash.h"

int hasher_init(hasher *h)
{
	memset(h, 0, sizeof *h);
	h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	h->ctx = EVP_MD_CTX_new();
	h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	h->mac_ctx = h->mac ? EVP_MAC_CTX_new(h->mac) : NULL;
	if (!h->md || !h->ctx || !h->mac || !h->mac_ctx) {
		hasher_free(h);
		return -1;
	}
	return 0;
}

int hasher_init_sha256(hasher *h)
{
	memset(h, 0, sizeof *h);
	h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	h->ctx = EVP_MD_CTX_new();
	if (!h->md || !h->ctx) {
		hasher_free(h);
		return -1;
	}
	return 0;
}

void hasher_free(hasher *h)
{
	EVP_MAC_CTX_free(h->mac_ctx);
	EVP_MAC_free(h->mac);
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	memset(h, 0, sizeof *h);
}

void hasher_sha256(hasher *h, uint8_t out[LEDGER_HASH_BYTES],
                   const void *prefix, size_t prefix_bytes,
                   const void *data, size_t bytes)
{
	unsigned int n = 0;
	int ok = EVP_DigestInit_ex(h->ctx, h->md, NULL) &&
	         (prefix_bytes == 0 || EVP_DigestUpdate(h->ctx, prefix, prefix_bytes)) &&
	         EVP_DigestUpdate(h->ctx, data, bytes) &&
	         EVP_DigestFinal_ex(h->ctx, out, &n);

	/* SHA-256 with a fetched digest cannot fail short of a broken
	 * OpenSSL; a wrong hash would be worse than stopping. */
	assert(ok && n == LEDGER_HASH_BYTES);
	(void)ok;
}

int hasher_set_key(hasher *h, const uint8_t *key, size_t key_bytes)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	assert(h->mac_ctx);          /* not a hasher_init_sha256 hasher */
	return EVP_MAC_init(h->mac_ctx, key, key_bytes, params) ? 0 : -1;
}

void hasher_hmac(hasher *h, uint8_t out[LEDGER_HASH_BYTES],
                 const void *data, size_t bytes)
{
	size_t n = 0;

	assert(h->mac_ctx);
	/* NULL key re-initializes with the key already set. */
	int ok = EVP_MAC_init(h->mac_ctx, NULL, 0, NULL) &&
	         EVP_MAC_update(h->mac_ctx, data, bytes) &&
	         EVP_MAC_final(h->mac_ctx, out, &n, LEDGER_HASH_BYTES);

	assert(ok && n == LEDGER_HASH_BYTES);
	(void)ok;
}

void hex_encode(char *out, const uint8_t *bytes, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int hex_decode(uint8_t *out, size_t n, const char *hex, size_t hex_bytes)
{
	if (hex_bytes != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
