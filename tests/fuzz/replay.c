/* Replays fuzz inputs through a target without libFuzzer, so that the
 * regression inputs (tests/fuzz/regressions/TARGET/) and the seed corpora
 * run in `make test` with the ordinary compiler, and under ASan and UBSan
 * in `make sanitize`. Usage: replay_TARGET FILE|DIR...; prints the count
 * of inputs run; a bug aborts (exit status of the signal). */

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_FILE_BYTES_MAX (8u * 1024u * 1024u)

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(REPLAY_FILE_BYTES_MAX);
	size_t n;

	if (!f || !buf) {
		fprintf(stderr, "replay: cannot read '%s': %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		free(buf);
		return -1;
	}
	n = fread(buf, 1, REPLAY_FILE_BYTES_MAX, f);
	fclose(f);
	/* An exact-size copy, so that a read past the end is seen by ASan. */
	uint8_t *exact = malloc(n ? n : 1);
	if (!exact) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files of a directory in name order (not recursive). */
static long replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t count = 0, cap = 0;
	long done = 0;

	if (!d) {
		fprintf(stderr, "replay: cannot open '%s': %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 64;
			char **p = realloc(names, cap * sizeof *names);
			if (!p)
				abort();
			names = p;
		}
		size_t n = strlen(dir) + strlen(e->d_name) + 2;
		if (!(names[count] = malloc(n)))
			abort();
		snprintf(names[count++], n, "%s/%s", dir, e->d_name);
	}
	closedir(d);
	qsort(names, count, sizeof *names, cmp_names);
	for (size_t i = 0; i < count; i++) {
		struct stat st;
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(names[i]) != 0)
				done = -1;
			else if (done >= 0)
				done++;
		}
		free(names[i]);
	}
	free(names);
	return done;
}

int main(int argc, char **argv)
{
	long total = 0;
	struct stat st;

	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0)
			continue;           /* an absent regression directory is empty */
		long n = S_ISDIR(st.st_mode) ? replay_dir(argv[i])
		                             : (replay_file(argv[i]) == 0 ? 1 : -1);
		if (n < 0)
			return 1;
		total += n;
	}
	printf("%s: %ld inputs replayed\n", argc > 0 ? argv[0] : "replay", total);
	return 0;
}
