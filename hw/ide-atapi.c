/*
 * The ATAPI CD-ROM: IDENTIFY PACKET DEVICE and the packet commands a host
 * needs to find the drive and read a data disc from an ISO 9660 image:
 * TEST UNIT READY, REQUEST SENSE, INQUIRY (with the VPD page list), START
 * STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL, READ CAPACITY, READ(10),
 * READ(12), SEEK(10), SYNCHRONIZE CACHE, READ TOC (formats 0 and 1, LBA or
 * MSF), GET CONFIGURATION, GET EVENT STATUS NOTIFICATION (polled, media
 * class), MODE SENSE(10) (pages 01h, 2Ah, 3Fh), SET CD SPEED.  Everything
 * else: CHECK CONDITION, ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE.
 *
 * References: T13 ATA/ATAPI-6: 6.6 (PACKET protocol: interrupt reason
 * CoD/IO in the sector count register, byte count in the cylinder
 * registers), 8.24 (PACKET), 8.16 (IDENTIFY PACKET DEVICE data), 9.12
 * (signature 01h 01h 14h EBh); T10 SPC-2 (INQUIRY, REQUEST SENSE fixed
 * format, sense keys and additional sense codes) and MMC-2 (READ
 * CAPACITY, READ TOC, mode page 2Ah, GET CONFIGURATION profile 0008h
 * CD-ROM, GET EVENT STATUS NOTIFICATION).
 *
 * The medium is a read-only image of 2048-byte sectors (a trailing part
 * sector is not shown).  A drive without a medium answers NOT READY,
 * MEDIUM NOT PRESENT.  Ejecting is accepted but the disc stays (the host
 * has no way to load another one yet); with the medium locked it is
 * refused as MMC says.
 */
#include <string.h>
#include "hw/ide.h"

/* Sense keys and additional sense codes (SPC-2 tables 107, 108) */
#define SENSE_NOT_READY         0x02
#define SENSE_ILLEGAL_REQUEST   0x05
#define SENSE_UNIT_ATTENTION    0x06
#define ASC_INVALID_OPCODE      0x20
#define ASC_LBA_OUT_OF_RANGE    0x21
#define ASC_INVALID_FIELD       0x24
#define ASC_MEDIUM_CHANGED      0x28
#define ASC_SAVING_NOT_SUPPORTED 0x39
#define ASC_MEDIUM_NOT_PRESENT  0x3a
#define ASC_REMOVAL_PREVENTED   0x53

/* Packet commands (SPC-2, MMC-2) */
enum {
    GPCMD_TEST_UNIT_READY = 0x00,
    GPCMD_REQUEST_SENSE = 0x03,
    GPCMD_INQUIRY = 0x12,
    GPCMD_START_STOP_UNIT = 0x1b,
    GPCMD_PREVENT_ALLOW = 0x1e,
    GPCMD_READ_CAPACITY = 0x25,
    GPCMD_READ_10 = 0x28,
    GPCMD_SEEK_10 = 0x2b,
    GPCMD_SYNCHRONIZE_CACHE = 0x35,
    GPCMD_READ_TOC = 0x43,
    GPCMD_GET_CONFIGURATION = 0x46,
    GPCMD_GET_EVENT_STATUS = 0x4a,
    GPCMD_MODE_SENSE_10 = 0x5a,
    GPCMD_READ_12 = 0xa8,
    GPCMD_SET_CD_SPEED = 0xbb,
};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void ide_atapi_signature(IdeDevice *d)
{
    d->nsector = 1;
    d->lbal = 1;
    d->lbam = 0x14;
    d->lbah = 0xeb;
}

void ide_atapi_identify(IdeDevice *d, uint16_t *id)
{
    memset(id, 0, 512);
    /* ATAPI, CD-ROM (05h), removable, 50 us DRQ (no interrupt before the
     * packet), 12-byte packets. */
    id[0] = 0x8000 | 0x0500 | 0x0080 | 0x0040;
    ide_id_string(id, 10, 10, d->serial);
    ide_id_string(id, 23, 4, d->firmware);
    ide_id_string(id, 27, 20, d->model);
    id[49] = 0x0b00;                /* IORDY, LBA, DMA */
    id[50] = 0x4000;
    id[53] = 0x0006;                /* words 64-70 and 88 valid */
    id[63] = 0x0007 | ((d->xfer_mode & 0xf8) == 0x20 ? 1u << (8 + (d->xfer_mode & 7)) : 0);
    id[64] = 0x0003;
    id[65] = 120;
    id[66] = 120;
    id[67] = 120;
    id[68] = 120;
    id[80] = 0x00f0;
    id[82] = 0x0210;                /* DEVICE RESET, PACKET */
    id[83] = 0x4000;
    id[84] = 0x4000;
    id[85] = 0x0210;
    id[87] = 0x4000;
    id[88] = 0x003f | ((d->xfer_mode & 0xf8) == 0x40 ? 1u << (8 + (d->xfer_mode & 7)) : 0);
    id[93] = d->unit == 0 ? 0x600b : 0x6b00;
}

/* --- ending a command ----------------------------------------------------- */

void ide_atapi_done(IdeDevice *d)
{
    d->xfer = IDE_XFER_NONE;
    d->buf_pos = d->buf_end = d->drq_end = 0;
    d->remaining = 0;
    d->nsector = IDE_IREASON_IO | IDE_IREASON_COD;
    if (d->sense_key) {
        /* CHECK CONDITION: the sense key in the error register. */
        d->error = (uint8_t)(d->sense_key << 4) |
                   (d->sense_key == SENSE_ILLEGAL_REQUEST ? IDE_ERR_ABRT : 0);
        d->status = IDE_STAT_DRDY | IDE_STAT_ERR;
    } else {
        d->error = 0;
        d->status = IDE_STAT_DRDY;
    }
    ide_set_irq(d);
}

void ide_atapi_error(IdeDevice *d, uint8_t key, uint8_t asc, uint8_t ascq)
{
    d->sense_key = key;
    d->asc = asc;
    d->ascq = ascq;
    if (d->xfer == IDE_XFER_DMA_IN) {
        ide_dma_end(d->ch);
    }
    ide_atapi_done(d);
}

void ide_atapi_next_window(IdeDevice *d)
{
    if (d->buf_pos < d->buf_end) {
        uint32_t limit = d->byte_limit;
        if (limit == 0 || limit == 0xffff) {
            limit = 0xfffe;         /* 0 is not valid; FFFFh means "any" */
        }
        limit = MAX(limit & ~1u, 2);    /* even but for the last window */
        uint32_t n = MIN(d->buf_end - d->buf_pos, limit);
        d->drq_end = d->buf_pos + n;
        d->lbam = (uint8_t)n;
        d->lbah = (uint8_t)(n >> 8);
        d->nsector = IDE_IREASON_IO;
        d->status = IDE_STAT_DRDY | IDE_STAT_DRQ;
        ide_set_irq(d);
    } else if (d->remaining) {
        ide_read_chunk(d);
    } else {
        ide_atapi_done(d);
    }
}

/* Send `len` bytes of `data` (at most `alloc`: the allocation length). */
static void reply(IdeDevice *d, const uint8_t *data, uint32_t len, uint32_t alloc)
{
    uint32_t n = MIN(MIN(len, alloc), IDE_BUF_SIZE);
    if (n == 0) {
        ide_atapi_done(d);
        return;
    }
    memcpy(d->buf, data, n);
    d->buf_pos = 0;
    d->buf_end = n;
    d->remaining = 0;
    d->sector_size = IDE_CD_SECTOR_SIZE;
    ide_start_data_in(d, d->packet_dma);
}

static bool medium_ready(IdeDevice *d)
{
    if (!d->blk) {
        ide_atapi_error(d, SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT, 0);
        return false;
    }
    if (d->media_changed) {
        d->media_changed = false;
        ide_atapi_error(d, SENSE_UNIT_ATTENTION, ASC_MEDIUM_CHANGED, 0);
        return false;
    }
    return true;
}

static void invalid_field(IdeDevice *d)
{
    ide_atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
}

/* --- the commands ---------------------------------------------------------- */

static void cmd_request_sense(IdeDevice *d)
{
    uint8_t s[18] = { 0 };
    s[0] = 0x70;                    /* current error, fixed format */
    s[2] = d->sense_key;
    s[7] = 10;
    s[12] = d->asc;
    s[13] = d->ascq;
    d->sense_key = d->asc = d->ascq = 0;
    reply(d, s, sizeof(s), d->cdb[4]);
}

static void cmd_inquiry(IdeDevice *d)
{
    uint32_t alloc = get16(&d->cdb[3]);
    uint8_t r[36] = { 0 };

    if (d->cdb[1] & 0x01) {
        /* Vital product data: only the list of pages. */
        if (d->cdb[2] != 0x00) {
            invalid_field(d);
            return;
        }
        uint8_t vpd[5] = { 0x05, 0x00, 0x00, 0x01, 0x00 };
        reply(d, vpd, sizeof(vpd), alloc);
        return;
    }
    if (d->cdb[2]) {
        invalid_field(d);
        return;
    }
    r[0] = 0x05;                    /* CD/DVD device */
    r[1] = 0x80;                    /* removable */
    r[2] = 0x05;                    /* SPC-3 */
    r[3] = 0x02;                    /* response data format 2 */
    r[4] = sizeof(r) - 5;
    memcpy(&r[8], "VMKEMU  ", 8);
    memcpy(&r[16], "Virtual CD-ROM  ", 16);
    memcpy(&r[32], "1.0 ", 4);
    reply(d, r, sizeof(r), alloc);
}

static void cmd_read(IdeDevice *d, uint32_t lba, uint32_t count)
{
    if (!medium_ready(d)) {
        return;
    }
    if (lba > d->nb_sectors || count > d->nb_sectors - lba) {
        ide_atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
        return;
    }
    if (count == 0) {
        ide_atapi_done(d);
        return;
    }
    d->standby = false;
    d->lba = lba;
    d->remaining = count;
    d->sector_size = IDE_CD_SECTOR_SIZE;
    d->buf_pos = d->buf_end = d->drq_end = 0;
    ide_start_data_in(d, d->packet_dma);
}

/* An address in a TOC: LBA, or MSF counting the 2 s pregap. */
static void toc_addr(uint8_t *p, uint32_t lba, bool msf)
{
    if (!msf) {
        put32(p, lba);
        return;
    }
    uint32_t f = lba + 150;
    p[0] = 0;
    p[1] = (uint8_t)(f / (75 * 60));
    p[2] = (uint8_t)(f / 75 % 60);
    p[3] = (uint8_t)(f % 75);
}

static void cmd_read_toc(IdeDevice *d)
{
    bool msf = d->cdb[1] & 0x02;
    unsigned format = d->cdb[2] & 0x0f;
    unsigned track = d->cdb[6];
    uint32_t alloc = get16(&d->cdb[7]);
    uint8_t r[32] = { 0 };
    unsigned n = 4;

    if (!medium_ready(d)) {
        return;
    }
    if (format == 0) {
        format = d->cdb[9] >> 6;    /* the older place of the format */
    }
    switch (format) {
    case 0:                         /* the TOC: one data track, lead-out */
        if (track > 1 && track != 0xaa) {
            invalid_field(d);
            return;
        }
        r[2] = 1;
        r[3] = 1;
        if (track <= 1) {
            r[n + 1] = 0x14;        /* ADR 1, data track */
            r[n + 2] = 1;
            toc_addr(&r[n + 4], 0, msf);
            n += 8;
        }
        r[n + 1] = 0x14;
        r[n + 2] = 0xaa;
        toc_addr(&r[n + 4], (uint32_t)d->nb_sectors, msf);
        n += 8;
        break;
    case 1:                         /* session information: one session */
        r[2] = 1;
        r[3] = 1;
        r[n + 1] = 0x14;
        r[n + 2] = 1;
        toc_addr(&r[n + 4], 0, msf);
        n += 8;
        break;
    default:
        invalid_field(d);
        return;
    }
    put16(r, (uint16_t)(n - 2));
    reply(d, r, n, alloc);
}

static unsigned add_feature(uint8_t *p, uint16_t code, bool current, const uint8_t *data,
                            unsigned len)
{
    put16(p, code);
    p[2] = 0x02 | (current ? 0x01 : 0);     /* persistent, current */
    p[3] = (uint8_t)len;
    memcpy(p + 4, data, len);
    return 4 + len;
}

static void cmd_get_configuration(IdeDevice *d)
{
    unsigned rt = d->cdb[1] & 0x03;
    uint16_t start = get16(&d->cdb[2]);
    uint32_t alloc = get16(&d->cdb[7]);
    bool medium = d->blk != NULL;
    uint8_t r[128] = { 0 };
    unsigned n = 8;
    struct {
        uint16_t code;
        bool current;
        uint8_t data[8];
        unsigned len;
    } feats[] = {
        /* Profile list: CD-ROM */
        { 0x0000, true, { 0x00, 0x08, medium ? 0x01 : 0x00, 0x00 }, 4 },
        /* Core: ATAPI */
        { 0x0001, true, { 0x00, 0x00, 0x00, 0x02 }, 4 },
        /* Removable medium: tray, eject, lock */
        { 0x0003, true, { 0x29, 0x00, 0x00, 0x00 }, 4 },
        /* Random readable: 2048-byte blocks */
        { 0x0010, medium, { 0x00, 0x00, 0x08, 0x00, 0x00, 0x01, 0x00, 0x00 }, 8 },
        /* CD read */
        { 0x001e, medium, { 0x00, 0x00, 0x00, 0x00 }, 4 },
    };

    if (rt == 3) {
        invalid_field(d);
        return;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(feats); i++) {
        bool want = rt == 2 ? feats[i].code == start :
                    feats[i].code >= start && (rt == 0 || feats[i].current);
        if (want) {
            n += add_feature(&r[n], feats[i].code, feats[i].current, feats[i].data,
                             feats[i].len);
        }
    }
    put32(r, n - 4);
    put16(&r[6], medium ? 0x0008 : 0x0000);
    reply(d, r, n, alloc);
}

static void cmd_get_event_status(IdeDevice *d)
{
    uint32_t alloc = get16(&d->cdb[7]);
    uint8_t r[8] = { 0 };

    if (!(d->cdb[1] & 0x01)) {
        invalid_field(d);           /* only polled operation */
        return;
    }
    r[3] = 0x10;                    /* supported: media class */
    if (d->cdb[4] & 0x10) {
        put16(r, 6);
        r[2] = 0x04;                /* media class */
        r[4] = d->media_changed ? 0x02 : 0x00;  /* new media / no change */
        r[5] = d->blk ? 0x02 : 0x00;            /* media present, door closed */
        d->media_changed = false;
        reply(d, r, 8, alloc);
    } else {
        put16(r, 2);
        r[2] = 0x80;                /* no event available */
        reply(d, r, 4, alloc);
    }
}

static unsigned mode_page(IdeDevice *d, uint8_t page, bool changeable, uint8_t *p)
{
    switch (page) {
    case 0x01:                      /* read error recovery */
        memset(p, 0, 12);
        p[0] = 0x01;
        p[1] = 0x0a;
        if (!changeable) {
            p[3] = 0x05;            /* read retry count */
        }
        return 12;
    case 0x2a:                      /* CD capabilities and mechanical status */
        memset(p, 0, 20);
        p[0] = 0x2a;
        p[1] = 0x12;
        if (changeable) {
            return 20;
        }
        p[4] = 0x50;                /* multi-session, mode 2 form 1 */
        p[6] = 0x29 | (d->locked ? 0x02 : 0);   /* tray, eject, lock */
        put16(&p[8], 2816);         /* maximum read speed, kB/s */
        put16(&p[10], 256);         /* volume levels */
        put16(&p[12], 512);         /* buffer, KiB */
        put16(&p[14], 2816);        /* current read speed */
        return 20;
    }
    return 0;
}

static void cmd_mode_sense10(IdeDevice *d)
{
    unsigned pc = d->cdb[2] >> 6, page = d->cdb[2] & 0x3f;
    uint32_t alloc = get16(&d->cdb[7]);
    uint8_t r[64] = { 0 };
    unsigned n = 8;

    if (pc == 3) {
        ide_atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED, 0);
        return;
    }
    if (page == 0x3f) {
        n += mode_page(d, 0x01, pc == 1, &r[n]);
        n += mode_page(d, 0x2a, pc == 1, &r[n]);
    } else {
        unsigned len = mode_page(d, (uint8_t)page, pc == 1, &r[n]);
        if (!len) {
            invalid_field(d);
            return;
        }
        n += len;
    }
    put16(r, (uint16_t)(n - 2));
    r[2] = d->blk ? 0x01 : 0x70;    /* 120 mm data disc / door closed, no disc */
    reply(d, r, n, alloc);
}

void ide_atapi_exec(IdeDevice *d)
{
    const uint8_t *c = d->cdb;

    /* Sense data lasts until the next command, which REQUEST SENSE reads. */
    if (c[0] != GPCMD_REQUEST_SENSE) {
        d->sense_key = d->asc = d->ascq = 0;
    }
    switch (c[0]) {
    case GPCMD_TEST_UNIT_READY:
        if (medium_ready(d)) {
            ide_atapi_done(d);
        }
        break;
    case GPCMD_REQUEST_SENSE:
        cmd_request_sense(d);
        break;
    case GPCMD_INQUIRY:
        cmd_inquiry(d);
        break;
    case GPCMD_START_STOP_UNIT:
        if ((c[4] & 0x03) == 0x02 && d->locked) {
            ide_atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED, 0x02);
        } else {
            ide_atapi_done(d);
        }
        break;
    case GPCMD_PREVENT_ALLOW:
        d->locked = c[4] & 0x01;
        ide_atapi_done(d);
        break;
    case GPCMD_READ_CAPACITY:
        if (medium_ready(d)) {
            uint8_t r[8];
            put32(r, d->nb_sectors ? (uint32_t)MIN(d->nb_sectors - 1, 0xffffffffULL) : 0);
            put32(&r[4], IDE_CD_SECTOR_SIZE);
            reply(d, r, sizeof(r), sizeof(r));
        }
        break;
    case GPCMD_READ_10:
        cmd_read(d, get32(&c[2]), get16(&c[7]));
        break;
    case GPCMD_READ_12:
        cmd_read(d, get32(&c[2]), get32(&c[6]));
        break;
    case GPCMD_SEEK_10:
        if (medium_ready(d)) {
            if (get32(&c[2]) >= d->nb_sectors) {
                ide_atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
            } else {
                ide_atapi_done(d);
            }
        }
        break;
    case GPCMD_SYNCHRONIZE_CACHE:
    case GPCMD_SET_CD_SPEED:
        ide_atapi_done(d);
        break;
    case GPCMD_READ_TOC:
        cmd_read_toc(d);
        break;
    case GPCMD_GET_CONFIGURATION:
        cmd_get_configuration(d);
        break;
    case GPCMD_GET_EVENT_STATUS:
        cmd_get_event_status(d);
        break;
    case GPCMD_MODE_SENSE_10:
        cmd_mode_sense10(d);
        break;
    default:
        ide_atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
        break;
    }
}
