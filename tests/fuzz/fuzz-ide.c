/*
 * libFuzzer target: the guest-facing registers of the PIIX3 IDE function
 * (include/hw/ide.h).  The input is a sequence of port accesses to both
 * channels' command and control blocks and the bus master registers,
 * configuration writes, and waits for the block requests, against an ATA
 * disk on the primary master and an ATAPI CD-ROM on the secondary master,
 * with PRD tables anywhere in a small RAM.  Whatever the guest does, the
 * model must not crash or touch memory outside its buffers.
 *
 * Op byte: low 3 bits select the access, the rest the register.
 *   0 outb  1 inb  2 outw  3 inw  4 outl  5 inl  6 drain  7 config write
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "hw/ide.h"
#include "memory.h"

#define RAM_SIZE    (128 * 1024)
#define DISK_SIZE   (256 * 1024)
#define CD_SIZE     (64 * 2048)
#define BM_BASE     0xc000

static const uint16_t ports[] = {
    0x1f0, 0x1f1, 0x1f2, 0x1f3, 0x1f4, 0x1f5, 0x1f6, 0x1f7, 0x3f6,
    0x170, 0x171, 0x172, 0x173, 0x174, 0x175, 0x176, 0x177, 0x376,
    BM_BASE, BM_BASE + 1, BM_BASE + 2, BM_BASE + 4, BM_BASE + 6,
    BM_BASE + 8, BM_BASE + 10, BM_BASE + 12, BM_BASE + 14,
};

static void drain(PiixIde *s)
{
    ide_channel_drain(&s->ch[0]);
    ide_channel_drain(&s->ch[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static uint8_t *ram, *disk, *cd;
    if (!ram) {
        ram = g_malloc0(RAM_SIZE);
        disk = g_malloc(DISK_SIZE);
        cd = g_malloc(CD_SIZE);
        for (size_t i = 0; i < DISK_SIZE; i++) {
            disk[i] = (uint8_t)(i * 7);
        }
        for (size_t i = 0; i < CD_SIZE; i++) {
            cd[i] = (uint8_t)(i * 3);
        }
    }
    memset(ram, 0, RAM_SIZE);
    AddressSpace *as = as_new();
    as_add_ram(as, "ram", 0, RAM_SIZE, ram);
    PciBus *bus = pci_bus_new(as);
    IrqLine *irq14 = irq_line_new(NULL, NULL, 14);
    IrqLine *irq15 = irq_line_new(NULL, NULL, 15);
    PiixIde *s = piix3_ide_new(bus, irq14, irq15, PCI_DEVFN(1, 1));
    BlockBackend *hd = blk_backend_new(blk_mem_open(disk, DISK_SIZE, BLK_O_RDWR));
    BlockBackend *cdb = blk_backend_new(blk_mem_open(cd, CD_SIZE, 0));
    ide_attach(&s->ch[0], 0, IDE_KIND_ATA, hd, false, "hd", NULL);
    ide_attach(&s->ch[1], 0, IDE_KIND_ATAPI, cdb, true, "cd", NULL);
    piix3_ide_reset(s);
    pci_bus_config_write(bus, PCI_DEVFN(1, 1), PCI_BASE_ADDRESS_0 + 16, BM_BASE, 4);
    pci_bus_config_write(bus, PCI_DEVFN(1, 1), PCI_COMMAND,
                         PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);

    size_t i = 0;
    while (i < len) {
        uint8_t op = data[i++];
        uint16_t port = ports[(op >> 3) % G_N_ELEMENTS(ports)];
        uint32_t v = 0;
        unsigned need = (op & 7) == 2 ? 2 : (op & 7) == 4 ? 4 : (op & 7) == 7 ? 3 : 1;
        for (unsigned k = 0; k < need && i < len; k++) {
            v |= (uint32_t)data[i++] << (8 * k);
        }
        switch (op & 7) {
        case 0:
            as_port_write(as, port, v & 0xff, 1);
            break;
        case 1:
            as_port_read(as, port, 1);
            break;
        case 2:
            as_port_write(as, port, v & 0xffff, 2);
            break;
        case 3:
            as_port_read(as, port, 2);
            break;
        case 4:
            /* Keep PRD table pointers inside the RAM most of the time. */
            if (port == BM_BASE + 4 || port == BM_BASE + 12) {
                v &= RAM_SIZE - 1;
            }
            as_port_write(as, port, v, 4);
            break;
        case 5:
            as_port_read(as, port, 4);
            break;
        case 6:
            drain(s);
            break;
        case 7:
            /* Config bytes 0x04 (command) and 0x40-0x44 (timings). */
            pci_bus_config_write(bus, PCI_DEVFN(1, 1),
                                 (v & 1) ? 0x40 + ((v >> 1) & 3) * 1 : PCI_COMMAND,
                                 (v >> 8) & 0xffff, 2);
            break;
        }
    }
    drain(s);
    piix3_ide_free(s);
    blk_backend_close(hd, BLK_REDO_KEEP, NULL);
    blk_backend_close(cdb, BLK_REDO_KEEP, NULL);
    irq_line_free(irq14);
    irq_line_free(irq15);
    pci_bus_free(bus);
    as_free(as);
    return 0;
}
