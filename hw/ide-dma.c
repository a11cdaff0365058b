/*
 * The bus master IDE engine of a channel: the command register (BMIC), the
 * status register (BMIS) and the descriptor table pointer (BMIDTP), and the
 * transfer between a device's buffer and memory through the physical
 * region descriptor (PRD) table.
 *
 * Reference: SFF-8038i revision 1.0, "Bus Master Programming Interface for
 * IDE ATA Controllers": 1 (PRD format: 32-bit even address, 16-bit even
 * byte count with 0 meaning 64 KiB, bit 31 of the second dword ends the
 * table), 2 (registers), 3 (the Interrupt/Active bits at the end of a
 * transfer: PRD table exhausted with the device done -> Active 0; table
 * larger than the transfer -> Active stays 1; table smaller -> Active 0,
 * no interrupt, the device still waits); Intel 82371SB (PIIX3) datasheet
 * 290550, 2.7 (BMICx/BMISx/BMIDTPx at BAR4 + 0 / + 8).
 *
 * The engine moves data when the start bit is set, the PCI function may
 * master the bus, and the selected device has a DMA command waiting; it
 * does not matter which of these comes last.  Clearing the start bit halts
 * the transfer (its progress in the table is lost, as the standard says);
 * bus mastering disabled in the PCI command register makes the start a
 * master abort (Error set, Active cleared).  A table never spans more than
 * 8192 entries (64 KiB): a longer one counts as exhausted.
 */
#include <string.h>
#include "hw/ide.h"

void ide_bm_reset(IdeChannel *ch)
{
    ch->bmic = 0;
    ch->bmis = 0;
    ch->bmidtp = 0;
    ch->prd_index = 0;
    ch->prd_addr = 0;
    ch->prd_left = 0;
    ch->prd_eot = false;
    ch->prd_done = false;
}

/* Make the current entry non-empty; false when the table is exhausted. */
static bool prd_next(IdeChannel *ch)
{
    while (ch->prd_left == 0) {
        if (ch->prd_eot || ch->prd_index >= IDE_PRD_MAX_ENTRIES) {
            ch->prd_done = true;
            return false;
        }
        uint8_t e[8];
        as_read(ch->dma_as, (ch->bmidtp & ~3u) + 8ull * ch->prd_index, e, sizeof(e));
        uint32_t addr = e[0] | (uint32_t)e[1] << 8 | (uint32_t)e[2] << 16 |
                        (uint32_t)e[3] << 24;
        uint32_t count = e[4] | (uint32_t)e[5] << 8;
        ch->prd_index++;
        ch->prd_addr = addr & ~1u;
        ch->prd_left = count ? count & ~1u : 0x10000;
        ch->prd_eot = e[7] & 0x80;
    }
    return true;
}

/* The table ran out before the device's transfer did: the engine stops
 * without an interrupt; the device goes on waiting (SFF-8038i 3). */
static void bm_starved(IdeChannel *ch)
{
    ch->bmis &= ~IDE_BMIS_ACTIVE;
}

void ide_dma_end(IdeChannel *ch)
{
    /* Active clears when the table was used up exactly. */
    if (ch->prd_left == 0 && (ch->prd_eot || ch->prd_done)) {
        ch->bmis &= ~IDE_BMIS_ACTIVE;
    }
}

void ide_dma_kick(IdeChannel *ch)
{
    IdeDevice *d = &ch->dev[ch->unit & 1];

    if (!(ch->bmic & IDE_BMIC_START) || !(ch->bmis & IDE_BMIS_ACTIVE) ||
        d->aio_busy || (d->xfer != IDE_XFER_DMA_IN && d->xfer != IDE_XFER_DMA_OUT)) {
        return;
    }
    if (ch->dma_allowed && !ch->dma_allowed(ch->dma_opaque)) {
        ch->bmis = (ch->bmis & ~IDE_BMIS_ACTIVE) | IDE_BMIS_ERROR;
        return;
    }
    if (d->xfer == IDE_XFER_DMA_IN) {
        /* Scatter what the buffer holds, then fetch more or finish. */
        while (d->buf_pos < d->buf_end) {
            if (!prd_next(ch)) {
                bm_starved(ch);
                return;
            }
            uint32_t n = MIN(ch->prd_left, d->buf_end - d->buf_pos);
            as_write(ch->dma_as, ch->prd_addr, d->buf + d->buf_pos, n);
            d->buf_pos += n;
            ch->prd_addr += n;
            ch->prd_left -= n;
        }
        if (d->remaining) {
            ide_read_chunk(d);      /* its completion kicks again */
        } else {
            ide_transfer_done(d, 0);
        }
        return;
    }
    /* DMA out: gather whole sectors (a buffer full at most), write them. */
    uint64_t rest = (uint64_t)d->remaining * d->sector_size;
    uint32_t want = (uint32_t)MIN(rest, (uint64_t)IDE_BUF_SIZE);
    while (d->buf_pos < want) {
        if (!prd_next(ch)) {
            bm_starved(ch);
            return;
        }
        uint32_t n = MIN(ch->prd_left, want - d->buf_pos);
        as_read(ch->dma_as, ch->prd_addr, d->buf + d->buf_pos, n);
        d->buf_pos += n;
        ch->prd_addr += n;
        ch->prd_left -= n;
    }
    d->buf_pos = 0;
    ide_write_chunk(d, want);       /* its completion kicks again */
}

static uint8_t bm_read_byte(IdeChannel *ch, unsigned off)
{
    switch (off) {
    case IDE_BM_CMD:
        return ch->bmic;
    case IDE_BM_STATUS:
        return ch->bmis;
    case IDE_BM_PRDT:
    case IDE_BM_PRDT + 1:
    case IDE_BM_PRDT + 2:
    case IDE_BM_PRDT + 3:
        return (uint8_t)(ch->bmidtp >> (8 * (off - IDE_BM_PRDT)));
    }
    return 0;
}

static void bm_write_byte(IdeChannel *ch, unsigned off, uint8_t v)
{
    switch (off) {
    case IDE_BM_CMD: {
        bool was = ch->bmic & IDE_BMIC_START;
        if (was) {
            /* The direction may not change while the engine runs. */
            v = (v & IDE_BMIC_START) | (ch->bmic & IDE_BMIC_WRITE);
        }
        ch->bmic = v & (IDE_BMIC_START | IDE_BMIC_WRITE);
        if (!was && (v & IDE_BMIC_START)) {
            ch->bmis |= IDE_BMIS_ACTIVE;
            ch->prd_index = 0;
            ch->prd_addr = 0;
            ch->prd_left = 0;
            ch->prd_eot = false;
            ch->prd_done = false;
            ide_dma_kick(ch);
        } else if (was && !(v & IDE_BMIC_START)) {
            ch->bmis &= ~IDE_BMIS_ACTIVE;
        }
        break;
    }
    case IDE_BM_STATUS:
        ch->bmis = (ch->bmis & IDE_BMIS_ACTIVE) |
                   (v & (IDE_BMIS_DMA0_CAP | IDE_BMIS_DMA1_CAP)) |
                   (ch->bmis & ~v & (IDE_BMIS_ERROR | IDE_BMIS_INTR));
        break;
    case IDE_BM_PRDT:
        v &= 0xfc;
        /* fall through */
    case IDE_BM_PRDT + 1:
    case IDE_BM_PRDT + 2:
    case IDE_BM_PRDT + 3: {
        unsigned shift = 8 * (off - IDE_BM_PRDT);
        ch->bmidtp = (ch->bmidtp & ~(0xffu << shift)) | (uint32_t)v << shift;
        break;
    }
    }
}

uint32_t ide_bm_read(IdeChannel *ch, unsigned offset, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size && offset + i < 8; i++) {
        v |= (uint32_t)bm_read_byte(ch, offset + i) << (8 * i);
    }
    return v;
}

void ide_bm_write(IdeChannel *ch, unsigned offset, uint32_t val, unsigned size)
{
    for (unsigned i = 0; i < size && offset + i < 8; i++) {
        bm_write_byte(ch, offset + i, (uint8_t)(val >> (8 * i)));
    }
}
