/*
 * The PC's IDE: the PIIX3 IDE function (hw/ide-piix.c) at 00:01.1 with the
 * machine's if=ide drives (include/drive.h) on its channels: bus 0 is the
 * primary channel (IRQ 14), bus 1 the secondary (IRQ 15), unit 0 the
 * master and unit 1 the slave.  A disk becomes an ATA hard disk, a CD-ROM
 * an ATAPI CD-ROM (empty without a file).  Reset hook and state section
 * ("piix3-ide") are registered here.
 */
#include "hw/ide.h"
#include "hw/pc.h"
#include "vmstate.h"

static void pc_ide_reset(void *opaque)
{
    piix3_ide_reset(opaque);
}

PiixIde *pc_ide_init(Machine *m, GError **errp)
{
    PiixIde *s = piix3_ide_new(m->pc->pci_bus, m->gsi[IDE_PRIMARY_IRQ],
                               m->gsi[IDE_SECONDARY_IRQ], PIIX3_IDE_DEVFN);
    if (!s) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    "PCI: 00:01.1 (PIIX3 IDE) is taken");
        return NULL;
    }
    for (int bus = 0; bus < DRIVE_IDE_BUSES; bus++) {
        for (int unit = 0; unit < DRIVE_IDE_UNITS; unit++) {
            Drive *d = machine_drive_find(m, DRIVE_IF_IDE, bus, unit);
            if (!d) {
                continue;
            }
            IdeKind kind = d->media == DRIVE_MEDIA_CDROM ? IDE_KIND_ATAPI : IDE_KIND_ATA;
            if (ide_attach(&s->ch[bus], unit, kind, d->blk, d->read_only, d->id,
                           errp) < 0) {
                piix3_ide_free(s);
                return NULL;
            }
        }
    }
    piix3_ide_reset(s);
    machine_add_reset_hook(m, pc_ide_reset, s);
    machine_add_vmstate(m, "piix3-ide", &piix3_ide_vmstate, s);
    return s;
}
