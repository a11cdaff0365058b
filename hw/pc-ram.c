/*
 * Guest RAM of the PC: one anonymous host mapping shown to the guest as
 * conventional memory [0, 640K), extended memory [1M, below_4g) and, when
 * the guest has more than fits below the PCI hole, [4G, 4G + above_4g).
 * The host bytes behind 640K-1M stay unused so that guest-physical address
 * and RAM offset are equal below 4 GiB.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "hw/pc.h"

int pc_ram_init(Machine *m, GError **errp)
{
    uint64_t size = m->cfg->ram_size;

    if (size < 2 * 1024 * 1024) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "-m: %" G_GUINT64_FORMAT " bytes is too small (2 MiB at least)", size);
        return -EINVAL;
    }
    void *ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ram == MAP_FAILED) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "-m: cannot allocate %" G_GUINT64_FORMAT " MiB of guest RAM: %s",
                    size >> 20, g_strerror(errno));
        return -errno;
    }
    madvise(ram, size, MADV_MERGEABLE);
    m->ram = ram;
    m->ram_size = size;
    m->below_4g = MIN(size, PC_PCI_HOLE_START);
    m->above_4g = size - m->below_4g;

    as_add_ram(m->as, "ram-low", 0, PC_LOW_RAM_END, m->ram);
    if (m->below_4g > PC_HIGH_RAM_START) {
        as_add_ram(m->as, "ram-high", PC_HIGH_RAM_START,
                   m->below_4g - PC_HIGH_RAM_START, m->ram + PC_HIGH_RAM_START);
    }
    if (m->above_4g) {
        as_add_ram(m->as, "ram-above-4g", PC_4G, m->above_4g,
                   m->ram + m->below_4g);
    }
    return 0;
}
