/*
 * The file backend (-serial file:PATH): everything the guest sends is
 * appended to PATH, which is created (mode 0666 less the umask) if missing.
 * There is no input.  Writes go through the core's output path, so a FIFO
 * whose reader stalls cannot hang the VM either.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "chardev-internal.h"

typedef struct FileState {
    int fd;
} FileState;

static int file_open(Chardev *cd, const char *path, GError **errp)
{
    if (!*path) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: no file name given", cd->spec);
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY |
                  O_NONBLOCK, 0666);
    if (fd < 0) {
        int err = errno;
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(err),
                    "%s: %s", cd->spec, g_strerror(err));
        return -1;
    }
    FileState *f = g_new0(FileState, 1);
    f->fd = fd;
    cd->be = f;
    chardev_attach_fds(cd, -1, fd, true, false);
    return 0;
}

static void file_close(Chardev *cd)
{
    FileState *f = cd->be;

    chardev_detach_fds(cd);
    close(f->fd);
    g_free(f);
}

static void file_hangup(Chardev *cd)
{
    /* A write failed (disk full, FIFO reader gone): keep the descriptor
     * until close, drop output (out_dead is set). */
}

const ChardevClass chardev_file_class = {
    .name = "file",
    .open = file_open,
    .close = file_close,
    .hangup = file_hangup,
};
