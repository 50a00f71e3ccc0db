/* Build-time generator of the country table (DESIGN §2). Reads Debian's
 * iso-codes ISO 3166-1 and ISO 3166-3 JSON files and writes to stdout a C
 * file that defines the table and implements ledger/country.h:
 *
 *   gen_countries iso_3166-1.json iso_3166-3.json > countries.c
 *
 * The output holds two sorted tables: the entries by stored code, for
 * country_by_code(), and every accepted spelling (code, alpha-3, names),
 * ASCII-lower-cased, for country_find(); both are searched by bisection.
 * When two entries share a spelling, the stronger claim keeps it: a stored
 * code, then a current alpha-3, a current name, a former country's alpha-3
 * and last a former country's name; so "ATF" is the French Southern
 * Territories (TF), not the withdrawn FQHH. Exits 1 on malformed input. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

struct gen_entry {
	const char *code;          /* alpha-2, or alpha-4 for a former country */
	const char *alpha3;        /* or NULL */
	const char *name;
	const char *official_name; /* or NULL */
	const char *common_name;   /* or NULL */
	bool former;
};

/* Claims on a spelling, strongest first. */
enum gen_rank {
	GEN_RANK_CODE,
	GEN_RANK_ALPHA3,
	GEN_RANK_NAME,
	GEN_RANK_FORMER_ALPHA3,
	GEN_RANK_FORMER_NAME,
};

struct gen_key {
	char *text;                /* ASCII-lower-cased spelling, owned */
	size_t entry;              /* index into the entries sorted by code */
	enum gen_rank rank;
};

#define GEN_KEYS_PER_ENTRY 5       /* code, alpha-3, three names */

/* ISO's exceptionally reserved codes that DESIGN §2 accepts as actors. */
static const struct gen_entry gen_reserved[] = {
	{ "EU", NULL, "European Union", NULL, NULL, false },
	{ "UN", NULL, "United Nations", NULL, NULL, false },
};

/* The functions of country.h, emitted after the tables. They compare
 * bytes, never the locale, so a lookup means the same everywhere. */
static const char gen_functions[] =
"static unsigned char country_lower(char c)\n"
"{\n"
"\treturn (unsigned char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);\n"
"}\n"
"\n"
"/* Compares a lower-cased key with n bytes of text that hold no NUL, so the\n"
" * key's NUL ends the comparison before it is read past. */\n"
"static int country_key_compare(const char *key, const char *text, size_t n)\n"
"{\n"
"\tfor (size_t i = 0; i < n; i++) {\n"
"\t\tunsigned char a = (unsigned char)key[i];\n"
"\t\tunsigned char b = country_lower(text[i]);\n"
"\t\tif (a != b)\n"
"\t\t\treturn a < b ? -1 : 1;\n"
"\t}\n"
"\treturn key[n] == '\\0' ? 0 : 1;\n"
"}\n"
"\n"
"const country *country_find(const char *text, size_t n)\n"
"{\n"
"\tsize_t lo = 0, hi = sizeof country_keys / sizeof country_keys[0];\n"
"\n"
"\tif (text == NULL || n == 0 || n > COUNTRY_KEY_BYTES_MAX ||\n"
"\t    memchr(text, '\\0', n) != NULL)\n"
"\t\treturn NULL;\n"
"\twhile (lo < hi) {\n"
"\t\tsize_t mid = lo + (hi - lo) / 2;\n"
"\t\tint c = country_key_compare(country_keys[mid].key, text, n);\n"
"\t\tif (c == 0)\n"
"\t\t\treturn &countries[country_keys[mid].index];\n"
"\t\tif (c < 0)\n"
"\t\t\tlo = mid + 1;\n"
"\t\telse\n"
"\t\t\thi = mid;\n"
"\t}\n"
"\treturn NULL;\n"
"}\n"
"\n"
"const country *country_by_code(const char *code)\n"
"{\n"
"\tsize_t lo = 0, hi = sizeof countries / sizeof countries[0];\n"
"\n"
"\tif (code == NULL)\n"
"\t\treturn NULL;\n"
"\twhile (lo < hi) {\n"
"\t\tsize_t mid = lo + (hi - lo) / 2;\n"
"\t\tint c = strcmp(countries[mid].code, code);\n"
"\t\tif (c == 0)\n"
"\t\t\treturn &countries[mid];\n"
"\t\tif (c < 0)\n"
"\t\t\tlo = mid + 1;\n"
"\t\telse\n"
"\t\t\thi = mid;\n"
"\t}\n"
"\treturn NULL;\n"
"}\n"
"\n"
"size_t country_count(void)\n"
"{\n"
"\treturn sizeof countries / sizeof countries[0];\n"
"}\n"
"\n"
"const country *country_at(size_t i)\n"
"{\n"
"\tassert(i < country_count());\n"
"\treturn &countries[i];\n"
"}\n";

static bool gen_is_code(const char *s, size_t letters)
{
	if (s == NULL || strlen(s) != letters)
		return false;
	for (size_t i = 0; i < letters; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	return true;
}

/* The string member `key` of an object, or NULL when absent or empty. */
static const char *gen_string(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* Appends the entries of array `array_name` in root to entries[*count]. */
static int gen_read(struct gen_entry *entries, size_t *count, size_t cap,
                    json_t *root, const char *array_name, bool former)
{
	json_t *array = json_object_get(root, array_name);
	json_t *item;
	size_t i;

	if (!json_is_array(array)) {
		fprintf(stderr, "gen_countries: no \"%s\" array\n", array_name);
		return -1;
	}
	json_array_foreach(array, i, item) {
		struct gen_entry e = {
			.code = gen_string(item, former ? "alpha_4" : "alpha_2"),
			.alpha3 = gen_string(item, "alpha_3"),
			.name = gen_string(item, "name"),
			.official_name = former ? NULL : gen_string(item, "official_name"),
			.common_name = former ? NULL : gen_string(item, "common_name"),
			.former = former,
		};
		if (!gen_is_code(e.code, former ? 4 : 2) || e.name == NULL ||
		    (e.alpha3 != NULL && !gen_is_code(e.alpha3, 3)) ||
		    (!former && e.alpha3 == NULL) || *count >= cap) {
			fprintf(stderr, "gen_countries: \"%s\"[%zu]: bad entry\n",
			        array_name, i);
			return -1;
		}
		entries[(*count)++] = e;
	}
	return 0;
}

static int gen_entry_compare(const void *a, const void *b)
{
	return strcmp(((const struct gen_entry *)a)->code,
	              ((const struct gen_entry *)b)->code);
}

/* Spelling, then strongest claim, then code order: the first key of each
 * spelling after sorting is the one that is kept. */
static int gen_key_compare(const void *a, const void *b)
{
	const struct gen_key *x = a, *y = b;
	int c = strcmp(x->text, y->text);
	if (c != 0)
		return c;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->entry < y->entry ? -1 : x->entry > y->entry;
}

static int gen_add_key(struct gen_key *keys, size_t *count, const char *s,
                       size_t entry, enum gen_rank rank)
{
	size_t n;
	char *t;

	if (s == NULL)
		return 0;
	n = strlen(s);
	if ((t = malloc(n + 1)) == NULL) {
		fprintf(stderr, "gen_countries: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i <= n; i++)
		t[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
	keys[(*count)++] = (struct gen_key){ t, entry, rank };
	return 0;
}

/* Adds every spelling of each entry; the caller sized keys to hold them. */
static int gen_keys(struct gen_key *keys, size_t *count,
                    const struct gen_entry *entries, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct gen_entry *e = &entries[i];
		enum gen_rank a3 = e->former ? GEN_RANK_FORMER_ALPHA3 : GEN_RANK_ALPHA3;
		enum gen_rank nm = e->former ? GEN_RANK_FORMER_NAME : GEN_RANK_NAME;
		if (gen_add_key(keys, count, e->code, i, GEN_RANK_CODE) ||
		    gen_add_key(keys, count, e->alpha3, i, a3) ||
		    gen_add_key(keys, count, e->name, i, nm) ||
		    gen_add_key(keys, count, e->official_name, i, nm) ||
		    gen_add_key(keys, count, e->common_name, i, nm))
			return -1;
	}
	return 0;
}

/* Keeps the first key of each spelling; notes on stderr each spelling that
 * two entries claim, so a new iso-codes release is noticed. */
static size_t gen_unique(struct gen_key *keys, size_t n,
                         const struct gen_entry *entries)
{
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		if (out > 0 && strcmp(keys[out - 1].text, keys[i].text) == 0) {
			if (keys[out - 1].entry != keys[i].entry)
				fprintf(stderr, "gen_countries: note: \"%s\" means %s, "
				        "not %s\n", keys[i].text,
				        entries[keys[out - 1].entry].code,
				        entries[keys[i].entry].code);
			free(keys[i].text);
			continue;
		}
		keys[out++] = keys[i];
	}
	return out;
}

/* A C string literal of s, or NULL. Bytes outside printable ASCII become
 * three-digit octal escapes, which never swallow a following digit; '?' is
 * escaped so that no trigraph can form. */
static void gen_emit_string(FILE *f, const char *s)
{
	if (s == NULL) {
		fputs("NULL", f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\' || *p == '?')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\%03o", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void gen_emit(FILE *f, const struct gen_entry *entries, size_t n,
                     const struct gen_key *keys, size_t keys_n)
{
	size_t key_bytes_max = 0;

	fputs("/* Generated by tools/gen_countries.c from iso-codes ISO 3166-1 and\n"
	      " * ISO 3166-3 data; do not edit. */\n"
	      "#include <assert.h>\n#include <stddef.h>\n#include <string.h>\n\n"
	      "#include \"country.h\"\n\n"
	      "static const country countries[] = {\n", f);
	for (size_t i = 0; i < n; i++) {
		const struct gen_entry *e = &entries[i];
		const char *fields[] = { e->code, e->alpha3, e->name,
		                         e->official_name, e->common_name };
		fputc('\t', f);
		fputc('{', f);
		for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
			fputs(k ? ", " : " ", f);
			gen_emit_string(f, fields[k]);
		}
		fputs(" },\n", f);
	}
	fputs("};\n\n"
	      "/* Every accepted spelling, lower-cased, sorted by bytes. */\n"
	      "static const struct country_key {\n"
	      "\tconst char *key;\n\tunsigned short index;\n"
	      "} country_keys[] = {\n", f);
	for (size_t i = 0; i < keys_n; i++) {
		fputs("\t{ ", f);
		gen_emit_string(f, keys[i].text);
		fprintf(f, ", %zu },\n", keys[i].entry);
		if (strlen(keys[i].text) > key_bytes_max)
			key_bytes_max = strlen(keys[i].text);
	}
	fprintf(f, "};\n\n#define COUNTRY_KEY_BYTES_MAX %zu\n\n", key_bytes_max);
	fputs(gen_functions, f);
}

int main(int argc, char **argv)
{
	json_t *current = NULL, *former = NULL;
	struct gen_entry *entries = NULL;
	struct gen_key *keys = NULL;
	size_t n = 0, cap, keys_n = 0;
	json_error_t jerr;
	int rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: gen_countries ISO_3166-1.json ISO_3166-3.json\n");
		return 2;
	}
	if ((current = json_load_file(argv[1], 0, &jerr)) == NULL ||
	    (former = json_load_file(argv[2], 0, &jerr)) == NULL) {
		fprintf(stderr, "gen_countries: %s:%d: %s\n", jerr.source,
		        jerr.line, jerr.text);
		goto out;
	}
	cap = json_array_size(json_object_get(current, "3166-1")) +
	      json_array_size(json_object_get(former, "3166-3")) +
	      sizeof gen_reserved / sizeof gen_reserved[0];
	entries = calloc(cap, sizeof *entries);
	keys = calloc(cap * GEN_KEYS_PER_ENTRY, sizeof *keys);
	if (entries == NULL || keys == NULL) {
		fprintf(stderr, "gen_countries: out of memory\n");
		goto out;
	}
	if (gen_read(entries, &n, cap, current, "3166-1", false) ||
	    gen_read(entries, &n, cap, former, "3166-3", true))
		goto out;
	for (size_t i = 0; i < sizeof gen_reserved / sizeof gen_reserved[0]; i++)
		entries[n++] = gen_reserved[i];
	qsort(entries, n, sizeof *entries, gen_entry_compare);
	for (size_t i = 1; i < n; i++)
		if (strcmp(entries[i - 1].code, entries[i].code) == 0) {
			fprintf(stderr, "gen_countries: code %s appears twice\n",
			        entries[i].code);
			goto out;
		}
	if (n > 65535) {
		fprintf(stderr, "gen_countries: too many entries for the index\n");
		goto out;
	}
	if (gen_keys(keys, &keys_n, entries, n))
		goto out;
	qsort(keys, keys_n, sizeof *keys, gen_key_compare);
	keys_n = gen_unique(keys, keys_n, entries);
	gen_emit(stdout, entries, n, keys, keys_n);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "gen_countries: cannot write the output\n");
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < keys_n; i++)
		free(keys[i].text);
	free(keys);
	free(entries);
	json_decref(former);
	json_decref(current);
	return rc;
}
