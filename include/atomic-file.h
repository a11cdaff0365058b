/*
 * Small files that several processes update: an exclusive lock beside the
 * file, and replacement by write-to-temporary, fsync, rename, fsync of the
 * directory, so a reader or a crash sees the old or the new contents only.
 */
#ifndef VMKEMU_ATOMIC_FILE_H
#define VMKEMU_ATOMIC_FILE_H

#include <stddef.h>
#include <glib.h>

/* Take an exclusive lock on "<path>.lock" (created if needed); returns the
 * descriptor to close() for unlocking, or -errno with *errp set. */
int file_lock_exclusive(const char *path, GError **errp);
/* Replace `path` with `len` bytes of `data`, durably. */
int file_replace_atomic(const char *path, const char *data, size_t len,
                        GError **errp);

#endif
