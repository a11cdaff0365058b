/*
 * The SCSI logical unit (hw/scsi-disk.c) driven as an HBA drives it:
 * CDBs in, status, sense and data out, against disks in memory whose bytes
 * the tests know.  Checks SPC-3/SBC-2 behaviour: unit attention after power
 * on, INQUIRY and its VPD pages, capacities, every READ/WRITE form, the
 * range and opcode errors with their sense, kept sense for REQUEST SENSE,
 * mode pages, MODE SELECT of the write cache, VERIFY, START STOP UNIT,
 * flushes (through the memory disk's journal), I/O errors, write
 * protection, buffer overruns, the CD-ROM commands and the suspend state.
 */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include "hw/scsi.h"
#include "vmstate.h"

#define DISK_BLOCKS 2048            /* 1 MiB */
#define DISK_BYTES  (DISK_BLOCKS * 512)

/* The byte at offset `off` of a fresh test disk. */
static uint8_t pattern(uint64_t off)
{
    return (uint8_t)(off * 7 + (off >> 9) * 13 + 1);
}

typedef struct Fixture {
    BlockNode *mem;                 /* the medium (shared with blk's node) */
    BlockBackend *blk;
    ScsiDisk disk;
} Fixture;

static void fixture_open(Fixture *f, uint64_t bytes, int flags, ScsiDeviceType type)
{
    uint8_t *data = g_malloc(bytes);
    for (uint64_t i = 0; i < bytes; i++) {
        data[i] = pattern(i);
    }
    f->mem = blk_mem_open(data, bytes, BLK_O_RDWR);
    g_free(data);
    f->blk = blk_backend_new(blk_mem_share(f->mem, flags));
    ScsiDiskConfig cfg = { .type = type, .name = "test-disk" };
    scsi_disk_init(&f->disk, f->blk, &cfg);
}

static void fixture_close(Fixture *f)
{
    blk_backend_close(f->blk, BLK_REDO_KEEP, NULL);
    blk_node_close(f->mem);
}

/* The initiator's buffer: a flat byte array. */
typedef struct Buffer {
    uint8_t *data;
    uint64_t len;
} Buffer;

static uint32_t buffer_data(void *opaque, ScsiDataDir dir, uint64_t off, void *buf,
                            uint32_t len)
{
    Buffer *b = opaque;
    if (off >= b->len) {
        return 0;
    }
    uint32_t n = b->len - off < len ? b->len - off : len;
    if (dir == SCSI_DATA_IN) {
        memcpy(b->data + off, buf, n);
    } else {
        memcpy(buf, b->data + off, n);
    }
    return n;
}

/* Run a command with a buffer of `len` bytes at `data` (either direction
 * allowed) and autosense as given. */
static ScsiRequest run_lun(ScsiDisk *d, uint32_t lun, const uint8_t *cdb, unsigned cdb_len,
                           void *data, uint64_t len, bool autosense)
{
    ScsiRequest req;
    Buffer b = { data, len };
    scsi_request_init(&req, lun, cdb, cdb_len);
    req.buffer_len = len;
    req.allowed_dirs = 1u << SCSI_DATA_IN | 1u << SCSI_DATA_OUT;
    req.data = buffer_data;
    req.opaque = &b;
    req.autosense = autosense;
    scsi_disk_execute(d, &req);
    return req;
}

static ScsiRequest run(ScsiDisk *d, const uint8_t *cdb, unsigned cdb_len, void *data,
                       uint64_t len)
{
    return run_lun(d, 0, cdb, cdb_len, data, len, true);
}

static void assert_check(const ScsiRequest *r, uint8_t key, uint16_t asc)
{
    g_assert_cmpint(r->status, ==, SCSI_STATUS_CHECK_CONDITION);
    g_assert_cmpint(r->sense_len, ==, SCSI_SENSE_FIXED_LEN);
    g_assert_cmphex(r->sense[0] & 0x7f, ==, 0x70);
    g_assert_cmphex(scsi_sense_key(r->sense, r->sense_len), ==, key);
    g_assert_cmphex(scsi_sense_asc(r->sense, r->sense_len), ==, asc);
}

static void assert_good(const ScsiRequest *r)
{
    g_assert_cmpint(r->status, ==, SCSI_STATUS_GOOD);
    g_assert_false(r->overrun);
}

/* A TEST UNIT READY to consume the power-on unit attention. */
static void clear_ua(ScsiDisk *d)
{
    static const uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
    run(d, tur, 6, NULL, 0);
}

static void cdb10(uint8_t *c, uint8_t op, uint32_t lba, uint16_t n)
{
    memset(c, 0, 10);
    c[0] = op;
    c[2] = lba >> 24; c[3] = lba >> 16; c[4] = lba >> 8; c[5] = lba;
    c[7] = n >> 8; c[8] = n;
}

static void cdb16(uint8_t *c, uint8_t op, uint64_t lba, uint32_t n)
{
    memset(c, 0, 16);
    c[0] = op;
    for (int i = 0; i < 8; i++) {
        c[2 + i] = lba >> (56 - 8 * i);
    }
    c[10] = n >> 24; c[11] = n >> 16; c[12] = n >> 8; c[13] = n;
}

static uint32_t rd_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/* --- tests ----------------------------------------------------------------- */

static void test_unit_attention(void)
{
    Fixture f;
    fixture_open(&f, DISK_BYTES, BLK_O_RDWR, SCSI_TYPE_DISK);
    uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
    uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 36, 0 };
    uint8_t buf[36];

    /* INQUIRY neither reports nor clears the unit attention ... */
    ScsiRequest r = run(&f.disk, inq, 6, buf, sizeof(buf));
    assert_good(&r);
    /* ... the first other command gets it, once. */
    r = run(&f.disk, tur, 6, NULL, 0);
    assert_check(&r, SCSI_SENSE_UNIT_ATTENTION, SCSI_ASC_POWER_ON_RESET);
    r = run(&f.disk, tur, 6, NULL, 0);
    assert_good(&r);

    /* A bus reset: REQUEST SENSE returns the condition and clears it. */
    scsi_disk_reset(&f.disk, SCSI_ASC_BUS_RESET);
    uint8_t rs[6] = { SCSI_REQUEST_SENSE, 0, 0, 0, 252, 0 };
    uint8_t sense[252];
    r = run(&f.disk, rs, 6, sense, sizeof(sense));
    assert_good(&r);
    g_assert_cmpuint(r.transferred, ==, 18);
    g_assert_cmphex(sense[2], ==, SCSI_SENSE_UNIT_ATTENTION);
    g_assert_cmphex(sense[12], ==, 0x29);
    g_assert_cmphex(sense[13], ==, 0x02);
    r = run(&f.disk, tur, 6, NULL, 0);
    assert_good(&r);
    fixture_close(&f);
}

static void test_inquiry(void)
{
    Fixture f;
    fixture_open(&f, DISK_BYTES, BLK_O_RDWR, SCSI_TYPE_DISK);
    uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 255, 0 };
    uint8_t buf[255];

    memset(buf, 0xee, sizeof(buf));
    ScsiRequest r = run(&f.disk, inq, 6, buf, sizeof(buf));
    assert_good(&r);
    g_assert_cmpuint(r.dir, ==, SCSI_DATA_IN);
    g_assert_cmpuint(r.transferred, ==, 5 + buf[4]);
    g_assert_cmpuint(r.transferred, >=, 36);
    g_assert_cmphex(buf[0], ==, 0x00);          /* disk, LU present */
    g_assert_cmphex(buf[1], ==, 0x00);          /* not removable */
    g_assert_cmphex(buf[2], ==, 0x05);          /* SPC-3 */
    g_assert_cmphex(buf[3] & 0x0f, ==, 0x02);
    g_assert_true(buf[7] & 0x02);               /* CMDQUE */
    g_assert_cmpmem(buf + 8, 8, "VMware  ", 8);
    g_assert_cmpmem(buf + 16, 16, "Virtual disk    ", 16);
    g_assert_cmphex(buf[r.transferred], ==, 0xee);  /* nothing beyond */

    /* The allocation length cuts the data. */
    inq[4] = 5;
    memset(buf, 0xee, sizeof(buf));
    r = run(&f.disk, inq, 6, buf, sizeof(buf));
    assert_good(&r);
    g_assert_cmpuint(r.transferred, ==, 5);
    g_assert_cmphex(buf[5], ==, 0xee);

    /* VPD: supported pages, serial number, identification. */
    uint8_t vpd[6] = { SCSI_INQUIRY, 1, 0x00, 0, 255, 0 };
    r = run(&f.disk, vpd, 6, buf, sizeof(buf));
    assert_good(&r);
    g_assert_cmpuint(buf[1], ==, 0x00);
    g_assert_cmpuint(buf[3], ==, 3);
    g_assert_cmpmem(buf + 4, 3, "\x00\x80\x83", 3);
    vpd[2] = 0x80;
    r = run(&f.disk, vpd, 6, buf, sizeof(buf));
    assert_good(&r);
    g_assert_cmpuint(buf[1], ==, 0x80);
    g_assert_cmpuint(buf[3], ==, strlen(f.disk.serial));
    g_assert_cmpmem(buf + 4, buf[3], f.disk.serial, strlen(f.disk.serial));
    g_assert_true(g_str_has_prefix(f.disk.serial, "VMKEMU"));
    vpd[2] = 0x83;
    r = run(&f.disk, vpd, 6, buf, sizeof(buf));
    assert_good(&r);
    unsigned total = (buf[2] << 8 | buf[3]) + 4, pos = 4, ndesc = 0;
    g_assert_cmpuint(r.transferred, ==, total);
    bool t10 = false, naa = false;
    while (pos < total) {
        uint8_t type = buf[pos + 1] & 0x0f;
        t10 |= type == 1 && !memcmp(buf + pos + 4, "VMware  ", 8);
        naa |= type == 3 && buf[pos + 3] == 8 && (buf[pos + 4] >> 4) == 3;
        pos += 4 + buf[pos + 3];
        ndesc++;
    }
    g_assert_cmpuint(pos, ==, total);
    g_assert_true(t10 && naa);
    g_assert_cmpuint(ndesc, ==, 2);

    /* A page that does not exist; a page code without EVPD. */
    vpd[2] = 0xb0;
    r = run(&f.disk, vpd, 6, buf, sizeof(buf));
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    g_assert_cmphex(r.sense[15], ==, 0xc0);     /* SKSV, in the CDB */
    g_assert_cmpuint(r.sense[17], ==, 2);       /* byte 2 */
    uint8_t bad[6] = { SCSI_INQUIRY, 0, 0x80, 0, 255, 0 };
    r = run(&f.disk, bad, 6, buf, sizeof(buf));
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);

    /* The same name gives the same serial; another name another one. */
    ScsiDisk other;
    ScsiDiskConfig c1 = { .name = "test-disk" }, c2 = { .name = "other" };
    scsi_disk_init(&other, f.blk, &c1);
    g_assert_cmpstr(other.serial, ==, f.disk.serial);
    scsi_disk_init(&other, f.blk, &c2);
    g_assert_cmpstr(other.serial, !=, f.disk.serial);
    fixture_close(&f);
}

static void test_luns(void)
{
    Fixture f;
    fixture_open(&f, DISK_BYTES, BLK_O_RDWR, SCSI_TYPE_DISK);
    clear_ua(&f.disk);
    uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 36, 0 };
    uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
    uint8_t rs[6] = { SCSI_REQUEST_SENSE, 0, 0, 0, 18, 0 };
    uint8_t rl[12] = { SCSI_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
    uint8_t buf[256];

    ScsiRequest r = run_lun(&f.disk, 3, inq, 6, buf, 36, true);
    assert_good(&r);
    g_assert_cmphex(buf[0], ==, 0x7f);          /* qualifier 011b, type 1fh */
    r = run_lun(&f.disk, 3, tur, 6, NULL, 0, true);
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
    r = run_lun(&f.disk, 3, rs, 6, buf, 18, true);
    assert_good(&r);
    g_assert_cmphex(buf[2], ==, SCSI_SENSE_ILLEGAL_REQUEST);
    g_assert_cmphex(buf[12], ==, 0x25);

    /* REPORT LUNS: LUN 0 alone, from any LUN. */
    memset(buf, 0xee, sizeof(buf));
    r = run_lun(&f.disk, 3, rl, 12, buf, sizeof(buf), true);
    assert_good(&r);
    g_assert_cmpuint(r.transferred, ==, 16);
    g_assert_cmpuint(rd_be32(buf), ==, 8);
    for (int i = 8; i < 16; i++) {
        g_assert_cmphex(buf[i], ==, 0);
    }
    rl[9] = 8;                                  /* allocation length < 16 */
    rl[8] = 0;
    r = run(&f.disk, rl, 12, buf, sizeof(buf));
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    fixture_close(&f);
}

static void test_capacity(void)
{
    Fixture f;
    fixture_open(&f, DISK_BYTES + 300, BLK_O_RDWR, SCSI_TYPE_DISK);  /* a partial block */
    clear_ua(&f.disk);
    uint8_t rc10[10] = { SCSI_READ_CAPACITY_10 };
    uint8_t rc16[16] = { SCSI_SERVICE_ACTION_IN_16, SCSI_SAI_READ_CAPACITY_16 };
    uint8_t buf[32];

    ScsiRequest r = run(&f.disk, rc10, 10, buf, 8);
    assert_good(&r);
    g_assert_cmpuint(r.transferred, ==, 8);
    g_assert_cmpuint(rd_be32(buf), ==, DISK_BLOCKS - 1);
    g_assert_cmpuint(rd_be32(buf + 4), ==, 512);
    rc16[13] = 32;
    memset(buf, 0xee, sizeof(buf));
    r = run(&f.disk, rc16, 16, buf, sizeof(buf));
    assert_good(&r);
    g_assert_cmpuint(r.transferred, ==, 32);
    g_assert_cmpuint(rd_be32(buf), ==, 0);
    g_assert_cmpuint(rd_be32(buf + 4), ==, DISK_BLOCKS - 1);
    g_assert_cmpuint(rd_be32(buf + 8), ==, 512);
    g_assert_cmphex(buf[12], ==, 0);            /* no protection */
    /* RC10 with an LBA but no PMI is an invalid field. */
    rc10[5] = 1;
    r = run(&f.disk, rc10, 10, buf, 8);
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    /* Another service action. */
    rc16[1] = 0x11;
    r = run(&f.disk, rc16, 16, buf, sizeof(buf));
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    fixture_close(&f);
}

static void check_pattern(const uint8_t *buf, uint64_t off, uint64_t len)
{
    for (uint64_t i = 0; i < len; i++) {
        if (buf[i] != pattern(off + i)) {
            g_error("byte %" PRIu64 ": %02x, want %02x", off + i, buf[i], pattern(off + i));
        }
    }
}

static void test_read(void)
{
    Fixture f;
    fixture_open(&f, DISK_BYTES, BLK_O_RDWR, SCSI_TYPE_DISK);
    clear_ua(&f.disk);
    uint8_t *buf = g_malloc(256 * 512);
    uint8_t c[16];

    cdb10(c, SCSI_READ_10, 100, 9);
    ScsiRequest r = run(&f.disk, c, 10, buf, 9 * 512);
    assert_good(&r);
    g_assert_cmpuint(r.transferred, ==, 9 * 512);
    check_pattern(buf, 100 * 512, 9 * 512);

    /* READ(6): 21-bit LBA, a length of 0 is 256 blocks. */
    uint8_t r6[6] = { SCSI_READ_6, 0x00, 0x03, 0x00, 0, 0 };
    r = run(&f.disk, r6, 6, buf, 256 * 512);
    assert_good(&r);
    g_assert_cmpuint(r.transferred, ==, 256 * 512);
    check_pattern(buf, 0x300 * 512, 256 * 512);

    /* READ(12) and READ(16). */
    uint8_t r12[12] = { SCSI_READ_12, 0, 0, 0, 0x07, 0xd0, 0, 0, 0, 3, 0, 0 };
    r = run(&f.disk, r12, 12, buf, 3 * 512);
    assert_good(&r);
    check_pattern(buf, 2000 * 512, 3 * 512);
    cdb16(c, SCSI_READ_16, DISK_BLOCKS - 1, 1);
    r = run(&f.disk, c, 16, buf, 512);
    assert_good(&r);
    check_pattern(buf, (DISK_BLOCKS - 1) * 512, 512);

    /* READ(10) of 0 blocks moves nothing and is no error. */
    cdb10(c, SCSI_READ_10, 5, 0);
    r = run(&f.disk, c, 10, buf, 512);
    assert_good(&r);
    g_assert_cmpuint(r.transferred, ==, 0);

    /* Protection information is not supported. */
    cdb10(c, SCSI_READ_10, 5, 1);
    c[1] = 0x20;
    r = run(&f.disk, c, 10, buf, 512);
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    g_free(buf);
    fixture_close(&f);
}

static void test_write(void)
{
    Fixture f;
    fixture_open(&f, DISK_BYTES, BLK_O_RDWR, SCSI_TYPE_DISK);
    clear_ua(&f.disk);
    uint8_t data[4 * 512], back[4 * 512];
    uint8_t c[16];
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i ^ 0x5a);
    }

    cdb10(c, SCSI_WRITE_10, 40, 4);
    ScsiRequest r = run(&f.disk, c, 10, data, sizeof(data));
    assert_good(&r);
    g_assert_cmpuint(r.dir, ==, SCSI_DATA_OUT);
    g_assert_cmpuint(r.transferred, ==, sizeof(data));
    uint64_t size;
    uint8_t *medium = blk_mem_data(f.mem, &size);
    g_assert_cmpmem(medium + 40 * 512, sizeof(data), data, sizeof(data));
    check_pattern(medium + 39 * 512, 39 * 512, 512);    /* neighbours intact */
    check_pattern(medium + 44 * 512, 44 * 512, 512);

    /* Read back through READ(10). */
    cdb10(c, SCSI_READ_10, 40, 4);
    r = run(&f.disk, c, 10, back, sizeof(back));
    assert_good(&r);
    g_assert_cmpmem(back, sizeof(back), data, sizeof(data));

    /* WRITE(6) and WRITE(16). */
    uint8_t w6[6] = { SCSI_WRITE_6, 0, 0, 7, 1, 0 };
    r = run(&f.disk, w6, 6, data, 512);
    assert_good(&r);
    g_assert_cmpmem(medium + 7 * 512, 512, data, 512);
    cdb16(c, SCSI_WRITE_16, DISK_BLOCKS - 2, 2);
    r = run(&f.disk, c, 16, data, 1024);
    assert_good(&r);
    g_assert_cmpmem(medium + (DISK_BLOCKS - 2) * 512, 1024, data, 1024);

    /* WRITE AND VERIFY(10). */
    cdb10(c, SCSI_WRITE_VERIFY_10, 60, 2);
    r = run(&f.disk, c, 10, data + 512, 1024);
    assert_good(&r);
    g_assert_cmpmem(medium + 60 * 512, 1024, data + 512, 1024);
    fixture_close(&f);
}

static void test_range(void)
{
    Fixture f;
    fixture_open(&f, DISK_BYTES, BLK_O_RDWR, SCSI_TYPE_DISK);
    clear_ua(&f.disk);
    uint8_t buf[1024];
    uint8_t c[16];

    cdb10(c, SCSI_READ_10, DISK_BLOCKS - 1, 2);      /* crosses the end */
    ScsiRequest r = run(&f.disk, c, 10, buf, sizeof(buf));
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
    g_assert_cmpuint(r.transferred, ==, 0);
    cdb10(c, SCSI_WRITE_10, DISK_BLOCKS, 1);
    memset(buf, 0x11, sizeof(buf));
    r = run(&f.disk, c, 10, buf, 512);
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
    g_assert_cmpuint(r.transferred, ==, 0);
    cdb16(c, SCSI_READ_16, UINT64_MAX, 1);           /* wraps */
    r = run(&f.disk, c, 16, buf, 512);
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);

    /* An unknown opcode. */
    uint8_t x[6] = { 0x02 };
    r = run(&f.disk, x, 6, buf, sizeof(buf));
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
    g_assert_cmphex(r.sense[15], ==, 0xc0);
    g_assert_cmpuint(r.sense[16] << 8 | r.sense[17], ==, 0);
    fixture_close(&f);
}

/* Without autosense the unit keeps the sense for REQUEST SENSE, and any
 * other command drops it. */
static void test_kept_sense(void)
{
    Fixture f;
    fixture_open(&f, DISK_BYTES, BLK_O_RDWR, SCSI_TYPE_DISK);
    clear_ua(&f.disk);
    uint8_t c[10], buf[18];
    uint8_t rs[6] = { SCSI_REQUEST_SENSE, 0, 0, 0, 18, 0 };
    uint8_t tur[6] = { SCSI_TEST_UNIT_READY };

    cdb10(c, SCSI_READ_10, DISK_BLOCKS + 5, 1);
    ScsiRequest r = run_lun(&f.disk, 0, c, 10, buf, 512, false);
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
    r = run_lun(&f.disk, 0, rs, 6, buf, 18, false);
    assert_good(&r);
    g_assert_cmpuint(r.transferred, ==, 18);
    g_assert_cmphex(buf[0], ==, 0x70);
    g_assert_cmphex(buf[2], ==, SCSI_SENSE_ILLEGAL_REQUEST);
    g_assert_cmphex(buf[7], ==, 10);
    g_assert_cmphex(buf[12], ==, 0x21);
    /* Read once: next time NO SENSE. */
    r = run_lun(&f.disk, 0, rs, 6, buf, 18, false);
    assert_good(&r);
    g_assert_cmphex(buf[2], ==, SCSI_SENSE_NO_SENSE);
    g_assert_cmphex(buf[12], ==, 0);

    /* Another command in between drops it. */
    r = run_lun(&f.disk, 0, c, 10, buf, 512, false);
    g_assert_cmpint(r.status, ==, SCSI_STATUS_CHECK_CONDITION);
    r = run_lun(&f.disk, 0, tur, 6, NULL, 0, false);
    assert_good(&r);
    r = run_lun(&f.disk, 0, rs, 6, buf, 18, false);
    g_assert_cmphex(buf[2], ==, SCSI_SENSE_NO_SENSE);

    /* With autosense nothing is kept. */
    r = run(&f.disk, c, 10, buf, 512);
    g_assert_cmpint(r.status, ==, SCSI_STATUS_CHECK_CONDITION);
    r = run(&f.disk, rs, 6, buf, 18);
    g_assert_cmphex(buf[2], ==, SCSI_SENSE_NO_SENSE);

    /* Descriptor-format sense is not offered. */
    rs[1] = 1;
    r = run(&f.disk, rs, 6, buf, 18);
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    fixture_close(&f);
}

/* Walk the mode pages after the header and block descriptors; returns the
 * offset of page `want` or -1. */
static int find_page(const uint8_t *buf, unsigned len, unsigned start, uint8_t want)
{
    unsigned pos = start;
    while (pos + 2 <= len) {
        if ((buf[pos] & 0x3f) == want) {
            return pos;
        }
        pos += buf[pos + 1] + 2;
    }
    g_assert_cmpuint(pos, ==, len);
    return -1;
}

static void test_mode_sense(void)
{
    Fixture f;
    fixture_open(&f, DISK_BYTES, BLK_O_RDWR, SCSI_TYPE_DISK);
    clear_ua(&f.disk);
    uint8_t buf[512];
    uint8_t ms6[6] = { SCSI_MODE_SENSE_6, 0, 0x3f, 0, 255, 0 };

    ScsiRequest r = run(&f.disk, ms6, 6, buf, sizeof(buf));
    assert_good(&r);
    g_assert_cmpuint(r.transferred, ==, buf[0] + 1u);
    g_assert_cmphex(buf[2], ==, 0x10);          /* DPOFUA, not protected */
    g_assert_cmpuint(buf[3], ==, 8);            /* one short block descriptor */
    g_assert_cmpuint(rd_be32(buf + 4), ==, DISK_BLOCKS);
    g_assert_cmpuint(buf[9] << 16 | buf[10] << 8 | buf[11], ==, 512);
    unsigned len = r.transferred;
    int caching = find_page(buf, len, 12, 0x08);
    g_assert_cmpint(caching, >, 0);
    g_assert_cmpuint(buf[caching + 1], ==, 0x12);
    g_assert_true(buf[caching + 2] & 0x04);     /* WCE */
    int geom = find_page(buf, len, 12, 0x04);
    g_assert_cmpint(geom, >, 0);
    g_assert_cmpuint(buf[geom + 5], ==, 255);   /* heads */
    g_assert_cmpint(find_page(buf, len, 12, 0x03), >, 0);
    g_assert_cmpint(find_page(buf, len, 12, 0x0a), >, 0);
    g_assert_cmpint(find_page(buf, len, 12, 0x2a), ==, -1);   /* CD only */

    /* One page, DBD; the changeable mask of the caching page. */
    uint8_t one[6] = { SCSI_MODE_SENSE_6, 0x08, 0x48, 0, 255, 0 };
    r = run(&f.disk, one, 6, buf, sizeof(buf));
    assert_good(&r);
    g_assert_cmpuint(buf[3], ==, 0);
    g_assert_cmpuint(r.transferred, ==, 4 + 20);
    g_assert_cmphex(buf[4], ==, 0x08);
    g_assert_cmphex(buf[6], ==, 0x04);

    /* MODE SENSE(10) with a long LBA descriptor. */
    uint8_t ms10[10] = { SCSI_MODE_SENSE_10, 0x10, 0x08, 0, 0, 0, 0, 1, 0, 0 };
    r = run(&f.disk, ms10, 10, buf, sizeof(buf));
    assert_good(&r);
    g_assert_cmpuint(r.transferred, ==, (buf[0] << 8 | buf[1]) + 2u);
    g_assert_cmphex(buf[4] & 1, ==, 1);         /* LONGLBA */
    g_assert_cmpuint(buf[6] << 8 | buf[7], ==, 16);
    g_assert_cmpuint(rd_be32(buf + 12), ==, DISK_BLOCKS);
    g_assert_cmpuint(rd_be32(buf + 20), ==, 512);
    g_assert_cmphex(buf[24], ==, 0x08);

    /* Saved values: not supported; an unknown page: invalid field. */
    ms6[2] = 0xc8;
    r = run(&f.disk, ms6, 6, buf, sizeof(buf));
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_SAVING_NOT_SUPPORTED);
    ms6[2] = 0x15;
    r = run(&f.disk, ms6, 6, buf, sizeof(buf));
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    fixture_close(&f);
}

/* MODE SELECT turns the write cache off: every write is then flushed. */
static void test_mode_select_cache(void)
{
    Fixture f;
    fixture_open(&f, DISK_BYTES, BLK_O_RDWR, SCSI_TYPE_DISK);
    clear_ua(&f.disk);
    uint8_t buf[64], data[512] = { 1, 2, 3 };
    uint8_t c[10];
    uint8_t ms[6] = { SCSI_MODE_SENSE_6, 0x08, 0x08, 0, 255, 0 };

    ScsiRequest r = run(&f.disk, ms, 6, buf, sizeof(buf));
    assert_good(&r);
    unsigned n = r.transferred;
    buf[0] = 0;                                 /* mode data length: reserved */
    buf[4 + 2] &= ~0x04;                        /* WCE off */
    uint8_t sel[6] = { SCSI_MODE_SELECT_6, 0x10, 0, 0, n, 0 };
    r = run(&f.disk, sel, 6, buf, n);
    assert_good(&r);
    g_assert_false(f.disk.write_cache);

    /* Writes now reach the medium with a flush each. */
    blk_mem_journal_start(f.mem);
    cdb10(c, SCSI_WRITE_10, 3, 1);
    r = run(&f.disk, c, 10, data, 512);
    assert_good(&r);
    g_assert_cmpuint(blk_mem_journal_length(f.mem), ==, 2);   /* write, flush */

    /* A field that cannot change is refused. */
    buf[4 + 3] = 0x55;
    r = run(&f.disk, sel, 6, buf, n);
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_PARAM);
    buf[4 + 3] = 0;
    /* SP=1: no saved pages. */
    sel[1] = 0x11;
    r = run(&f.disk, sel, 6, buf, n);
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
    /* Back on: writes are not flushed, SYNCHRONIZE CACHE and FUA flush. */
    sel[1] = 0x10;
    buf[4 + 2] |= 0x04;
    r = run(&f.disk, sel, 6, buf, n);
    assert_good(&r);
    g_assert_true(f.disk.write_cache);
    blk_mem_journal_start(f.mem);
    cdb10(c, SCSI_WRITE_10, 3, 1);
    r = run(&f.disk, c, 10, data, 512);
    assert_good(&r);
    g_assert_cmpuint(blk_mem_journal_length(f.mem), ==, 1);
    cdb10(c, SCSI_SYNCHRONIZE_CACHE_10, 0, 0);
    r = run(&f.disk, c, 10, NULL, 0);
    assert_good(&r);
    g_assert_cmpuint(blk_mem_journal_length(f.mem), ==, 2);
    cdb10(c, SCSI_WRITE_10, 4, 1);
    c[1] = 0x08;                                /* FUA */
    r = run(&f.disk, c, 10, data, 512);
    assert_good(&r);
    g_assert_cmpuint(blk_mem_journal_length(f.mem), ==, 4);
    fixture_close(&f);
}

static void test_verify(void)
{
    Fixture f;
    fixture_open(&f, DISK_BYTES, BLK_O_RDWR, SCSI_TYPE_DISK);
    clear_ua(&f.disk);
    uint8_t data[3 * 512];
    uint8_t c[10];
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = pattern(200 * 512 + i);
    }
    /* Medium verification only. */
    cdb10(c, SCSI_VERIFY_10, 200, 3);
    ScsiRequest r = run(&f.disk, c, 10, NULL, 0);
    assert_good(&r);
    /* Byte compare, equal. */
    c[1] = 0x02;
    r = run(&f.disk, c, 10, data, sizeof(data));
    assert_good(&r);
    g_assert_cmpuint(r.transferred, ==, sizeof(data));
    /* Different in the second block: MISCOMPARE with its LBA. */
    data[512 + 17] ^= 1;
    r = run(&f.disk, c, 10, data, sizeof(data));
    assert_check(&r, SCSI_SENSE_MISCOMPARE, SCSI_ASC_MISCOMPARE_VERIFY);
    g_assert_true(r.sense[0] & 0x80);           /* INFORMATION valid */
    g_assert_cmpuint(rd_be32(r.sense + 3), ==, 201);
    /* Out of range. */
    cdb10(c, SCSI_VERIFY_10, DISK_BLOCKS - 1, 2);
    r = run(&f.disk, c, 10, NULL, 0);
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
    fixture_close(&f);
}

static void test_start_stop(void)
{
    Fixture f;
    fixture_open(&f, DISK_BYTES, BLK_O_RDWR, SCSI_TYPE_DISK);
    clear_ua(&f.disk);
    uint8_t stop[6] = { SCSI_START_STOP_UNIT, 0, 0, 0, 0x00, 0 };
    uint8_t start[6] = { SCSI_START_STOP_UNIT, 0, 0, 0, 0x01, 0 };
    uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
    uint8_t c[10], buf[512];

    ScsiRequest r = run(&f.disk, stop, 6, NULL, 0);
    assert_good(&r);
    r = run(&f.disk, tur, 6, NULL, 0);
    assert_check(&r, SCSI_SENSE_NOT_READY, SCSI_ASC_NOT_READY_INIT_REQUIRED);
    cdb10(c, SCSI_READ_10, 0, 1);
    r = run(&f.disk, c, 10, buf, 512);
    assert_check(&r, SCSI_SENSE_NOT_READY, SCSI_ASC_NOT_READY_INIT_REQUIRED);
    r = run(&f.disk, start, 6, NULL, 0);
    assert_good(&r);
    r = run(&f.disk, c, 10, buf, 512);
    assert_good(&r);
    uint8_t prevent[6] = { SCSI_PREVENT_ALLOW_REMOVAL, 0, 0, 0, 1, 0 };
    r = run(&f.disk, prevent, 6, NULL, 0);
    assert_good(&r);
    g_assert_true(f.disk.prevent_removal);
    fixture_close(&f);
}

/* A driver that fails reads and writes at or above FAIL_FROM. */
#define FAIL_FROM (1000 * 512)

static int failing_pread(BlockNode *bs, uint64_t off, void *buf, size_t len)
{
    (void)bs;
    if (off + len > FAIL_FROM) {
        return -EIO;
    }
    memset(buf, 0x33, len);
    return 0;
}

static int failing_pwrite(BlockNode *bs, uint64_t off, const void *buf, size_t len)
{
    (void)bs;
    (void)buf;
    return off + len > FAIL_FROM ? -EIO : 0;
}

static int64_t failing_size(BlockNode *bs)
{
    (void)bs;
    return DISK_BYTES;
}

static const BlockDriver failing_driver = {
    .name = "failing",
    .pread = failing_pread,
    .pwrite = failing_pwrite,
    .get_size = failing_size,
};

static void test_io_error(void)
{
    BlockNode *node = blk_node_new(&failing_driver, "failing", BLK_O_RDWR);
    BlockBackend *blk = blk_backend_new(node);
    ScsiDisk d;
    ScsiDiskConfig cfg = { .name = "failing" };
    uint8_t c[10], buf[4096];

    scsi_disk_init(&d, blk, &cfg);
    clear_ua(&d);
    cdb10(c, SCSI_READ_10, 990, 4);
    ScsiRequest r = run(&d, c, 10, buf, sizeof(buf));
    assert_good(&r);
    cdb10(c, SCSI_READ_10, 998, 4);
    r = run(&d, c, 10, buf, sizeof(buf));
    assert_check(&r, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_UNRECOVERED_READ_ERROR);
    g_assert_true(r.sense[0] & 0x80);
    g_assert_cmpuint(rd_be32(r.sense + 3), ==, 998);
    cdb10(c, SCSI_WRITE_10, 1010, 2);
    r = run(&d, c, 10, buf, 1024);
    assert_check(&r, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR);
    g_assert_cmpuint(rd_be32(r.sense + 3), ==, 1010);
    blk_backend_close(blk, BLK_REDO_KEEP, NULL);
}

static void test_write_protect(void)
{
    Fixture f;
    fixture_open(&f, DISK_BYTES, 0, SCSI_TYPE_DISK);     /* read-only node */
    clear_ua(&f.disk);
    uint8_t c[10], buf[512] = { 9 };
    uint8_t ms[6] = { SCSI_MODE_SENSE_6, 0x08, 0x3f, 0, 255, 0 };
    uint8_t mbuf[255];

    cdb10(c, SCSI_WRITE_10, 1, 1);
    ScsiRequest r = run(&f.disk, c, 10, buf, 512);
    assert_check(&r, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
    g_assert_cmpuint(r.transferred, ==, 0);
    uint64_t size;
    check_pattern(blk_mem_data(f.mem, &size) + 512, 512, 512);
    r = run(&f.disk, ms, 6, mbuf, sizeof(mbuf));
    assert_good(&r);
    g_assert_true(mbuf[2] & 0x80);              /* WP */
    cdb10(c, SCSI_READ_10, 1, 1);
    r = run(&f.disk, c, 10, buf, 512);
    assert_good(&r);
    fixture_close(&f);
}

/* The initiator's buffer is smaller than the transfer, or the direction
 * is not allowed. */
static void test_overrun(void)
{
    Fixture f;
    fixture_open(&f, DISK_BYTES, BLK_O_RDWR, SCSI_TYPE_DISK);
    clear_ua(&f.disk);
    uint8_t c[10], buf[2048];

    cdb10(c, SCSI_READ_10, 10, 4);
    ScsiRequest r = run(&f.disk, c, 10, buf, 1000);
    g_assert_cmpint(r.status, ==, SCSI_STATUS_GOOD);
    g_assert_true(r.overrun);
    g_assert_cmpuint(r.expected, ==, 2048);
    g_assert_cmpuint(r.transferred, ==, 1000);
    check_pattern(buf, 10 * 512, 1000);

    /* A write with too small a buffer writes nothing. */
    memset(buf, 0x77, sizeof(buf));
    cdb10(c, SCSI_WRITE_10, 10, 4);
    r = run(&f.disk, c, 10, buf, 1000);
    g_assert_true(r.overrun);
    g_assert_cmpuint(r.transferred, ==, 0);
    uint64_t size;
    check_pattern(blk_mem_data(f.mem, &size) + 10 * 512, 10 * 512, 2048);

    /* A read where only data-out is allowed. */
    ScsiRequest req;
    Buffer b = { buf, sizeof(buf) };
    cdb10(c, SCSI_READ_10, 10, 1);
    scsi_request_init(&req, 0, c, 10);
    req.buffer_len = sizeof(buf);
    req.allowed_dirs = 1u << SCSI_DATA_OUT;
    req.data = buffer_data;
    req.opaque = &b;
    req.autosense = true;
    scsi_disk_execute(&f.disk, &req);
    g_assert_true(req.overrun);
    g_assert_cmpuint(req.transferred, ==, 0);
    g_assert_cmpuint(req.dir, ==, SCSI_DATA_IN);
    fixture_close(&f);
}

static void test_cdrom(void)
{
    Fixture f;
    fixture_open(&f, 100 * 2048, 0, SCSI_TYPE_CDROM);
    uint8_t buf[256], c[12];

    uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 36, 0 };
    ScsiRequest r = run(&f.disk, inq, 6, buf, 36);
    assert_good(&r);
    g_assert_cmphex(buf[0], ==, 0x05);
    g_assert_cmphex(buf[1], ==, 0x80);          /* removable */
    clear_ua(&f.disk);
    uint8_t rc[10] = { SCSI_READ_CAPACITY_10 };
    r = run(&f.disk, rc, 10, buf, 8);
    assert_good(&r);
    g_assert_cmpuint(rd_be32(buf), ==, 99);
    g_assert_cmpuint(rd_be32(buf + 4), ==, 2048);
    uint8_t *sector = g_malloc(2048);
    cdb10(c, SCSI_READ_10, 16, 1);
    r = run(&f.disk, c, 10, sector, 2048);
    assert_good(&r);
    check_pattern(sector, 16 * 2048, 2048);
    g_free(sector);
    cdb10(c, SCSI_WRITE_10, 16, 1);
    r = run(&f.disk, c, 10, buf, 2048);
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);

    /* READ TOC: track 1 at 0, lead-out at the capacity. */
    uint8_t toc[10] = { SCSI_READ_TOC, 0, 0, 0, 0, 0, 0, 0, 255, 0 };
    r = run(&f.disk, toc, 10, buf, 255);
    assert_good(&r);
    g_assert_cmpuint(r.transferred, ==, 20);
    g_assert_cmpuint(buf[0] << 8 | buf[1], ==, 18);
    g_assert_cmpuint(buf[2], ==, 1);
    g_assert_cmpuint(buf[6], ==, 1);
    g_assert_cmpuint(rd_be32(buf + 8), ==, 0);
    g_assert_cmpuint(buf[14], ==, 0xaa);
    g_assert_cmpuint(rd_be32(buf + 16), ==, 100);
    toc[1] = 0x02;                              /* MSF */
    r = run(&f.disk, toc, 10, buf, 255);
    assert_good(&r);
    g_assert_cmpmem(buf + 8, 4, "\x00\x00\x02\x00", 4);  /* 00:02:00 */

    /* GET CONFIGURATION: the current profile is CD-ROM. */
    uint8_t gc[10] = { SCSI_GET_CONFIGURATION, 0, 0, 0, 0, 0, 0, 0, 255, 0 };
    r = run(&f.disk, gc, 10, buf, 255);
    assert_good(&r);
    g_assert_cmpuint(rd_be32(buf) + 4, ==, r.transferred);
    g_assert_cmpuint(buf[6] << 8 | buf[7], ==, 0x0008);
    g_assert_cmpuint(buf[8] << 8 | buf[9], ==, 0x0000);    /* profile list first */
    gc[1] = 2;                                  /* just feature 3 */
    gc[3] = 3;
    r = run(&f.disk, gc, 10, buf, 255);
    assert_good(&r);
    g_assert_cmpuint(r.transferred, ==, 8 + 8);
    g_assert_cmpuint(buf[9], ==, 3);

    /* GET EVENT STATUS NOTIFICATION, polled, media class. */
    uint8_t ge[10] = { SCSI_GET_EVENT_STATUS, 1, 0, 0, 0x10, 0, 0, 0, 8, 0 };
    r = run(&f.disk, ge, 10, buf, 8);
    assert_good(&r);
    g_assert_cmphex(buf[2], ==, 0x04);
    g_assert_cmphex(buf[5] & 0x02, ==, 0x02);
    ge[1] = 0;
    r = run(&f.disk, ge, 10, buf, 8);
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);

    /* Mode page 0x2a exists on the CD-ROM. */
    uint8_t ms[10] = { SCSI_MODE_SENSE_10, 0x08, 0x2a, 0, 0, 0, 0, 0, 255, 0 };
    r = run(&f.disk, ms, 10, buf, 255);
    assert_good(&r);
    g_assert_cmphex(buf[8], ==, 0x2a);

    /* Eject refused while prevented. */
    uint8_t prevent[6] = { SCSI_PREVENT_ALLOW_REMOVAL, 0, 0, 0, 1, 0 };
    uint8_t eject[6] = { SCSI_START_STOP_UNIT, 0, 0, 0, 0x02, 0 };
    run(&f.disk, prevent, 6, NULL, 0);
    r = run(&f.disk, eject, 6, NULL, 0);
    assert_check(&r, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_MEDIUM_REMOVAL_PREVENTED);
    fixture_close(&f);

    /* No medium. */
    ScsiDisk empty;
    ScsiDiskConfig cfg = { .type = SCSI_TYPE_CDROM, .name = "cd" };
    scsi_disk_init(&empty, NULL, &cfg);
    clear_ua(&empty);
    uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
    r = run(&empty, tur, 6, NULL, 0);
    assert_check(&r, SCSI_SENSE_NOT_READY, SCSI_ASC_MEDIUM_NOT_PRESENT);
}

static void test_vmstate(void)
{
    Fixture f;
    fixture_open(&f, DISK_BYTES, BLK_O_RDWR, SCSI_TYPE_DISK);
    clear_ua(&f.disk);
    uint8_t c[10], buf[512];

    /* Kept sense and a unit attention, then the write cache off. */
    cdb10(c, SCSI_READ_10, DISK_BLOCKS, 1);
    run_lun(&f.disk, 0, c, 10, buf, 512, false);
    f.disk.write_cache = false;
    f.disk.unit_attention = SCSI_ASC_BUS_RESET;
    GByteArray *out = g_byte_array_new();
    GError *err = NULL;
    g_assert_cmpint(vmstate_save_fields(out, &scsi_disk_vmstate, &f.disk, &err), ==, 0);

    ScsiDisk copy;
    ScsiDiskConfig cfg = { .name = "test-disk" };
    scsi_disk_init(&copy, f.blk, &cfg);
    g_assert_cmpint(vmstate_load_fields(out->data, out->len, 1, &scsi_disk_vmstate,
                                        &copy, "scsi-disk", &err), ==, 0);
    g_assert_no_error(err);
    g_assert_false(copy.write_cache);
    g_assert_cmpuint(copy.sense_len, ==, 18);
    g_assert_cmpmem(copy.sense, 18, f.disk.sense, 18);
    /* The restored unit reports the unit attention first. */
    uint8_t tur[6] = { SCSI_TEST_UNIT_READY };
    ScsiRequest r = run(&copy, tur, 6, NULL, 0);
    assert_check(&r, SCSI_SENSE_UNIT_ATTENTION, SCSI_ASC_BUS_RESET);

    /* A bad kept-sense length is refused. */
    f.disk.sense_len = 7;
    g_byte_array_set_size(out, 0);
    vmstate_save_fields(out, &scsi_disk_vmstate, &f.disk, &err);
    g_assert_cmpint(vmstate_load_fields(out->data, out->len, 1, &scsi_disk_vmstate,
                                        &copy, "scsi-disk", &err), <, 0);
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_byte_array_unref(out);
    fixture_close(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/scsi-disk/unit-attention", test_unit_attention);
    g_test_add_func("/scsi-disk/inquiry", test_inquiry);
    g_test_add_func("/scsi-disk/luns", test_luns);
    g_test_add_func("/scsi-disk/capacity", test_capacity);
    g_test_add_func("/scsi-disk/read", test_read);
    g_test_add_func("/scsi-disk/write", test_write);
    g_test_add_func("/scsi-disk/range", test_range);
    g_test_add_func("/scsi-disk/kept-sense", test_kept_sense);
    g_test_add_func("/scsi-disk/mode-sense", test_mode_sense);
    g_test_add_func("/scsi-disk/mode-select-cache", test_mode_select_cache);
    g_test_add_func("/scsi-disk/verify", test_verify);
    g_test_add_func("/scsi-disk/start-stop", test_start_stop);
    g_test_add_func("/scsi-disk/io-error", test_io_error);
    g_test_add_func("/scsi-disk/write-protect", test_write_protect);
    g_test_add_func("/scsi-disk/overrun", test_overrun);
    g_test_add_func("/scsi-disk/cdrom", test_cdrom);
    g_test_add_func("/scsi-disk/vmstate", test_vmstate);
    return g_test_run();
}
