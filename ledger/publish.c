/* A directory built beside its target and renamed into place (publish.h). */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "publish.h"

/* dir without its trailing slashes ("/" stays "/"); false when too long. */
static bool target_path(char out[PUBLISH_TARGET_BYTES_MAX + 1], const char *dir)
{
	size_t n = strlen(dir);

	if (n > PUBLISH_TARGET_BYTES_MAX)
		return false;
	while (n > 1 && dir[n - 1] == '/')
		n--;
	memcpy(out, dir, n);
	out[n] = '\0';
	return true;
}

bool publish_has_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool any = false;

	if (!d)
		return false;
	while (!any && (de = readdir(d)) != NULL)
		any = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return any;
}

ledger_err publish_begin(char work[PUBLISH_PATH_BYTES_MAX], const char *dir,
                         const char *what, errbuf *e)
{
	char target[PUBLISH_TARGET_BYTES_MAX + 1];

	assert(strlen(what) <= 32);
	if (!*dir)
		return err_set(e, LEDGER_EUSAGE, "the directory path is empty");
	if (!target_path(target, dir))
		return err_set(e, LEDGER_EUSAGE, "the directory path is too long");
	snprintf(work, PUBLISH_PATH_BYTES_MAX, "%s.%s-XXXXXX", target, what);
	if (!mkdtemp(work))
		return err_set(e, LEDGER_EIO, "cannot create a directory beside "
		               "'%s': %s", dir, strerror(errno));
	return LEDGER_OK;
}

ledger_err publish_fsync_file(const char *dir, const char *name, errbuf *e)
{
	char path[PUBLISH_PATH_BYTES_MAX + 64];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		int saved = errno;
		if (fd >= 0)
			close(fd);
		return err_set(e, LEDGER_EIO, "cannot sync '%s': %s", path,
		               strerror(saved));
	}
	close(fd);
	return LEDGER_OK;
}

void publish_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

ledger_err publish_commit(const char *work, const char *dir, const char *what,
                          errbuf *e)
{
	char target[PUBLISH_TARGET_BYTES_MAX + 1], *slash;

	if (!target_path(target, dir))
		return err_set(e, LEDGER_EUSAGE, "the directory path is too long");
	publish_fsync_dir(work);
	/* rename(2) replaces an empty directory, and refuses one that is not
	 * (ENOTEMPTY, or EEXIST on some systems): files that appeared in the
	 * target meanwhile are never replaced. */
	if (rename(work, target) != 0) {
		int saved = errno;
		if (saved == ENOTEMPTY || saved == EEXIST)
			return err_set(e, LEDGER_EEXIST, "cannot move %s to '%s': it is "
			               "not empty (files appeared in it meanwhile)",
			               what, dir);
		return err_set(e, LEDGER_EIO, "cannot move %s to '%s': %s", what,
		               dir, strerror(saved));
	}
	slash = strrchr(target, '/');
	if (slash == target)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	publish_fsync_dir(slash ? target : ".");
	return LEDGER_OK;
}

void publish_remove_files(const char *dir, const char *const names[])
{
	char path[PUBLISH_PATH_BYTES_MAX + 64];

	for (size_t i = 0; names[i]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
}

void publish_abandon(const char *work, const char *const names[])
{
	publish_remove_files(work, names);
	rmdir(work);
}
