/*
 * Addressing (block/address.c, block/image.c) and MBR partitions
 * (block/mbr.c): the manual's vmhbaA:T:L:P[:file], scsiA:..., and
 * fsname:file forms, the device map, partitions 1-4 and logical ones,
 * finding a VMFS by name, and name-level operations on disks and REDO logs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "block.h"

#define MB (1024u * 1024u)

static char *tmpdir;

static void expect_addr(const char *s, BlkAddrKind kind, int a, int t, int l,
                        int p, const char *fsname, const char *file)
{
    BlkAddress ad;
    GError *err = NULL;
    g_assert_cmpint(blk_address_parse(s, &ad, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(ad.kind, ==, kind);
    if (kind == BLK_ADDR_HOST) {
        g_assert_cmpstr(ad.path, ==, s);
    } else {
        g_assert_cmpstr(ad.fsname, ==, fsname);
        g_assert_cmpstr(ad.file, ==, file);
        if (!fsname) {
            g_assert_cmpint(ad.adapter, ==, a);
            g_assert_cmpint(ad.target, ==, t);
            g_assert_cmpint(ad.lun, ==, l);
            g_assert_cmpint(ad.partition, ==, p);
        }
    }
    blk_address_clear(&ad);
}

static void expect_bad(const char *s)
{
    BlkAddress ad;
    GError *err = NULL;
    g_assert_cmpint(blk_address_parse(s, &ad, &err), <, 0);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, s[0] ? s : "empty"));
    g_clear_error(&err);
}

static void test_parse(void)
{
    /* The manual's examples. */
    expect_addr("vmhba1:3:0:1", BLK_ADDR_DEVICE, 1, 3, 0, 1, NULL, NULL);
    expect_addr("vmhba1:2:0:3", BLK_ADDR_DEVICE, 1, 2, 0, 3, NULL, NULL);
    expect_addr("vmhba1:3:0:2:data.dsk", BLK_ADDR_VMFS_FILE, 1, 3, 0, 2, NULL,
                "data.dsk");
    expect_addr("vmhba0:2:0:1:file2", BLK_ADDR_VMFS_FILE, 0, 2, 0, 1, NULL,
                "file2");
    expect_addr("scsi0:2:0:0:nt4.dsk", BLK_ADDR_VMFS_FILE, 0, 2, 0, 0, NULL,
                "nt4.dsk");
    expect_addr("mydisk:rh6.2.dsk", BLK_ADDR_VMFS_FILE, 0, 0, 0, 0, "mydisk",
                "rh6.2.dsk");
    expect_addr("/home/vms/nt4.dsk", BLK_ADDR_HOST, 0, 0, 0, 0, NULL, NULL);
    /* vmhbaA:T:L is the whole disk; with a file after it, partition 0. */
    expect_addr("vmhba0:3:1", BLK_ADDR_DEVICE, 0, 3, 1, 0, NULL, NULL);
    expect_addr("vmhba0:3:1:nt4.dsk", BLK_ADDR_VMFS_FILE, 0, 3, 1, 0, NULL,
                "nt4.dsk");
    /* File names keep their colons; all-digit names after P are files. */
    expect_addr("vmhba0:1:0:1:a:b", BLK_ADDR_VMFS_FILE, 0, 1, 0, 1, NULL,
                "a:b");
    expect_addr("vmhba0:1:0:1:42", BLK_ADDR_VMFS_FILE, 0, 1, 0, 1, NULL, "42");
    expect_addr("./dir:x/disk.img", BLK_ADDR_HOST, 0, 0, 0, 0, NULL, NULL);
    expect_addr("plain.img", BLK_ADDR_HOST, 0, 0, 0, 0, NULL, NULL);
    expect_bad("vmhba0:x");
    expect_bad("vmhba0:1");
    expect_bad("vmhba0:1:0:1:");
    expect_bad("scsi2:4:file");
    expect_bad("");

    BlkAddress ad;
    blk_address_parse("scsi0:2:0:0:nt4.dsk", &ad, NULL);
    char *s = blk_address_format(&ad);
    g_assert_cmpstr(s, ==, "vmhba0:2:0:0:nt4.dsk");
    g_free(s);
    blk_address_clear(&ad);
    blk_address_parse("vmhba0:3:1", &ad, NULL);
    s = blk_address_format(&ad);
    g_assert_cmpstr(s, ==, "vmhba0:3:1:0");
    g_free(s);
    blk_address_clear(&ad);
}

static char *write_map(const char *name, const char *text)
{
    char *p = g_build_filename(tmpdir, name, NULL);
    g_assert_true(g_file_set_contents(p, text, -1, NULL));
    g_setenv("VMKEMU_DEVMAP", p, TRUE);
    return p;
}

static void test_devmap(void)
{
    char *m = write_map("map1", "# disks\n\nvmhba0:0:0 disk0.img\n"
                                "  vmhba1:2:0   /abs/path/disk  # trailing\n"
                                "scsi2:0:1 with space.img\n");
    g_assert_cmpstr(blk_devmap_path(), ==, m);
    BlkDevmapEntry *e;
    int n;
    GError *err = NULL;
    g_assert_cmpint(blk_devmap_read(&e, &n, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(n, ==, 3);
    char *rel = g_build_filename(tmpdir, "disk0.img", NULL);
    g_assert_cmpstr(e[0].path, ==, rel);
    g_assert_cmpint(e[1].adapter, ==, 1);
    g_assert_cmpint(e[1].target, ==, 2);
    g_assert_cmpstr(e[1].path, ==, "/abs/path/disk");
    g_assert_cmpint(e[2].adapter, ==, 2);
    g_assert_cmpint(e[2].lun, ==, 1);
    blk_devmap_free(e, n);
    char *p = blk_devmap_lookup(1, 2, 0, &err);
    g_assert_cmpstr(p, ==, "/abs/path/disk");
    g_free(p);
    g_assert_null(blk_devmap_lookup(1, 2, 1, &err));
    g_assert_error(err, BLK_ERROR, ENODEV);
    g_assert_nonnull(strstr(err->message, "vmhba1:2:1"));
    g_clear_error(&err);
    g_free(m);
    g_free(rel);

    /* Errors name the map file and the line. */
    m = write_map("map2", "vmhba0:0:0 a.img\nvmhba0:0:0:1 b.img\n");
    g_assert_cmpint(blk_devmap_read(&e, &n, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "map2:2"));
    g_clear_error(&err);
    g_free(m);
    m = write_map("map3", "vmhba0:0:0 a.img\nvmhba0:0:0 b.img\n");
    g_assert_cmpint(blk_devmap_read(&e, &n, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "mapped twice"));
    g_clear_error(&err);
    g_free(m);
    m = write_map("map4", "vmhba0:0:0\n");
    g_assert_cmpint(blk_devmap_read(&e, &n, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "map4:1"));
    g_clear_error(&err);
    g_free(m);
    m = g_build_filename(tmpdir, "no-such-map", NULL);
    g_setenv("VMKEMU_DEVMAP", m, TRUE);
    g_assert_cmpint(blk_devmap_read(&e, &n, &err), ==, -ENOENT);
    g_assert_nonnull(strstr(err->message, "VMKEMU_DEVMAP"));
    g_clear_error(&err);
    g_free(m);
    g_unsetenv("VMKEMU_DEVMAP");
    g_assert_cmpstr(blk_devmap_path(), ==, "/etc/vmkemu/devices.map");
}

/* ------------------------------------------------------------------------
 * MBR
 * ------------------------------------------------------------------------ */

static void put_entry(uint8_t *sec, int i, uint8_t type, uint32_t start,
                      uint32_t count)
{
    uint8_t *e = sec + 0x1be + i * 16;
    memset(e, 0, 16);
    e[4] = type;
    for (int k = 0; k < 4; k++) {
        e[8 + k] = (uint8_t)(start >> (8 * k));
        e[12 + k] = (uint8_t)(count >> (8 * k));
    }
    sec[510] = 0x55;
    sec[511] = 0xaa;
}

/* 16 MiB: p1 0x83 (1 MiB at 1 MiB), p2 0xfb (4 MiB at 2 MiB), p3 extended
 * (9 MiB at 6 MiB) holding p5 0xff (4 MiB) and p6 0x83 (2 MiB). */
static uint8_t *make_partitioned(uint64_t *size)
{
    *size = 16 * MB;
    uint8_t *d = g_malloc0(*size);
    put_entry(d, 0, 0x83, 2048, 2048);
    put_entry(d, 1, 0xfb, 4096, 8192);
    put_entry(d, 2, 0x05, 12288, 18432);
    /* EBR 1 at sector 12288: p5 at +2048, next EBR at ext+10240. */
    uint8_t *ebr = d + 12288 * 512;
    put_entry(ebr, 0, 0xff, 2048, 8192);
    put_entry(ebr, 1, 0x05, 10240, 6144);
    ebr = d + (12288 + 10240) * 512;
    put_entry(ebr, 0, 0x83, 2048, 4096);
    return d;
}

static void test_mbr(void)
{
    uint64_t size;
    uint8_t *d = make_partitioned(&size);
    BlockNode *disk = blk_mem_open(d, size, 0);
    BlkPartition *p;
    int n;
    GError *err = NULL;
    g_assert_cmpint(blk_mbr_read(disk, &p, &n, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(n, ==, 5);
    g_assert_cmpint(p[0].number, ==, 1);
    g_assert_cmpint(p[0].type, ==, 0x83);
    g_assert_cmpuint(p[0].offset, ==, MB);
    g_assert_cmpuint(p[0].size, ==, MB);
    g_assert_cmpint(p[1].type, ==, 0xfb);
    g_assert_cmpint(p[3].number, ==, 5);
    g_assert_cmpint(p[3].type, ==, 0xff);
    g_assert_cmpuint(p[3].offset, ==, (12288 + 2048) * 512ull);
    g_assert_cmpint(p[4].number, ==, 6);
    g_assert_cmpuint(p[4].offset, ==, (12288 + 10240 + 2048) * 512ull);
    g_assert_cmpuint(p[4].size, ==, 2 * MB);
    g_free(p);
    blk_node_close(disk);

    /* No signature: no partitions. */
    uint8_t *blank = g_malloc0(MB);
    disk = blk_mem_open(blank, MB, 0);
    g_assert_cmpint(blk_mbr_read(disk, &p, &n, &err), ==, 0);
    g_assert_cmpint(n, ==, 0);
    g_free(p);
    blk_node_close(disk);
    /* A partition past the end is an error naming the partition. */
    put_entry(blank, 0, 0x83, 1000, 2000);
    disk = blk_mem_open(blank, MB, 0);
    g_assert_cmpint(blk_mbr_read(disk, &p, &n, &err), ==, -EINVAL);
    g_assert_nonnull(strstr(err->message, "partition 1"));
    g_clear_error(&err);
    blk_node_close(disk);
    /* An EBR chain that loops ends. */
    memset(blank, 0, MB);
    put_entry(blank, 0, 0x05, 100, 1000);
    put_entry(blank + 100 * 512, 0, 0x83, 10, 10);
    put_entry(blank + 100 * 512, 1, 0x05, 0, 1000);
    disk = blk_mem_open(blank, MB, 0);
    g_assert_cmpint(blk_mbr_read(disk, &p, &n, &err), ==, 0);
    g_assert_cmpint(n, ==, 2);
    g_free(p);
    blk_node_close(disk);
    g_free(blank);
    g_free(d);
}

/* ------------------------------------------------------------------------
 * Devices, VMFS names, name-level operations
 * ------------------------------------------------------------------------ */

static void write_image(const char *name, const uint8_t *d, uint64_t size)
{
    char *p = g_build_filename(tmpdir, name, NULL);
    g_assert_true(g_file_set_contents(p, (const char *)d, (gssize)size,
                                      NULL));
    g_free(p);
}

static void format_device(const char *addr, const char *fsname)
{
    BlkAddress ad;
    g_assert_cmpint(blk_address_parse(addr, &ad, NULL), ==, 0);
    GError *err = NULL;
    uint8_t type;
    BlockNode *dev = blk_device_open(ad.adapter, ad.target, ad.lun,
                                     ad.partition, BLK_O_RDWR, &type, &err);
    g_assert_no_error(err);
    g_assert_cmpint(vmfs_format(dev, 256 * 1024, 16, fsname, &err), ==, 0);
    g_assert_no_error(err);
    blk_node_close(dev);
    blk_address_clear(&ad);
}

static void setup_devices(void)
{
    uint64_t size;
    uint8_t *d = make_partitioned(&size);
    write_image("part.img", d, size);
    g_free(d);
    d = g_malloc0(8 * MB);
    write_image("whole.img", d, 8 * MB);
    g_free(d);
    g_free(write_map("devices.map", "vmhba0:0:0 part.img\n"
                                    "vmhba0:1:0 whole.img\n"));
    format_device("vmhba0:0:0:2", "alpha");
    format_device("vmhba0:0:0:5", "beta");
    format_device("vmhba0:1:0", "gamma");
}

static void test_devices(void)
{
    setup_devices();
    GError *err = NULL;
    uint8_t type;
    BlockNode *dev = blk_device_open(0, 0, 0, 2, 0, &type, &err);
    g_assert_no_error(err);
    g_assert_cmpint(type, ==, 0xfb);
    g_assert_cmpint(blk_node_size(dev), ==, 4 * MB);
    g_assert_cmpstr(dev->filename, ==, "vmhba0:0:0:2");
    blk_node_close(dev);
    dev = blk_device_open(0, 0, 0, 6, 0, &type, &err);
    g_assert_cmpint(type, ==, 0x83);
    blk_node_close(dev);
    g_assert_null(blk_device_open(0, 0, 0, 7, 0, &type, &err));
    g_assert_nonnull(strstr(err->message, "vmhba0:0:0:7"));
    g_assert_nonnull(strstr(err->message, "no partition 7"));
    g_clear_error(&err);
    g_assert_null(blk_device_open(3, 0, 0, 0, 0, &type, &err));
    g_assert_error(err, BLK_ERROR, ENODEV);
    g_clear_error(&err);

    int a, t, l, p;
    g_assert_cmpint(blk_vmfs_find("alpha", &a, &t, &l, &p, &err), ==, 0);
    g_assert_cmpint(p, ==, 2);
    g_assert_cmpint(blk_vmfs_find("beta", &a, &t, &l, &p, &err), ==, 0);
    g_assert_cmpint(p, ==, 5);
    g_assert_cmpint(blk_vmfs_find("gamma", &a, &t, &l, &p, &err), ==, 0);
    g_assert_cmpint(t, ==, 1);
    g_assert_cmpint(p, ==, 0);
    g_assert_cmpint(blk_vmfs_find("delta", &a, &t, &l, &p, &err), ==,
                    -ENOENT);
    g_assert_nonnull(strstr(err->message, "delta"));
    g_clear_error(&err);
}

static void test_names(void)
{
    setup_devices();
    GError *err = NULL;
    BlkAddress ad;
    blk_address_parse("alpha:x.dsk", &ad, NULL);
    VmfsVolume *v = blk_vmfs_open_address(&ad, true, &err);
    g_assert_no_error(err);
    g_assert_cmpint(vmfs_create(v, "x.dsk", VMFS_FILE_DISK, 64 * 1024, NULL,
                                NULL, &err), ==, 0);
    vmfs_volume_close(v);
    blk_address_clear(&ad);

    /* The same file by name and by vmhba address. */
    BlockNode *bs = blk_open_name("alpha:x.dsk", BLK_O_RDWR, &err);
    g_assert_no_error(err);
    uint8_t buf[4096];
    memset(buf, 0x42, sizeof(buf));
    g_assert_cmpint(blk_node_pwrite(bs, 8192, buf, sizeof(buf)), ==, 0);
    blk_node_close(bs);
    bs = blk_open_name("vmhba0:0:0:2:x.dsk", 0, &err);
    g_assert_no_error(err);
    uint8_t back[4096];
    g_assert_cmpint(blk_node_pread(bs, 8192, back, sizeof(back)), ==, 0);
    g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
    blk_node_close(bs);
    g_assert_cmpint(blk_name_exists("alpha:x.dsk", NULL), ==, 1);
    g_assert_cmpint(blk_name_exists("alpha:y.dsk", NULL), ==, 0);
    g_assert_null(blk_open_name("beta:x.dsk", 0, &err));
    g_assert_error(err, BLK_ERROR, ENOENT);
    g_clear_error(&err);

    /* REDO by name, in the VMFS, then commit by name. */
    BlockNode *log = blk_redo_file_create("alpha:x.dsk", 64 * 1024, 4096,
                                          &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_name_exists("alpha:x.dsk.REDO", NULL), ==, 1);
    BlockNode *base = blk_open_name("alpha:x.dsk", 0, &err);
    BlockNode *r = blk_redo_open(log, base, BLK_O_RDWR, &err);
    g_assert_no_error(err);
    memset(buf, 0x77, sizeof(buf));
    g_assert_cmpint(blk_node_pwrite(r, 0, buf, sizeof(buf)), ==, 0);
    blk_node_close(r);
    /* A second REDO cannot be created over it. */
    g_assert_null(blk_redo_file_create("alpha:x.dsk", 64 * 1024, 4096, &err));
    g_assert_error(err, BLK_ERROR, EEXIST);
    g_clear_error(&err);
    g_assert_cmpint(blk_commit_name("alpha:x.dsk", NULL, NULL, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(blk_name_exists("alpha:x.dsk.REDO", NULL), ==, 0);
    bs = blk_open_name("alpha:x.dsk", 0, &err);
    g_assert_cmpint(blk_node_pread(bs, 0, back, sizeof(back)), ==, 0);
    g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
    blk_node_close(bs);
    g_assert_cmpint(blk_commit_name("alpha:x.dsk", NULL, NULL, &err), ==,
                    -ENOENT);
    g_assert_nonnull(strstr(err->message, "no REDO log"));
    g_clear_error(&err);

    /* Host files: the REDO sits beside the disk. */
    char *host = g_build_filename(tmpdir, "host.img", NULL);
    uint8_t *zero = g_malloc0(128 * 1024);
    g_assert_true(g_file_set_contents(host, (char *)zero, 128 * 1024, NULL));
    g_free(zero);
    log = blk_redo_file_create(host, 128 * 1024, 0, &err);
    g_assert_no_error(err);
    char *hredo = g_strconcat(host, ".REDO", NULL);
    g_assert_true(g_file_test(hredo, G_FILE_TEST_EXISTS));
    base = blk_open_name(host, 0, &err);
    r = blk_redo_open(log, base, BLK_O_RDWR, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_node_pwrite(r, 65536, buf, sizeof(buf)), ==, 0);
    blk_node_close(r);
    g_assert_cmpint(blk_commit_name(host, NULL, NULL, &err), ==, 0);
    g_assert_false(g_file_test(hredo, G_FILE_TEST_EXISTS));
    bs = blk_open_name(host, 0, &err);
    g_assert_cmpint(blk_node_pread(bs, 65536, back, sizeof(back)), ==, 0);
    g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
    blk_node_close(bs);
    /* A REDO log by itself is refused as a disk. */
    log = blk_redo_file_create(host, 128 * 1024, 0, &err);
    blk_node_close(log);
    g_assert_null(blk_open_name(hredo, 0, &err));
    g_assert_nonnull(strstr(err->message, "REDO log"));
    g_clear_error(&err);
    g_assert_cmpint(blk_remove_name(hredo, &err), ==, 0);
    g_assert_false(g_file_test(hredo, G_FILE_TEST_EXISTS));
    /* Devices are not files. */
    g_assert_cmpint(blk_remove_name("vmhba0:0:0:2", &err), <, 0);
    g_clear_error(&err);
    g_unlink(host);
    g_free(host);
    g_free(hredo);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("vmkemu-addr-XXXXXX", NULL);
    g_test_add_func("/block/addr/parse", test_parse);
    g_test_add_func("/block/addr/devmap", test_devmap);
    g_test_add_func("/block/addr/mbr", test_mbr);
    g_test_add_func("/block/addr/devices", test_devices);
    g_test_add_func("/block/addr/names", test_names);
    int r = g_test_run();
    char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(cmd);
    g_free(tmpdir);
    return r;
}
