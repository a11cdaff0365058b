/*
 * libFuzzer target: a VMFS volume from untrusted bytes: the superblock, the
 * file table and block lists (open, list, stat, read every file), and fsck.
 */
#include <stddef.h>
#include <stdint.h>
#include "block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    GError *err = NULL;
    BlockNode *dev = blk_mem_open(data, len, 0);
    VmfsVolume *vol = vmfs_volume_open(dev, false, &err);   /* takes dev */
    g_clear_error(&err);
    if (vol) {
        VmfsVolumeInfo info;
        vmfs_volume_info(vol, &info, &err);
        g_clear_error(&err);
        VmfsFileInfo *files = NULL;
        int n = 0;
        if (vmfs_list(vol, &files, &n, &err) == 0) {
            for (int i = 0; i < n && i < 8; i++) {
                BlockNode *f = vmfs_file_open(vol, files[i].name, 0, &err);
                g_clear_error(&err);
                if (f) {
                    uint8_t buf[4096];
                    int64_t size = blk_node_size(f);
                    blk_node_pread(f, 0, buf, size > 0 && size < 4096 ? size : 0);
                    if (size > 4096) {
                        blk_node_pread(f, size - 4096, buf, 4096);
                    }
                    blk_node_close(f);
                }
            }
            g_free(files);
        }
        g_clear_error(&err);
        vmfs_volume_close(vol);
    }
    /* The volume took the first node; fsck gets a node of its own. */
    BlockNode *again = blk_mem_open(data, len, 0);
    GString *report = g_string_new(NULL);
    vmfs_fsck(again, report, &err);
    g_clear_error(&err);
    g_string_free(report, TRUE);
    blk_node_close(again);
    return 0;
}
