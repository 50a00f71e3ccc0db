/* C2SP signed notes and tlog-checkpoints with OpenSSL libcrypto. Parsing
 * is strict where the formats have one right spelling (base64, decimal
 * sizes, key hashes are canonical) and follows golang.org/x/mod/sumdb/note
 * everywhere else, so that notes signed by either side open on the other. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "note.h"

#define NOTE_ALG_ED25519   0x01    /* signed-note algorithm byte */
#define NOTE_KEY_BYTES     32u     /* Ed25519 seed or public key */
#define NOTE_SIG_BYTES     64u     /* Ed25519 signature */
#define NOTE_KEY_B64_BYTES 44u     /* base64 of alg byte + 32 key bytes */
#define NOTE_SIG_B64_BYTES 92u     /* base64 of 4-byte key hash + signature */
#define NOTE_ROOT_B64_BYTES 44u    /* base64 of a 32-byte root */
#define NOTE_SIZE_DIGITS_MAX 20u   /* UINT64_MAX has 20 decimal digits */
/* Enough for "origin\nsize\nroot\n" when we write a checkpoint body. */
#define NOTE_BODY_BYTES_MAX (LEDGER_ORIGIN_BYTES_MAX + 1 + \
                             NOTE_SIZE_DIGITS_MAX + 1 + NOTE_ROOT_B64_BYTES + 1)
/* Decoding goes through this many base64 characters at a time, so a long
 * signature by some unknown key needs no buffer of its own size. */
#define NOTE_B64_CHUNK_CHARS 64u

static const char note_sig_prefix[] = "\xe2\x80\x94 ";  /* U+2014, space */
static const char note_skey_prefix[] = "PRIVATE+KEY+";

_Static_assert(NOTE_SIGNATURES_MAX >= 16, "C2SP: accept at least 16 signatures");
_Static_assert(NOTE_B64_CHUNK_CHARS % 4 == 0, "whole base64 quanta");

/* A key name is a checkpoint origin (DESIGN §5): 1 to 255 bytes of
 * printable ASCII, no '+' (the key text separator) and no space (the
 * signature line separator). */
static bool note_name_valid(const char *name, size_t n)
{
	if (n == 0 || n > LEDGER_ORIGIN_BYTES_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] <= 0x20 || name[i] >= 0x7f || name[i] == '+')
			return false;
	return true;
}

/* First 4 bytes, big-endian, of SHA-256(name || '\n' || 0x01 || key). */
static bool note_key_hash(uint32_t *out, const char *name,
                          const uint8_t pub[NOTE_KEY_BYTES])
{
	static const uint8_t sep[2] = { '\n', NOTE_ALG_ED25519 };
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int md_bytes = 0;
	EVP_MD_CTX *ctx;
	bool ok;

	ctx = EVP_MD_CTX_new();
	ok = ctx != NULL &&
	     EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, name, strlen(name)) == 1 &&
	     EVP_DigestUpdate(ctx, sep, sizeof sep) == 1 &&
	     EVP_DigestUpdate(ctx, pub, NOTE_KEY_BYTES) == 1 &&
	     EVP_DigestFinal_ex(ctx, md, &md_bytes) == 1 && md_bytes >= 4;
	EVP_MD_CTX_free(ctx);
	if (ok)
		*out = (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 |
		       (uint32_t)md[2] << 8 | md[3];
	return ok;
}

static bool note_ed25519_public(uint8_t pub[NOTE_KEY_BYTES],
                                const uint8_t seed[NOTE_KEY_BYTES])
{
	size_t pub_bytes = NOTE_KEY_BYTES;
	EVP_PKEY *key;
	bool ok;

	key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	                                   NOTE_KEY_BYTES);
	ok = key != NULL &&
	     EVP_PKEY_get_raw_public_key(key, pub, &pub_bytes) == 1 &&
	     pub_bytes == NOTE_KEY_BYTES;
	EVP_PKEY_free(key);
	return ok;
}

static bool note_ed25519_sign(uint8_t sig[NOTE_SIG_BYTES],
                              const uint8_t seed[NOTE_KEY_BYTES],
                              const void *msg, size_t msg_bytes)
{
	size_t sig_bytes = NOTE_SIG_BYTES;
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY *key;
	bool ok;

	key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	                                   NOTE_KEY_BYTES);
	ok = key != NULL && (ctx = EVP_MD_CTX_new()) != NULL &&
	     EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
	     EVP_DigestSign(ctx, sig, &sig_bytes, msg, msg_bytes) == 1 &&
	     sig_bytes == NOTE_SIG_BYTES;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return ok;
}

static bool note_ed25519_verify(const uint8_t pub[NOTE_KEY_BYTES],
                                const void *msg, size_t msg_bytes,
                                const uint8_t sig[NOTE_SIG_BYTES])
{
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY *key;
	bool ok;

	key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	                                  NOTE_KEY_BYTES);
	ok = key != NULL && (ctx = EVP_MD_CTX_new()) != NULL &&
	     EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
	     EVP_DigestVerify(ctx, sig, NOTE_SIG_BYTES, msg, msg_bytes) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return ok;
}

/* Standard padded base64 of in into out (cap bytes, NUL included).
 * Returns the text length, or 0 when it does not fit. */
size_t note_b64_encode(char *out, size_t cap, const uint8_t *in, size_t n)
{
	size_t len = (n + 2) / 3 * 4;

	if (n > INT32_MAX / 2 || cap < len + 1)
		return 0;
	if (EVP_EncodeBlock((unsigned char *)out, in, (int)n) != (int)len)
		return 0;
	return len;
}

/* Canonical padded standard base64 only: EVP_DecodeBlock by itself skips
 * white space, counts padding as data and ignores stray low bits, so the
 * alphabet and padding are checked here and each decoded chunk must
 * encode back to the same text. */
static bool note_b64_syntax(const char *in, size_t n, size_t *pad)
{
	if (n == 0 || n % 4 != 0)
		return false;
	*pad = in[n - 1] == '=' ? (in[n - 2] == '=' ? 2 : 1) : 0;
	for (size_t i = 0; i < n - *pad; i++) {
		char c = in[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return false;
	}
	return true;
}

/* Decode canonical base64 text in[0..n). Writes the first cap decoded
 * bytes to out and the full decoded length to *out_bytes. */
bool note_b64_decode(uint8_t *out, size_t cap, size_t *out_bytes,
                     const char *in, size_t n)
{
	uint8_t bin[NOTE_B64_CHUNK_CHARS / 4 * 3];
	char again[NOTE_B64_CHUNK_CHARS + 1];
	size_t pad, total = 0;

	if (!note_b64_syntax(in, n, &pad))
		return false;
	for (size_t at = 0; at < n; at += NOTE_B64_CHUNK_CHARS) {
		size_t chars = n - at < NOTE_B64_CHUNK_CHARS ?
		               n - at : NOTE_B64_CHUNK_CHARS;
		size_t bytes = chars / 4 * 3;
		int got = EVP_DecodeBlock(bin, (const unsigned char *)in + at,
		                          (int)chars);

		if (got != (int)bytes)
			return false;
		if (at + chars == n)
			bytes -= pad;
		if (note_b64_encode(again, sizeof again, bin, bytes) != chars ||
		    memcmp(again, in + at, chars) != 0)
			return false;
		for (size_t i = 0; i < bytes && total + i < cap; i++)
			out[total + i] = bin[i];
		total += bytes;
	}
	*out_bytes = total;
	return true;
}

/* Exactly 8 hex digits; either case, as Go's strconv.ParseUint takes. */
static bool note_hex32_parse(uint32_t *out, const char *s, size_t n)
{
	uint32_t v = 0;

	if (n != 8)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

static bool note_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	       c == '\v' || c == '\f';
}

/* Narrow [*s, *s + *n) to drop surrounding white space. */
static void note_trim(const char **s, size_t *n)
{
	while (*n > 0 && note_is_space((*s)[0])) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && note_is_space((*s)[*n - 1]))
		(*n)--;
}

/* Split "<name>+<hex8>+<base64(0x01 || 32 bytes)>", the tail of both key
 * texts. Base64 may itself hold '+', so only the first two count. */
static const char *note_key_fields(char name[LEDGER_ORIGIN_BYTES_MAX + 1],
                                   uint32_t *hash,
                                   uint8_t key[NOTE_KEY_BYTES],
                                   const char *s, size_t n)
{
	uint8_t raw[1 + NOTE_KEY_BYTES];
	const char *p1, *p2;
	size_t raw_bytes = 0;
	const char *err = NULL;

	p1 = memchr(s, '+', n);
	p2 = p1 ? memchr(p1 + 1, '+', n - (size_t)(p1 + 1 - s)) : NULL;
	if (p2 == NULL)
		return "key text is not name+hash+key";
	if (!note_name_valid(s, (size_t)(p1 - s)))
		return "key name is not 1 to 255 printable ASCII bytes without '+'";
	if (!note_hex32_parse(hash, p1 + 1, (size_t)(p2 - p1 - 1)))
		return "key hash is not 8 hex digits";
	if (!note_b64_decode(raw, sizeof raw, &raw_bytes, p2 + 1,
	                     n - (size_t)(p2 + 1 - s)) ||
	    raw_bytes != sizeof raw) {
		err = "key is not base64 of 33 bytes";
		goto out;
	}
	if (raw[0] != NOTE_ALG_ED25519) {
		err = "key algorithm is not Ed25519";
		goto out;
	}
	memcpy(name, s, (size_t)(p1 - s));
	name[p1 - s] = '\0';
	memcpy(key, raw + 1, NOTE_KEY_BYTES);
out:
	OPENSSL_cleanse(raw, sizeof raw);  /* may be a private seed */
	return err;
}

/* Fill a signer from its name and seed, deriving the rest. */
static const char *note_signer_derive(note_signer *s)
{
	if (!note_ed25519_public(s->public_key, s->seed))
		return "cannot derive the Ed25519 public key";
	if (!note_key_hash(&s->key_hash, s->name, s->public_key))
		return "cannot hash the key";
	return NULL;
}

const char *note_signer_generate(note_signer *out, const char *name)
{
	size_t n = strlen(name);
	const char *err;

	memset(out, 0, sizeof *out);
	if (!note_name_valid(name, n))
		return "key name is not 1 to 255 printable ASCII bytes without '+'";
	memcpy(out->name, name, n + 1);
	if (RAND_bytes(out->seed, sizeof out->seed) != 1) {
		err = "no random bytes for a key";
		goto out;
	}
	err = note_signer_derive(out);
out:
	if (err != NULL)
		OPENSSL_cleanse(out, sizeof *out);
	return err;
}

size_t note_signer_format(char *buf, size_t cap, const note_signer *s)
{
	uint8_t raw[1 + NOTE_KEY_BYTES];
	char b64[NOTE_KEY_B64_BYTES + 1];
	int len;

	raw[0] = NOTE_ALG_ED25519;
	memcpy(raw + 1, s->seed, NOTE_KEY_BYTES);
	note_b64_encode(b64, sizeof b64, raw, sizeof raw);
	len = snprintf(buf, cap, "%s%s+%08" PRIx32 "+%s", note_skey_prefix,
	               s->name, s->key_hash, b64);
	OPENSSL_cleanse(raw, sizeof raw);
	OPENSSL_cleanse(b64, sizeof b64);
	if (len < 0 || (size_t)len >= cap) {
		if (cap > 0)
			OPENSSL_cleanse(buf, cap);
		return 0;
	}
	return (size_t)len;
}

const char *note_signer_parse(note_signer *out, const char *text, size_t n)
{
	size_t prefix = sizeof note_skey_prefix - 1;
	uint32_t hash = 0;
	const char *err;

	memset(out, 0, sizeof *out);
	note_trim(&text, &n);
	if (n < prefix || memcmp(text, note_skey_prefix, prefix) != 0)
		return "signer key does not start with PRIVATE+KEY+";
	err = note_key_fields(out->name, &hash, out->seed, text + prefix,
	                      n - prefix);
	if (err == NULL)
		err = note_signer_derive(out);
	/* The hash names the public key, which only the seed gives us. */
	if (err == NULL && hash != out->key_hash)
		err = "signer key hash does not match its name and key";
	if (err != NULL)
		OPENSSL_cleanse(out, sizeof *out);
	return err;
}

void note_verifier_of(note_verifier *out, const note_signer *s)
{
	memset(out, 0, sizeof *out);
	memcpy(out->name, s->name, sizeof out->name);
	out->key_hash = s->key_hash;
	memcpy(out->public_key, s->public_key, sizeof out->public_key);
}

size_t note_verifier_format(char *buf, size_t cap, const note_verifier *v)
{
	uint8_t raw[1 + NOTE_KEY_BYTES];
	char b64[NOTE_KEY_B64_BYTES + 1];
	int len;

	raw[0] = NOTE_ALG_ED25519;
	memcpy(raw + 1, v->public_key, NOTE_KEY_BYTES);
	note_b64_encode(b64, sizeof b64, raw, sizeof raw);
	len = snprintf(buf, cap, "%s+%08" PRIx32 "+%s", v->name, v->key_hash,
	               b64);
	if (len < 0 || (size_t)len >= cap)
		return 0;
	return (size_t)len;
}

const char *note_verifier_parse(note_verifier *out, const char *text, size_t n)
{
	uint32_t want = 0;
	const char *err;

	memset(out, 0, sizeof *out);
	note_trim(&text, &n);
	err = note_key_fields(out->name, &out->key_hash, out->public_key,
	                      text, n);
	if (err == NULL && !note_key_hash(&want, out->name, out->public_key))
		err = "cannot hash the key";
	if (err == NULL && want != out->key_hash)
		err = "verifier key hash does not match its name and key";
	if (err != NULL)
		memset(out, 0, sizeof *out);
	return err;
}

size_t note_sign_checkpoint(char *buf, size_t cap, const note_signer *s,
                            uint64_t size, const uint8_t root[LEDGER_HASH_BYTES])
{
	char body[NOTE_BODY_BYTES_MAX + 1], root_b64[NOTE_ROOT_B64_BYTES + 1];
	char sig_b64[NOTE_SIG_B64_BYTES + 1];
	uint8_t raw[4 + NOTE_SIG_BYTES];
	int body_len, len;

	assert(note_name_valid(s->name, strlen(s->name)));
	note_b64_encode(root_b64, sizeof root_b64, root, LEDGER_HASH_BYTES);
	body_len = snprintf(body, sizeof body, "%s\n%" PRIu64 "\n%s\n",
	                    s->name, size, root_b64);
	assert(body_len > 0 && (size_t)body_len < sizeof body);
	raw[0] = (uint8_t)(s->key_hash >> 24);
	raw[1] = (uint8_t)(s->key_hash >> 16);
	raw[2] = (uint8_t)(s->key_hash >> 8);
	raw[3] = (uint8_t)s->key_hash;
	if (!note_ed25519_sign(raw + 4, s->seed, body, (size_t)body_len))
		return 0;
	note_b64_encode(sig_b64, sizeof sig_b64, raw, sizeof raw);
	len = snprintf(buf, cap, "%s\n%s%s %s\n", body, note_sig_prefix,
	               s->name, sig_b64);
	if (len < 0 || (size_t)len >= cap)
		return 0;
	return (size_t)len;
}

/* Length of the UTF-8 sequence at s[0..n), 0 when it is not well-formed
 * (overlong, surrogate, above U+10FFFF, truncated) or is a control
 * character other than '\n' (C0 or DEL). */
static size_t note_utf8_char(const uint8_t *s, size_t n)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return (c >= 0x20 && c != 0x7f) || c == '\n' ? 1 : 0;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

static bool note_text_valid(const char *text, size_t n)
{
	const uint8_t *s = (const uint8_t *)text;

	for (size_t i = 0; i < n;) {
		size_t len = note_utf8_char(s + i, n - i);

		if (len == 0)
			return false;
		i += len;
	}
	return true;
}

/* Canonical decimal uint64: no sign, no leading zero but "0" itself. */
static bool note_size_parse(uint64_t *out, const char *s, size_t n)
{
	uint64_t v = 0;

	if (n == 0 || n > NOTE_SIZE_DIGITS_MAX || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* The checkpoint body body[0..n), which ends in '\n': origin, size, root,
 * then optional non-empty extension lines that we do not interpret. */
static const char *note_checkpoint_parse(note_checkpoint *out,
                                         const char *body, size_t n)
{
	const char *line = body, *end = body + n;
	size_t root_bytes = 0;
	unsigned lines = 0;

	assert(n > 0 && body[n - 1] == '\n');
	for (; line < end; lines++) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = (size_t)(nl - line);

		if (len == 0)
			return "checkpoint has an empty line";
		if (lines == 0) {
			if (len > LEDGER_ORIGIN_BYTES_MAX)
				return "checkpoint origin is too long";
			memcpy(out->origin, line, len);
			out->origin[len] = '\0';
		} else if (lines == 1 && !note_size_parse(&out->size, line, len)) {
			return "checkpoint size is not a canonical decimal uint64";
		} else if (lines == 2 &&
		           (!note_b64_decode(out->root, sizeof out->root,
		                             &root_bytes, line, len) ||
		            root_bytes != LEDGER_HASH_BYTES)) {
			return "checkpoint root is not canonical base64 of 32 bytes";
		}
		line = nl + 1;
	}
	if (lines < 3)
		return "checkpoint has fewer than three lines";
	return NULL;
}

/* One signature line, without its '\n'. Sets *verified when it is v's and
 * verifies; a line by another key is left alone, as C2SP asks. */
static const char *note_signature_check(bool *verified, const char *line,
                                        size_t n, const char *body,
                                        size_t body_bytes,
                                        const note_verifier *v)
{
	size_t prefix = sizeof note_sig_prefix - 1, name_len, raw_bytes = 0;
	uint8_t raw[4 + NOTE_SIG_BYTES];
	const char *name, *sp;
	uint32_t hash;

	*verified = false;
	if (n < prefix || memcmp(line, note_sig_prefix, prefix) != 0)
		return "signature line does not start with an em dash and a space";
	name = line + prefix;
	sp = memchr(name, ' ', n - prefix);
	if (sp == NULL)
		return "signature line has no space after the key name";
	name_len = (size_t)(sp - name);
	/* Other keys' names need only be what Go's note accepts as names:
	 * non-empty, without '+'. */
	if (name_len == 0 || memchr(name, '+', name_len) != NULL)
		return "signature line has a bad key name";
	if (!note_b64_decode(raw, sizeof raw, &raw_bytes, sp + 1,
	                     n - prefix - name_len - 1) || raw_bytes < 5)
		return "signature is not canonical base64 of a key hash and signature";
	hash = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 |
	       (uint32_t)raw[2] << 8 | raw[3];
	if (name_len != strlen(v->name) ||
	    memcmp(name, v->name, name_len) != 0 || hash != v->key_hash)
		return NULL;
	if (raw_bytes != sizeof raw ||
	    !note_ed25519_verify(v->public_key, body, body_bytes, raw + 4))
		return "signature by the verifier key does not verify";
	*verified = true;
	return NULL;
}

const char *note_open_checkpoint(note_checkpoint *out, const char *note,
                                 size_t n, const note_verifier *v)
{
	const char *sep, *line, *end = note + n, *err;
	unsigned lines = 0, good = 0;
	size_t body_bytes;

	memset(out, 0, sizeof *out);
	if (n > NOTE_BYTES_MAX)
		return "note is too large";
	if (!note_text_valid(note, n))
		return "note is not UTF-8 text without control characters";
	/* The body has no empty line, so its end is the first one. */
	sep = NULL;
	for (size_t i = 0; i + 1 < n && sep == NULL; i++)
		if (note[i] == '\n' && note[i + 1] == '\n')
			sep = note + i;
	if (sep == NULL || sep + 2 == end || end[-1] != '\n')
		return "note has no signature block after an empty line";
	body_bytes = (size_t)(sep + 1 - note);
	for (line = sep + 2; line < end; lines++) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		bool verified;

		if (lines >= NOTE_SIGNATURES_MAX)
			return "note has too many signatures";
		err = note_signature_check(&verified, line, (size_t)(nl - line),
		                           note, body_bytes, v);
		if (err != NULL)
			return err;
		good += verified;
		line = nl + 1;
	}
	if (good == 0)
		return "note has no signature by the verifier key";
	if ((err = note_checkpoint_parse(out, note, body_bytes)) != NULL ||
	    strcmp(out->origin, v->name) != 0) {
		memset(out, 0, sizeof *out);
		return err != NULL ? err : "checkpoint origin is not the key name";
	}
	return NULL;
}
