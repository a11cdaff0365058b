/*
 * libFuzzer target: finding and checking a Multiboot header (-kernel).
 */
#include <stddef.h>
#include <stdint.h>
#include "hw/multiboot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    int off = multiboot_find_header(data, len);
    if (off >= 0 && (size_t)off + 12 > len) {
        __builtin_trap();       /* a header found must lie inside the image */
    }
    return 0;
}
