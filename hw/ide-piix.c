/*
 * The 82371SB PIIX3 IDE function at 00:01.1 (8086:7010, class 010180h):
 * two IDE channels at the legacy ("compatibility mode") addresses, primary
 * 1F0h-1F7h / 3F6h on IRQ 14, secondary 170h-177h / 376h on IRQ 15, and
 * the bus master IDE registers behind BAR4 (16 bytes of I/O space).
 * Reference: Intel 82371FB (PIIX) and 82371SB (PIIX3) datasheet (290550),
 * 2.4 (PCI configuration of function 1: PCICMD, PI 80h, BMIBA at 20h,
 * IDETIM 40h-43h with IDE Decode Enable in bit 15, SIDETIM 44h) and 2.7
 * (bus master IDE I/O registers); 4.x (IDE interface, compatibility mode
 * decode).
 *
 * A channel's legacy ports decode while PCICMD's I/O Space Enable and its
 * IDETIM IDE Decode Enable are both set.  Firmware sets these on a real
 * board; vmkemu has none that does, so reset leaves the function as a BIOS
 * would: I/O decode on, both channels' IDE Decode Enable set, timings 0
 * (the slowest; the OS tunes them and they change nothing here).  Bus
 * mastering stays off until the OS turns it on (PCICMD bit 2).  The
 * interrupt pin is 0: compatibility mode uses the ISA IRQs.
 *
 * The state table saves both channels with their devices (hw/ide-core.c);
 * the configuration bytes are the PCI bus's section of the function.
 * Saving first waits for every block request, so nothing is in flight in
 * a saved state.  The legacy ports stay claimed; each access checks the
 * decode bits, so restoring the configuration bytes is all it takes.
 */
#include <errno.h>
#include "hw/ide.h"
#include "log.h"
#include "vmstate.h"

static const uint16_t legacy_base[2] = { IDE_PRIMARY_BASE, IDE_SECONDARY_BASE };
static const uint16_t legacy_ctl[2] = { IDE_PRIMARY_CTL, IDE_SECONDARY_CTL };
static const char *const legacy_name[2] = { "ide-primary", "ide-secondary" };
static const char *const legacy_ctl_name[2] = { "ide-primary-ctl", "ide-secondary-ctl" };

/* The legacy ports of channel c decode now (PCICMD IOSE and IDETIM IDE). */
static bool legacy_decode(const PiixIde *s, int c)
{
    uint16_t cmd = pci_get_word(s->pci.config + PCI_COMMAND);
    uint16_t idetim = pci_get_word(s->pci.config + PIIX3_IDETIM + 2 * c);
    return (cmd & PCI_COMMAND_IO) && (idetim & PIIX3_IDETIM_IDE);
}

static uint32_t all_ones(unsigned size)
{
    return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static uint64_t cmd_port_read(void *opaque, uint64_t offset, unsigned size)
{
    IdeChannel *ch = opaque;
    PiixIde *s = ch->dma_opaque;
    if (!legacy_decode(s, ch->index)) {
        return all_ones(size);
    }
    return ide_cmd_read(ch, (unsigned)offset, size);
}

static void cmd_port_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    IdeChannel *ch = opaque;
    if (legacy_decode(ch->dma_opaque, ch->index)) {
        ide_cmd_write(ch, (unsigned)offset, (uint32_t)value, size);
    }
}

static const IoOps cmd_port_ops = {
    .read = cmd_port_read,
    .write = cmd_port_write,
    .max_access = 4,        /* 32-bit data register accesses: two words */
};

static uint64_t ctl_port_read(void *opaque, uint64_t offset, unsigned size)
{
    IdeChannel *ch = opaque;
    if (!legacy_decode(ch->dma_opaque, ch->index)) {
        return 0xff;
    }
    return ide_ctl_read(ch);
}

static void ctl_port_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    IdeChannel *ch = opaque;
    if (legacy_decode(ch->dma_opaque, ch->index)) {
        ide_ctl_write(ch, (uint8_t)value);
    }
}

static const IoOps ctl_port_ops = {
    .read = ctl_port_read,
    .write = ctl_port_write,
    .max_access = 1,
};

static uint64_t bm_port_read(void *opaque, uint64_t offset, unsigned size)
{
    PiixIde *s = opaque;
    return ide_bm_read(&s->ch[(offset >> 3) & 1], offset & 7, size);
}

static void bm_port_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    PiixIde *s = opaque;
    ide_bm_write(&s->ch[(offset >> 3) & 1], offset & 7, (uint32_t)value, size);
}

static const IoOps bm_port_ops = {
    .read = bm_port_read,
    .write = bm_port_write,
    .max_access = 1,
};

static bool piix_dma_allowed(void *opaque)
{
    PiixIde *s = opaque;
    return pci_get_word(s->pci.config + PCI_COMMAND) & PCI_COMMAND_MASTER;
}

/* Claim the legacy ports of both channels (they answer only while the
 * decode bits say so, checked on each access). */
static void piix_claim_ports(PiixIde *s)
{
    for (int c = 0; c < 2; c++) {
        if (as_add_ports(s->as, legacy_name[c], legacy_base[c], 8, &cmd_port_ops,
                         &s->ch[c]) < 0) {
            vlog("piix3-ide: ports 0x%x-0x%x are taken; channel %d not decoded",
                 legacy_base[c], legacy_base[c] + 7, c);
            continue;
        }
        if (as_add_ports(s->as, legacy_ctl_name[c], legacy_ctl[c], 1, &ctl_port_ops,
                         &s->ch[c]) < 0) {
            vlog("piix3-ide: port 0x%x is taken; channel %d not decoded", legacy_ctl[c], c);
            as_remove_ports(s->as, legacy_base[c]);
            continue;
        }
        s->ports_mapped[c] = true;
    }
}

static void piix_config_write(PciDevice *d, uint32_t addr, uint32_t val, unsigned len,
                              const uint8_t *old)
{
    PiixIde *s = d->opaque;
    (void)val;
    (void)old;
    if (addr < PCI_COMMAND + 2 && addr + len > PCI_COMMAND) {
        /* Bus mastering may just have been allowed. */
        ide_dma_kick(&s->ch[0]);
        ide_dma_kick(&s->ch[1]);
    }
}

void piix3_ide_reset(PiixIde *s)
{
    PciDevice *d = &s->pci;
    pci_device_reset(d);
    pci_set_word(d->config + PCI_COMMAND, PCI_COMMAND_IO);
    pci_set_word(d->config + PIIX3_IDETIM, PIIX3_IDETIM_IDE);
    pci_set_word(d->config + PIIX3_IDETIM + 2, PIIX3_IDETIM_IDE);
    d->config[PIIX3_SIDETIM] = 0;
    pci_device_remap(d);
    ide_channel_reset(&s->ch[0]);
    ide_channel_reset(&s->ch[1]);
}

PiixIde *piix3_ide_new(PciBus *bus, IrqLine *irq14, IrqLine *irq15, int devfn)
{
    PiixIde *s = g_new0(PiixIde, 1);
    PciDevice *d = &s->pci;

    pci_device_init(d, "piix3-ide", PCI_VENDOR_INTEL, PIIX3_IDE_DEVICE_ID,
                    PCI_CLASS_STORAGE_IDE & ~0xff, 0x00);
    d->config[PCI_CLASS_PROG] = PIIX3_IDE_PROG_IF;
    d->config[PCI_STATUS] |= PCI_STATUS_FAST_BACK;
    d->opaque = s;
    d->config_write = piix_config_write;
    pci_set_word(d->wmask + PIIX3_IDETIM, 0xf3ff);
    pci_set_word(d->wmask + PIIX3_IDETIM + 2, 0xf3ff);
    d->wmask[PIIX3_SIDETIM] = 0xff;
    pci_register_bar(d, 4, PCI_BAR_IO, IDE_BM_SIZE, &bm_port_ops, s);
    s->as = pci_bus_as(bus);
    ide_channel_init(&s->ch[0], 0, irq14, s->as, piix_dma_allowed, s);
    ide_channel_init(&s->ch[1], 1, irq15, s->as, piix_dma_allowed, s);
    if (pci_bus_add_device(bus, d, devfn) < 0) {
        g_free(s);
        return NULL;
    }
    piix_claim_ports(s);
    piix3_ide_reset(s);
    return s;
}

void piix3_ide_free(PiixIde *s)
{
    if (!s) {
        return;
    }
    for (int c = 0; c < 2; c++) {
        if (s->ports_mapped[c]) {
            as_remove_ports(s->as, legacy_base[c]);
            as_remove_ports(s->as, legacy_ctl[c]);
        }
    }
    for (int c = 0; c < 2; c++) {
        if (s->ch[c].irq_level) {
            irq_set(s->ch[c].irq, 0);
        }
    }
    pci_bus_remove_device(&s->pci);
    g_free(s);
}

/* --- state ----------------------------------------------------------------- */

static const VMStateField ide_device_fields[] = {
    VMSTATE_UINT8(IdeDevice, feature),
    VMSTATE_UINT8(IdeDevice, error),
    VMSTATE_UINT8(IdeDevice, nsector),
    VMSTATE_UINT8(IdeDevice, lbal),
    VMSTATE_UINT8(IdeDevice, lbam),
    VMSTATE_UINT8(IdeDevice, lbah),
    VMSTATE_UINT8(IdeDevice, device),
    VMSTATE_UINT8(IdeDevice, status),
    VMSTATE_UINT8(IdeDevice, hob_feature),
    VMSTATE_UINT8(IdeDevice, hob_nsector),
    VMSTATE_UINT8(IdeDevice, hob_lbal),
    VMSTATE_UINT8(IdeDevice, hob_lbam),
    VMSTATE_UINT8(IdeDevice, hob_lbah),
    VMSTATE_UINT8(IdeDevice, command),
    VMSTATE_BOOL(IdeDevice, irq_pending),
    VMSTATE_UINT8(IdeDevice, mult_count),
    VMSTATE_UINT16(IdeDevice, cur_heads),
    VMSTATE_UINT16(IdeDevice, cur_secs),
    VMSTATE_UINT8(IdeDevice, xfer_mode),
    VMSTATE_BOOL(IdeDevice, write_cache),
    VMSTATE_BOOL(IdeDevice, standby),
    VMSTATE_UINT8(IdeDevice, xfer),
    VMSTATE_BOOL(IdeDevice, lba48),
    VMSTATE_UINT64(IdeDevice, lba),
    VMSTATE_UINT32(IdeDevice, remaining),
    VMSTATE_UINT32(IdeDevice, sector_size),
    VMSTATE_UINT32(IdeDevice, drq_sectors),
    VMSTATE_UINT32(IdeDevice, buf_pos),
    VMSTATE_UINT32(IdeDevice, drq_end),
    VMSTATE_UINT32(IdeDevice, buf_end),
    VMSTATE_UINT8(IdeDevice, sense_key),
    VMSTATE_UINT8(IdeDevice, asc),
    VMSTATE_UINT8(IdeDevice, ascq),
    VMSTATE_UINT8_ARRAY(IdeDevice, cdb, 12),
    VMSTATE_UINT16(IdeDevice, byte_limit),
    VMSTATE_BOOL(IdeDevice, packet_dma),
    VMSTATE_BOOL(IdeDevice, locked),
    VMSTATE_BOOL(IdeDevice, media_changed),
    VMSTATE_BUFFER(IdeDevice, buf),
    VMSTATE_END,
};

static const VMStateDescription ide_device_vmsd = {
    .name = "ide-device",
    .version = 1,
    .fields = ide_device_fields,
};

static const VMStateField ide_channel_fields[] = {
    VMSTATE_UINT8(IdeChannel, unit),
    VMSTATE_UINT8(IdeChannel, devctl),
    VMSTATE_BOOL(IdeChannel, irq_level),
    VMSTATE_UINT8(IdeChannel, bmic),
    VMSTATE_UINT8(IdeChannel, bmis),
    VMSTATE_UINT32(IdeChannel, bmidtp),
    VMSTATE_UINT32(IdeChannel, prd_index),
    VMSTATE_UINT32(IdeChannel, prd_addr),
    VMSTATE_UINT32(IdeChannel, prd_left),
    VMSTATE_BOOL(IdeChannel, prd_eot),
    VMSTATE_BOOL(IdeChannel, prd_done),
    VMSTATE_STRUCT_ARRAY(IdeChannel, dev, 2, ide_device_vmsd, IdeDevice),
    VMSTATE_END,
};

static const VMStateDescription ide_channel_vmsd = {
    .name = "ide-channel",
    .version = 1,
    .fields = ide_channel_fields,
};

static int piix_ide_pre_save(void *opaque, GError **errp)
{
    PiixIde *s = opaque;
    ide_channel_drain(&s->ch[0]);
    ide_channel_drain(&s->ch[1]);
    return 0;
}

static void piix_ide_pre_load(void *opaque)
{
    PiixIde *s = opaque;
    /* Let go of the lines the old state holds. */
    for (int c = 0; c < 2; c++) {
        if (s->ch[c].irq_level) {
            irq_set(s->ch[c].irq, 0);
        }
    }
}

static int piix_ide_post_load(void *opaque, uint32_t version, GError **errp)
{
    PiixIde *s = opaque;
    ide_channel_post_load(&s->ch[0]);
    ide_channel_post_load(&s->ch[1]);
    return 0;
}

/* The configuration bytes are the bus's section "pci.01.1" (hw/core/pci.c);
 * nothing here depends on them being loaded first. */
static const VMStateField piix_ide_fields[] = {
    VMSTATE_STRUCT_ARRAY(PiixIde, ch, 2, ide_channel_vmsd, IdeChannel),
    VMSTATE_END,
};

const VMStateDescription piix3_ide_vmstate = {
    .name = "piix3-ide",
    .version = 1,
    .pre_save = piix_ide_pre_save,
    .pre_load = piix_ide_pre_load,
    .post_load = piix_ide_post_load,
    .fields = piix_ide_fields,
};
