/*
 * libFuzzer target: VMware disks from untrusted bytes: format probing,
 * VMDK4 sparse headers and grain directories/tables, compressed grains,
 * COWD headers, and text descriptors; then reads across the disk.
 */
#include <stddef.h>
#include <stdint.h>
#include "block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    GError *err = NULL;
    BlockNode *file = blk_mem_open(data, len, 0);
    BlkFormat fmt = blk_probe_format(file);
    if (fmt != BLK_FORMAT_VMDK && fmt != BLK_FORMAT_COWD && fmt != BLK_FORMAT_DESCRIPTOR) {
        blk_node_close(file);
        return 0;
    }
    BlockNode *disk = blk_vmdk_open_file(file, fmt, 0, &err);     /* takes file */
    g_clear_error(&err);
    if (disk) {
        uint8_t buf[4096];
        int64_t size = blk_node_size(disk);
        /* A sample of offsets: the start, grain-sized steps, the end. */
        for (int64_t off = 0, step = 65536; off < size && off < (64 << 20); off += step) {
            blk_node_pread(disk, off, buf, MIN((int64_t)sizeof(buf), size - off));
            uint64_t pnum;
            blk_node_block_status(disk, off, MIN((int64_t)sizeof(buf), size - off), &pnum);
        }
        if (size > 4096) {
            blk_node_pread(disk, size - 4096, buf, 4096);
        }
        blk_node_close(disk);
    }
    return 0;
}
