/*
 * -kernel: direct kernel boot (Multiboot v1 and the Linux x86 boot protocol).
 */
#include <errno.h>
#include "hw/pc.h"

int pc_kernel_load(Machine *m, GError **errp)
{
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                "-kernel: direct kernel boot is not available yet");
    return -EINVAL;
}
