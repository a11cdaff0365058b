/*
 * The null backend (-serial null): output is discarded, no input ever
 * arrives.  The port exists for the guest but is connected to nothing.
 */
#include "chardev-internal.h"

static int null_open(Chardev *cd, const char *arg, GError **errp)
{
    if (*arg) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: null takes no argument", cd->spec);
        return -1;
    }
    return 0;
}

static void null_close(Chardev *cd)
{
}

static void null_write(Chardev *cd, const uint8_t *buf, size_t len)
{
}

static void null_accept_input(Chardev *cd)
{
}

const ChardevClass chardev_null_class = {
    .name = "null",
    .open = null_open,
    .close = null_close,
    .write = null_write,
    .accept_input = null_accept_input,
};
