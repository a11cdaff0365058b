/*
 * libFuzzer target: the Linux bzImage setup-header parser (-kernel).
 */
#include <stddef.h>
#include <stdint.h>
#include "hw/linux-boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    LinuxKernelInfo info;
    GError *err = NULL;
    if (linux_is_bzimage(data, len)) {
        linux_parse("fuzz", data, len, &info, &err);
    }
    g_clear_error(&err);
    return 0;
}
