/* A directory built beside its target and renamed into place in one
 * rename(2) (init, backup): a command killed part-way leaves nothing at the
 * target, only a directory TARGET.WHAT-XXXXXX whose name says what it was.
 *
 *   publish_begin      mkdtemp("TARGET.WHAT-XXXXXX") beside the target
 *   ...                write and fsync the files (publish_fsync_file)
 *   publish_commit     fsync the work directory, rename it to TARGET (which
 *                      must be absent or an empty directory), fsync the parent
 *   publish_abandon    on any failure: remove the named files and the work
 *                      directory
 */
#ifndef LEDGER_PUBLISH_H
#define LEDGER_PUBLISH_H

#include <stdbool.h>

#include "error.h"

#define PUBLISH_PATH_BYTES_MAX 4096u   /* the work directory's path, NUL included */
#define PUBLISH_TARGET_BYTES_MAX 3900u /* a target path, leaving room for the suffix */

/* True when dir exists and holds anything. */
bool publish_has_files(const char *dir);

/* Create the work directory "<dir>.<what>-XXXXXX" (mode 0700) beside dir,
 * trailing slashes of dir dropped, into work. LEDGER_EUSAGE when dir is
 * empty or too long, LEDGER_EIO when it cannot be made. */
ledger_err publish_begin(char work[PUBLISH_PATH_BYTES_MAX], const char *dir,
                         const char *what, errbuf *e);

/* fsync dir/name (a regular file, not followed when a link). */
ledger_err publish_fsync_file(const char *dir, const char *name, errbuf *e);

/* fsync a directory; errors are ignored (some file systems refuse it). */
void publish_fsync_dir(const char *dir);

/* Make work appear as dir in one rename(2), after an fsync of work, and
 * make the rename durable with an fsync of dir's parent. what names the
 * content in the message ("the new ledger", "the backup"). LEDGER_EEXIST
 * when dir is there and not empty, LEDGER_EIO on other failures; work is
 * left as it was then. */
ledger_err publish_commit(const char *work, const char *dir, const char *what,
                          errbuf *e);

/* Remove names (a NULL-ended list of file names) from dir. */
void publish_remove_files(const char *dir, const char *const names[]);

/* publish_remove_files, then remove the work directory itself. */
void publish_abandon(const char *work, const char *const names[]);

#endif
