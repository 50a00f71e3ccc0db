/* LD_PRELOAD shim for the crash tests (issue 8, docs/RELIABILITY.md): it
 * counts the calls a process makes to pwrite, pwrite64, write, writev,
 * fdatasync, fsync and msync, and raises SIGKILL at the Nth one.
 *
 *   ANNALS_KILL_AT=N        kill at the Nth counted call (1-based); unset
 *                           or 0: never kill, only count
 *   ANNALS_KILL_WHEN=before the call never happens (default);
 *                   after   the call completes, then the kill;
 *                   short   a write call writes half its bytes, then the
 *                           kill (a sync call: as "after")
 *   ANNALS_KILL_COUNT=FILE  at exit, write the number of counted calls and
 *                           one line per call "N name fd bytes" (to see what
 *                           an import does, and to enumerate N)
 *
 * Only calls that go through the dynamic linker are seen: LMDB's (a
 * shared library) are, glibc's internal writes of stdio are not. */
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define SHIM_LOG_MAX 65536u   /* calls remembered for ANNALS_KILL_COUNT */

enum when { KILL_BEFORE, KILL_AFTER, KILL_SHORT };

static atomic_ulong calls;
static unsigned long kill_at;
static enum when kill_when;
static const char *count_path;

struct logged {
	const char *name;
	int fd;
	size_t bytes;
};
static struct logged shim_log[SHIM_LOG_MAX];

__attribute__((constructor)) static void shim_init(void)
{
	const char *s = getenv("ANNALS_KILL_AT");
	const char *w = getenv("ANNALS_KILL_WHEN");

	kill_at = s ? strtoul(s, NULL, 10) : 0;
	kill_when = !w ? KILL_BEFORE : strcmp(w, "after") == 0 ? KILL_AFTER :
	            strcmp(w, "short") == 0 ? KILL_SHORT : KILL_BEFORE;
	count_path = getenv("ANNALS_KILL_COUNT");
	/* Children (none today) must not inherit the kill point. */
	unsetenv("ANNALS_KILL_AT");
}

__attribute__((destructor)) static void shim_fini(void)
{
	if (!count_path)
		return;
	/* Raw syscalls through the real functions would be counted: use
	 * stdio, whose internal writes are not interposed. */
	FILE *f = fopen(count_path, "w");
	if (!f)
		return;
	unsigned long n = atomic_load(&calls);
	fprintf(f, "%lu\n", n);
	for (unsigned long i = 0; i < n && i < SHIM_LOG_MAX; i++)
		fprintf(f, "%lu %s %d %zu\n", i + 1, shim_log[i].name,
		        shim_log[i].fd, shim_log[i].bytes);
	fclose(f);
}

static void *real(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p)
		abort();
	return p;
}

static void die(void)
{
	raise(SIGKILL);
	for (;;)
		pause();
}

/* Count a call; returns true when this is the call to kill at. */
static int shim_count(const char *name, int fd, size_t bytes)
{
	unsigned long n = atomic_fetch_add(&calls, 1) + 1;

	if (n <= SHIM_LOG_MAX)
		shim_log[n - 1] = (struct logged){ name, fd, bytes };
	if (kill_at && n == kill_at) {
		if (kill_when == KILL_BEFORE)
			die();
		return 1;
	}
	return 0;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*f)(int, const void *, size_t, off_t);
	if (!f)
		f = real("pwrite");
	int k = shim_count("pwrite", fd, n);
	ssize_t r = f(fd, buf, k && kill_when == KILL_SHORT ? n / 2 : n, off);
	if (k)
		die();
	return r;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*f)(int, const void *, size_t, off_t);
	if (!f)
		f = real("pwrite64");
	int k = shim_count("pwrite64", fd, n);
	ssize_t r = f(fd, buf, k && kill_when == KILL_SHORT ? n / 2 : n, off);
	if (k)
		die();
	return r;
}

ssize_t write(int fd, const void *buf, size_t n)
{
	static ssize_t (*f)(int, const void *, size_t);
	if (!f)
		f = real("write");
	int k = shim_count("write", fd, n);
	ssize_t r = f(fd, buf, k && kill_when == KILL_SHORT ? n / 2 : n);
	if (k)
		die();
	return r;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	static ssize_t (*f)(int, const struct iovec *, int);
	size_t n = 0;
	if (!f)
		f = real("writev");
	for (int i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	int k = shim_count("writev", fd, n);
	ssize_t r;
	if (k && kill_when == KILL_SHORT && cnt > 1) {
		r = f(fd, iov, cnt / 2);     /* the first half of the buffers */
	} else if (k && kill_when == KILL_SHORT && cnt == 1) {
		struct iovec half = { iov[0].iov_base, iov[0].iov_len / 2 };
		r = f(fd, &half, 1);
	} else {
		r = f(fd, iov, cnt);
	}
	if (k)
		die();
	return r;
}

int fdatasync(int fd)
{
	static int (*f)(int);
	if (!f)
		f = real("fdatasync");
	int k = shim_count("fdatasync", fd, 0);
	int r = f(fd);
	if (k)
		die();
	return r;
}

int fsync(int fd)
{
	static int (*f)(int);
	if (!f)
		f = real("fsync");
	int k = shim_count("fsync", fd, 0);
	int r = f(fd);
	if (k)
		die();
	return r;
}

int msync(void *addr, size_t n, int flags)
{
	static int (*f)(void *, size_t, int);
	if (!f)
		f = real("msync");
	int k = shim_count("msync", -1, n);
	int r = f(addr, n, flags);
	if (k)
		die();
	return r;
}
