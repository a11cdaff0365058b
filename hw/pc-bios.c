/*
 * -bios FILE: a flat firmware image.  Like the PC's boot ROM it is mapped
 * read-only so that its last byte sits at 0xffffffff (the reset vector is
 * 16 bytes below) and its last 128 KiB also appear just below 1 MiB.
 */
#include <errno.h>
#include "hw/pc.h"

int pc_bios_load(Machine *m, const char *path, GError **errp)
{
    gchar *data = NULL;
    gsize len = 0;
    GError *err = NULL;

    if (!g_file_get_contents(path, &data, &len, &err)) {
        g_set_error(errp, G_FILE_ERROR, err->code, "-bios: %s", err->message);
        g_error_free(err);
        return -ENOENT;
    }
    if (len == 0 || len > 16 * 1024 * 1024 || (len & 0xfff)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "-bios: %s: size %zu is not a multiple of 4 KiB up to 16 MiB",
                    path, (size_t)len);
        g_free(data);
        return -EINVAL;
    }
    /* The ROM bytes live for the machine's lifetime. */
    uint64_t low = MIN((uint64_t)len, PC_BIOS_LOW_MAX);
    as_add_rom(m->as, "bios", PC_4G - len, len, data);
    as_add_rom(m->as, "bios-low", PC_HIGH_RAM_START - low, low,
               data + len - low);
    return 0;
}
