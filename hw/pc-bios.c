/*
 * -bios FILE: a flat firmware image.  Like the PC's boot ROM it is mapped
 * read-only so that its last byte sits at 0xffffffff (the reset vector is
 * 16 bytes below) and its last 128 KiB also appear just below 1 MiB.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
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
    /* The ROM bytes live for the machine's lifetime, in page-aligned host
     * memory (KVM maps whole pages); pc_bios_free releases them. */
    uint8_t *rom = mmap(NULL, len, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rom == MAP_FAILED) {
        int e = errno;
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(e),
                    "-bios: %s: cannot allocate %zu bytes: %s", path, (size_t)len,
                    g_strerror(e));
        g_free(data);
        return -e;
    }
    memcpy(rom, data, len);
    g_free(data);
    m->pc->bios_rom = rom;
    m->pc->bios_rom_size = len;

    uint64_t low = MIN((uint64_t)len, PC_BIOS_LOW_MAX);
    as_add_rom(m->as, "bios", PC_4G - len, len, rom);
    as_add_rom(m->as, "bios-low", PC_HIGH_RAM_START - low, low,
               rom + len - low);
    return 0;
}

void pc_bios_free(Machine *m)
{
    if (m->pc && m->pc->bios_rom) {
        as_remove(m->as, PC_4G - m->pc->bios_rom_size);
        as_remove(m->as, PC_HIGH_RAM_START -
                  MIN((uint64_t)m->pc->bios_rom_size, PC_BIOS_LOW_MAX));
        munmap(m->pc->bios_rom, m->pc->bios_rom_size);
        m->pc->bios_rom = NULL;
    }
}
