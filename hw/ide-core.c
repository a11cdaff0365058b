/*
 * An IDE channel with its two devices: the command and control block
 * registers, device selection, INTRQ, software and hardware reset with the
 * device signatures, and the ATA hard disk: IDENTIFY DEVICE, the PIO and
 * DMA read/write commands (28- and 48-bit), SET MULTIPLE MODE, FLUSH
 * CACHE (EXT), SET FEATURES, the power management commands, INITIALIZE
 * DEVICE PARAMETERS, EXECUTE DEVICE DIAGNOSTIC; every other command is
 * aborted.  ATAPI devices (hw/ide-atapi.c) share the registers, reset and
 * data paths here.
 *
 * Reference: T13 ATA/ATAPI-6 (1410D revision 3b): 6 (protocols: PIO
 * data-in, PIO data-out, DMA, non-data, PACKET; software reset), 7 (I/O
 * registers: the 48-bit "previous content" of the register pairs read
 * with HOB, the Device Control register's nIEN / SRST / HOB), 8 (command
 * descriptions, IDENTIFY DEVICE data in 8.15), 9.12 (signatures);
 * ATA/ATAPI-7 volume 1 for the same where it clarifies.
 *
 * Where the standard leaves a choice: a selected device that is not
 * present reads as 00h in every register (so a host's register test finds
 * nothing there); a channel with no device reads FFh (a floating bus).
 * Multiple mode survives a software reset; the transfer mode and the
 * write cache setting survive too (the host sets them again anyway).
 * With the write cache disabled (SET FEATURES 82h) each write is flushed
 * before it completes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "hw/ide.h"
#include "config.h"
#include "log.h"

static bool channel_empty(const IdeChannel *ch)
{
    return ch->dev[0].kind == IDE_KIND_NONE && ch->dev[1].kind == IDE_KIND_NONE;
}

static IdeDevice *selected(IdeChannel *ch)
{
    return &ch->dev[ch->unit & 1];
}

/* --- interrupts -------------------------------------------------------- */

void ide_update_irq(IdeChannel *ch)
{
    IdeDevice *d = selected(ch);
    bool level = d->kind != IDE_KIND_NONE && d->irq_pending &&
                 !(ch->devctl & IDE_CTL_NIEN);
    if (level && !ch->irq_level) {
        ch->bmis |= IDE_BMIS_INTR;      /* SFF-8038i: the line's rising edge */
    }
    if (level != ch->irq_level) {
        ch->irq_level = level;
        irq_set(ch->irq, level);
    }
}

void ide_set_irq(IdeDevice *d)
{
    d->irq_pending = true;
    ide_update_irq(d->ch);
}

static void clear_irq(IdeDevice *d)
{
    d->irq_pending = false;
    ide_update_irq(d->ch);
}

/* --- command endings ---------------------------------------------------- */

/* Non-data command completed. */
static void command_ok(IdeDevice *d)
{
    d->xfer = IDE_XFER_NONE;
    d->status = IDE_STAT_DRDY | IDE_STAT_DSC;
    ide_set_irq(d);
}

static void command_error(IdeDevice *d, uint8_t error)
{
    d->xfer = IDE_XFER_NONE;
    d->error = error;
    d->status = IDE_STAT_DRDY | IDE_STAT_ERR |
                (d->kind == IDE_KIND_ATA ? IDE_STAT_DSC : 0);
    ide_set_irq(d);
}

void ide_abort(IdeDevice *d)
{
    command_error(d, IDE_ERR_ABRT);
}

/* --- signatures and reset (ATA-6 9.12) ----------------------------------- */

static void ata_signature(IdeDevice *d)
{
    d->nsector = 1;
    d->lbal = 1;
    d->lbam = 0;
    d->lbah = 0;
    d->device = 0;
}

/* After a reset or EXECUTE DEVICE DIAGNOSTIC: diagnostic code 01h (passed;
 * device 1 passed or absent), the signature, ready. */
static void device_reset_state(IdeDevice *d)
{
    d->aio_gen++;
    d->aio_busy = false;
    d->xfer = IDE_XFER_NONE;
    d->buf_pos = d->buf_end = d->drq_end = 0;
    d->remaining = 0;
    d->irq_pending = false;
    d->error = 0x01;
    d->feature = 0;
    d->hob_feature = d->hob_nsector = d->hob_lbal = d->hob_lbam = d->hob_lbah = 0;
    if (d->kind == IDE_KIND_ATAPI) {
        ide_atapi_signature(d);
        d->status = 0;
    } else {
        ata_signature(d);
        d->status = IDE_STAT_DRDY | IDE_STAT_DSC;
    }
}

static void device_power_on(IdeDevice *d)
{
    d->mult_count = 0;
    d->cur_heads = d->heads;
    d->cur_secs = d->secs;
    d->xfer_mode = 0;
    d->write_cache = true;
    d->standby = false;
    d->sense_key = d->asc = d->ascq = 0;
    d->locked = false;
    d->media_changed = false;
    d->command = 0;
    device_reset_state(d);
}

void ide_channel_reset(IdeChannel *ch)
{
    ch->devctl = 0;
    ch->unit = 0;
    for (int u = 0; u < 2; u++) {
        if (ch->dev[u].kind != IDE_KIND_NONE) {
            device_power_on(&ch->dev[u]);
        }
    }
    ide_bm_reset(ch);
    ide_update_irq(ch);
}

/* --- block requests ------------------------------------------------------ */

typedef struct IdeAio {
    IdeDevice *d;
    uint32_t gen;
    uint8_t *bounce;
    uint32_t len;
} IdeAio;

static IdeAio *aio_new(IdeDevice *d, uint32_t len)
{
    IdeAio *a = g_new0(IdeAio, 1);
    a->d = d;
    a->gen = d->aio_gen;
    a->len = len;
    a->bounce = len ? g_malloc(len) : NULL;
    d->aio_busy = true;
    return a;
}

/* The request belongs to the device's current command. */
static bool aio_current(IdeAio *a)
{
    if (a->gen != a->d->aio_gen) {
        return false;
    }
    a->d->aio_busy = false;
    return true;
}

static void aio_free(IdeAio *a)
{
    g_free(a->bounce);
    g_free(a);
}

static void read_done(void *opaque, int ret)
{
    IdeAio *a = opaque;
    IdeDevice *d = a->d;

    if (aio_current(a)) {
        if (ret < 0) {
            vlog("ide%d.%d: read of %u bytes at sector %" G_GUINT64_FORMAT ": %s",
                 d->ch->index, d->unit, a->len, d->lba, g_strerror(-ret));
            ide_transfer_done(d, ret);
        } else {
            uint32_t n = a->len / d->sector_size;
            memcpy(d->buf, a->bounce, a->len);
            d->buf_pos = 0;
            d->buf_end = a->len;
            d->lba += n;
            d->remaining -= n;
            ide_start_data_in(d, d->xfer == IDE_XFER_DMA_IN);
        }
    }
    aio_free(a);
}

void ide_read_chunk(IdeDevice *d)
{
    uint32_t n = MIN(d->remaining, IDE_BUF_SIZE / d->sector_size);
    IdeAio *a = aio_new(d, n * d->sector_size);

    if (d->xfer != IDE_XFER_DMA_IN) {
        d->status = IDE_STAT_BSY | (d->status & IDE_STAT_DRDY);
    }
    blk_aio_pread(d->blk, d->lba * d->sector_size, a->bounce, a->len, read_done, a);
}

/* The next DRQ block of an ATA PIO read (interrupt at its start). */
static void ata_pio_in_window(IdeDevice *d)
{
    d->drq_end = MIN(d->buf_end, d->buf_pos + d->drq_sectors * IDE_SECTOR_SIZE);
    d->status = IDE_STAT_DRDY | IDE_STAT_DSC | IDE_STAT_DRQ;
    ide_set_irq(d);
}

void ide_start_data_in(IdeDevice *d, bool dma)
{
    if (dma) {
        d->xfer = IDE_XFER_DMA_IN;
        d->status = IDE_STAT_DRDY | IDE_STAT_DSC | IDE_STAT_DRQ;
        ide_dma_kick(d->ch);
        return;
    }
    d->xfer = IDE_XFER_PIO_IN;
    if (d->kind == IDE_KIND_ATAPI) {
        ide_atapi_next_window(d);
    } else if (d->buf_pos < d->buf_end) {
        ata_pio_in_window(d);
    } else if (d->remaining) {
        ide_read_chunk(d);
    } else {
        /* The last block went to the host: no interrupt (ATA-6 9.7). */
        d->xfer = IDE_XFER_NONE;
        d->status = IDE_STAT_DRDY | IDE_STAT_DSC;
    }
}

void ide_transfer_done(IdeDevice *d, int err)
{
    bool dma = d->xfer == IDE_XFER_DMA_IN || d->xfer == IDE_XFER_DMA_OUT;
    bool reading = d->xfer == IDE_XFER_DMA_IN || d->xfer == IDE_XFER_PIO_IN;

    if (d->kind == IDE_KIND_ATAPI) {
        if (err < 0) {
            /* MEDIUM ERROR, UNRECOVERED READ ERROR */
            d->sense_key = 0x03;
            d->asc = 0x11;
            d->ascq = 0x00;
        }
        if (dma) {
            ide_dma_end(d->ch);
        }
        ide_atapi_done(d);
        return;
    }
    if (dma) {
        ide_dma_end(d->ch);
    }
    if (err < 0) {
        command_error(d, reading ? IDE_ERR_UNC : IDE_ERR_ABRT);
    } else {
        command_ok(d);
    }
}

/* A chunk of a write is on the medium (and stable if write-through). */
static void write_continue(IdeDevice *d, uint32_t n)
{
    d->lba += n;
    d->remaining -= n;
    d->buf_pos = 0;
    if (d->xfer == IDE_XFER_DMA_OUT) {
        if (d->remaining) {
            ide_dma_kick(d->ch);
        } else {
            ide_transfer_done(d, 0);
        }
    } else if (d->remaining) {
        /* Next DRQ block of a PIO write: interrupt, DRQ. */
        d->drq_end = MIN(d->remaining, d->drq_sectors) * IDE_SECTOR_SIZE;
        d->status = IDE_STAT_DRDY | IDE_STAT_DSC | IDE_STAT_DRQ;
        ide_set_irq(d);
    } else {
        ide_transfer_done(d, 0);
    }
}

static void write_flushed(void *opaque, int ret)
{
    IdeAio *a = opaque;
    IdeDevice *d = a->d;
    uint32_t n = a->len / d->sector_size;

    if (aio_current(a)) {
        if (ret < 0) {
            ide_transfer_done(d, ret);
        } else {
            write_continue(d, n);
        }
    }
    aio_free(a);
}

static void write_done(void *opaque, int ret)
{
    IdeAio *a = opaque;
    IdeDevice *d = a->d;

    if (!aio_current(a)) {
        aio_free(a);
        return;
    }
    if (ret < 0) {
        vlog("ide%d.%d: write of %u bytes at sector %" G_GUINT64_FORMAT ": %s",
             d->ch->index, d->unit, a->len, d->lba, g_strerror(-ret));
        aio_free(a);
        ide_transfer_done(d, ret);
        return;
    }
    if (!d->write_cache) {
        /* Write-through: stable before the command completes. */
        IdeAio *f = aio_new(d, 0);
        f->len = a->len;
        aio_free(a);
        blk_aio_flush(d->blk, write_flushed, f);
        return;
    }
    uint32_t n = a->len / d->sector_size;
    aio_free(a);
    write_continue(d, n);
}

void ide_write_chunk(IdeDevice *d, uint32_t len)
{
    len = MIN(len, IDE_BUF_SIZE);
    IdeAio *a = aio_new(d, len);
    memcpy(a->bounce, d->buf, len);
    if (d->xfer != IDE_XFER_DMA_OUT) {
        d->status = IDE_STAT_BSY | IDE_STAT_DRDY;
    }
    blk_aio_pwrite(d->blk, d->lba * d->sector_size, a->bounce, len, write_done, a);
}

static void flush_done(void *opaque, int ret)
{
    IdeAio *a = opaque;
    IdeDevice *d = a->d;
    if (aio_current(a)) {
        if (ret < 0) {
            command_error(d, IDE_ERR_ABRT);
        } else {
            command_ok(d);
        }
    }
    aio_free(a);
}

/* --- IDENTIFY DEVICE (ATA-6 8.15) -------------------------------------- */

/* ATA strings: two characters per word, the first in the high byte. */
void ide_id_string(uint16_t *id, int word, int nwords, const char *s)
{
    size_t len = strlen(s);
    for (int i = 0; i < nwords * 2; i++) {
        uint8_t c = i < (int)len ? (uint8_t)s[i] : ' ';
        if (i & 1) {
            id[word + i / 2] |= c;
        } else {
            id[word + i / 2] = (uint16_t)(c << 8);
        }
    }
}

static uint16_t cur_cyls(const IdeDevice *d)
{
    if (!d->cur_heads || !d->cur_secs) {
        return 0;
    }
    return (uint16_t)MIN(d->nb_sectors / ((uint64_t)d->cur_heads * d->cur_secs), 65535);
}

/* Multiword DMA and UDMA modes: supported bits and the selected one. */
static uint16_t xfer_word(uint8_t mode, uint8_t family, uint16_t supported)
{
    uint16_t w = supported;
    if ((mode & 0xf8) == family) {
        w |= 1u << (8 + (mode & 7));
    }
    return w;
}

static void id_checksum(uint16_t *id)
{
    uint8_t sum = 0;
    id[255] = 0x00a5;
    for (int i = 0; i < 255; i++) {
        sum += (uint8_t)id[i] + (uint8_t)(id[i] >> 8);
    }
    sum += 0xa5;
    id[255] |= (uint16_t)((uint8_t)-sum) << 8;
}

static void ata_identify(IdeDevice *d, uint16_t *id)
{
    uint64_t lba28 = MIN(d->nb_sectors, 0x0fffffffULL);
    uint16_t cc = cur_cyls(d);
    uint32_t cur_cap = (uint32_t)cc * d->cur_heads * d->cur_secs;

    memset(id, 0, 512);
    id[0] = 0x0040;                 /* fixed device, not removable */
    id[1] = d->cyls;
    id[3] = d->heads;
    id[6] = d->secs;
    ide_id_string(id, 10, 10, d->serial);
    ide_id_string(id, 23, 4, d->firmware);
    ide_id_string(id, 27, 20, d->model);
    id[47] = 0x8000 | IDE_MAX_MULTIPLE;
    id[49] = 0x0f00;                /* IORDY, IORDY disable, LBA, DMA */
    id[50] = 0x4000;
    id[51] = 0x0200;                /* PIO timing mode 2 (obsolete field) */
    id[53] = 0x0007;                /* words 54-58, 64-70 and 88 valid */
    id[54] = cc;
    id[55] = d->cur_heads;
    id[56] = d->cur_secs;
    id[57] = (uint16_t)cur_cap;
    id[58] = (uint16_t)(cur_cap >> 16);
    id[59] = d->mult_count ? 0x0100 | d->mult_count : 0;
    id[60] = (uint16_t)lba28;
    id[61] = (uint16_t)(lba28 >> 16);
    id[63] = xfer_word(d->xfer_mode, 0x20, 0x0007);     /* MWDMA 0-2 */
    id[64] = 0x0003;                /* PIO 3 and 4 */
    id[65] = 120;
    id[66] = 120;
    id[67] = 120;
    id[68] = 120;
    id[80] = 0x00f0;                /* ATA/ATAPI-4 to -7 */
    id[82] = 0x0028;                /* write cache, power management */
    id[83] = 0x7400;                /* FLUSH CACHE EXT, FLUSH CACHE, 48-bit */
    id[84] = 0x4000;
    id[85] = 0x0008 | (d->write_cache ? 0x0020 : 0);
    id[86] = 0x3400;
    id[87] = 0x4000;
    id[88] = xfer_word(d->xfer_mode, 0x40, 0x003f);     /* UDMA 0-5 */
    id[93] = d->unit == 0 ? 0x600b : 0x6b00;            /* reset results, 80-wire */
    for (int i = 0; i < 4; i++) {
        id[100 + i] = (uint16_t)(d->nb_sectors >> (16 * i));
    }
    id_checksum(id);
}

static void identify_to_buf(IdeDevice *d, const uint16_t *id)
{
    for (int i = 0; i < 256; i++) {
        d->buf[2 * i] = (uint8_t)id[i];
        d->buf[2 * i + 1] = (uint8_t)(id[i] >> 8);
    }
    d->sector_size = IDE_SECTOR_SIZE;
    d->drq_sectors = 1;
    d->buf_pos = 0;
    d->buf_end = 512;
    d->remaining = 0;
    ide_start_data_in(d, false);
}

/* --- ATA commands --------------------------------------------------------- */

/* The command's starting sector and count from the task file; false after
 * an ID NOT FOUND error. */
static bool ata_range(IdeDevice *d, bool lba48, uint64_t *lba, uint32_t *count)
{
    if (lba48) {
        *lba = (uint64_t)d->lbal | (uint64_t)d->lbam << 8 | (uint64_t)d->lbah << 16 |
               (uint64_t)d->hob_lbal << 24 | (uint64_t)d->hob_lbam << 32 |
               (uint64_t)d->hob_lbah << 40;
        *count = (uint32_t)d->hob_nsector << 8 | d->nsector;
        if (!*count) {
            *count = 65536;
        }
    } else {
        if (d->device & IDE_DEV_LBA) {
            *lba = (uint64_t)d->lbal | (uint64_t)d->lbam << 8 | (uint64_t)d->lbah << 16 |
                   (uint64_t)(d->device & 0x0f) << 24;
        } else {
            uint32_t cyl = d->lbam | (uint32_t)d->lbah << 8;
            uint32_t head = d->device & 0x0f, sec = d->lbal;
            if (!d->cur_secs || !sec || sec > d->cur_secs || head >= d->cur_heads) {
                command_error(d, IDE_ERR_IDNF);
                return false;
            }
            *lba = ((uint64_t)cyl * d->cur_heads + head) * d->cur_secs + sec - 1;
        }
        *count = d->nsector ? d->nsector : 256;
    }
    if (*lba >= d->nb_sectors || *count > d->nb_sectors - *lba) {
        command_error(d, IDE_ERR_IDNF);
        return false;
    }
    return true;
}

static void ata_rw(IdeDevice *d, bool lba48, bool write, bool dma, uint32_t drq_sectors)
{
    uint64_t lba;
    uint32_t count;

    if (!ata_range(d, lba48, &lba, &count)) {
        return;
    }
    if (write && d->read_only) {
        command_error(d, IDE_ERR_ABRT);
        return;
    }
    d->standby = false;
    d->lba48 = lba48;
    d->lba = lba;
    d->remaining = count;
    d->sector_size = IDE_SECTOR_SIZE;
    d->drq_sectors = drq_sectors;
    d->buf_pos = d->buf_end = d->drq_end = 0;
    if (!write) {
        ide_start_data_in(d, dma);
    } else if (dma) {
        d->xfer = IDE_XFER_DMA_OUT;
        d->status = IDE_STAT_DRDY | IDE_STAT_DSC | IDE_STAT_DRQ;
        ide_dma_kick(d->ch);
    } else {
        /* PIO data-out: DRQ for the first block, no interrupt. */
        d->xfer = IDE_XFER_PIO_OUT;
        d->drq_end = MIN(count, drq_sectors) * IDE_SECTOR_SIZE;
        d->status = IDE_STAT_DRDY | IDE_STAT_DSC | IDE_STAT_DRQ;
    }
}

static void ata_set_features(IdeDevice *d)
{
    switch (d->feature) {
    case ATA_SF_ENABLE_WCACHE:
        d->write_cache = true;
        break;
    case ATA_SF_DISABLE_WCACHE:
        d->write_cache = false;
        break;
    case ATA_SF_XFER_MODE: {
        uint8_t v = d->nsector, mode = v & 7;
        bool ok = (v & 0xf8) == 0x00 ? mode <= 1 :      /* PIO default */
                  (v & 0xf8) == 0x08 ? mode <= 4 :      /* PIO flow control */
                  (v & 0xf8) == 0x20 ? mode <= 2 :      /* multiword DMA */
                  (v & 0xf8) == 0x40 ? mode <= 5 :      /* Ultra DMA */
                  false;
        if (!ok) {
            ide_abort(d);
            return;
        }
        d->xfer_mode = v;
        break;
    }
    case ATA_SF_DISABLE_RLA:
    case ATA_SF_ENABLE_RLA:
    case ATA_SF_DISABLE_REVERT:
    case ATA_SF_ENABLE_REVERT:
        break;
    default:
        ide_abort(d);
        return;
    }
    command_ok(d);
}

static void exec_diagnostic(IdeChannel *ch)
{
    for (int u = 0; u < 2; u++) {
        if (ch->dev[u].kind != IDE_KIND_NONE) {
            device_reset_state(&ch->dev[u]);
            if (ch->dev[u].kind == IDE_KIND_ATAPI) {
                ch->dev[u].status = IDE_STAT_DRDY;
            }
        }
    }
    ch->unit = 0;
    ide_update_irq(ch);         /* the command write drops INTRQ */
    /* Device 0 reports for both (device 1 absent reads as passed). */
    if (ch->dev[0].kind != IDE_KIND_NONE) {
        ide_set_irq(&ch->dev[0]);
    }
}

static void ata_command(IdeDevice *d, uint8_t cmd)
{
    uint16_t id[256];
    uint64_t lba;
    uint32_t count;

    switch (cmd) {
    case ATA_CMD_IDENTIFY:
        ata_identify(d, id);
        identify_to_buf(d, id);
        break;
    case ATA_CMD_READ_SECTORS:
    case ATA_CMD_READ_SECTORS_NORETRY:
        ata_rw(d, false, false, false, 1);
        break;
    case ATA_CMD_READ_SECTORS_EXT:
        ata_rw(d, true, false, false, 1);
        break;
    case ATA_CMD_WRITE_SECTORS:
    case ATA_CMD_WRITE_SECTORS_NORETRY:
        ata_rw(d, false, true, false, 1);
        break;
    case ATA_CMD_WRITE_SECTORS_EXT:
        ata_rw(d, true, true, false, 1);
        break;
    case ATA_CMD_READ_MULTIPLE:
    case ATA_CMD_READ_MULTIPLE_EXT:
    case ATA_CMD_WRITE_MULTIPLE:
    case ATA_CMD_WRITE_MULTIPLE_EXT:
        if (!d->mult_count) {
            ide_abort(d);
            break;
        }
        ata_rw(d, cmd == ATA_CMD_READ_MULTIPLE_EXT || cmd == ATA_CMD_WRITE_MULTIPLE_EXT,
               cmd == ATA_CMD_WRITE_MULTIPLE || cmd == ATA_CMD_WRITE_MULTIPLE_EXT,
               false, d->mult_count);
        break;
    case ATA_CMD_READ_DMA:
    case ATA_CMD_READ_DMA_NORETRY:
        ata_rw(d, false, false, true, 0);
        break;
    case ATA_CMD_READ_DMA_EXT:
        ata_rw(d, true, false, true, 0);
        break;
    case ATA_CMD_WRITE_DMA:
    case ATA_CMD_WRITE_DMA_NORETRY:
        ata_rw(d, false, true, true, 0);
        break;
    case ATA_CMD_WRITE_DMA_EXT:
        ata_rw(d, true, true, true, 0);
        break;
    case ATA_CMD_READ_VERIFY:
    case ATA_CMD_READ_VERIFY_NORETRY:
    case ATA_CMD_READ_VERIFY_EXT:
        if (ata_range(d, cmd == ATA_CMD_READ_VERIFY_EXT, &lba, &count)) {
            d->standby = false;
            command_ok(d);
        }
        break;
    case ATA_CMD_SET_MULTIPLE: {
        uint8_t n = d->nsector;
        if (n > IDE_MAX_MULTIPLE || (n & (n - 1))) {
            ide_abort(d);
        } else {
            d->mult_count = n;      /* 0 disables multiple mode */
            command_ok(d);
        }
        break;
    }
    case ATA_CMD_FLUSH_CACHE:
    case ATA_CMD_FLUSH_CACHE_EXT: {
        d->status = IDE_STAT_BSY | IDE_STAT_DRDY;
        IdeAio *a = aio_new(d, 0);
        blk_aio_flush(d->blk, flush_done, a);
        break;
    }
    case ATA_CMD_SET_FEATURES:
        ata_set_features(d);
        break;
    case ATA_CMD_INIT_DEV_PARAMS:
        /* A geometry the disk cannot take leaves CHS access failing with
         * ID NOT FOUND until a valid one is set (ATA-6 8.16). */
        d->cur_heads = (d->device & 0x0f) + 1;
        d->cur_secs = d->nsector;
        command_ok(d);
        break;
    case ATA_CMD_CHECK_POWER_MODE:
        d->nsector = d->standby ? 0x00 : 0xff;
        command_ok(d);
        break;
    case ATA_CMD_IDLE:
    case ATA_CMD_IDLE_IMMEDIATE:
        d->standby = false;
        command_ok(d);
        break;
    case ATA_CMD_STANDBY:
    case ATA_CMD_STANDBY_IMMEDIATE:
        d->standby = true;
        command_ok(d);
        break;
    case ATA_CMD_SEEK:
        d->standby = false;
        command_ok(d);
        break;
    default:
        if (cmd >= ATA_CMD_RECALIBRATE && cmd <= ATA_CMD_RECALIBRATE + 0x0f) {
            d->standby = false;
            command_ok(d);
        } else {
            ide_abort(d);
        }
        break;
    }
}

/* ATAPI devices answer the ATA command set only in part (ATA-6 8.x, "PACKET
 * command feature set"). */
static void atapi_command(IdeDevice *d, uint8_t cmd)
{
    uint16_t id[256];

    switch (cmd) {
    case ATA_CMD_IDENTIFY_PACKET:
        ide_atapi_identify(d, id);
        id_checksum(id);
        identify_to_buf(d, id);
        break;
    case ATA_CMD_PACKET:
        d->packet_dma = d->feature & 0x01;
        d->byte_limit = d->lbam | (uint16_t)d->lbah << 8;
        d->xfer = IDE_XFER_PACKET;
        d->buf_pos = 0;
        d->drq_end = 12;
        d->nsector = IDE_IREASON_COD;
        d->status = IDE_STAT_DRDY | IDE_STAT_DRQ;
        break;
    case ATA_CMD_DEVICE_RESET:
        device_reset_state(d);
        break;
    case ATA_CMD_SET_FEATURES:
        ata_set_features(d);
        break;
    case ATA_CMD_CHECK_POWER_MODE:
        d->nsector = d->standby ? 0x00 : 0xff;
        command_ok(d);
        break;
    case ATA_CMD_IDLE_IMMEDIATE:
    case ATA_CMD_STANDBY_IMMEDIATE:
        d->standby = cmd == ATA_CMD_STANDBY_IMMEDIATE;
        command_ok(d);
        break;
    case ATA_CMD_IDENTIFY:
    case ATA_CMD_READ_SECTORS:
    case ATA_CMD_READ_DMA:
        /* An ATA command: abort with the signature, so the host learns it
         * talks to a PACKET device (ATA-6 8.15.5). */
        ide_atapi_signature(d);
        ide_abort(d);
        break;
    default:
        ide_abort(d);
        break;
    }
}

static void exec_command(IdeChannel *ch, uint8_t cmd)
{
    IdeDevice *d = selected(ch);

    if (d->kind == IDE_KIND_NONE) {
        return;
    }
    if (cmd == ATA_CMD_EXEC_DIAGNOSTIC) {
        exec_diagnostic(ch);
        return;
    }
    /* A command written while busy is ignored, but DEVICE RESET. */
    if ((d->status & IDE_STAT_BSY) &&
        !(d->kind == IDE_KIND_ATAPI && cmd == ATA_CMD_DEVICE_RESET)) {
        return;
    }
    /* A new command ends whatever transfer was left half done. */
    d->aio_gen++;
    d->aio_busy = false;
    d->xfer = IDE_XFER_NONE;
    d->command = cmd;
    d->irq_pending = false;
    d->error = 0;
    ide_update_irq(ch);
    if (d->kind == IDE_KIND_ATA) {
        ata_command(d, cmd);
    } else {
        atapi_command(d, cmd);
    }
}

/* --- data register ------------------------------------------------------- */

static uint16_t data_read16(IdeChannel *ch)
{
    IdeDevice *d = selected(ch);
    if (d->xfer != IDE_XFER_PIO_IN || !(d->status & IDE_STAT_DRQ)) {
        return 0xffff;
    }
    uint16_t v = d->buf[d->buf_pos];
    if (d->buf_pos + 1 < IDE_BUF_SIZE) {
        v |= (uint16_t)d->buf[d->buf_pos + 1] << 8;
    }
    d->buf_pos += 2;
    if (d->buf_pos >= d->drq_end) {
        d->buf_pos = MIN(d->buf_pos, d->drq_end);
        ide_start_data_in(d, false);
    }
    return v;
}

static void data_write16(IdeChannel *ch, uint16_t v)
{
    IdeDevice *d = selected(ch);
    if ((d->xfer != IDE_XFER_PIO_OUT && d->xfer != IDE_XFER_PACKET) ||
        !(d->status & IDE_STAT_DRQ) || d->buf_pos + 1 >= IDE_BUF_SIZE) {
        return;
    }
    if (d->xfer == IDE_XFER_PACKET) {
        d->cdb[d->buf_pos] = (uint8_t)v;
        d->cdb[d->buf_pos + 1] = (uint8_t)(v >> 8);
    } else {
        d->buf[d->buf_pos] = (uint8_t)v;
        d->buf[d->buf_pos + 1] = (uint8_t)(v >> 8);
    }
    d->buf_pos += 2;
    if (d->buf_pos < d->drq_end) {
        return;
    }
    if (d->xfer == IDE_XFER_PACKET) {
        d->xfer = IDE_XFER_NONE;
        d->status = IDE_STAT_BSY;
        ide_atapi_exec(d);
    } else {
        ide_write_chunk(d, d->drq_end);
    }
}

/* --- register access ----------------------------------------------------- */

static uint8_t reg_read(IdeChannel *ch, unsigned reg)
{
    IdeDevice *d = selected(ch);
    bool hob = ch->devctl & IDE_CTL_HOB;

    if (channel_empty(ch)) {
        return 0xff;
    }
    if (d->kind == IDE_KIND_NONE) {
        return 0x00;
    }
    switch (reg) {
    case IDE_REG_ERROR:
        return d->error;
    case IDE_REG_NSECTOR:
        return hob ? d->hob_nsector : d->nsector;
    case IDE_REG_LBAL:
        return hob ? d->hob_lbal : d->lbal;
    case IDE_REG_LBAM:
        return hob ? d->hob_lbam : d->lbam;
    case IDE_REG_LBAH:
        return hob ? d->hob_lbah : d->lbah;
    case IDE_REG_DEVICE:
        return d->device;
    case IDE_REG_STATUS:
        if (ch->devctl & IDE_CTL_SRST) {
            return IDE_STAT_BSY;
        }
        clear_irq(d);
        return d->status;
    }
    return 0xff;
}

static void reg_write(IdeChannel *ch, unsigned reg, uint8_t v)
{
    if (reg == IDE_REG_STATUS) {
        exec_command(ch, v);
        return;
    }
    /* Both devices take every command block write (ATA-6 7.1); a write
     * clears HOB. */
    ch->devctl &= ~IDE_CTL_HOB;
    for (int u = 0; u < 2; u++) {
        IdeDevice *d = &ch->dev[u];
        switch (reg) {
        case IDE_REG_ERROR:
            d->hob_feature = d->feature;
            d->feature = v;
            break;
        case IDE_REG_NSECTOR:
            d->hob_nsector = d->nsector;
            d->nsector = v;
            break;
        case IDE_REG_LBAL:
            d->hob_lbal = d->lbal;
            d->lbal = v;
            break;
        case IDE_REG_LBAM:
            d->hob_lbam = d->lbam;
            d->lbam = v;
            break;
        case IDE_REG_LBAH:
            d->hob_lbah = d->lbah;
            d->lbah = v;
            break;
        case IDE_REG_DEVICE:
            d->device = v;
            break;
        }
    }
    if (reg == IDE_REG_DEVICE) {
        ch->unit = (v & IDE_DEV_DEV) ? 1 : 0;
        ide_update_irq(ch);
    }
}

uint32_t ide_cmd_read(IdeChannel *ch, unsigned reg, unsigned size)
{
    if (reg == IDE_REG_DATA) {
        if (channel_empty(ch)) {
            return size == 4 ? 0xffffffffu : size == 2 ? 0xffff : 0xff;
        }
        if (selected(ch)->kind == IDE_KIND_NONE) {
            return 0;
        }
        uint32_t v = data_read16(ch);
        if (size == 4) {
            v |= (uint32_t)data_read16(ch) << 16;
        }
        return size == 1 ? v & 0xff : v;
    }
    uint32_t v = 0;
    for (unsigned i = 0; i < size && reg + i < 8; i++) {
        v |= (uint32_t)reg_read(ch, reg + i) << (8 * i);
    }
    return v;
}

void ide_cmd_write(IdeChannel *ch, unsigned reg, uint32_t val, unsigned size)
{
    if (reg == IDE_REG_DATA) {
        if (selected(ch)->kind == IDE_KIND_NONE) {
            return;
        }
        data_write16(ch, (uint16_t)val);
        if (size == 4) {
            data_write16(ch, (uint16_t)(val >> 16));
        }
        return;
    }
    for (unsigned i = 0; i < size && reg + i < 8; i++) {
        reg_write(ch, reg + i, (uint8_t)(val >> (8 * i)));
    }
}

uint8_t ide_ctl_read(IdeChannel *ch)
{
    IdeDevice *d = selected(ch);
    if (channel_empty(ch)) {
        return 0xff;
    }
    if (d->kind == IDE_KIND_NONE) {
        return 0x00;
    }
    return (ch->devctl & IDE_CTL_SRST) ? IDE_STAT_BSY : d->status;
}

void ide_ctl_write(IdeChannel *ch, uint8_t val)
{
    bool was = ch->devctl & IDE_CTL_SRST, now = val & IDE_CTL_SRST;

    ch->devctl = val & (IDE_CTL_NIEN | IDE_CTL_SRST | IDE_CTL_HOB);
    if (!was && now) {
        /* Software reset begins: the devices drop what they were doing. */
        for (int u = 0; u < 2; u++) {
            IdeDevice *d = &ch->dev[u];
            if (d->kind != IDE_KIND_NONE) {
                d->aio_gen++;
                d->aio_busy = false;
                d->xfer = IDE_XFER_NONE;
                d->irq_pending = false;
                d->status = IDE_STAT_BSY;
            }
        }
    } else if (was && !now) {
        /* ... and ends: diagnostics passed, signatures, device 0 selected. */
        for (int u = 0; u < 2; u++) {
            if (ch->dev[u].kind != IDE_KIND_NONE) {
                device_reset_state(&ch->dev[u]);
            }
        }
        ch->unit = 0;
    }
    ide_update_irq(ch);
}

/* --- set-up ---------------------------------------------------------------- */

void ide_channel_init(IdeChannel *ch, int index, IrqLine *irq, AddressSpace *dma_as,
                      bool (*dma_allowed)(void *opaque), void *dma_opaque)
{
    memset(ch, 0, sizeof(*ch));
    ch->index = index;
    ch->irq = irq;
    ch->dma_as = dma_as;
    ch->dma_allowed = dma_allowed;
    ch->dma_opaque = dma_opaque;
    for (int u = 0; u < 2; u++) {
        ch->dev[u].ch = ch;
        ch->dev[u].unit = u;
    }
}

/* Default CHS translation (ATA-6 annex): 16 heads, 63 sectors per track,
 * at most 16383 cylinders; small disks get fewer heads. */
static void default_geometry(IdeDevice *d)
{
    uint64_t total = d->nb_sectors;
    d->heads = 16;
    d->secs = 63;
    if (total >= 16383ULL * 16 * 63) {
        d->cyls = 16383;
        return;
    }
    d->cyls = (uint16_t)(total / (16 * 63));
    if (d->cyls == 0) {
        d->heads = 1;
        d->secs = (uint16_t)MAX(1, MIN(total, 63));
        d->cyls = (uint16_t)MAX(1, total / d->secs);
    }
}

int ide_attach(IdeChannel *ch, int unit, IdeKind kind, BlockBackend *blk,
               bool read_only, const char *id, GError **errp)
{
    IdeDevice *d = &ch->dev[unit & 1];
    uint32_t hash = 5381;

    if (kind == IDE_KIND_ATA && !blk) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "ide%d.%d: a hard disk needs a medium", ch->index, unit);
        return -EINVAL;
    }
    d->kind = kind;
    d->blk = blk;
    d->read_only = read_only || kind == IDE_KIND_ATAPI;
    d->nb_sectors = 0;
    if (blk) {
        int64_t size = blk_size(blk);
        if (size < 0) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO, "ide%d.%d: %s: %s",
                        ch->index, unit, blk_backend_name(blk), g_strerror((int)-size));
            d->kind = IDE_KIND_NONE;
            return (int)size;
        }
        d->nb_sectors = (uint64_t)size / (kind == IDE_KIND_ATAPI ? IDE_CD_SECTOR_SIZE
                                                                 : IDE_SECTOR_SIZE);
    }
    for (const char *c = id ? id : ""; *c; c++) {
        hash = hash * 33 + (uint8_t)*c;
    }
    snprintf(d->serial, sizeof(d->serial), "VMK%d%d%08X", ch->index, unit, hash);
    snprintf(d->model, sizeof(d->model), "vmkemu Virtual IDE %s",
             kind == IDE_KIND_ATAPI ? "CDROM Drive" : "Hard Drive");
    snprintf(d->firmware, sizeof(d->firmware), "%s", PACKAGE_VERSION);
    if (kind == IDE_KIND_ATA) {
        default_geometry(d);
    }
    device_power_on(d);
    d->media_changed = kind == IDE_KIND_ATAPI && blk;
    return 0;
}

void ide_channel_drain(IdeChannel *ch)
{
    for (int u = 0; u < 2; u++) {
        if (ch->dev[u].blk) {
            blk_drain(ch->dev[u].blk);
        }
    }
}

void ide_channel_post_load(IdeChannel *ch)
{
    irq_set(ch->irq, ch->irq_level);
    ch->unit &= 1;
    for (int u = 0; u < 2; u++) {
        IdeDevice *d = &ch->dev[u];
        d->aio_busy = false;
        /* Never index past the buffer, whatever the file said. */
        d->buf_end = MIN(d->buf_end, IDE_BUF_SIZE);
        d->drq_end = MIN(d->drq_end, IDE_BUF_SIZE);
        d->drq_sectors = MIN(d->drq_sectors, IDE_MAX_MULTIPLE);
        d->buf_pos = MIN(d->buf_pos, d->drq_end);
        if (d->xfer == IDE_XFER_PACKET) {
            d->drq_end = MIN(d->drq_end, 12);
            d->buf_pos = MIN(d->buf_pos, 12) & ~1u;
        }
        if (d->xfer > IDE_XFER_DMA_OUT || d->kind == IDE_KIND_NONE) {
            d->xfer = IDE_XFER_NONE;
        }
        if (!d->blk) {
            d->remaining = 0;
        }
        if (d->sector_size != IDE_SECTOR_SIZE && d->sector_size != IDE_CD_SECTOR_SIZE &&
            (d->xfer != IDE_XFER_NONE || d->remaining)) {
            d->sector_size = d->kind == IDE_KIND_ATAPI ? IDE_CD_SECTOR_SIZE
                                                        : IDE_SECTOR_SIZE;
        }
        if (d->mult_count > IDE_MAX_MULTIPLE) {
            d->mult_count = IDE_MAX_MULTIPLE;
        }
    }
}
