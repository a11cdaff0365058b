/*
 * Disk addressing as the ESX Server 1.0 manual writes it ("File System
 * Management on SCSI Disks and RAID", "VMFS virtual SCSI disks", "Naming
 * VMFS File Systems"): vmhbaA:T:L:P for a disk (P = 0) or one of its
 * partitions, vmhbaA:T:L:P:file and fsname:file for a file in a VMFS.  The
 * manual also writes the adapter as scsiA (in .cfg names and the FAQ), and
 * vmhbaA:T:L for the whole disk; both are accepted.
 *
 * The device map stands in for the VMkernel's adapter scan: each line
 * "vmhbaA:T:L PATH" binds a disk to a host block device or image file.
 * It is /etc/vmkemu/devices.map unless $VMKEMU_DEVMAP names another file;
 * relative paths in it are relative to the map's directory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "block-int.h"

#define DEVMAP_DEFAULT "/etc/vmkemu/devices.map"

static bool all_digits(const char *s)
{
    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        if (!g_ascii_isdigit(*s)) {
            return false;
        }
    }
    return true;
}

static int parse_num(const char *s, int *out)
{
    if (!all_digits(s) || strlen(s) > 6) {
        return -EINVAL;
    }
    *out = atoi(s);
    return 0;
}

/* "vmhba3" or "scsi3": the adapter number, or -1. */
static int adapter_number(const char *tok)
{
    const char *p = NULL;
    if (g_str_has_prefix(tok, "vmhba")) {
        p = tok + 5;
    } else if (g_str_has_prefix(tok, "scsi")) {
        p = tok + 4;
    }
    int n;
    if (!p || parse_num(p, &n) < 0) {
        return -1;
    }
    return n;
}

void blk_address_clear(BlkAddress *addr)
{
    g_free(addr->fsname);
    g_free(addr->file);
    g_free(addr->path);
    memset(addr, 0, sizeof(*addr));
}

int blk_address_parse(const char *s, BlkAddress *addr, GError **errp)
{
    memset(addr, 0, sizeof(*addr));
    if (!s || !*s) {
        g_set_error(errp, BLK_ERROR, EINVAL, "empty device name");
        return -EINVAL;
    }
    const char *colon = strchr(s, ':');
    char *head = colon ? g_strndup(s, (size_t)(colon - s)) : g_strdup(s);
    int adapter = adapter_number(head);
    g_free(head);
    if (colon && adapter >= 0) {
        /* vmhbaA:T:L[:P][:file] */
        char **tok = g_strsplit(colon + 1, ":", 4);
        int nums[3], nn = 0, i = 0;
        for (; tok[i] && nn < 3 && all_digits(tok[i]); i++) {
            if (parse_num(tok[i], &nums[nn]) < 0) {
                break;
            }
            nn++;
        }
        if (nn < 2) {
            g_set_error(errp, BLK_ERROR, EINVAL,
                        "%s: expected vmhbaA:T:L:P (adapter, target, LUN, "
                        "partition)", s);
            g_strfreev(tok);
            return -EINVAL;
        }
        addr->adapter = adapter;
        addr->target = nums[0];
        addr->lun = nums[1];
        addr->partition = nn == 3 ? nums[2] : 0;
        if (tok[i]) {
            /* The file is the rest of the string, colons and all. */
            const char *rest = colon + 1;
            for (int k = 0; k < i; k++) {
                rest = strchr(rest, ':') + 1;
            }
            if (!*rest) {
                g_set_error(errp, BLK_ERROR, EINVAL, "%s: empty file name", s);
                g_strfreev(tok);
                return -EINVAL;
            }
            addr->kind = BLK_ADDR_VMFS_FILE;
            addr->file = g_strdup(rest);
        } else {
            addr->kind = BLK_ADDR_DEVICE;
        }
        g_strfreev(tok);
        return 0;
    }
    if (colon && colon != s && !memchr(s, '/', (size_t)(colon - s)) &&
        colon[1] != '\0') {
        addr->kind = BLK_ADDR_VMFS_FILE;
        addr->fsname = g_strndup(s, (size_t)(colon - s));
        addr->file = g_strdup(colon + 1);
        return 0;
    }
    addr->kind = BLK_ADDR_HOST;
    addr->path = g_strdup(s);
    return 0;
}

char *blk_address_format(const BlkAddress *addr)
{
    switch (addr->kind) {
    case BLK_ADDR_HOST:
        return g_strdup(addr->path);
    case BLK_ADDR_DEVICE:
        return g_strdup_printf("vmhba%d:%d:%d:%d", addr->adapter, addr->target,
                               addr->lun, addr->partition);
    case BLK_ADDR_VMFS_FILE:
        if (addr->fsname) {
            return g_strdup_printf("%s:%s", addr->fsname, addr->file);
        }
        return g_strdup_printf("vmhba%d:%d:%d:%d:%s", addr->adapter,
                               addr->target, addr->lun, addr->partition,
                               addr->file);
    }
    return g_strdup("?");
}

/* ------------------------------------------------------------------------
 * The device map
 * ------------------------------------------------------------------------ */

const char *blk_devmap_path(void)
{
    const char *p = g_getenv("VMKEMU_DEVMAP");
    return (p && *p) ? p : DEVMAP_DEFAULT;
}

void blk_devmap_free(BlkDevmapEntry *entries, int n)
{
    for (int i = 0; i < n; i++) {
        g_free(entries[i].path);
    }
    g_free(entries);
}

int blk_devmap_read(BlkDevmapEntry **entries, int *n, GError **errp)
{
    const char *mp = blk_devmap_path();
    char *text = NULL;
    gsize len = 0;
    GError *err = NULL;
    *entries = NULL;
    *n = 0;
    if (!g_file_get_contents(mp, &text, &len, &err)) {
        int code = err->code == G_FILE_ERROR_NOENT ? ENOENT : EIO;
        g_set_error(errp, BLK_ERROR, code, "device map %s: %s%s", mp,
                    err->message, code == ENOENT ?
                    " (set VMKEMU_DEVMAP or create it)" : "");
        g_error_free(err);
        return -code;
    }
    char *dir = g_path_get_dirname(mp);
    GArray *out = g_array_new(FALSE, TRUE, sizeof(BlkDevmapEntry));
    char **lines = g_strsplit(text, "\n", -1);
    int r = 0;
    for (int ln = 0; lines[ln]; ln++) {
        char *line = lines[ln];
        char *hash = strchr(line, '#');
        if (hash) {
            *hash = '\0';
        }
        g_strstrip(line);
        if (!*line) {
            continue;
        }
        char *sp = line;
        while (*sp && !g_ascii_isspace(*sp)) {
            sp++;
        }
        char *path = sp;
        if (*sp) {
            *sp = '\0';
            path = g_strstrip(sp + 1);
        }
        BlkAddress a = { 0 };
        int colons = 0;
        for (const char *c = line; *c; c++) {
            colons += *c == ':';
        }
        bool ok = *path && colons == 2 &&
                  blk_address_parse(line, &a, NULL) == 0 &&
                  a.kind == BLK_ADDR_DEVICE;
        if (!ok) {
            blk_address_clear(&a);
            g_set_error(errp, BLK_ERROR, EINVAL,
                        "device map %s:%d: expected 'vmhbaA:T:L PATH'", mp,
                        ln + 1);
            r = -EINVAL;
            break;
        }
        for (guint k = 0; k < out->len; k++) {
            BlkDevmapEntry *e = &g_array_index(out, BlkDevmapEntry, k);
            if (e->adapter == a.adapter && e->target == a.target &&
                e->lun == a.lun) {
                g_set_error(errp, BLK_ERROR, EINVAL,
                            "device map %s:%d: vmhba%d:%d:%d is mapped twice",
                            mp, ln + 1, a.adapter, a.target, a.lun);
                r = -EINVAL;
                break;
            }
        }
        if (r < 0) {
            blk_address_clear(&a);
            break;
        }
        BlkDevmapEntry e = {
            .adapter = a.adapter, .target = a.target, .lun = a.lun,
            .path = g_path_is_absolute(path) ? g_strdup(path)
                                             : g_build_filename(dir, path,
                                                                NULL),
        };
        g_array_append_val(out, e);
        blk_address_clear(&a);
    }
    g_strfreev(lines);
    g_free(text);
    g_free(dir);
    if (r < 0) {
        blk_devmap_free((BlkDevmapEntry *)g_array_free(out, FALSE),
                        (int)out->len);
        return r;
    }
    *n = (int)out->len;
    *entries = (BlkDevmapEntry *)g_array_free(out, FALSE);
    return 0;
}

char *blk_devmap_lookup(int adapter, int target, int lun, GError **errp)
{
    BlkDevmapEntry *e;
    int n;
    if (blk_devmap_read(&e, &n, errp) < 0) {
        return NULL;
    }
    char *path = NULL;
    for (int i = 0; i < n; i++) {
        if (e[i].adapter == adapter && e[i].target == target &&
            e[i].lun == lun) {
            path = g_strdup(e[i].path);
            break;
        }
    }
    if (!path) {
        g_set_error(errp, BLK_ERROR, ENODEV,
                    "vmhba%d:%d:%d: no such device (not in %s)", adapter,
                    target, lun, blk_devmap_path());
    }
    blk_devmap_free(e, n);
    return path;
}

BlockNode *blk_device_open(int adapter, int target, int lun, int partition,
                           int flags, uint8_t *part_type, GError **errp)
{
    char *path = blk_devmap_lookup(adapter, target, lun, errp);
    if (!path) {
        return NULL;
    }
    char *name = g_strdup_printf("vmhba%d:%d:%d:%d", adapter, target, lun,
                                 partition);
    GError *err = NULL;
    BlockNode *disk = blk_file_open(path, flags & BLK_O_RDWR, &err);
    if (!disk) {
        g_set_error(errp, BLK_ERROR, err->code, "%s: %s", name, err->message);
        g_error_free(err);
        g_free(name);
        g_free(path);
        return NULL;
    }
    g_free(path);
    if (part_type) {
        *part_type = 0;
    }
    if (partition == 0) {
        g_free(disk->filename);
        disk->filename = name;
        return disk;
    }
    BlkPartition *parts;
    int np;
    if (blk_mbr_read(disk, &parts, &np, &err) < 0) {
        g_set_error(errp, BLK_ERROR, err->code, "%s: %s", name, err->message);
        g_error_free(err);
        blk_node_close(disk);
        g_free(name);
        return NULL;
    }
    BlockNode *bs = NULL;
    for (int i = 0; i < np; i++) {
        if (parts[i].number == partition) {
            if (part_type) {
                *part_type = parts[i].type;
            }
            bs = blk_slice_open(disk, parts[i].offset, parts[i].size, name,
                                errp);
            disk = NULL;
            break;
        }
    }
    if (disk) {
        g_set_error(errp, BLK_ERROR, ENODEV,
                    "%s: no partition %d on the disk (%d partition%s)", name,
                    partition, np, np == 1 ? "" : "s");
        blk_node_close(disk);
    }
    g_free(parts);
    g_free(name);
    return bs;
}

/* ------------------------------------------------------------------------
 * Finding VMFS volumes
 * ------------------------------------------------------------------------ */

static bool probe_name(BlockNode *dev, const char *fsname)
{
    char found[VMFS_FSNAME_MAX + 1];
    return vmfs_probe(dev, found) && strcmp(found, fsname) == 0;
}

int blk_vmfs_find(const char *fsname, int *adapter, int *target, int *lun,
                  int *partition, GError **errp)
{
    BlkDevmapEntry *e;
    int n;
    if (blk_devmap_read(&e, &n, errp) < 0) {
        return -ENOENT;
    }
    int found = 0;
    for (int i = 0; i < n && !found; i++) {
        BlockNode *disk = blk_file_open(e[i].path, 0, NULL);
        if (!disk) {
            continue;
        }
        if (probe_name(disk, fsname)) {
            found = 1;
            *partition = 0;
        } else {
            BlkPartition *parts;
            int np;
            if (blk_mbr_read(disk, &parts, &np, NULL) == 0) {
                for (int k = 0; k < np && !found; k++) {
                    if (parts[k].type != BLK_PART_TYPE_VMFS &&
                        parts[k].type != BLK_PART_TYPE_VMFS_OLD) {
                        continue;
                    }
                    BlockNode *sl = blk_slice_open(disk, parts[k].offset,
                                                   parts[k].size, "probe",
                                                   NULL);
                    /* blk_slice_open took the disk; get it back. */
                    disk = NULL;
                    if (!sl) {
                        break;
                    }
                    if (probe_name(sl, fsname)) {
                        found = 1;
                        *partition = parts[k].number;
                    }
                    disk = sl->file;
                    sl->file = NULL;
                    blk_node_close(sl);
                }
                g_free(parts);
            }
        }
        if (found) {
            *adapter = e[i].adapter;
            *target = e[i].target;
            *lun = e[i].lun;
        }
        blk_node_close(disk);
    }
    blk_devmap_free(e, n);
    if (!found) {
        g_set_error(errp, BLK_ERROR, ENOENT,
                    "%s: no VMFS file system of that name on the devices in "
                    "%s", fsname, blk_devmap_path());
        return -ENOENT;
    }
    return 0;
}

VmfsVolume *blk_vmfs_open_address(const BlkAddress *addr, bool writable,
                                  GError **errp)
{
    int a = addr->adapter, t = addr->target, l = addr->lun,
        p = addr->partition;
    if (addr->kind == BLK_ADDR_HOST) {
        BlockNode *f = blk_file_open(addr->path, writable ? BLK_O_RDWR : 0,
                                     errp);
        return f ? vmfs_volume_open(f, writable, errp) : NULL;
    }
    if (addr->fsname && blk_vmfs_find(addr->fsname, &a, &t, &l, &p, errp) < 0) {
        return NULL;
    }
    BlockNode *dev = blk_device_open(a, t, l, p, writable ? BLK_O_RDWR : 0,
                                     NULL, errp);
    if (!dev) {
        return NULL;
    }
    return vmfs_volume_open(dev, writable, errp);
}
