/*
 * MBR partition tables: the four primary entries at offset 0x1BE of sector
 * 0 and the chain of extended boot records (types 0x05, 0x0F, 0x85) that
 * hold the logical partitions, numbered from 5 as Linux and fdisk do.
 *
 * Reference: the IBM PC partition table layout (16-byte entries: status,
 * CHS start, type, CHS end, LBA start, sector count; signature 0x55 0xAA at
 * offset 510).  Partition 0 is the whole disk (ESX Server 1.0 manual, "File
 * System Management on SCSI Disks and RAID").
 */
#include <errno.h>
#include "block-int.h"

#define MBR_MAX_LOGICAL 128

static bool is_extended(uint8_t type)
{
    return type == 0x05 || type == 0x0f || type == 0x85;
}

static int read_table(BlockNode *disk, uint64_t lba, uint8_t sec[512])
{
    int r = blk_node_pread(disk, lba * BLK_SECTOR_SIZE, sec, 512);
    if (r < 0) {
        return r;
    }
    return (sec[510] == 0x55 && sec[511] == 0xaa) ? 1 : 0;
}

int blk_mbr_read(BlockNode *disk, BlkPartition **parts, int *nparts,
                 GError **errp)
{
    int64_t size = blk_node_size(disk);
    *parts = NULL;
    *nparts = 0;
    if (size < 0) {
        return blk_fail(errp, (int)size, disk->filename);
    }
    uint64_t nsec = (uint64_t)size / BLK_SECTOR_SIZE;
    if (nsec == 0) {
        return 0;
    }
    uint8_t sec[512];
    int r = read_table(disk, 0, sec);
    if (r < 0) {
        return blk_fail(errp, r, disk->filename);
    }
    if (r == 0) {
        return 0;
    }
    GArray *out = g_array_new(FALSE, TRUE, sizeof(BlkPartition));
    uint64_t ext_base = 0, ext_size = 0;
    for (int i = 0; i < 4; i++) {
        const uint8_t *e = sec + 0x1be + i * 16;
        uint8_t type = e[4];
        uint64_t start = ld32(e + 8), count = ld32(e + 12);
        if (type == 0 || count == 0) {
            continue;
        }
        if (start >= nsec || count > nsec - start) {
            g_set_error(errp, BLK_ERROR, EINVAL,
                        "%s: partition %d lies outside the disk",
                        disk->filename, i + 1);
            g_array_free(out, TRUE);
            return -EINVAL;
        }
        BlkPartition p = {
            .number = i + 1, .type = type,
            .offset = start * BLK_SECTOR_SIZE,
            .size = count * BLK_SECTOR_SIZE,
        };
        g_array_append_val(out, p);
        if (is_extended(type) && ext_base == 0) {
            ext_base = start;
            ext_size = count;
        }
    }
    /* Logical partitions: each EBR holds one partition (relative to the
     * EBR) and a link to the next EBR (relative to the extended one). */
    uint64_t ebr = ext_base;
    for (int n = 0; ext_base && n < MBR_MAX_LOGICAL; n++) {
        r = read_table(disk, ebr, sec);
        if (r <= 0) {
            break;
        }
        const uint8_t *e = sec + 0x1be;
        uint8_t type = e[4];
        uint64_t start = ebr + ld32(e + 8), count = ld32(e + 12);
        if (type != 0 && count != 0) {
            if (start < ext_base || start >= ext_base + ext_size ||
                count > ext_base + ext_size - start) {
                g_set_error(errp, BLK_ERROR, EINVAL,
                            "%s: logical partition %d lies outside its "
                            "extended partition", disk->filename, 5 + n);
                g_array_free(out, TRUE);
                return -EINVAL;
            }
            BlkPartition p = {
                .number = 5 + n, .type = type,
                .offset = start * BLK_SECTOR_SIZE,
                .size = count * BLK_SECTOR_SIZE,
            };
            g_array_append_val(out, p);
        }
        const uint8_t *link = sec + 0x1be + 16;
        uint64_t next = ld32(link + 8);
        if (!is_extended(link[4]) || next == 0 || next >= ext_size) {
            break;
        }
        uint64_t next_ebr = ext_base + next;
        if (next_ebr <= ebr) {
            break;      /* a loop or a backward link */
        }
        ebr = next_ebr;
    }
    *nparts = (int)out->len;
    *parts = (BlkPartition *)g_array_free(out, FALSE);
    return 0;
}
