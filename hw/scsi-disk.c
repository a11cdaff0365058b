/*
 * A SCSI logical unit on a BlockBackend: a direct-access block device
 * (disk, 512-byte blocks) or a CD/DVD device (2048-byte blocks, read-only).
 *
 * References: T10 SPC-3 (r23): 6.4 INQUIRY with the standard data and the
 * VPD pages 0x00, 0x80 and 0x83 (7.6); 6.27 REQUEST SENSE and 4.5.3
 * fixed-format sense data; 6.9/6.11 MODE SELECT/SENSE with 7.4 mode
 * parameters; 6.21 REPORT LUNS; 6.33 TEST UNIT READY; annex D (ASC/ASCQ).
 * SBC-2 (r16): READ/WRITE(6/10/12/16), WRITE AND VERIFY, VERIFY, READ
 * CAPACITY(10/16), START STOP UNIT, SYNCHRONIZE CACHE, and the mode pages
 * 0x01, 0x03, 0x04, 0x08 (caching), 0x0a (control, SPC-3), 0x1c.  SAM-3
 * 5.9.7 for unit attention conditions.  MMC-5 for the CD-ROM's READ TOC,
 * GET CONFIGURATION, GET EVENT STATUS NOTIFICATION and mode page 0x2a.
 *
 * Behaviour in brief (docs/scsi.md has the table):
 *   - sense data is fixed format; a CHECK CONDITION hands it to the
 *     initiator with the status when it asked for autosense, otherwise the
 *     unit keeps it until the next command, which is either REQUEST SENSE
 *     (returns and clears it) or anything else (clears it);
 *   - a unit attention (power on, bus reset, bus device reset) is reported
 *     once, to the first command other than INQUIRY, REPORT LUNS and
 *     REQUEST SENSE (REQUEST SENSE returns it as data and clears it);
 *   - LUNs other than 0 do not exist: INQUIRY answers with peripheral
 *     qualifier 011b, REQUEST SENSE with LOGICAL UNIT NOT SUPPORTED, REPORT
 *     LUNS normally, everything else CHECK CONDITION 25/00;
 *   - the write cache (caching page WCE) starts enabled: SYNCHRONIZE CACHE
 *     and FUA writes flush the backend; with WCE=0 every write is flushed;
 *   - I/O errors of the backend become MEDIUM ERROR (11/00 on read, 0C/00
 *     on write) with the first LBA of the failed chunk in INFORMATION.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "hw/scsi.h"
#include "vmstate.h"

#define SCSI_IO_CHUNK   (256 * 1024)    /* bytes per backend request */

/* Big-endian field helpers. */
static uint16_t be16(const uint8_t *p) { return (uint16_t)p[0] << 8 | p[1]; }
static uint32_t be24(const uint8_t *p) { return (uint32_t)p[0] << 16 | p[1] << 8 | p[2]; }
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }
static void put_be16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static void put_be24(uint8_t *p, uint32_t v) { p[0] = v >> 16; p[1] = v >> 8; p[2] = v; }
static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}
static void put_be64(uint8_t *p, uint64_t v) { put_be32(p, v >> 32); put_be32(p + 4, v); }

/* Space-padded ASCII field. */
static void put_ascii(uint8_t *p, const char *s, size_t n)
{
    size_t l = strlen(s);
    memset(p, ' ', n);
    memcpy(p, s, l < n ? l : n);
}

/* ------------------------------------------------------------------------
 * Requests and sense data
 * ------------------------------------------------------------------------ */

void scsi_request_init(ScsiRequest *req, uint32_t lun, const uint8_t *cdb,
                       unsigned cdb_len)
{
    memset(req, 0, sizeof(*req));
    if (cdb_len > SCSI_MAX_CDB) {
        cdb_len = SCSI_MAX_CDB;
    }
    memcpy(req->cdb, cdb, cdb_len);
    req->cdb_len = cdb_len;
    req->lun = lun;
}

uint8_t scsi_sense_key(const uint8_t *sense, unsigned len)
{
    return len > 2 ? sense[2] & 0x0f : 0;
}

uint16_t scsi_sense_asc(const uint8_t *sense, unsigned len)
{
    return len > 13 ? (uint16_t)(sense[12] << 8 | sense[13]) : 0;
}

/* Fixed-format sense data (SPC-3 4.5.3): current error, the INFORMATION
 * field when info_valid, additional length 10. */
static void sense_build(uint8_t *s, uint8_t key, uint16_t asc, bool info_valid,
                        uint32_t info)
{
    memset(s, 0, SCSI_SENSE_FIXED_LEN);
    s[0] = 0x70 | (info_valid ? 0x80 : 0);
    s[2] = key;
    put_be32(s + 3, info);
    s[7] = SCSI_SENSE_FIXED_LEN - 8;
    s[12] = asc >> 8;
    s[13] = asc;
}

/* End the command with CHECK CONDITION and these sense bytes. */
static void fail_with_sense(ScsiDisk *d, ScsiRequest *req, const uint8_t *s)
{
    req->status = SCSI_STATUS_CHECK_CONDITION;
    memcpy(req->sense, s, SCSI_SENSE_FIXED_LEN);
    req->sense_len = SCSI_SENSE_FIXED_LEN;
    if (!req->autosense) {
        memcpy(d->sense, s, SCSI_SENSE_FIXED_LEN);
        d->sense_len = SCSI_SENSE_FIXED_LEN;
    }
}

static void fail(ScsiDisk *d, ScsiRequest *req, uint8_t key, uint16_t asc)
{
    uint8_t s[SCSI_SENSE_FIXED_LEN];
    sense_build(s, key, asc, false, 0);
    fail_with_sense(d, req, s);
}

static void fail_at(ScsiDisk *d, ScsiRequest *req, uint8_t key, uint16_t asc,
                    uint64_t lba)
{
    uint8_t s[SCSI_SENSE_FIXED_LEN];
    /* INFORMATION holds 32 bits; a larger LBA is reported without it. */
    sense_build(s, key, asc, lba <= UINT32_MAX, (uint32_t)lba);
    fail_with_sense(d, req, s);
}

/* ILLEGAL REQUEST, INVALID FIELD IN CDB, with the sense-key specific field
 * pointer naming the byte (and bit, or -1) at fault. */
static void fail_field(ScsiDisk *d, ScsiRequest *req, unsigned byte, int bit)
{
    uint8_t s[SCSI_SENSE_FIXED_LEN];
    sense_build(s, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB, false, 0);
    s[15] = 0x80 | 0x40 | (bit >= 0 ? 0x08 | (bit & 7) : 0);  /* SKSV, C/D=CDB */
    put_be16(s + 16, byte);
    fail_with_sense(d, req, s);
}

static void fail_param(ScsiDisk *d, ScsiRequest *req, unsigned byte)
{
    uint8_t s[SCSI_SENSE_FIXED_LEN];
    sense_build(s, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_PARAM, false, 0);
    s[15] = 0x80;                       /* SKSV, C/D=0: parameter list */
    put_be16(s + 16, byte);
    fail_with_sense(d, req, s);
}

/* ------------------------------------------------------------------------
 * The data phase
 * ------------------------------------------------------------------------ */

/* Announce a data phase of `expected` bytes.  False when the initiator's
 * direction or (for data-out) buffer size does not allow it: the command
 * then ends without moving data, flagged as an overrun. */
static bool phase_begin(ScsiRequest *req, ScsiDataDir dir, uint64_t expected)
{
    req->dir = expected ? dir : SCSI_DATA_NONE;
    req->expected = expected;
    if (!expected) {
        return true;
    }
    if (!(req->allowed_dirs & (1u << dir)) ||
        (dir == SCSI_DATA_OUT && expected > req->buffer_len) || !req->data) {
        req->overrun = true;
        return false;
    }
    return true;
}

/* Send `len` bytes at `off`.  False when the initiator's buffer ended. */
static bool data_in(ScsiRequest *req, uint64_t off, const void *buf, uint32_t len)
{
    if (off >= req->buffer_len) {
        req->overrun = true;
        return false;
    }
    uint32_t n = len;
    if (req->buffer_len - off < n) {
        n = req->buffer_len - off;
    }
    uint32_t moved = req->data(req->opaque, SCSI_DATA_IN, off, (void *)buf, n);
    req->transferred += moved;
    if (moved < len) {
        req->overrun = true;
        return false;
    }
    return true;
}

/* Receive `len` bytes at `off` (phase_begin checked the buffer size). */
static bool data_out(ScsiRequest *req, uint64_t off, void *buf, uint32_t len)
{
    uint32_t moved = req->data(req->opaque, SCSI_DATA_OUT, off, buf, len);
    req->transferred += moved;
    if (moved < len) {
        req->overrun = true;
        return false;
    }
    return true;
}

/* Reply with `len` bytes of parameter data, cut to the allocation length. */
static void reply(ScsiRequest *req, const void *buf, uint32_t len, uint32_t alloc)
{
    if (len > alloc) {
        len = alloc;
    }
    if (phase_begin(req, SCSI_DATA_IN, len) && len) {
        data_in(req, 0, buf, len);
    }
}

/* ------------------------------------------------------------------------
 * The unit
 * ------------------------------------------------------------------------ */

uint64_t scsi_disk_blocks(const ScsiDisk *d)
{
    if (!d->blk) {
        return 0;
    }
    int64_t size = blk_size(d->blk);
    return size > 0 ? (uint64_t)size / d->block_size : 0;
}

static bool is_cdrom(const ScsiDisk *d)
{
    return d->type == SCSI_TYPE_CDROM;
}

/* Medium access is possible: started and, for a CD-ROM, loaded.  Fails the
 * command with NOT READY otherwise. */
static bool check_ready(ScsiDisk *d, ScsiRequest *req)
{
    if (!d->blk) {
        fail(d, req, SCSI_SENSE_NOT_READY, SCSI_ASC_MEDIUM_NOT_PRESENT);
        return false;
    }
    if (d->stopped) {
        fail(d, req, SCSI_SENSE_NOT_READY, SCSI_ASC_NOT_READY_INIT_REQUIRED);
        return false;
    }
    return true;
}

/* LBA range check: [lba, lba + n) must lie on the medium. */
static bool check_range(ScsiDisk *d, ScsiRequest *req, uint64_t lba, uint64_t n)
{
    uint64_t blocks = scsi_disk_blocks(d);
    if (lba > blocks || n > blocks - lba) {
        fail(d, req, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
        return false;
    }
    return true;
}

/* LBA and transfer length of the READ/WRITE/VERIFY families. */
static void rw_fields(const uint8_t *cdb, uint64_t *lba, uint64_t *n)
{
    switch (cdb[0]) {
    case SCSI_READ_6:
    case SCSI_WRITE_6:
        *lba = be24(cdb + 1) & 0x1fffff;
        *n = cdb[4] ? cdb[4] : 256;
        break;
    case SCSI_READ_10: case SCSI_WRITE_10: case SCSI_WRITE_VERIFY_10:
    case SCSI_VERIFY_10: case SCSI_SEEK_10:
    case SCSI_SYNCHRONIZE_CACHE_10:
        *lba = be32(cdb + 2);
        *n = be16(cdb + 7);
        break;
    case SCSI_READ_12: case SCSI_WRITE_12: case SCSI_WRITE_VERIFY_12:
    case SCSI_VERIFY_12:
        *lba = be32(cdb + 2);
        *n = be32(cdb + 6);
        break;
    default:    /* the 16-byte forms */
        *lba = be64(cdb + 2);
        *n = be32(cdb + 10);
        break;
    }
}

static void disk_read(ScsiDisk *d, ScsiRequest *req, uint64_t lba, uint64_t n)
{
    uint64_t total = n * d->block_size;
    if (!phase_begin(req, SCSI_DATA_IN, total) || !total) {
        return;
    }
    uint64_t base = lba * d->block_size;
    uint8_t *buf = g_malloc(total < SCSI_IO_CHUNK ? total : SCSI_IO_CHUNK);
    for (uint64_t off = 0; off < total;) {
        uint32_t len = total - off < SCSI_IO_CHUNK ? total - off : SCSI_IO_CHUNK;
        if (off >= req->buffer_len) {
            req->overrun = true;
            break;
        }
        if (blk_pread(d->blk, base + off, buf, len) < 0) {
            fail_at(d, req, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_UNRECOVERED_READ_ERROR,
                    lba + off / d->block_size);
            break;
        }
        if (!data_in(req, off, buf, len)) {
            break;
        }
        off += len;
    }
    g_free(buf);
}

/* WRITE, WRITE AND VERIFY (verify: read back and compare; bytchk decides
 * whether a difference is a MISCOMPARE or a MEDIUM ERROR). */
static void disk_write(ScsiDisk *d, ScsiRequest *req, uint64_t lba, uint64_t n,
                       bool fua, bool verify, bool bytchk)
{
    uint64_t total = n * d->block_size;
    if (d->read_only) {
        fail(d, req, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
        return;
    }
    if (!phase_begin(req, SCSI_DATA_OUT, total) || !total) {
        return;
    }
    uint64_t base = lba * d->block_size;
    size_t chunk = total < SCSI_IO_CHUNK ? total : SCSI_IO_CHUNK;
    uint8_t *buf = g_malloc(chunk);
    uint8_t *check = verify ? g_malloc(chunk) : NULL;
    bool ok = true;
    for (uint64_t off = 0; off < total && ok;) {
        uint32_t len = total - off < SCSI_IO_CHUNK ? total - off : SCSI_IO_CHUNK;
        uint64_t at = lba + off / d->block_size;
        if (!data_out(req, off, buf, len)) {
            ok = false;
            break;
        }
        int r = blk_pwrite(d->blk, base + off, buf, len);
        if (r == -EROFS || r == -EPERM || r == -EACCES) {
            fail(d, req, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
            ok = false;
        } else if (r < 0) {
            fail_at(d, req, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR, at);
            ok = false;
        } else if (verify) {
            if (blk_pread(d->blk, base + off, check, len) < 0) {
                fail_at(d, req, SCSI_SENSE_MEDIUM_ERROR,
                        SCSI_ASC_UNRECOVERED_READ_ERROR, at);
                ok = false;
            } else if (memcmp(buf, check, len)) {
                fail_at(d, req, bytchk ? SCSI_SENSE_MISCOMPARE : SCSI_SENSE_MEDIUM_ERROR,
                        bytchk ? SCSI_ASC_MISCOMPARE_VERIFY : SCSI_ASC_WRITE_ERROR, at);
                ok = false;
            }
        }
        off += len;
    }
    if (ok && (fua || verify || !d->write_cache) && blk_flush(d->blk) < 0) {
        fail_at(d, req, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR, lba);
    }
    g_free(buf);
    g_free(check);
}

/* VERIFY: read the blocks (medium verification), and with BYTCHK compare
 * them with the data-out buffer. */
static void disk_verify(ScsiDisk *d, ScsiRequest *req, uint64_t lba, uint64_t n,
                        bool bytchk)
{
    uint64_t total = n * d->block_size;
    if (!phase_begin(req, bytchk ? SCSI_DATA_OUT : SCSI_DATA_NONE,
                     bytchk ? total : 0) || !total) {
        return;
    }
    uint64_t base = lba * d->block_size;
    size_t chunk = total < SCSI_IO_CHUNK ? total : SCSI_IO_CHUNK;
    uint8_t *medium = g_malloc(chunk);
    uint8_t *given = bytchk ? g_malloc(chunk) : NULL;
    for (uint64_t off = 0; off < total;) {
        uint32_t len = total - off < SCSI_IO_CHUNK ? total - off : SCSI_IO_CHUNK;
        if (bytchk && !data_out(req, off, given, len)) {
            break;
        }
        if (blk_pread(d->blk, base + off, medium, len) < 0) {
            fail_at(d, req, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_UNRECOVERED_READ_ERROR,
                    lba + off / d->block_size);
            break;
        }
        if (bytchk && memcmp(medium, given, len)) {
            uint32_t i = 0;
            while (medium[i] == given[i]) {
                i++;
            }
            fail_at(d, req, SCSI_SENSE_MISCOMPARE, SCSI_ASC_MISCOMPARE_VERIFY,
                    lba + (off + i) / d->block_size);
            break;
        }
        off += len;
    }
    g_free(medium);
    g_free(given);
}

/* READ/WRITE/VERIFY families: decode, check, run. */
static void cmd_rw(ScsiDisk *d, ScsiRequest *req)
{
    const uint8_t *cdb = req->cdb;
    uint8_t op = cdb[0];
    uint64_t lba, n;
    bool is6 = op == SCSI_READ_6 || op == SCSI_WRITE_6;
    bool write = op == SCSI_WRITE_6 || op == SCSI_WRITE_10 || op == SCSI_WRITE_12 ||
                 op == SCSI_WRITE_16 || op == SCSI_WRITE_VERIFY_10 ||
                 op == SCSI_WRITE_VERIFY_12 || op == SCSI_WRITE_VERIFY_16;
    bool verify_only = op == SCSI_VERIFY_10 || op == SCSI_VERIFY_12 ||
                       op == SCSI_VERIFY_16;
    bool write_verify = op == SCSI_WRITE_VERIFY_10 || op == SCSI_WRITE_VERIFY_12 ||
                        op == SCSI_WRITE_VERIFY_16;

    if (is_cdrom(d) && (write || write_verify)) {
        /* A CD-ROM reader has no write commands. */
        fail(d, req, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
        return;
    }
    /* RDPROTECT/WRPROTECT/VRPROTECT: no protection information here. */
    if (!is6 && (cdb[1] & 0xe0)) {
        fail_field(d, req, 1, 7);
        return;
    }
    if (!check_ready(d, req)) {
        return;
    }
    rw_fields(cdb, &lba, &n);
    if (!check_range(d, req, lba, n)) {
        return;
    }
    bool fua = !is6 && (cdb[1] & 0x08);
    bool bytchk = !is6 && (cdb[1] & 0x02);
    if (verify_only) {
        disk_verify(d, req, lba, n, bytchk);
    } else if (write) {
        disk_write(d, req, lba, n, fua, write_verify, bytchk);
    } else {
        disk_read(d, req, lba, n);
    }
}

/* ------------------------------------------------------------------------
 * INQUIRY
 * ------------------------------------------------------------------------ */

#define INQUIRY_STD_LEN 96

static void cmd_inquiry(ScsiDisk *d, ScsiRequest *req)
{
    const uint8_t *cdb = req->cdb;
    uint8_t buf[256];
    uint32_t alloc = be16(cdb + 3);
    uint32_t len;

    memset(buf, 0, sizeof(buf));
    if (cdb[1] & 0x02) {                /* CMDDT, obsolete */
        fail_field(d, req, 1, 1);
        return;
    }
    uint8_t type = req->lun ? 0x7f : d->type;   /* qualifier 011b: no LU */
    if (!(cdb[1] & 0x01)) {
        if (cdb[2]) {
            fail_field(d, req, 2, -1);
            return;
        }
        buf[0] = type;
        buf[1] = is_cdrom(d) ? 0x80 : 0x00;     /* RMB */
        buf[2] = 0x05;                          /* SPC-3 */
        buf[3] = 0x10 | 0x02;                   /* HISUP, response format 2 */
        buf[4] = INQUIRY_STD_LEN - 5;
        buf[7] = 0x20 | 0x10 | 0x02;            /* WBUS16, SYNC, CMDQUE */
        put_ascii(buf + 8, d->vendor, 8);
        put_ascii(buf + 16, d->product, 16);
        put_ascii(buf + 32, d->revision, 4);
        /* Version descriptors: SAM-3, SPC-3, SBC-2 or MMC-5, SPI-5. */
        put_be16(buf + 58, 0x0060);
        put_be16(buf + 60, 0x0300);
        put_be16(buf + 62, is_cdrom(d) ? 0x02a0 : 0x0320);
        put_be16(buf + 64, 0x0ba0);
        len = INQUIRY_STD_LEN;
    } else {
        buf[0] = type;
        buf[1] = cdb[2];
        switch (cdb[2]) {
        case 0x00:                              /* supported VPD pages */
            buf[4] = 0x00;
            buf[5] = 0x80;
            buf[6] = 0x83;
            len = 7;
            break;
        case 0x80: {                            /* unit serial number */
            size_t l = strlen(d->serial);
            memcpy(buf + 4, d->serial, l);
            len = 4 + l;
            break;
        }
        case 0x83: {                            /* device identification */
            uint8_t *p = buf + 4;
            /* T10 vendor ID based: vendor + serial, ASCII, the LU. */
            size_t l = strlen(d->serial);
            p[0] = 0x02;
            p[1] = 0x01;
            p[3] = 8 + l;
            put_ascii(p + 4, d->vendor, 8);
            memcpy(p + 12, d->serial, l);
            p += 4 + p[3];
            /* NAA locally assigned (NAA 3), binary, the LU. */
            p[0] = 0x01;
            p[1] = 0x03;
            p[3] = 8;
            put_be64(p + 4, d->naa_id);
            p += 12;
            len = p - buf;
            break;
        }
        default:
            fail_field(d, req, 2, -1);
            return;
        }
        put_be16(buf + 2, len - 4);
    }
    reply(req, buf, len, alloc);
}

/* ------------------------------------------------------------------------
 * REQUEST SENSE, REPORT LUNS, READ CAPACITY
 * ------------------------------------------------------------------------ */

static void cmd_request_sense(ScsiDisk *d, ScsiRequest *req)
{
    uint8_t s[SCSI_SENSE_FIXED_LEN];

    if (req->cdb[1] & 0x01) {           /* DESC: descriptor format not offered */
        d->sense_len = 0;
        fail_field(d, req, 1, 0);
        return;
    }
    if (req->lun) {
        sense_build(s, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED, false, 0);
    } else if (d->sense_len) {
        memcpy(s, d->sense, sizeof(s));
    } else if (d->unit_attention) {
        sense_build(s, SCSI_SENSE_UNIT_ATTENTION, d->unit_attention, false, 0);
        d->unit_attention = 0;
    } else if (!d->blk) {
        sense_build(s, SCSI_SENSE_NOT_READY, SCSI_ASC_MEDIUM_NOT_PRESENT, false, 0);
    } else if (d->stopped) {
        sense_build(s, SCSI_SENSE_NOT_READY, SCSI_ASC_NOT_READY_INIT_REQUIRED, false, 0);
    } else {
        sense_build(s, SCSI_SENSE_NO_SENSE, SCSI_ASC_NO_ADDITIONAL_SENSE, false, 0);
    }
    d->sense_len = 0;
    reply(req, s, sizeof(s), req->cdb[4]);
}

static void cmd_report_luns(ScsiDisk *d, ScsiRequest *req)
{
    uint8_t buf[16] = { 0 };
    uint32_t alloc = be32(req->cdb + 6);

    if (req->cdb[2] > 2) {              /* SELECT REPORT */
        fail_field(d, req, 2, -1);
        return;
    }
    if (alloc < 16) {
        fail_field(d, req, 6, -1);
        return;
    }
    put_be32(buf, 8);                   /* one LUN: 0 */
    reply(req, buf, sizeof(buf), alloc);
}

static void cmd_read_capacity_10(ScsiDisk *d, ScsiRequest *req)
{
    uint8_t buf[8];
    if (!(req->cdb[8] & 0x01) && be32(req->cdb + 2)) {   /* LBA without PMI */
        fail_field(d, req, 2, -1);
        return;
    }
    if (!check_ready(d, req)) {
        return;
    }
    uint64_t blocks = scsi_disk_blocks(d);
    uint64_t last = blocks ? blocks - 1 : 0;
    put_be32(buf, last > UINT32_MAX ? UINT32_MAX : (uint32_t)last);
    put_be32(buf + 4, d->block_size);
    reply(req, buf, sizeof(buf), sizeof(buf));
}

static void cmd_service_action_in(ScsiDisk *d, ScsiRequest *req)
{
    uint8_t buf[32] = { 0 };
    if ((req->cdb[1] & 0x1f) != SCSI_SAI_READ_CAPACITY_16) {
        fail_field(d, req, 1, 4);
        return;
    }
    if (!check_ready(d, req)) {
        return;
    }
    uint64_t blocks = scsi_disk_blocks(d);
    put_be64(buf, blocks ? blocks - 1 : 0);
    put_be32(buf + 8, d->block_size);
    reply(req, buf, sizeof(buf), be32(req->cdb + 10));
}

/* ------------------------------------------------------------------------
 * Mode pages
 * ------------------------------------------------------------------------ */

enum { PC_CURRENT = 0, PC_CHANGEABLE = 1, PC_DEFAULT = 2, PC_SAVED = 3 };

#define GEOM_HEADS      255
#define GEOM_SECTORS    63

/* Build mode page `page` as the page control asks; its length, or 0 when
 * the unit has no such page. */
static unsigned mode_page(ScsiDisk *d, uint8_t page, int pc, uint8_t *p)
{
    uint64_t blocks = scsi_disk_blocks(d);
    bool changeable = pc == PC_CHANGEABLE;
    unsigned len;

    switch (page) {
    case 0x01:                          /* read-write error recovery */
        len = 12;
        memset(p, 0, len);
        if (!changeable) {
            p[2] = 0xc0;                /* AWRE, ARRE */
        }
        break;
    case 0x03:                          /* format device (disk) */
        if (is_cdrom(d)) {
            return 0;
        }
        len = 24;
        memset(p, 0, len);
        if (!changeable) {
            put_be16(p + 2, GEOM_HEADS);        /* tracks per zone */
            put_be16(p + 10, GEOM_SECTORS);     /* sectors per track */
            put_be16(p + 12, d->block_size);    /* bytes per physical sector */
            put_be16(p + 14, 1);                /* interleave */
            p[20] = 0x40;                       /* HSEC */
        }
        break;
    case 0x04: {                        /* rigid disk geometry (disk) */
        if (is_cdrom(d)) {
            return 0;
        }
        len = 24;
        memset(p, 0, len);
        if (!changeable) {
            uint64_t cyl = blocks / (GEOM_HEADS * GEOM_SECTORS);
            put_be24(p + 2, cyl > 0xffffff ? 0xffffff : (uint32_t)cyl);
            p[5] = GEOM_HEADS;
        }
        break;
    }
    case 0x08:                          /* caching */
        len = 20;
        memset(p, 0, len);
        if (changeable) {
            p[2] = 0x04;                /* WCE may change */
        } else if (pc == PC_DEFAULT || d->write_cache) {
            p[2] = 0x04;
        }
        break;
    case 0x0a:                          /* control */
        len = 12;
        memset(p, 0, len);
        if (!changeable) {
            p[3] = 0x10;                /* queue algorithm: unrestricted */
        }
        break;
    case 0x1c:                          /* informational exceptions control */
        len = 12;
        memset(p, 0, len);
        if (!changeable) {
            p[2] = 0x08;                /* DEXCPT: none reported */
        }
        break;
    case 0x2a:                          /* CD capabilities (MMC) */
        if (!is_cdrom(d)) {
            return 0;
        }
        len = 28;
        memset(p, 0, len);
        if (!changeable) {
            p[2] = 0x00;                /* reads CD-ROM only */
            p[4] = 0x30;                /* mode 2 form 1 and 2 */
            p[5] = 0x01;                /* CD-DA commands */
            p[6] = 0x29 | (d->prevent_removal ? 0x02 : 0);  /* tray, eject, lock */
            put_be16(p + 8, 16 * 176);          /* max read speed, KB/s */
            put_be16(p + 12, 0);
            put_be16(p + 14, 16 * 176);         /* current read speed */
        }
        break;
    default:
        return 0;
    }
    p[0] = page;
    p[1] = len - 2;
    return len;
}

static const uint8_t mode_pages_all[] = { 0x01, 0x03, 0x04, 0x08, 0x0a, 0x1c, 0x2a };

static void cmd_mode_sense(ScsiDisk *d, ScsiRequest *req)
{
    const uint8_t *cdb = req->cdb;
    bool ten = cdb[0] == SCSI_MODE_SENSE_10;
    bool dbd = cdb[1] & 0x08;
    bool llbaa = ten && (cdb[1] & 0x10);
    int pc = cdb[2] >> 6;
    uint8_t page = cdb[2] & 0x3f;
    uint8_t subpage = cdb[3];
    uint32_t alloc = ten ? be16(cdb + 7) : cdb[4];
    uint8_t buf[512];
    unsigned hdr = ten ? 8 : 4, len;

    memset(buf, 0, sizeof(buf));
    if (pc == PC_SAVED) {
        fail(d, req, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_SAVING_NOT_SUPPORTED);
        return;
    }
    if (subpage != 0 && subpage != 0xff) {
        fail_field(d, req, 3, -1);
        return;
    }
    /* Header: medium type 0; device-specific parameter WP and DPOFUA. */
    uint8_t devspec = (d->read_only ? 0x80 : 0) | (is_cdrom(d) ? 0 : 0x10);
    len = hdr;
    if (!dbd && !is_cdrom(d) && d->blk) {
        uint64_t blocks = scsi_disk_blocks(d);
        if (llbaa) {                    /* long LBA block descriptor */
            buf[4] = 0x01;              /* LONGLBA */
            put_be64(buf + len, blocks);
            put_be32(buf + len + 12, d->block_size);
            len += 16;
        } else {
            put_be32(buf + len, blocks > UINT32_MAX ? UINT32_MAX : (uint32_t)blocks);
            put_be24(buf + len + 5, d->block_size);
            len += 8;
        }
    }
    unsigned bdlen = len - hdr;
    if (page == 0x3f) {
        for (size_t i = 0; i < sizeof(mode_pages_all); i++) {
            len += mode_page(d, mode_pages_all[i], pc, buf + len);
        }
    } else {
        unsigned l = mode_page(d, page, pc, buf + len);
        if (!l) {
            fail_field(d, req, 2, 5);
            return;
        }
        len += l;
    }
    if (ten) {
        put_be16(buf, len - 2);
        buf[3] = devspec;
        put_be16(buf + 6, bdlen);
    } else {
        buf[0] = len - 1;
        buf[2] = devspec;
        buf[3] = bdlen;
    }
    reply(req, buf, len, alloc);
}

static void cmd_mode_select(ScsiDisk *d, ScsiRequest *req)
{
    const uint8_t *cdb = req->cdb;
    bool ten = cdb[0] == SCSI_MODE_SELECT_10;
    uint32_t plen = ten ? be16(cdb + 7) : cdb[4];
    unsigned hdr = ten ? 8 : 4;
    uint8_t buf[512], cur[64];

    if (cdb[1] & 0x01) {                /* SP: no saved pages */
        fail_field(d, req, 1, 0);
        return;
    }
    if (plen > sizeof(buf)) {
        fail_field(d, req, ten ? 7 : 4, -1);
        return;
    }
    if (!phase_begin(req, SCSI_DATA_OUT, plen) || !plen) {
        return;
    }
    if (!data_out(req, 0, buf, plen)) {
        return;
    }
    if (plen < hdr) {
        fail(d, req, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH);
        return;
    }
    unsigned bdlen = ten ? be16(buf + 6) : buf[3];
    unsigned pos = hdr;
    if (bdlen) {
        bool longlba = ten && (buf[4] & 0x01);
        unsigned want = longlba ? 16 : 8;
        if (bdlen != want || pos + bdlen > plen) {
            fail_param(d, req, ten ? 6 : 3);
            return;
        }
        uint32_t blen = longlba ? be32(buf + pos + 12) : be24(buf + pos + 5);
        if (blen && blen != d->block_size) {
            fail_param(d, req, pos + (longlba ? 12 : 5));
            return;
        }
        pos += bdlen;
    }
    /* Pages: only the changeable bits (caching WCE) may differ. */
    bool wce = d->write_cache;
    while (pos < plen) {
        if (pos + 2 > plen) {
            fail(d, req, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH);
            return;
        }
        uint8_t page = buf[pos] & 0x3f;
        bool spf = buf[pos] & 0x40;
        unsigned pl = spf ? (pos + 4 <= plen ? be16(buf + pos + 2) + 4u : 0)
                          : buf[pos + 1] + 2u;
        if (!pl || pos + pl > plen) {
            fail(d, req, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH);
            return;
        }
        unsigned cl = spf ? 0 : mode_page(d, page, PC_CURRENT, cur);
        if (!cl || cl != pl) {
            fail_param(d, req, pos);
            return;
        }
        uint8_t mask[64];
        mode_page(d, page, PC_CHANGEABLE, mask);
        for (unsigned i = 2; i < pl; i++) {
            if ((buf[pos + i] ^ cur[i]) & ~mask[i]) {
                fail_param(d, req, pos + i);
                return;
            }
        }
        if (page == 0x08) {
            wce = buf[pos + 2] & 0x04;
        }
        pos += pl;
    }
    d->write_cache = wce;
}

/* ------------------------------------------------------------------------
 * CD-ROM (MMC-5)
 * ------------------------------------------------------------------------ */

/* LBA as MSF (2 seconds of lead-in: 150 frames). */
static void put_msf(uint8_t *p, uint32_t lba)
{
    lba += 150;
    p[0] = 0;
    p[1] = lba / (75 * 60);
    p[2] = (lba / 75) % 60;
    p[3] = lba % 75;
}

static void cmd_read_toc(ScsiDisk *d, ScsiRequest *req)
{
    const uint8_t *cdb = req->cdb;
    bool msf = cdb[1] & 0x02;
    unsigned format = cdb[2] & 0x0f;
    uint8_t track = cdb[6];
    uint32_t alloc = be16(cdb + 7);
    uint8_t buf[32] = { 0 };
    unsigned len;

    if (!format) {
        format = cdb[9] >> 6;           /* the older place of the format */
    }
    if (!check_ready(d, req)) {
        return;
    }
    uint32_t blocks = (uint32_t)scsi_disk_blocks(d);
    switch (format) {
    case 0:                             /* TOC: track 1 (data) and lead-out */
        if (track > 1 && track != 0xaa) {
            fail_field(d, req, 6, -1);
            return;
        }
        buf[2] = 1;
        buf[3] = 1;
        len = 4;
        if (track <= 1) {
            buf[len + 1] = 0x14;        /* ADR 1, data track */
            buf[len + 2] = 1;
            if (msf) {
                put_msf(buf + len + 4, 0);
            }
            len += 8;
        }
        buf[len + 1] = 0x14;
        buf[len + 2] = 0xaa;
        if (msf) {
            put_msf(buf + len + 4, blocks);
        } else {
            put_be32(buf + len + 4, blocks);
        }
        len += 8;
        break;
    case 1:                             /* session information */
        buf[2] = 1;
        buf[3] = 1;
        buf[5] = 0x14;
        buf[6] = 1;
        if (msf) {
            put_msf(buf + 8, 0);
        }
        len = 12;
        break;
    default:
        fail_field(d, req, 2, 3);
        return;
    }
    put_be16(buf, len - 2);
    reply(req, buf, len, alloc);
}

/* GET CONFIGURATION: profile list (CD-ROM), core, removable medium. */
static void cmd_get_configuration(ScsiDisk *d, ScsiRequest *req)
{
    const uint8_t *cdb = req->cdb;
    unsigned rt = cdb[1] & 0x03;
    uint16_t start = be16(cdb + 2);
    uint32_t alloc = be16(cdb + 7);
    uint8_t buf[64] = { 0 };
    bool loaded = d->blk != NULL;
    unsigned len = 8;

    if (rt == 3) {
        fail_field(d, req, 1, 1);
        return;
    }
    put_be16(buf + 6, loaded ? 0x0008 : 0x0000);    /* current profile */
    static const uint16_t features[] = { 0x0000, 0x0001, 0x0003 };
    for (size_t i = 0; i < G_N_ELEMENTS(features); i++) {
        uint16_t f = features[i];
        bool current = f != 0x0000 || loaded;
        if ((rt == 2 && f != start) || f < start || (rt == 1 && !current)) {
            continue;
        }
        uint8_t *p = buf + len;
        put_be16(p, f);
        switch (f) {
        case 0x0000:                    /* profile list: CD-ROM */
            p[2] = 0x03;                /* persistent, current */
            p[3] = 4;
            put_be16(p + 4, 0x0008);
            p[6] = loaded ? 0x01 : 0;
            break;
        case 0x0001:                    /* core: SCSI physical interface */
            p[2] = 0x07;                /* version 1, persistent, current */
            p[3] = 8;
            put_be32(p + 4, 1);
            break;
        case 0x0003:                    /* removable medium: tray, eject, lock */
            p[2] = 0x03;
            p[3] = 4;
            p[4] = 0x29 | (d->prevent_removal ? 0x02 : 0);
            break;
        }
        len += 4 + p[3];
    }
    put_be32(buf, len - 4);
    reply(req, buf, len, alloc);
}

static void cmd_get_event_status(ScsiDisk *d, ScsiRequest *req)
{
    const uint8_t *cdb = req->cdb;
    uint8_t buf[8] = { 0 };
    unsigned len = 4;

    if (!(cdb[1] & 0x01)) {             /* only polled operation */
        fail_field(d, req, 1, 0);
        return;
    }
    buf[3] = 0x10;                      /* supported: media class */
    if (cdb[4] & 0x10) {
        buf[2] = 0x04;                  /* media class */
        buf[5] = d->blk ? 0x02 : 0x00;  /* media present, door closed */
        len = 8;
    } else {
        buf[2] = 0x80;                  /* no event available */
    }
    put_be16(buf, len - 2);
    reply(req, buf, len, be16(cdb + 7));
}

/* ------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------ */

void scsi_disk_execute(ScsiDisk *d, ScsiRequest *req)
{
    const uint8_t *cdb = req->cdb;
    uint8_t op = cdb[0];

    req->status = SCSI_STATUS_GOOD;
    req->dir = SCSI_DATA_NONE;
    req->expected = req->transferred = 0;
    req->overrun = false;
    req->sense_len = 0;

    /* Sense kept for REQUEST SENSE lives until the next command. */
    if (op != SCSI_REQUEST_SENSE) {
        d->sense_len = 0;
    }
    if (req->lun != 0 && op != SCSI_INQUIRY && op != SCSI_REQUEST_SENSE &&
        op != SCSI_REPORT_LUNS) {
        fail(d, req, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
        return;
    }
    if (d->unit_attention && op != SCSI_INQUIRY && op != SCSI_REQUEST_SENSE &&
        op != SCSI_REPORT_LUNS) {
        uint16_t asc = d->unit_attention;
        d->unit_attention = 0;
        fail(d, req, SCSI_SENSE_UNIT_ATTENTION, asc);
        return;
    }

    switch (op) {
    case SCSI_TEST_UNIT_READY:
        check_ready(d, req);
        break;
    case SCSI_REQUEST_SENSE:
        cmd_request_sense(d, req);
        break;
    case SCSI_INQUIRY:
        cmd_inquiry(d, req);
        break;
    case SCSI_REPORT_LUNS:
        cmd_report_luns(d, req);
        break;
    case SCSI_READ_CAPACITY_10:
        cmd_read_capacity_10(d, req);
        break;
    case SCSI_SERVICE_ACTION_IN_16:
        cmd_service_action_in(d, req);
        break;
    case SCSI_READ_6: case SCSI_READ_10: case SCSI_READ_12: case SCSI_READ_16:
    case SCSI_WRITE_6: case SCSI_WRITE_10: case SCSI_WRITE_12: case SCSI_WRITE_16:
    case SCSI_WRITE_VERIFY_10: case SCSI_WRITE_VERIFY_12: case SCSI_WRITE_VERIFY_16:
    case SCSI_VERIFY_10: case SCSI_VERIFY_12: case SCSI_VERIFY_16:
        cmd_rw(d, req);
        break;
    case SCSI_SEEK_10: {
        uint64_t lba, n;
        rw_fields(cdb, &lba, &n);
        if (check_ready(d, req)) {
            check_range(d, req, lba, 0);
        }
        break;
    }
    case SCSI_MODE_SENSE_6:
    case SCSI_MODE_SENSE_10:
        cmd_mode_sense(d, req);
        break;
    case SCSI_MODE_SELECT_6:
    case SCSI_MODE_SELECT_10:
        cmd_mode_select(d, req);
        break;
    case SCSI_START_STOP_UNIT: {
        bool start = cdb[4] & 0x01, loej = cdb[4] & 0x02;
        if (cdb[4] >> 4) {
            break;                      /* power conditions: nothing to do */
        }
        if (loej && !start && d->prevent_removal) {
            fail(d, req, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_MEDIUM_REMOVAL_PREVENTED);
            break;
        }
        d->stopped = !start;
        break;
    }
    case SCSI_PREVENT_ALLOW_REMOVAL:
        d->prevent_removal = cdb[4] & 0x01;
        break;
    case SCSI_SYNCHRONIZE_CACHE_10:
    case SCSI_SYNCHRONIZE_CACHE_16: {
        uint64_t lba, n;
        rw_fields(cdb, &lba, &n);
        if (!check_ready(d, req) || !check_range(d, req, lba, n)) {
            break;
        }
        if (!d->read_only && blk_flush(d->blk) < 0) {
            fail(d, req, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR);
        }
        break;
    }
    case SCSI_RESERVE_6:
    case SCSI_RELEASE_6:
        break;                          /* one initiator: always granted */
    case SCSI_SEND_DIAGNOSTIC:
        if (!(cdb[1] & 0x04) && be16(cdb + 3)) {
            fail_field(d, req, 1, 2);   /* only the default self-test */
        }
        break;
    case SCSI_READ_TOC:
    case SCSI_GET_CONFIGURATION:
    case SCSI_GET_EVENT_STATUS:
        if (!is_cdrom(d)) {
            fail(d, req, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
        } else if (op == SCSI_READ_TOC) {
            cmd_read_toc(d, req);
        } else if (op == SCSI_GET_CONFIGURATION) {
            cmd_get_configuration(d, req);
        } else {
            cmd_get_event_status(d, req);
        }
        break;
    default: {
        uint8_t s[SCSI_SENSE_FIXED_LEN];
        sense_build(s, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE, false, 0);
        s[15] = 0xc0;                   /* SKSV, C/D: CDB byte 0 */
        fail_with_sense(d, req, s);
        break;
    }
    }
}

/* ------------------------------------------------------------------------
 * Life cycle
 * ------------------------------------------------------------------------ */

static void copy_id(char *dst, size_t n, const char *src)
{
    size_t l = strlen(src);
    if (l >= n) {
        l = n - 1;
    }
    memcpy(dst, src, l);
    dst[l] = '\0';
}

void scsi_disk_init(ScsiDisk *d, BlockBackend *blk, const ScsiDiskConfig *cfg)
{
    memset(d, 0, sizeof(*d));
    d->present = true;
    d->blk = blk;
    d->type = cfg->type;
    d->block_size = cfg->type == SCSI_TYPE_CDROM ? 2048 : 512;
    d->read_only = cfg->type == SCSI_TYPE_CDROM || cfg->read_only ||
                   (blk && !(blk_backend_root(blk)->flags & BLK_O_RDWR));
    copy_id(d->vendor, sizeof(d->vendor), cfg->vendor ? cfg->vendor : "VMware");
    copy_id(d->product, sizeof(d->product), cfg->product ? cfg->product :
            cfg->type == SCSI_TYPE_CDROM ? "Virtual CD-ROM" : "Virtual disk");
    copy_id(d->revision, sizeof(d->revision), cfg->revision ? cfg->revision : "1.0");
    /* The default serial and NAA identifier follow from the name, so they
     * stay the same from one run to the next. */
    const char *name = cfg->name ? cfg->name : "";
    uint32_t h = 5381;
    for (const char *p = name; *p; p++) {
        h = h * 33 + (uint8_t)*p;
    }
    if (cfg->serial) {
        copy_id(d->serial, sizeof(d->serial), cfg->serial);
    } else {
        snprintf(d->serial, sizeof(d->serial), "VMKEMU%08X", h);
    }
    d->naa_id = 0x3000000000000000ULL | (uint64_t)0x564d4b << 32 | h;  /* NAA 3 */
    d->write_cache = true;
    d->unit_attention = SCSI_ASC_POWER_ON_RESET;
}

void scsi_disk_clear(ScsiDisk *d)
{
    memset(d, 0, sizeof(*d));
}

void scsi_disk_reset(ScsiDisk *d, uint16_t asc)
{
    if (!d->present) {
        return;
    }
    d->sense_len = 0;
    d->stopped = false;
    d->prevent_removal = false;
    d->unit_attention = asc;
}

static int scsi_disk_post_load(void *opaque, uint32_t version, GError **errp)
{
    ScsiDisk *d = opaque;
    (void)version;
    if (d->sense_len != 0 && d->sense_len != SCSI_SENSE_FIXED_LEN) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "scsi-disk: kept sense length %u is not %u", d->sense_len,
                    SCSI_SENSE_FIXED_LEN);
        return -EINVAL;
    }
    return 0;
}

static const VMStateField scsi_disk_fields[] = {
    VMSTATE_UINT8_ARRAY(ScsiDisk, sense, SCSI_SENSE_FIXED_LEN),
    VMSTATE_UINT8(ScsiDisk, sense_len),
    VMSTATE_UINT16(ScsiDisk, unit_attention),
    VMSTATE_BOOL(ScsiDisk, write_cache),
    VMSTATE_BOOL(ScsiDisk, stopped),
    VMSTATE_BOOL(ScsiDisk, prevent_removal),
    VMSTATE_END,
};

const VMStateDescription scsi_disk_vmstate = {
    .name = "scsi-disk",
    .version = 1,
    .post_load = scsi_disk_post_load,
    .fields = scsi_disk_fields,
};
