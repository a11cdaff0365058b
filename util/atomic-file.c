/*
 * Locked, atomically replaced small files (see include/atomic-file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>
#include "atomic-file.h"

int file_lock_exclusive(const char *path, GError **errp)
{
    gchar *lock_path = g_strconcat(path, ".lock", NULL);
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    int e = fd < 0 ? errno : 0;
    while (fd >= 0 && flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            e = errno;
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(e),
                    "%s: cannot lock: %s", lock_path, g_strerror(e));
        g_free(lock_path);
        return -e;
    }
    g_free(lock_path);
    return fd;
}

int file_replace_atomic(const char *path, const char *data, size_t len,
                        GError **errp)
{
    gchar *tmp = g_strdup_printf("%s.tmp.%d", path, (int)getpid());
    int e = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        e = errno;
    }
    size_t done = 0;
    while (fd >= 0 && done < len && e == 0) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno != EINTR) {
            e = errno;
        } else if (w > 0) {
            done += w;
        }
    }
    if (fd >= 0) {
        if (e == 0 && fsync(fd) < 0) {
            e = errno;
        }
        if (close(fd) < 0 && e == 0) {
            e = errno;
        }
        if (e == 0 && rename(tmp, path) < 0) {
            e = errno;
        }
        if (e) {
            unlink(tmp);
        }
    }
    if (e) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(e),
                    "%s: cannot write: %s", path, g_strerror(e));
    } else {
        /* Make the rename itself durable. */
        gchar *dir = g_path_get_dirname(path);
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        g_free(dir);
    }
    g_free(tmp);
    return -e;
}
