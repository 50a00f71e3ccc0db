/* Signed notes and checkpoints: key texts, signing, opening, the ways a
 * note must be refused, and interoperation with Go's
 * golang.org/x/mod/sumdb/note through fixed vectors made once by the
 * tlog-oracle (keygen, sign-checkpoint). Expected values are computed here
 * with OpenSSL directly, not with note.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>

#include "note.h"

#define EM "\xe2\x80\x94"   /* U+2014, which starts a signature line */
#define BUF_BYTES (NOTE_BYTES_MAX + 4096u)

/* RFC 8032 §7.1 test 1: this seed has this public key. */
static const uint8_t test_seed[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4,
	0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
	0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
};
static const uint8_t test_pub[32] = {
	0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3,
	0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25,
	0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
};
#define TEST_NAME "annals.invalid/test-log"

/* Made once with the Go oracle (golang.org/x/mod 0.7.0 sumdb/note):
 *   tlog-oracle keygen --name annals.invalid/go-oracle-vector ...
 *   tlog-oracle sign-checkpoint --skey go.skey \
 *       --origin annals.invalid/go-oracle-vector --size 20 --root GO_ROOT20
 * (and --ext "ext line one"; --size 18446744073709551615 and --size 0 with
 * the empty tree's root). GO_ROOT20 is the tlog vectors' root of 20. The
 * witness key and line come from keygen --name witness.example/w1 and the
 * same sign-checkpoint call with its key. */
#define GO_NAME "annals.invalid/go-oracle-vector"
static const char go_skey[] =
	"PRIVATE+KEY+annals.invalid/go-oracle-vector+4509f3e6+"
	"AdnAm7nUOrwHhEIH+MutL5s4Ryhp9DnhHbT0gGDeZlf8\n";
static const char go_vkey[] =
	"annals.invalid/go-oracle-vector+4509f3e6+"
	"AUUdT3zkur9kun54y6AfymEm5hCgiVnb+lfmGhmiuMXp\n";
static const char go_root20_hex[] =
	"f9deaf1ca3287dc1aebac42c6192aedfe4bc2d877ffafcab30f6f26d638ec0d9";
static const char go_empty_hex[] =
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char go_note20[] =
	GO_NAME "\n20\n+d6vHKMofcGuusQsYZKu3+S8LYd/+vyrMPbybWOOwNk=\n\n"
	EM " " GO_NAME " RQnz5jntNbgleaBvkRaCunYcPYo90Ndiu6JOiIp8wJu2YBy35L/"
	"1zX1+tRAhK/+tNqkvOxiklSW1EDlLkltlWZazvgU=\n";
static const char go_note20_ext[] =
	GO_NAME "\n20\n+d6vHKMofcGuusQsYZKu3+S8LYd/+vyrMPbybWOOwNk=\n"
	"ext line one\n\n"
	EM " " GO_NAME " RQnz5rQ3fm61JkvuBl8XMd6ShQa5zS1YKD209GXs1ZliIAHZTdJioJ"
	"80ohuvk+wrzs8DhNOEK7nKCJ8LX5sD2k0cUwA=\n";
static const char go_note_max[] =
	GO_NAME "\n18446744073709551615\n"
	"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n"
	EM " " GO_NAME " RQnz5jThshGUrZt1cebVM3hQ4+d7PgWJb3AhcXrDkobxvoVYyA0PyS"
	"zGUnZfD1fF5By89MYqBfeiQtIKSmBmIUBYcgk=\n";
static const char go_note0[] =
	GO_NAME "\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n"
	EM " " GO_NAME " RQnz5k9NsRCKyc3OGCJByhYKTmgyOt4pKzbw1Gy93d20+WOzSwd5j2"
	"4jZ3dtANDNyFViRCw0gXWjRdZGgcpBTk5NeQo=\n";
static const char go_witness_vkey[] =
	"witness.example/w1+5e7a34d1+AfY71XXPVme3xFAdM25w3MuXkEgJGn0moXPFmNvVzuBm";
static const char go_witness_line20[] =
	EM " witness.example/w1 Xno00batDVyffzRYreUgwAfejrn6mWnuqUZ2s1E4fzb+6mWp"
	"C3N64eXE/Ng3RBeTBDCTjr5f6vVM/aJ1cja+KjTcvQI=\n";

static void hex_decode(uint8_t *out, const char *hex, size_t bytes)
{
	for (size_t i = 0; i < bytes; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			abort();
		out[i] = (uint8_t)v;
	}
}

static size_t b64(char *out, const uint8_t *in, size_t n)
{
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/* The key hash as C2SP defines it, straight from SHA-256. */
static uint32_t hand_key_hash(const char *name, const uint8_t pub[32])
{
	uint8_t buf[512], md[32];
	size_t n = strlen(name);
	unsigned int len = 0;

	memcpy(buf, name, n);
	buf[n] = 0x0a;
	buf[n + 1] = 0x01;
	memcpy(buf + n + 2, pub, 32);
	if (EVP_Digest(buf, n + 34, md, &len, EVP_sha256(), NULL) != 1)
		abort();
	return (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 |
	       (uint32_t)md[2] << 8 | md[3];
}

static void hand_sign(uint8_t sig[64], const uint8_t seed[32],
                      const void *msg, size_t n)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	                                           seed, 32);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t len = 64;

	if (k == NULL || c == NULL ||
	    EVP_DigestSignInit(c, NULL, NULL, NULL, k) != 1 ||
	    EVP_DigestSign(c, sig, &len, msg, n) != 1 || len != 64)
		abort();
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
}

/* "— name base64(hash || sig)\n" over body, made without note.c, so that
 * bodies note.c would never write can be signed. */
static size_t hand_sig_line(char *out, const uint8_t seed[32],
                            const char *name, uint32_t hash, const char *body)
{
	uint8_t raw[68];
	char text[128];

	raw[0] = (uint8_t)(hash >> 24);
	raw[1] = (uint8_t)(hash >> 16);
	raw[2] = (uint8_t)(hash >> 8);
	raw[3] = (uint8_t)hash;
	hand_sign(raw + 4, seed, body, strlen(body));
	b64(text, raw, sizeof raw);
	return (size_t)sprintf(out, EM " %s %s\n", name, text);
}

/* The fixed test signer, parsed from key text built by hand. */
static void test_signer(note_signer *s, note_verifier *v)
{
	uint8_t raw[33] = { 0x01 };
	char key[64], text[512];

	memcpy(raw + 1, test_seed, 32);
	b64(key, raw, sizeof raw);
	snprintf(text, sizeof text, "PRIVATE+KEY+%s+%08x+%s", TEST_NAME,
	         (unsigned)hand_key_hash(TEST_NAME, test_pub), key);
	CU_ASSERT_PTR_NULL_FATAL(note_signer_parse(s, text, strlen(text)));
	note_verifier_of(v, s);
}

/* A note of body signed by the test key, ready to open. */
static char *signed_body(const char *body)
{
	char *note = malloc(BUF_BYTES);
	size_t n = strlen(body);

	if (note == NULL || n + 256 > BUF_BYTES)
		abort();
	memcpy(note, body, n);
	note[n] = '\n';
	hand_sig_line(note + n + 1, test_seed, TEST_NAME,
	              hand_key_hash(TEST_NAME, test_pub), body);
	return note;
}

static const char *open_text(note_checkpoint *c, const char *note,
                             const note_verifier *v)
{
	return note_open_checkpoint(c, note, strlen(note), v);
}

static void test_note_key_hash_by_hand(void)
{
	uint8_t raw[33] = { 0x01 };
	char key[64], want[512], got[512];
	note_signer s;
	note_verifier v;

	test_signer(&s, &v);
	CU_ASSERT_STRING_EQUAL(s.name, TEST_NAME);
	CU_ASSERT_EQUAL(s.key_hash, hand_key_hash(TEST_NAME, test_pub));
	CU_ASSERT_EQUAL(memcmp(s.public_key, test_pub, 32), 0);
	CU_ASSERT_EQUAL(memcmp(s.seed, test_seed, 32), 0);
	/* <name>+<8 hex>+<base64(0x01 || pub)> */
	memcpy(raw + 1, test_pub, 32);
	b64(key, raw, sizeof raw);
	snprintf(want, sizeof want, "%s+%08x+%s", TEST_NAME,
	         (unsigned)hand_key_hash(TEST_NAME, test_pub), key);
	CU_ASSERT_EQUAL(note_verifier_format(got, sizeof got, &v), strlen(want));
	CU_ASSERT_STRING_EQUAL(got, want);
	CU_ASSERT_EQUAL(strlen(want), strlen(TEST_NAME) + 1 + 8 + 1 + 44);
	/* The signer text round-trips to the text it was parsed from. */
	memcpy(raw + 1, test_seed, 32);
	b64(key, raw, sizeof raw);
	snprintf(want, sizeof want, "PRIVATE+KEY+%s+%08x+%s", TEST_NAME,
	         (unsigned)s.key_hash, key);
	CU_ASSERT_EQUAL(note_signer_format(got, sizeof got, &s), strlen(want));
	CU_ASSERT_STRING_EQUAL(got, want);
}

static void test_note_key_text_round_trip(void)
{
	note_signer s, s2;
	note_verifier v, v2;
	char text[600], padded[700];
	size_t n;

	CU_ASSERT_PTR_NULL_FATAL(note_signer_generate(&s, "example.org/log"));
	n = note_signer_format(text, sizeof text, &s);
	CU_ASSERT_TRUE(n > 0);
	CU_ASSERT_EQUAL(strncmp(text, "PRIVATE+KEY+example.org/log+", 28), 0);
	snprintf(padded, sizeof padded, " \t%s\r\n", text);
	CU_ASSERT_PTR_NULL(note_signer_parse(&s2, padded, strlen(padded)));
	CU_ASSERT_EQUAL(memcmp(&s, &s2, sizeof s), 0);
	/* Exactly long enough means room for the NUL too. */
	CU_ASSERT_EQUAL(note_signer_format(text, n, &s), 0);
	CU_ASSERT_EQUAL(note_signer_format(text, n + 1, &s), n);

	note_verifier_of(&v, &s);
	n = note_verifier_format(text, sizeof text, &v);
	CU_ASSERT_TRUE(n > 0);
	snprintf(padded, sizeof padded, "\n%s\n", text);
	CU_ASSERT_PTR_NULL(note_verifier_parse(&v2, padded, strlen(padded)));
	CU_ASSERT_EQUAL(memcmp(&v, &v2, sizeof v), 0);
	CU_ASSERT_EQUAL(note_verifier_format(text, n, &v), 0);
	CU_ASSERT_EQUAL(note_verifier_format(text, n + 1, &v), n);

	CU_ASSERT_PTR_NULL(note_signer_generate(&s2, "example.org/log"));
	CU_ASSERT_NOT_EQUAL(memcmp(s.seed, s2.seed, 32), 0);
	CU_ASSERT_PTR_NOT_NULL(note_signer_generate(&s2, ""));
	CU_ASSERT_PTR_NOT_NULL(note_signer_generate(&s2, "has space"));
	CU_ASSERT_PTR_NOT_NULL(note_signer_generate(&s2, "has+plus"));
	memset(padded, 'a', 256);
	padded[256] = '\0';
	CU_ASSERT_PTR_NOT_NULL(note_signer_generate(&s2, padded));
	padded[255] = '\0';
	CU_ASSERT_PTR_NULL(note_signer_generate(&s2, padded));
}

static void test_note_key_text_rejects(void)
{
	static const char *bad_vkeys[] = {
		"",
		GO_NAME "+4509f3e7+AUUdT3zkur9kun54y6AfymEm5hCgiVnb+lfmGhmiuMXp",
		GO_NAME "+4509f3e+AUUdT3zkur9kun54y6AfymEm5hCgiVnb+lfmGhmiuMXp",
		GO_NAME "+4509f3e6x+AUUdT3zkur9kun54y6AfymEm5hCgiVnb+lfmGhmiuMXp",
		"annals.invalid/go-oracle-vectoR+4509f3e6+AUUdT3zkur9kun54y6AfymEm5hCgiVnb+lfmGhmiuMXp",
		GO_NAME "+4509f3e6+AUUdT3zkur9kun54y6AfymEm5hCgiVnb+lfmGhmiuMXq",
		GO_NAME "+4509f3e6+AUUdT3zkur9kun54y6AfymEm5hCgiVnb+lfmGhmiuMX",
		GO_NAME "+4509f3e6+AkUdT3zkur9kun54y6AfymEm5hCgiVnb+lfmGhmiuMXp",
		GO_NAME "+4509f3e6+AUUdT3zkur9kun54y6AfymEm5hCgiVnb+lfmGhmiuMXpAA==",
		GO_NAME "+4509f3e6+AUUdT3zkur9kun54y6AfymEm5hCgiVnb+lfmGhmiu MXp",
		"+4509f3e6+AUUdT3zkur9kun54y6AfymEm5hCgiVnb+lfmGhmiuMXp",
		"a b+4509f3e6+AUUdT3zkur9kun54y6AfymEm5hCgiVnb+lfmGhmiuMXp",
		GO_NAME "+4509f3e6",
	};
	static const char *bad_skeys[] = {
		"PRIVATE+KEY+" GO_NAME "+4509f3e7+AdnAm7nUOrwHhEIH+MutL5s4Ryhp9DnhHbT0gGDeZlf8",
		"private+key+" GO_NAME "+4509f3e6+AdnAm7nUOrwHhEIH+MutL5s4Ryhp9DnhHbT0gGDeZlf8",
		"PRIVATE+KEY+" GO_NAME "+4509f3e6+AtnAm7nUOrwHhEIH+MutL5s4Ryhp9DnhHbT0gGDeZlf8",
		"PRIVATE+KEY+" GO_NAME "+4509f3e6+AdnAm7nUOrwHhEIH+MutL5s4Ryhp9DnhHbT0gGDeZlf9",
		"PRIVATE+KEY+" GO_NAME "+4509f3e6+AdnAm7nUOrwHhEIH+MutL5s4Ryhp9DnhHbT0gGDeZl",
		GO_NAME "+4509f3e6+AdnAm7nUOrwHhEIH+MutL5s4Ryhp9DnhHbT0gGDeZlf8",
		"PRIVATE+KEY+" GO_NAME "+4509f3e6+AUUdT3zkur9kun54y6AfymEm5hCgiVnb+lfmGhmiuMXp",
	};
	note_verifier v;
	note_signer s;

	for (size_t i = 0; i < sizeof bad_vkeys / sizeof *bad_vkeys; i++)
		CU_ASSERT_PTR_NOT_NULL(note_verifier_parse(&v, bad_vkeys[i],
		                                           strlen(bad_vkeys[i])));
	for (size_t i = 0; i < sizeof bad_skeys / sizeof *bad_skeys; i++)
		CU_ASSERT_PTR_NOT_NULL(note_signer_parse(&s, bad_skeys[i],
		                                         strlen(bad_skeys[i])));
	/* Go parses the hash with strconv, which takes upper case too. */
	CU_ASSERT_PTR_NULL(note_verifier_parse(&v,
		GO_NAME "+4509F3E6+AUUdT3zkur9kun54y6AfymEm5hCgiVnb+lfmGhmiuMXp",
		strlen(GO_NAME) + 54));
}

static void test_note_sign_open(void)
{
	uint8_t root[32];
	char note[1024], body[512], want[1024], root64[64];
	note_checkpoint c;
	note_signer s;
	note_verifier v;
	size_t n;

	test_signer(&s, &v);
	for (unsigned i = 0; i < 32; i++)
		root[i] = (uint8_t)(i * 7 + 1);
	n = note_sign_checkpoint(note, sizeof note, &s, 5, root);
	CU_ASSERT_TRUE_FATAL(n > 0);
	CU_ASSERT_EQUAL(n, strlen(note));
	/* Layout: body, blank line, one signature line, as made by hand. */
	b64(root64, root, 32);
	snprintf(body, sizeof body, "%s\n5\n%s\n", TEST_NAME, root64);
	snprintf(want, sizeof want, "%s\n", body);
	hand_sig_line(want + strlen(want), test_seed, TEST_NAME, s.key_hash, body);
	CU_ASSERT_STRING_EQUAL(note, want);  /* Ed25519 is deterministic */

	CU_ASSERT_PTR_NULL(note_open_checkpoint(&c, note, n, &v));
	CU_ASSERT_STRING_EQUAL(c.origin, TEST_NAME);
	CU_ASSERT_EQUAL(c.size, 5);
	CU_ASSERT_EQUAL(memcmp(c.root, root, 32), 0);
	/* Too small a buffer, by one byte and by a lot. */
	CU_ASSERT_EQUAL(note_sign_checkpoint(note, n, &s, 5, root), 0);
	CU_ASSERT_EQUAL(note_sign_checkpoint(note, 10, &s, 5, root), 0);
	CU_ASSERT_EQUAL(note_sign_checkpoint(note, n + 1, &s, 5, root), n);
}

/* Replace the first occurrence of from in note with to; the result must
 * fail to open under v. */
static void expect_rejected_edit(const char *note, const char *from,
                                 const char *to, const note_verifier *v)
{
	char edited[2048];
	const char *at = strstr(note, from);
	note_checkpoint c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	snprintf(edited, sizeof edited, "%.*s%s%s", (int)(at - note), note, to,
	         at + strlen(from));
	CU_ASSERT_PTR_NOT_NULL(open_text(&c, edited, v));
}

static void test_note_open_rejects_changes(void)
{
	uint8_t root[32] = { 0 }, raw[80];
	char note[1024], copy[1024], *sig64;
	note_checkpoint c;
	note_signer s;
	note_verifier v;
	unsigned accepted = 0;

	test_signer(&s, &v);
	note_sign_checkpoint(note, sizeof note, &s, 1234, root);
	expect_rejected_edit(note, "\n1234\n", "\n1235\n", &v);
	expect_rejected_edit(note, "\nAAAA", "\nAAAB", &v);   /* root */
	expect_rejected_edit(note, "test-log\n", "test-loh\n", &v);  /* origin */
	expect_rejected_edit(note, "log\n1234", "log\n1234\next", &v);
	/* Every byte of the key hash and signature, still as valid base64. */
	sig64 = strrchr(note, ' ') + 1;
	CU_ASSERT_EQUAL_FATAL(EVP_DecodeBlock(raw, (unsigned char *)sig64, 92), 69);
	for (unsigned i = 0; i < 68; i++) {
		strcpy(copy, note);
		raw[i] ^= 0x01;
		b64(copy + (sig64 - note), raw, 68);
		strcat(copy, "\n");
		raw[i] ^= 0x01;
		accepted += open_text(&c, copy, &v) == NULL;
	}
	CU_ASSERT_EQUAL(accepted, 0);
	CU_ASSERT_PTR_NULL(open_text(&c, note, &v));
}

static void test_note_open_rejects_other_keys(void)
{
	uint8_t root[32] = { 1 };
	char note[1024];
	note_checkpoint c;
	note_signer s, other;
	note_verifier v, w;

	test_signer(&s, &v);
	note_sign_checkpoint(note, sizeof note, &s, 9, root);
	/* The same key under another name: a different key hash too. */
	w = v;
	strcpy(w.name, "annals.invalid/test-loh");
	w.key_hash = hand_key_hash(w.name, w.public_key);
	CU_ASSERT_PTR_NOT_NULL(open_text(&c, note, &w));
	/* Another key with the same name: its signature line is unknown. */
	CU_ASSERT_PTR_NULL_FATAL(note_signer_generate(&other, TEST_NAME));
	note_verifier_of(&w, &other);
	CU_ASSERT_PTR_NOT_NULL(open_text(&c, note, &w));
	/* Another public key claiming our name and key hash: the signature
	 * line is then its own, and does not verify. */
	w = v;
	memcpy(w.public_key, other.public_key, 32);
	CU_ASSERT_PTR_NOT_NULL(open_text(&c, note, &w));
}

/* note with extra inserted after the blank line or at the end. */
static void with_lines(char *out, const char *note, const char *extra,
                       int first)
{
	const char *sigs = strstr(note, "\n\n") + 2;

	if (first)
		sprintf(out, "%.*s%s%s", (int)(sigs - note), note, extra, sigs);
	else
		sprintf(out, "%s%s", note, extra);
}

/* count signature lines by unknown keys w0, w1, ... over body */
static char *unknown_lines(unsigned count, const char *body)
{
	char *out = malloc(BUF_BYTES), *p = out, name[32];
	uint8_t seed[32];

	if (out == NULL)
		abort();
	*p = '\0';
	for (unsigned i = 0; i < count; i++) {
		memset(seed, (int)i + 1, sizeof seed);
		snprintf(name, sizeof name, "witness.example/w%u", i);
		p += hand_sig_line(p, seed, name, 0x01020304u + i, body);
	}
	return out;
}

static void test_note_unknown_signatures(void)
{
	uint8_t root[32] = { 2 };
	char note[1024], body[512], *lines, *big = malloc(BUF_BYTES);
	note_checkpoint c;
	note_signer s;
	note_verifier v;

	test_signer(&s, &v);
	note_sign_checkpoint(note, sizeof note, &s, 77, root);
	snprintf(body, sizeof body, "%.*s", (int)(strstr(note, "\n\n") + 1 - note),
	         note);
	lines = unknown_lines(1, body);
	with_lines(big, note, lines, 1);
	CU_ASSERT_PTR_NULL(open_text(&c, big, &v));
	CU_ASSERT_EQUAL(c.size, 77);
	with_lines(big, note, lines, 0);
	CU_ASSERT_PTR_NULL(open_text(&c, big, &v));
	free(lines);
	lines = unknown_lines(16, body);
	with_lines(big, note, lines, 1);
	CU_ASSERT_PTR_NULL(open_text(&c, big, &v));
	free(lines);
	/* NOTE_SIGNATURES_MAX lines in all, then one more. */
	lines = unknown_lines(NOTE_SIGNATURES_MAX - 1, body);
	with_lines(big, note, lines, 0);
	CU_ASSERT_PTR_NULL(open_text(&c, big, &v));
	free(lines);
	lines = unknown_lines(NOTE_SIGNATURES_MAX, body);
	with_lines(big, note, lines, 0);
	CU_ASSERT_PTR_NOT_NULL(open_text(&c, big, &v));
	free(lines);
	/* Only unknown signatures. */
	lines = unknown_lines(3, body);
	snprintf(big, BUF_BYTES, "%s\n%s", body, lines);
	CU_ASSERT_PTR_NOT_NULL(open_text(&c, big, &v));
	free(lines);
	/* Unknown but well-formed: a UTF-8 name, a short signature. */
	with_lines(big, note, EM " w\xc3\xaftness AQIDBAU=\n", 1);
	CU_ASSERT_PTR_NULL(open_text(&c, big, &v));
	/* Our signature twice is still ours. */
	with_lines(big, note, strstr(note, "\n\n") + 2, 0);
	CU_ASSERT_PTR_NULL(open_text(&c, big, &v));
	free(big);
}

static void test_note_open_rejects_bad_signature_lines(void)
{
	static const char *bad[] = {
		EM " w AQIDBA==\n",            /* key hash and no signature */
		EM " w AQIDBAU\n",             /* unpadded */
		EM " w AQIDBAV=\n",            /* stray low bits */
		EM " w AQID BAU=\n",           /* space inside */
		EM " w\n",                     /* no signature at all */
		EM " w \n",
		EM "  AQIDBAU=\n",             /* empty name */
		EM " a+b AQIDBAU=\n",          /* '+' in name */
		EM "w AQIDBAU=\n",             /* no space after the dash */
		"- w AQIDBAU=\n",              /* hyphen, not em dash */
		"\n",                          /* empty line among signatures */
	};
	uint8_t root[32] = { 3 };
	char note[1024], big[2048];
	note_checkpoint c;
	note_signer s;
	note_verifier v;

	test_signer(&s, &v);
	note_sign_checkpoint(note, sizeof note, &s, 1, root);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		with_lines(big, note, bad[i], 1);
		CU_ASSERT_PTR_NOT_NULL(open_text(&c, big, &v));
		with_lines(big, note, bad[i], 0);
		CU_ASSERT_PTR_NOT_NULL(open_text(&c, big, &v));
	}
	/* Our name and key hash with a signature of the wrong length, alone
	 * or next to our good one. */
	uint8_t raw[6] = { (uint8_t)(s.key_hash >> 24), (uint8_t)(s.key_hash >> 16),
	                   (uint8_t)(s.key_hash >> 8), (uint8_t)s.key_hash, 1, 2 };
	char line[128], text[16];
	b64(text, raw, sizeof raw);
	snprintf(line, sizeof line, EM " %s %s\n", TEST_NAME, text);
	with_lines(big, note, line, 0);
	CU_ASSERT_PTR_NOT_NULL(open_text(&c, big, &v));
	snprintf(big, sizeof big, "%.*s%s",
	         (int)(strstr(note, "\n\n") + 2 - note), note, line);
	CU_ASSERT_PTR_NOT_NULL(open_text(&c, big, &v));
}

/* Bodies signed correctly by the test key that are no checkpoint. */
static void test_note_open_rejects_bad_bodies(void)
{
	static const char *bad[] = {
		TEST_NAME "\n05\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		TEST_NAME "\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		TEST_NAME "\n+1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		TEST_NAME "\n1 \nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		TEST_NAME "\n\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		TEST_NAME "\n18446744073709551616\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		TEST_NAME "\n99999999999999999999\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		TEST_NAME "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",   /* 31 */
		TEST_NAME "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",   /* 33 */
		TEST_NAME "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n",   /* bits */
		TEST_NAME "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
		TEST_NAME "\n1\n0000000000000000000000000000000000000000000000000000000000000000\n",
		TEST_NAME "\n1\n",
		TEST_NAME "\n",
		"annals.invalid/other\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"\n" TEST_NAME "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
	};
	static const char *good[] = {
		TEST_NAME "\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		TEST_NAME "\n18446744073709551615\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		TEST_NAME "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nx\n \xe2\x98\x83 ext\n",
	};
	note_checkpoint c;
	note_signer s;
	note_verifier v;

	test_signer(&s, &v);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char *note = signed_body(bad[i]);

		CU_ASSERT_PTR_NOT_NULL(open_text(&c, note, &v));
		free(note);
	}
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		char *note = signed_body(good[i]);

		CU_ASSERT_PTR_NULL(open_text(&c, note, &v));
		free(note);
	}
	CU_ASSERT_EQUAL(c.size, 1);
}

/* Bytes that no note may hold, anywhere; and notes cut short. */
static void test_note_open_rejects_bad_text(void)
{
	static const char *bad[] = {
		"\r", "\t", "\x7f", "\x01", "\xff", "\xc0\xaf", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xe2\x80", "\x80", "\xc3",
	};
	uint8_t root[32] = { 4 };
	char note[1024], body[512], edited[1100];
	note_checkpoint c;
	note_signer s;
	note_verifier v;
	size_t n, blank;

	test_signer(&s, &v);
	n = note_sign_checkpoint(note, sizeof note, &s, 3, root);
	blank = (size_t)(strstr(note, "\n\n") - note);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		/* In an extension line of a body signed as it is. */
		snprintf(body, sizeof body, "%.*sx%s\n", (int)blank + 1, note,
		         bad[i]);
		char *signed_note = signed_body(body);
		CU_ASSERT_PTR_NOT_NULL(open_text(&c, signed_note, &v));
		free(signed_note);
		/* At the end of the signature block. */
		snprintf(edited, sizeof edited, "%s%s\n", note, bad[i]);
		CU_ASSERT_PTR_NOT_NULL(open_text(&c, edited, &v));
	}
	/* A NUL is text to note_open_checkpoint, and not allowed. */
	memcpy(edited, note, n + 1);
	edited[n] = '\0';
	edited[n + 1] = '\n';
	CU_ASSERT_PTR_NOT_NULL(note_open_checkpoint(&c, edited, n + 2, &v));
	/* Cut: no final newline, no signatures, no blank line. */
	CU_ASSERT_PTR_NOT_NULL(note_open_checkpoint(&c, note, n - 1, &v));
	CU_ASSERT_PTR_NOT_NULL(note_open_checkpoint(&c, note, blank + 2, &v));
	CU_ASSERT_PTR_NOT_NULL(note_open_checkpoint(&c, note, blank + 1, &v));
	CU_ASSERT_PTR_NOT_NULL(note_open_checkpoint(&c, note, 0, &v));
	memcpy(edited, note, blank + 1);
	strcpy(edited + blank + 1, strstr(note, "\n\n") + 2);
	CU_ASSERT_PTR_NOT_NULL(open_text(&c, edited, &v));
	CU_ASSERT_PTR_NULL(note_open_checkpoint(&c, note, n, &v));
}

/* A note of exactly NOTE_BYTES_MAX bytes opens; one byte more does not. */
static void test_note_bytes_max(void)
{
	char *body = malloc(BUF_BYTES), *note;
	const char *head = TEST_NAME "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
	size_t sig_line = strlen(EM " " TEST_NAME " ") + 92 + 1;
	size_t ext = NOTE_BYTES_MAX - strlen(head) - 1 - 1 - sig_line;
	note_checkpoint c;
	note_signer s;
	note_verifier v;

	test_signer(&s, &v);
	for (int extra = 0; extra <= 1; extra++) {
		strcpy(body, head);
		memset(body + strlen(head), 'e', ext + (size_t)extra);
		strcpy(body + strlen(head) + ext + (size_t)extra, "\n");
		note = signed_body(body);
		CU_ASSERT_EQUAL(strlen(note), NOTE_BYTES_MAX + (size_t)extra);
		if (extra) {
			CU_ASSERT_PTR_NOT_NULL(open_text(&c, note, &v));
		} else {
			CU_ASSERT_PTR_NULL(open_text(&c, note, &v));
		}
		free(note);
	}
	free(body);
}

static void test_note_go_interop(void)
{
	uint8_t root20[32], empty[32];
	char text[1024];
	note_checkpoint c;
	note_signer s;
	note_verifier v, vs, w;

	hex_decode(root20, go_root20_hex, 32);
	hex_decode(empty, go_empty_hex, 32);
	CU_ASSERT_PTR_NULL_FATAL(note_signer_parse(&s, go_skey, strlen(go_skey)));
	CU_ASSERT_PTR_NULL_FATAL(note_verifier_parse(&v, go_vkey, strlen(go_vkey)));
	note_verifier_of(&vs, &s);
	CU_ASSERT_EQUAL(memcmp(&v, &vs, sizeof v), 0);
	CU_ASSERT_EQUAL(v.key_hash, 0x4509f3e6u);
	CU_ASSERT_EQUAL(v.key_hash, hand_key_hash(GO_NAME, v.public_key));
	CU_ASSERT_EQUAL(note_signer_format(text, sizeof text, &s), strlen(go_skey) - 1);
	CU_ASSERT_EQUAL(strncmp(text, go_skey, strlen(go_skey) - 1), 0);
	CU_ASSERT_EQUAL(note_verifier_format(text, sizeof text, &v), strlen(go_vkey) - 1);
	CU_ASSERT_EQUAL(strncmp(text, go_vkey, strlen(go_vkey) - 1), 0);

	/* Go's notes open here ... */
	CU_ASSERT_PTR_NULL(open_text(&c, go_note20, &v));
	CU_ASSERT_STRING_EQUAL(c.origin, GO_NAME);
	CU_ASSERT_EQUAL(c.size, 20);
	CU_ASSERT_EQUAL(memcmp(c.root, root20, 32), 0);
	CU_ASSERT_PTR_NULL(open_text(&c, go_note20_ext, &v));
	CU_ASSERT_EQUAL(c.size, 20);
	CU_ASSERT_PTR_NULL(open_text(&c, go_note_max, &v));
	CU_ASSERT_EQUAL(c.size, UINT64_MAX);
	CU_ASSERT_EQUAL(memcmp(c.root, empty, 32), 0);
	CU_ASSERT_PTR_NULL(open_text(&c, go_note0, &v));
	CU_ASSERT_EQUAL(c.size, 0);
	/* ... and ours are Go's, byte for byte: Ed25519 is deterministic. */
	CU_ASSERT_EQUAL(note_sign_checkpoint(text, sizeof text, &s, 20, root20),
	                strlen(go_note20));
	CU_ASSERT_STRING_EQUAL(text, go_note20);
	note_sign_checkpoint(text, sizeof text, &s, UINT64_MAX, empty);
	CU_ASSERT_STRING_EQUAL(text, go_note_max);
	note_sign_checkpoint(text, sizeof text, &s, 0, empty);
	CU_ASSERT_STRING_EQUAL(text, go_note0);

	/* A Go witness cosignature: ignored under the log's key; under the
	 * witness's own key it verifies, but the origin is not its name. */
	snprintf(text, sizeof text, "%s%s", go_note20, go_witness_line20);
	CU_ASSERT_PTR_NULL(open_text(&c, text, &v));
	CU_ASSERT_PTR_NULL_FATAL(note_verifier_parse(&w, go_witness_vkey,
	                                             strlen(go_witness_vkey)));
	CU_ASSERT_EQUAL(w.key_hash, hand_key_hash(w.name, w.public_key));
	CU_ASSERT_PTR_NOT_NULL(open_text(&c, text, &w));
	CU_ASSERT_PTR_NOT_NULL(open_text(&c, go_note20, &w));
}

void suite_note(void);
void suite_note(void)
{
	CU_pSuite s = CU_add_suite("note", NULL, NULL);

	CU_add_test(s, "key hash by hand", test_note_key_hash_by_hand);
	CU_add_test(s, "key text round trip", test_note_key_text_round_trip);
	CU_add_test(s, "key text rejects", test_note_key_text_rejects);
	CU_add_test(s, "sign and open", test_note_sign_open);
	CU_add_test(s, "changed note rejected", test_note_open_rejects_changes);
	CU_add_test(s, "other keys rejected", test_note_open_rejects_other_keys);
	CU_add_test(s, "unknown signatures ignored", test_note_unknown_signatures);
	CU_add_test(s, "bad signature lines rejected",
	            test_note_open_rejects_bad_signature_lines);
	CU_add_test(s, "bad bodies rejected", test_note_open_rejects_bad_bodies);
	CU_add_test(s, "bad text rejected", test_note_open_rejects_bad_text);
	CU_add_test(s, "note size limit", test_note_bytes_max);
	CU_add_test(s, "Go interop vectors", test_note_go_interop);
}
