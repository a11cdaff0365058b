/*
 * libFuzzer target: a REDO log from untrusted bytes: the header, the
 * allocation map, and reads through it over a zero base disk.
 */
#include <stddef.h>
#include <stdint.h>
#include "block.h"

#define MAX_PARENT (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    GError *err = NULL;
    RedoInfo info;
    BlockNode *file = blk_mem_open(data, len, 0);
    if (blk_redo_read_info(file, &info, &err) < 0 || info.parent_size > MAX_PARENT) {
        g_clear_error(&err);
        blk_node_close(file);
        return 0;
    }
    BlockNode *base = blk_mem_open(NULL, info.parent_size, 0);
    BlockNode *redo = blk_redo_open(file, base, 0, &err);      /* takes both */
    g_clear_error(&err);
    if (redo) {
        uint8_t buf[4096];
        int64_t size = blk_node_size(redo);
        for (int64_t off = 0; off < size; off += 65536) {
            int64_t n = MIN((int64_t)sizeof(buf), size - off);
            blk_node_pread(redo, off, buf, n);
            uint64_t pnum;
            blk_node_block_status(redo, off, n, &pnum);
        }
        blk_node_close(redo);
    }
    return 0;
}
