/*
 * The `vmdk` driver: VMware virtual disks (placeholder until the driver
 * lands; every entry point reports that the format is not available yet).
 */
#include <errno.h>
#include "block-int.h"

BlockNode *blk_vmdk_open_file(BlockNode *file, BlkFormat fmt, int flags,
                              GError **errp)
{
    g_set_error(errp, BLK_ERROR, ENOTSUP, "%s: %s: not available yet",
                file->filename, blk_format_name(fmt));
    blk_node_close(file);
    return NULL;
}

int blk_vmdk_export(BlockNode *src, const char *path, VmdkSubformat fmt,
                    BlkProgressFunc *progress, void *opaque, GError **errp)
{
    g_set_error(errp, BLK_ERROR, ENOTSUP, "%s: vmdk export: not available yet",
                path);
    return -ENOTSUP;
}
