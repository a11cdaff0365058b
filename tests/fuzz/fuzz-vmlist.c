/*
 * libFuzzer target: the vm-list reader.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "esx-vmlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    gchar *text = g_strndup((const char *)data, len);
    gchar **paths = esx_vmlist_parse(text);
    for (gchar **p = paths; *p; p++) {
        g_assert(strchr(*p, '"') == NULL);
    }
    g_strfreev(paths);
    g_free(text);
    return 0;
}
