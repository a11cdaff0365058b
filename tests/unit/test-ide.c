/*
 * The PIIX3 IDE function driven from the host side through its registers
 * (include/hw/ide.h): PCI identity, signatures, device selection, IDENTIFY
 * DEVICE, PIO and DMA reads and writes (the bus master walking PRD tables
 * in guest memory), READ/WRITE MULTIPLE, 48-bit commands and HOB, errors,
 * software reset and nIEN, power and feature commands, CHS addressing, the
 * ATAPI CD-ROM's packet commands over PIO and DMA, and state save/restore
 * in the middle of a transfer.
 */
#include <string.h>
#include <glib.h>
#include "hw/ide.h"
#include "memory.h"
#include "vmstate.h"

#define RAM_SIZE        (1u << 20)
#define DISK_SECTORS    2048                /* 1 MiB disk */
#define CD_SECTORS      64                  /* 128 KiB disc */
#define BM_BASE         0xc000
#define DEVFN           PCI_DEVFN(1, 1)

typedef struct Fx {
    AddressSpace *as;
    uint8_t *ram;
    PciBus *bus;
    IrqLine *irq[2];
    int irq_level[2];
    int irq_raises[2];
    PiixIde *ide;
    BlockNode *disk_mem, *cd_mem;
    BlockBackend *disk, *cd;
    uint8_t *disk_data;
} Fx;

static void irq_probe(void *opaque, int n, int level)
{
    Fx *f = opaque;
    if (level && !f->irq_level[n]) {
        f->irq_raises[n]++;
    }
    f->irq_level[n] = level;
}

static uint8_t pattern(uint64_t off)
{
    return (uint8_t)(off * 7 + (off >> 9) * 13 + 1);
}

/* A disk on the primary master; a CD-ROM on the secondary master when
 * `with_cd`; bus master I/O at BM_BASE, I/O and bus mastering enabled. */
static void fx_init(Fx *f, bool with_cd, bool cd_medium, bool read_only)
{
    memset(f, 0, sizeof(*f));
    f->as = as_new();
    f->ram = g_malloc0(RAM_SIZE);
    g_assert_cmpint(as_add_ram(f->as, "ram", 0, RAM_SIZE, f->ram), ==, 0);
    f->bus = pci_bus_new(f->as);
    f->irq[0] = irq_line_new(irq_probe, f, 0);
    f->irq[1] = irq_line_new(irq_probe, f, 1);
    f->ide = piix3_ide_new(f->bus, f->irq[0], f->irq[1], DEVFN);
    g_assert_nonnull(f->ide);

    f->disk_data = g_malloc(DISK_SECTORS * 512);
    for (uint64_t i = 0; i < DISK_SECTORS * 512; i++) {
        f->disk_data[i] = pattern(i);
    }
    f->disk_mem = blk_mem_open(f->disk_data, DISK_SECTORS * 512,
                               read_only ? 0 : BLK_O_RDWR);
    f->disk = blk_backend_new(f->disk_mem);
    GError *err = NULL;
    g_assert_cmpint(ide_attach(&f->ide->ch[0], 0, IDE_KIND_ATA, f->disk, read_only,
                               "ide0-hd0", &err), ==, 0);
    if (with_cd) {
        if (cd_medium) {
            uint8_t *iso = g_malloc(CD_SECTORS * 2048);
            for (uint32_t i = 0; i < CD_SECTORS * 2048; i++) {
                iso[i] = (uint8_t)(i / 2048 + i * 3);
            }
            f->cd_mem = blk_mem_open(iso, CD_SECTORS * 2048, 0);
            f->cd = blk_backend_new(f->cd_mem);
            g_free(iso);
        }
        g_assert_cmpint(ide_attach(&f->ide->ch[1], 0, IDE_KIND_ATAPI, f->cd, true,
                                   "ide1-cd0", &err), ==, 0);
    }
    piix3_ide_reset(f->ide);
    pci_bus_config_write(f->bus, DEVFN, PCI_BASE_ADDRESS_0 + 16, BM_BASE, 4);
    pci_bus_config_write(f->bus, DEVFN, PCI_COMMAND,
                         PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
}

static void fx_drain(Fx *f)
{
    ide_channel_drain(&f->ide->ch[0]);
    ide_channel_drain(&f->ide->ch[1]);
}

static void fx_free(Fx *f)
{
    fx_drain(f);
    piix3_ide_free(f->ide);
    blk_backend_close(f->disk, BLK_REDO_KEEP, NULL);
    if (f->cd) {
        blk_backend_close(f->cd, BLK_REDO_KEEP, NULL);
    }
    irq_line_free(f->irq[0]);
    irq_line_free(f->irq[1]);
    pci_bus_free(f->bus);
    as_free(f->as);
    g_free(f->ram);
    g_free(f->disk_data);
}

static uint8_t inb(Fx *f, uint16_t port)
{
    return (uint8_t)as_port_read(f->as, port, 1);
}

static uint16_t inw(Fx *f, uint16_t port)
{
    return (uint16_t)as_port_read(f->as, port, 2);
}

static void outb(Fx *f, uint16_t port, uint8_t v)
{
    as_port_write(f->as, port, v, 1);
}

static void outw(Fx *f, uint16_t port, uint16_t v)
{
    as_port_write(f->as, port, v, 2);
}

#define P(reg) (IDE_PRIMARY_BASE + (reg))
#define S(reg) (IDE_SECONDARY_BASE + (reg))

/* LBA28 task file and a command on the primary master. */
static void ata_cmd28(Fx *f, uint8_t cmd, uint32_t lba, uint8_t count)
{
    outb(f, P(IDE_REG_DEVICE), 0xe0 | ((lba >> 24) & 0x0f));
    outb(f, P(IDE_REG_NSECTOR), count);
    outb(f, P(IDE_REG_LBAL), (uint8_t)lba);
    outb(f, P(IDE_REG_LBAM), (uint8_t)(lba >> 8));
    outb(f, P(IDE_REG_LBAH), (uint8_t)(lba >> 16));
    outb(f, P(IDE_REG_STATUS), cmd);
}

static void ata_cmd48(Fx *f, uint8_t cmd, uint64_t lba, uint16_t count)
{
    outb(f, P(IDE_REG_DEVICE), 0x40);
    outb(f, P(IDE_REG_NSECTOR), (uint8_t)(count >> 8));
    outb(f, P(IDE_REG_LBAL), (uint8_t)(lba >> 24));
    outb(f, P(IDE_REG_LBAM), (uint8_t)(lba >> 32));
    outb(f, P(IDE_REG_LBAH), (uint8_t)(lba >> 40));
    outb(f, P(IDE_REG_NSECTOR), (uint8_t)count);
    outb(f, P(IDE_REG_LBAL), (uint8_t)lba);
    outb(f, P(IDE_REG_LBAM), (uint8_t)(lba >> 8));
    outb(f, P(IDE_REG_LBAH), (uint8_t)(lba >> 16));
    outb(f, P(IDE_REG_STATUS), cmd);
}

/* Read one DRQ block of n words into buf. */
static void pio_in(Fx *f, uint16_t base, uint8_t *buf, unsigned nbytes)
{
    for (unsigned i = 0; i < nbytes; i += 2) {
        uint16_t w = inw(f, base + IDE_REG_DATA);
        buf[i] = (uint8_t)w;
        if (i + 1 < nbytes) {
            buf[i + 1] = (uint8_t)(w >> 8);
        }
    }
}

/* ------------------------------------------------------------------------ */

static void test_pci_identity(void)
{
    Fx f;
    fx_init(&f, false, false, false);
    g_assert_cmphex(pci_bus_config_read(f.bus, DEVFN, PCI_VENDOR_ID, 4), ==, 0x70108086);
    g_assert_cmphex(pci_bus_config_read(f.bus, DEVFN, PCI_CLASS_PROG, 1), ==, 0x80);
    g_assert_cmphex(pci_bus_config_read(f.bus, DEVFN, PCI_CLASS_DEVICE, 2), ==, 0x0101);
    g_assert_cmphex(pci_bus_config_read(f.bus, DEVFN, PCI_INTERRUPT_PIN, 1), ==, 0);
    /* BAR4: 16 bytes of I/O, sized by writing ones. */
    pci_bus_config_write(f.bus, DEVFN, PCI_BASE_ADDRESS_0 + 16, 0xffffffff, 4);
    g_assert_cmphex(pci_bus_config_read(f.bus, DEVFN, PCI_BASE_ADDRESS_0 + 16, 4), ==,
                    0xfffffff1);
    pci_bus_config_write(f.bus, DEVFN, PCI_BASE_ADDRESS_0 + 16, BM_BASE, 4);
    /* IDETIM preset with IDE decode on both channels, as firmware leaves it. */
    g_assert_cmphex(pci_bus_config_read(f.bus, DEVFN, PIIX3_IDETIM, 2), ==, 0x8000);
    g_assert_cmphex(pci_bus_config_read(f.bus, DEVFN, PIIX3_IDETIM + 2, 2), ==, 0x8000);
    /* Clearing the primary's decode bit takes its ports away. */
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x50);
    pci_bus_config_write(f.bus, DEVFN, PIIX3_IDETIM, 0x0000, 2);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0xff);
    pci_bus_config_write(f.bus, DEVFN, PIIX3_IDETIM, 0x8000, 2);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x50);
    /* So does clearing I/O space enable. */
    pci_bus_config_write(f.bus, DEVFN, PCI_COMMAND, 0, 2);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0xff);
    g_assert_cmphex(inb(&f, BM_BASE + IDE_BM_STATUS), ==, 0xff);
    fx_free(&f);
}

static void test_signatures_and_selection(void)
{
    Fx f;
    fx_init(&f, true, true, false);
    /* ATA signature on the primary master. */
    g_assert_cmphex(inb(&f, P(IDE_REG_NSECTOR)), ==, 0x01);
    g_assert_cmphex(inb(&f, P(IDE_REG_LBAL)), ==, 0x01);
    g_assert_cmphex(inb(&f, P(IDE_REG_LBAM)), ==, 0x00);
    g_assert_cmphex(inb(&f, P(IDE_REG_LBAH)), ==, 0x00);
    g_assert_cmphex(inb(&f, P(IDE_REG_ERROR)), ==, 0x01);
    g_assert_cmphex(inb(&f, IDE_PRIMARY_CTL), ==, 0x50);
    /* ATAPI signature on the secondary master. */
    g_assert_cmphex(inb(&f, S(IDE_REG_LBAM)), ==, 0x14);
    g_assert_cmphex(inb(&f, S(IDE_REG_LBAH)), ==, 0xeb);
    g_assert_cmphex(inb(&f, S(IDE_REG_STATUS)), ==, 0x00);

    /* The register test a host runs on the absent slave finds nothing. */
    outb(&f, P(IDE_REG_DEVICE), 0xb0);
    outb(&f, P(IDE_REG_NSECTOR), 0x55);
    outb(&f, P(IDE_REG_LBAL), 0xaa);
    g_assert_cmphex(inb(&f, P(IDE_REG_NSECTOR)), ==, 0x00);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x00);
    /* ... while the master latched the same writes. */
    outb(&f, P(IDE_REG_DEVICE), 0xa0);
    g_assert_cmphex(inb(&f, P(IDE_REG_NSECTOR)), ==, 0x55);
    g_assert_cmphex(inb(&f, P(IDE_REG_LBAL)), ==, 0xaa);
    /* A command to the absent slave does nothing. */
    outb(&f, P(IDE_REG_DEVICE), 0xb0);
    outb(&f, P(IDE_REG_STATUS), ATA_CMD_IDENTIFY);
    outb(&f, P(IDE_REG_DEVICE), 0xa0);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x50);
    g_assert_cmpint(f.irq_raises[0], ==, 0);
    fx_free(&f);

    /* A channel without devices floats: all ones. */
    fx_init(&f, false, false, false);
    g_assert_cmphex(inb(&f, S(IDE_REG_STATUS)), ==, 0xff);
    g_assert_cmphex(inb(&f, IDE_SECONDARY_CTL), ==, 0xff);
    fx_free(&f);
}

static uint16_t id_word(const uint8_t *id, int w)
{
    return id[2 * w] | id[2 * w + 1] << 8;
}

static void id_str(const uint8_t *id, int w, int n, char *out)
{
    for (int i = 0; i < n; i++) {
        out[2 * i] = id[2 * (w + i) + 1];
        out[2 * i + 1] = id[2 * (w + i)];
    }
    out[2 * n] = 0;
}

static void identify(Fx *f, uint16_t base, uint8_t cmd, uint8_t *id)
{
    outb(f, base + IDE_REG_STATUS, cmd);
    fx_drain(f);
    g_assert_cmphex(inb(f, base + 0x206) & (IDE_STAT_BSY | IDE_STAT_DRQ), ==, IDE_STAT_DRQ);
    pio_in(f, base, id, 512);
}

static void test_identify(void)
{
    Fx f;
    uint8_t id[512];
    char s[41];

    fx_init(&f, false, false, false);
    outb(&f, P(IDE_REG_DEVICE), 0xa0);
    identify(&f, IDE_PRIMARY_BASE, ATA_CMD_IDENTIFY, id);
    g_assert_cmpint(f.irq_raises[0], ==, 1);
    g_assert_cmpint(f.irq_level[0], ==, 1);
    /* The last word read: DRQ clears; the status read lowers INTRQ. */
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x50);
    g_assert_cmpint(f.irq_level[0], ==, 0);

    g_assert_cmphex(id_word(id, 0), ==, 0x0040);
    id_str(id, 27, 20, s);
    g_assert_true(g_str_has_prefix(s, "vmkemu Virtual IDE Hard Drive"));
    id_str(id, 10, 10, s);
    g_assert_true(g_str_has_prefix(s, "VMK00"));
    g_assert_cmpuint(id_word(id, 60) | id_word(id, 61) << 16, ==, DISK_SECTORS);
    g_assert_cmpuint(id_word(id, 100), ==, DISK_SECTORS);
    g_assert_cmpuint(id_word(id, 101) | id_word(id, 102) | id_word(id, 103), ==, 0);
    /* 2048 sectors: 16 heads x 63 sectors, 2 cylinders. */
    g_assert_cmpuint(id_word(id, 1), ==, 2);
    g_assert_cmpuint(id_word(id, 3), ==, 16);
    g_assert_cmpuint(id_word(id, 6), ==, 63);
    g_assert_cmphex(id_word(id, 49) & 0x0300, ==, 0x0300);     /* LBA, DMA */
    g_assert_cmphex(id_word(id, 83) & 0x0400, ==, 0x0400);     /* 48-bit */
    g_assert_cmphex(id_word(id, 47) & 0xff, ==, IDE_MAX_MULTIPLE);
    g_assert_cmphex(id_word(id, 63), ==, 0x0007);
    /* Integrity word: signature A5h, all 512 bytes sum to 0. */
    g_assert_cmphex(id[510], ==, 0xa5);
    uint8_t sum = 0;
    for (int i = 0; i < 512; i++) {
        sum += id[i];
    }
    g_assert_cmpuint(sum, ==, 0);

    /* SET FEATURES: MWDMA 2 and the write cache off show in IDENTIFY. */
    outb(&f, P(IDE_REG_ERROR), ATA_SF_XFER_MODE);
    outb(&f, P(IDE_REG_NSECTOR), 0x22);
    outb(&f, P(IDE_REG_STATUS), ATA_CMD_SET_FEATURES);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x50);
    outb(&f, P(IDE_REG_ERROR), ATA_SF_DISABLE_WCACHE);
    outb(&f, P(IDE_REG_STATUS), ATA_CMD_SET_FEATURES);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x50);
    identify(&f, IDE_PRIMARY_BASE, ATA_CMD_IDENTIFY, id);
    g_assert_cmphex(id_word(id, 63), ==, 0x0407);
    g_assert_cmphex(id_word(id, 85) & 0x0020, ==, 0);
    /* A transfer mode the disk does not have is aborted. */
    outb(&f, P(IDE_REG_ERROR), ATA_SF_XFER_MODE);
    outb(&f, P(IDE_REG_NSECTOR), 0x27);
    outb(&f, P(IDE_REG_STATUS), ATA_CMD_SET_FEATURES);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x51);
    g_assert_cmphex(inb(&f, P(IDE_REG_ERROR)), ==, IDE_ERR_ABRT);
    fx_free(&f);
}

static void test_pio_read_write(void)
{
    Fx f;
    uint8_t buf[512 * 8];

    fx_init(&f, false, false, false);
    /* READ SECTORS: 3 sectors from LBA 5, one interrupt per sector. */
    ata_cmd28(&f, ATA_CMD_READ_SECTORS, 5, 3);
    g_assert_cmphex(inb(&f, IDE_PRIMARY_CTL) & IDE_STAT_BSY, ==, IDE_STAT_BSY);
    fx_drain(&f);
    for (int s = 0; s < 3; s++) {
        g_assert_cmpint(f.irq_raises[0], ==, s + 1);
        g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x58);
        pio_in(&f, IDE_PRIMARY_BASE, buf + 512 * s, 512);
    }
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x50);
    g_assert_cmpint(f.irq_raises[0], ==, 3);
    g_assert_cmpmem(buf, 3 * 512, f.disk_data + 5 * 512, 3 * 512);

    /* WRITE SECTORS: 2 sectors at LBA 100, 32-bit data accesses. */
    for (int i = 0; i < 1024; i++) {
        buf[i] = (uint8_t)(0xa5 ^ i);
    }
    f.irq_raises[0] = 0;
    ata_cmd28(&f, ATA_CMD_WRITE_SECTORS, 100, 2);
    /* First block: DRQ at once, no interrupt. */
    g_assert_cmphex(inb(&f, IDE_PRIMARY_CTL), ==, 0x58);
    g_assert_cmpint(f.irq_raises[0], ==, 0);
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < 512; i += 4) {
            const uint8_t *p = buf + 512 * s + i;
            as_port_write(f.as, P(IDE_REG_DATA),
                          p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24, 4);
        }
        fx_drain(&f);
        g_assert_cmpint(f.irq_raises[0], ==, s + 1);
        g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, s == 0 ? 0x58 : 0x50);
    }
    uint64_t size;
    uint8_t *disk = blk_mem_data(f.disk_mem, &size);
    g_assert_cmpmem(disk + 100 * 512, 1024, buf, 1024);
    g_assert_cmphex(disk[99 * 512], ==, pattern(99 * 512));
    g_assert_cmphex(disk[102 * 512], ==, pattern(102 * 512));
    fx_free(&f);
}

static void test_multiple_and_lba48(void)
{
    Fx f;
    uint8_t buf[512 * 16];
    uint64_t size;

    fx_init(&f, false, false, false);
    /* READ MULTIPLE before SET MULTIPLE: aborted. */
    ata_cmd28(&f, ATA_CMD_READ_MULTIPLE, 0, 1);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x51);
    g_assert_cmphex(inb(&f, P(IDE_REG_ERROR)), ==, IDE_ERR_ABRT);
    /* Not a power of two: aborted; 4: taken. */
    outb(&f, P(IDE_REG_NSECTOR), 3);
    outb(&f, P(IDE_REG_STATUS), ATA_CMD_SET_MULTIPLE);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x51);
    outb(&f, P(IDE_REG_NSECTOR), 4);
    outb(&f, P(IDE_REG_STATUS), ATA_CMD_SET_MULTIPLE);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x50);

    /* READ MULTIPLE of 10 sectors: blocks of 4, 4, 2. */
    f.irq_raises[0] = 0;
    ata_cmd28(&f, ATA_CMD_READ_MULTIPLE, 40, 10);
    fx_drain(&f);
    unsigned blocks[] = { 4, 4, 2 }, off = 0;
    for (int b = 0; b < 3; b++) {
        g_assert_cmpint(f.irq_raises[0], ==, b + 1);
        g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x58);
        pio_in(&f, IDE_PRIMARY_BASE, buf + off, blocks[b] * 512);
        off += blocks[b] * 512;
    }
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x50);
    g_assert_cmpmem(buf, 10 * 512, f.disk_data + 40 * 512, 10 * 512);

    /* WRITE MULTIPLE EXT of 6 sectors at LBA 1000: blocks of 4 and 2. */
    for (int i = 0; i < 6 * 512; i++) {
        buf[i] = (uint8_t)(i * 11);
    }
    f.irq_raises[0] = 0;
    ata_cmd48(&f, ATA_CMD_WRITE_MULTIPLE_EXT, 1000, 6);
    /* HOB reads the previous contents of the register pairs. */
    outb(&f, IDE_PRIMARY_CTL, IDE_CTL_HOB);
    g_assert_cmphex(inb(&f, P(IDE_REG_NSECTOR)), ==, 0x00);
    g_assert_cmphex(inb(&f, P(IDE_REG_LBAL)), ==, 0x00);
    outb(&f, IDE_PRIMARY_CTL, 0);
    g_assert_cmphex(inb(&f, P(IDE_REG_NSECTOR)), ==, 0x06);
    g_assert_cmphex(inb(&f, P(IDE_REG_LBAM)), ==, 0x03);
    off = 0;
    for (int b = 0; b < 2; b++) {
        unsigned n = b == 0 ? 4 : 2;
        for (unsigned i = 0; i < n * 512; i += 2) {
            outw(&f, P(IDE_REG_DATA), buf[off + i] | buf[off + i + 1] << 8);
        }
        off += n * 512;
        fx_drain(&f);
        g_assert_cmpint(f.irq_raises[0], ==, b + 1);
        /* The host's interrupt handler reads the status. */
        g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, b == 0 ? 0x58 : 0x50);
    }
    uint8_t *disk = blk_mem_data(f.disk_mem, &size);
    g_assert_cmpmem(disk + 1000 * 512, 6 * 512, buf, 6 * 512);

    /* READ SECTORS EXT across the 2^8 boundary of the count (a 48-bit
     * count: 0x0102 sectors would run past the end; 0x0002 from 2046). */
    ata_cmd48(&f, ATA_CMD_READ_SECTORS_EXT, 2046, 0x0102);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x51);
    g_assert_cmphex(inb(&f, P(IDE_REG_ERROR)), ==, IDE_ERR_IDNF);
    ata_cmd48(&f, ATA_CMD_READ_SECTORS_EXT, 2046, 2);
    fx_drain(&f);
    pio_in(&f, IDE_PRIMARY_BASE, buf, 512);
    fx_drain(&f);
    pio_in(&f, IDE_PRIMARY_BASE, buf + 512, 512);
    g_assert_cmpmem(buf, 1024, f.disk_data + 2046 * 512, 1024);
    fx_free(&f);
}

/* A PRD table at `table` in RAM: entries of (addr, bytes), last with EOT. */
static void prd_table(Fx *f, uint32_t table, const uint32_t (*e)[2], int n)
{
    for (int i = 0; i < n; i++) {
        uint8_t *p = f->ram + table + 8 * i;
        uint32_t cnt = e[i][1] == 0x10000 ? 0 : e[i][1];
        p[0] = (uint8_t)e[i][0];
        p[1] = (uint8_t)(e[i][0] >> 8);
        p[2] = (uint8_t)(e[i][0] >> 16);
        p[3] = (uint8_t)(e[i][0] >> 24);
        p[4] = (uint8_t)cnt;
        p[5] = (uint8_t)(cnt >> 8);
        p[6] = 0;
        p[7] = i == n - 1 ? 0x80 : 0;
    }
}

static void bm_setup(Fx *f, uint32_t table, bool to_memory)
{
    outb(f, BM_BASE + IDE_BM_CMD, 0);
    outb(f, BM_BASE + IDE_BM_STATUS, IDE_BMIS_INTR | IDE_BMIS_ERROR);
    as_port_write(f->as, BM_BASE + IDE_BM_PRDT, table, 4);
    outb(f, BM_BASE + IDE_BM_CMD, to_memory ? IDE_BMIC_WRITE : 0);
}

static void test_dma(void)
{
    Fx f;
    uint64_t size;

    fx_init(&f, false, false, false);
    /* READ DMA of 9 sectors into three regions (the middle one odd-sized
     * in sectors, the buffer boundaries not sector-aligned). */
    const uint32_t rd[][2] = { { 0x10000, 1000 }, { 0x20000, 3000 }, { 0x30000, 608 } };
    prd_table(&f, 0x8000, rd, 3);
    bm_setup(&f, 0x8000, true);
    ata_cmd28(&f, ATA_CMD_READ_DMA, 300, 9);
    g_assert_cmphex(inb(&f, IDE_PRIMARY_CTL), ==, 0x58);     /* waits for the engine */
    outb(&f, BM_BASE + IDE_BM_CMD, IDE_BMIC_WRITE | IDE_BMIC_START);
    g_assert_cmphex(inb(&f, BM_BASE + IDE_BM_STATUS) & IDE_BMIS_ACTIVE, ==, IDE_BMIS_ACTIVE);
    fx_drain(&f);
    g_assert_cmpint(f.irq_raises[0], ==, 1);
    /* Table used up exactly: Active 0, Interrupt 1. */
    g_assert_cmphex(inb(&f, BM_BASE + IDE_BM_STATUS) & 7, ==, IDE_BMIS_INTR);
    outb(&f, BM_BASE + IDE_BM_CMD, IDE_BMIC_WRITE);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x50);
    const uint8_t *src = f.disk_data + 300 * 512;
    g_assert_cmpmem(f.ram + 0x10000, 1000, src, 1000);
    g_assert_cmpmem(f.ram + 0x20000, 3000, src + 1000, 3000);
    g_assert_cmpmem(f.ram + 0x30000, 608, src + 4000, 608);
    /* Interrupt is write-1-to-clear. */
    outb(&f, BM_BASE + IDE_BM_STATUS, IDE_BMIS_INTR);
    g_assert_cmphex(inb(&f, BM_BASE + IDE_BM_STATUS) & 7, ==, 0);

    /* WRITE DMA EXT of 200 sectors (over one buffer's worth) from one
     * 64 KiB entry (count 0) and the rest; the engine starts first. */
    for (uint32_t i = 0; i < 200 * 512; i++) {
        f.ram[0x40000 + i] = (uint8_t)(i * 5 + 3);
    }
    const uint32_t wr[][2] = { { 0x40000, 0x10000 }, { 0x50000, 200 * 512 - 0x10000 } };
    prd_table(&f, 0x9000, wr, 2);
    bm_setup(&f, 0x9000, false);
    outb(&f, BM_BASE + IDE_BM_CMD, IDE_BMIC_START);
    f.irq_raises[0] = 0;
    ata_cmd48(&f, ATA_CMD_WRITE_DMA_EXT, 1500, 200);
    fx_drain(&f);
    g_assert_cmpint(f.irq_raises[0], ==, 1);
    g_assert_cmphex(inb(&f, BM_BASE + IDE_BM_STATUS) & 7, ==, IDE_BMIS_INTR);
    outb(&f, BM_BASE + IDE_BM_CMD, 0);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x50);
    uint8_t *disk = blk_mem_data(f.disk_mem, &size);
    g_assert_cmpmem(disk + 1500 * 512, 200 * 512, f.ram + 0x40000, 200 * 512);

    /* Table larger than the transfer: Active stays 1 with Interrupt. */
    const uint32_t big[][2] = { { 0x10000, 4096 } };
    prd_table(&f, 0x8000, big, 1);
    bm_setup(&f, 0x8000, true);
    ata_cmd28(&f, ATA_CMD_READ_DMA, 0, 1);
    outb(&f, BM_BASE + IDE_BM_CMD, IDE_BMIC_WRITE | IDE_BMIC_START);
    fx_drain(&f);
    g_assert_cmphex(inb(&f, BM_BASE + IDE_BM_STATUS) & 7, ==,
                    IDE_BMIS_INTR | IDE_BMIS_ACTIVE);
    outb(&f, BM_BASE + IDE_BM_CMD, IDE_BMIC_WRITE);
    g_assert_cmphex(inb(&f, BM_BASE + IDE_BM_STATUS) & 7, ==, IDE_BMIS_INTR);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x50);

    /* Table smaller than the transfer: Active 0, no interrupt, the device
     * still waits with DRQ. */
    const uint32_t small[][2] = { { 0x10000, 512 } };
    prd_table(&f, 0x8000, small, 1);
    bm_setup(&f, 0x8000, true);
    f.irq_raises[0] = 0;
    ata_cmd28(&f, ATA_CMD_READ_DMA, 0, 4);
    outb(&f, BM_BASE + IDE_BM_CMD, IDE_BMIC_WRITE | IDE_BMIC_START);
    fx_drain(&f);
    g_assert_cmphex(inb(&f, BM_BASE + IDE_BM_STATUS) & 7, ==, 0);
    g_assert_cmpint(f.irq_raises[0], ==, 0);
    g_assert_cmphex(inb(&f, IDE_PRIMARY_CTL), ==, 0x58);
    /* The host gives up: a software reset clears the device. */
    outb(&f, BM_BASE + IDE_BM_CMD, 0);
    outb(&f, IDE_PRIMARY_CTL, IDE_CTL_SRST);
    g_assert_cmphex(inb(&f, IDE_PRIMARY_CTL) & IDE_STAT_BSY, ==, IDE_STAT_BSY);
    outb(&f, IDE_PRIMARY_CTL, 0);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x50);
    g_assert_cmphex(inb(&f, P(IDE_REG_NSECTOR)), ==, 0x01);

    /* Bus mastering off: the start is a master abort (Error). */
    pci_bus_config_write(f.bus, DEVFN, PCI_COMMAND, PCI_COMMAND_IO, 2);
    prd_table(&f, 0x8000, rd, 3);
    bm_setup(&f, 0x8000, true);
    ata_cmd28(&f, ATA_CMD_READ_DMA, 0, 1);
    outb(&f, BM_BASE + IDE_BM_CMD, IDE_BMIC_WRITE | IDE_BMIC_START);
    fx_drain(&f);
    g_assert_cmphex(inb(&f, BM_BASE + IDE_BM_STATUS) & 7, ==, IDE_BMIS_ERROR);
    fx_free(&f);
}

static void test_errors_and_reset(void)
{
    Fx f;

    fx_init(&f, false, false, true);
    /* Past the end: ID NOT FOUND. */
    ata_cmd28(&f, ATA_CMD_READ_SECTORS, DISK_SECTORS - 1, 2);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x51);
    g_assert_cmphex(inb(&f, P(IDE_REG_ERROR)), ==, IDE_ERR_IDNF);
    /* A read-only disk refuses writes. */
    ata_cmd28(&f, ATA_CMD_WRITE_SECTORS, 0, 1);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x51);
    g_assert_cmphex(inb(&f, P(IDE_REG_ERROR)), ==, IDE_ERR_ABRT);
    /* Unknown commands, PACKET on a disk, NOP: aborted. */
    uint8_t bad[] = { 0x00, 0xa0, 0xa1, 0xb0, 0xf0, 0xe6 };
    for (size_t i = 0; i < sizeof(bad); i++) {
        f.irq_raises[0] = 0;
        outb(&f, P(IDE_REG_STATUS), bad[i]);
        g_assert_cmpint(f.irq_raises[0], ==, 1);
        g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x51);
        g_assert_cmphex(inb(&f, P(IDE_REG_ERROR)), ==, IDE_ERR_ABRT);
    }
    /* nIEN keeps INTRQ off; the status still says the command ended. */
    outb(&f, IDE_PRIMARY_CTL, IDE_CTL_NIEN);
    f.irq_raises[0] = 0;
    outb(&f, P(IDE_REG_STATUS), ATA_CMD_CHECK_POWER_MODE);
    g_assert_cmpint(f.irq_raises[0], ==, 0);
    g_assert_cmphex(inb(&f, IDE_PRIMARY_CTL), ==, 0x50);
    g_assert_cmphex(inb(&f, P(IDE_REG_NSECTOR)), ==, 0xff);
    /* Clearing nIEN lets the still-pending interrupt through. */
    outb(&f, P(IDE_REG_STATUS), ATA_CMD_STANDBY_IMMEDIATE);
    g_assert_cmpint(f.irq_level[0], ==, 0);
    outb(&f, IDE_PRIMARY_CTL, 0);
    g_assert_cmpint(f.irq_level[0], ==, 1);
    outb(&f, P(IDE_REG_STATUS), ATA_CMD_CHECK_POWER_MODE);
    g_assert_cmphex(inb(&f, P(IDE_REG_NSECTOR)), ==, 0x00);
    outb(&f, P(IDE_REG_STATUS), ATA_CMD_IDLE_IMMEDIATE);
    outb(&f, P(IDE_REG_STATUS), ATA_CMD_CHECK_POWER_MODE);
    g_assert_cmphex(inb(&f, P(IDE_REG_NSECTOR)), ==, 0xff);

    /* FLUSH CACHE ends with an interrupt after the flush. */
    f.irq_raises[0] = 0;
    outb(&f, P(IDE_REG_STATUS), ATA_CMD_FLUSH_CACHE_EXT);
    fx_drain(&f);
    g_assert_cmpint(f.irq_raises[0], ==, 1);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x50);

    /* SRST in the middle of a PIO read: the data is gone, the signature
     * back, and a late completion changes nothing. */
    ata_cmd28(&f, ATA_CMD_READ_SECTORS, 0, 4);
    outb(&f, IDE_PRIMARY_CTL, IDE_CTL_SRST);
    outb(&f, IDE_PRIMARY_CTL, 0);
    fx_drain(&f);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x50);
    g_assert_cmphex(inb(&f, P(IDE_REG_ERROR)), ==, 0x01);
    g_assert_cmphex(inb(&f, P(IDE_REG_LBAL)), ==, 0x01);
    g_assert_cmphex(inw(&f, P(IDE_REG_DATA)), ==, 0xffff);

    /* CHS: INITIALIZE DEVICE PARAMETERS to 4 heads x 17 sectors; C/H/S
     * 3/2/5 is LBA (3*4+2)*17+4 = 242. */
    outb(&f, P(IDE_REG_DEVICE), 0xa0 | 3);
    outb(&f, P(IDE_REG_NSECTOR), 17);
    outb(&f, P(IDE_REG_STATUS), ATA_CMD_INIT_DEV_PARAMS);
    g_assert_cmphex(inb(&f, P(IDE_REG_STATUS)), ==, 0x50);
    outb(&f, P(IDE_REG_DEVICE), 0xa0 | 2);
    outb(&f, P(IDE_REG_NSECTOR), 1);
    outb(&f, P(IDE_REG_LBAL), 5);
    outb(&f, P(IDE_REG_LBAM), 3);
    outb(&f, P(IDE_REG_LBAH), 0);
    outb(&f, P(IDE_REG_STATUS), ATA_CMD_READ_SECTORS);
    fx_drain(&f);
    uint8_t buf[512];
    pio_in(&f, IDE_PRIMARY_BASE, buf, 512);
    g_assert_cmpmem(buf, 512, f.disk_data + 242 * 512, 512);
    /* Sector 0 does not exist in CHS. */
    outb(&f, P(IDE_REG_LBAL), 0);
    outb(&f, P(IDE_REG_STATUS), ATA_CMD_READ_SECTORS);
    g_assert_cmphex(inb(&f, P(IDE_REG_ERROR)), ==, IDE_ERR_IDNF);
    /* EXECUTE DEVICE DIAGNOSTIC: code 01h, signature, interrupt. */
    f.irq_raises[0] = 0;
    outb(&f, P(IDE_REG_STATUS), ATA_CMD_EXEC_DIAGNOSTIC);
    g_assert_cmpint(f.irq_raises[0], ==, 1);
    g_assert_cmphex(inb(&f, P(IDE_REG_ERROR)), ==, 0x01);
    g_assert_cmphex(inb(&f, P(IDE_REG_NSECTOR)), ==, 0x01);
    fx_free(&f);
}

/* --- ATAPI ---------------------------------------------------------------- */

/* Send a packet to the secondary master; returns the status after it. */
static void packet(Fx *f, const uint8_t *cdb, uint16_t limit, bool dma)
{
    outb(f, S(IDE_REG_DEVICE), 0xa0);
    outb(f, S(IDE_REG_ERROR), dma ? 0x01 : 0x00);
    outb(f, S(IDE_REG_LBAM), (uint8_t)limit);
    outb(f, S(IDE_REG_LBAH), (uint8_t)(limit >> 8));
    outb(f, S(IDE_REG_STATUS), ATA_CMD_PACKET);
    g_assert_cmphex(inb(f, IDE_SECONDARY_CTL) & (IDE_STAT_DRQ | IDE_STAT_BSY), ==,
                    IDE_STAT_DRQ);
    g_assert_cmphex(inb(f, S(IDE_REG_NSECTOR)) & 3, ==, IDE_IREASON_COD);
    for (int i = 0; i < 12; i += 2) {
        outw(f, S(IDE_REG_DATA), cdb[i] | cdb[i + 1] << 8);
    }
    fx_drain(f);
}

/* PIO data-in of a packet command: every window into out; returns bytes. */
static unsigned packet_data_in(Fx *f, uint8_t *out, unsigned max, int *windows)
{
    unsigned got = 0;
    *windows = 0;
    for (;;) {
        fx_drain(f);
        uint8_t st = inb(f, S(IDE_REG_STATUS));
        uint8_t ir = inb(f, S(IDE_REG_NSECTOR)) & 3;
        if (!(st & IDE_STAT_DRQ)) {
            g_assert_cmphex(ir, ==, IDE_IREASON_IO | IDE_IREASON_COD);
            return got;
        }
        g_assert_cmphex(ir, ==, IDE_IREASON_IO);
        unsigned n = inb(f, S(IDE_REG_LBAM)) | inb(f, S(IDE_REG_LBAH)) << 8;
        g_assert_cmpuint(got + n, <=, max);
        pio_in(f, IDE_SECONDARY_BASE, out + got, n);
        got += n;
        (*windows)++;
    }
}

static void test_atapi(void)
{
    Fx f;
    uint8_t id[512], buf[8192];
    char s[41];
    int windows;

    fx_init(&f, true, true, false);
    /* IDENTIFY DEVICE is aborted with the PACKET signature. */
    outb(&f, S(IDE_REG_DEVICE), 0xa0);
    outb(&f, S(IDE_REG_STATUS), ATA_CMD_IDENTIFY);
    g_assert_cmphex(inb(&f, S(IDE_REG_STATUS)) & IDE_STAT_ERR, ==, IDE_STAT_ERR);
    g_assert_cmphex(inb(&f, S(IDE_REG_LBAM)), ==, 0x14);
    g_assert_cmphex(inb(&f, S(IDE_REG_LBAH)), ==, 0xeb);
    identify(&f, IDE_SECONDARY_BASE, ATA_CMD_IDENTIFY_PACKET, id);
    g_assert_cmphex(id_word(id, 0), ==, 0x85c0);
    id_str(id, 27, 20, s);
    g_assert_true(g_str_has_prefix(s, "vmkemu Virtual IDE CDROM Drive"));
    g_assert_cmphex(id[510], ==, 0xa5);

    /* TEST UNIT READY: good, interrupt, CoD|IO. */
    uint8_t tur[12] = { 0x00 };
    f.irq_raises[1] = 0;
    packet(&f, tur, 0, false);
    g_assert_cmpint(f.irq_raises[1], ==, 1);
    g_assert_cmphex(inb(&f, S(IDE_REG_NSECTOR)) & 3, ==, 3);
    g_assert_cmphex(inb(&f, S(IDE_REG_STATUS)), ==, IDE_STAT_DRDY);

    /* INQUIRY (allocation length 36) through one window. */
    uint8_t inq[12] = { 0x12, 0, 0, 0, 36 };
    packet(&f, inq, 0xfffe, false);
    g_assert_cmpuint(packet_data_in(&f, buf, sizeof(buf), &windows), ==, 36);
    g_assert_cmphex(buf[0], ==, 0x05);
    g_assert_cmphex(buf[1], ==, 0x80);
    g_assert_cmpmem(buf + 16, 14, "Virtual CD-ROM", 14);

    /* READ CAPACITY: last LBA, 2048-byte blocks. */
    uint8_t cap[12] = { 0x25 };
    packet(&f, cap, 8, false);
    g_assert_cmpuint(packet_data_in(&f, buf, sizeof(buf), &windows), ==, 8);
    g_assert_cmpuint(buf[3] | buf[2] << 8, ==, CD_SECTORS - 1);
    g_assert_cmpuint(buf[6] << 8 | buf[7], ==, 2048);

    /* READ(10) of 3 sectors from 5 with a 1000-byte limit: windows of at
     * most 1000 bytes (7 of them for 6144 bytes). */
    uint8_t rd[12] = { 0x28, 0, 0, 0, 0, 5, 0, 0, 3 };
    packet(&f, rd, 1000, false);
    g_assert_cmpuint(packet_data_in(&f, buf, sizeof(buf), &windows), ==, 3 * 2048);
    g_assert_cmpint(windows, ==, 7);
    for (unsigned i = 0; i < 3 * 2048; i++) {
        uint32_t o = 5 * 2048 + i;
        g_assert_cmphex(buf[i], ==, (uint8_t)(o / 2048 + o * 3));
    }

    /* READ(12) by DMA: two sectors from 60 into one PRD. */
    const uint32_t prd[][2] = { { 0x20000, 4096 } };
    prd_table(&f, 0x8000, prd, 1);
    outb(&f, BM_BASE + 8 + IDE_BM_CMD, 0);
    as_port_write(f.as, BM_BASE + 8 + IDE_BM_PRDT, 0x8000, 4);
    outb(&f, BM_BASE + 8 + IDE_BM_CMD, IDE_BMIC_WRITE);
    uint8_t rd12[12] = { 0xa8, 0, 0, 0, 0, 60, 0, 0, 0, 2 };
    f.irq_raises[1] = 0;
    packet(&f, rd12, 0, true);
    outb(&f, BM_BASE + 8 + IDE_BM_CMD, IDE_BMIC_WRITE | IDE_BMIC_START);
    fx_drain(&f);
    g_assert_cmpint(f.irq_raises[1], ==, 1);
    g_assert_cmphex(inb(&f, BM_BASE + 8 + IDE_BM_STATUS) & 7, ==, IDE_BMIS_INTR);
    g_assert_cmphex(inb(&f, S(IDE_REG_STATUS)), ==, IDE_STAT_DRDY);
    for (unsigned i = 0; i < 4096; i++) {
        uint32_t o = 60 * 2048 + i;
        g_assert_cmphex(f.ram[0x20000 + i], ==, (uint8_t)(o / 2048 + o * 3));
    }
    outb(&f, BM_BASE + 8 + IDE_BM_CMD, 0);

    /* Past the end: CHECK CONDITION, ILLEGAL REQUEST / LBA OUT OF RANGE. */
    uint8_t far[12] = { 0x28, 0, 0, 0, 0, 63, 0, 0, 2 };
    packet(&f, far, 0xfffe, false);
    g_assert_cmphex(inb(&f, S(IDE_REG_STATUS)), ==, IDE_STAT_DRDY | IDE_STAT_ERR);
    g_assert_cmphex(inb(&f, S(IDE_REG_ERROR)) >> 4, ==, 0x05);
    uint8_t rs[12] = { 0x03, 0, 0, 0, 18 };
    packet(&f, rs, 0xfffe, false);
    g_assert_cmpuint(packet_data_in(&f, buf, sizeof(buf), &windows), ==, 18);
    g_assert_cmphex(buf[0], ==, 0x70);
    g_assert_cmphex(buf[2], ==, 0x05);
    g_assert_cmphex(buf[12], ==, 0x21);
    /* The sense was read: the next REQUEST SENSE says NO SENSE. */
    packet(&f, rs, 0xfffe, false);
    packet_data_in(&f, buf, sizeof(buf), &windows);
    g_assert_cmphex(buf[2], ==, 0x00);

    /* An unknown opcode: INVALID COMMAND OPERATION CODE. */
    uint8_t unk[12] = { 0xff };
    packet(&f, unk, 0xfffe, false);
    g_assert_cmphex(inb(&f, S(IDE_REG_ERROR)), ==, 0x54);
    packet(&f, rs, 0xfffe, false);
    packet_data_in(&f, buf, sizeof(buf), &windows);
    g_assert_cmphex(buf[12], ==, 0x20);

    /* READ TOC format 0 in MSF: track 1 at 00:02:00, lead-out at the end. */
    uint8_t toc[12] = { 0x43, 0x02, 0, 0, 0, 0, 0, 0, 100 };
    packet(&f, toc, 0xfffe, false);
    g_assert_cmpuint(packet_data_in(&f, buf, sizeof(buf), &windows), ==, 20);
    g_assert_cmpuint(buf[1], ==, 18);
    g_assert_cmpuint(buf[2], ==, 1);
    g_assert_cmpuint(buf[3], ==, 1);
    g_assert_cmpuint(buf[6], ==, 1);
    g_assert_cmpmem(buf + 8, 4, "\x00\x00\x02\x00", 4);
    g_assert_cmpuint(buf[14], ==, 0xaa);
    g_assert_cmpmem(buf + 16, 4, "\x00\x00\x02\x40", 4);   /* 64 + 150 frames */
    /* Session info (format 1 in the old place, byte 9): 12 bytes. */
    uint8_t sess[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0, 12, 0x40 };
    packet(&f, sess, 0xfffe, false);
    g_assert_cmpuint(packet_data_in(&f, buf, sizeof(buf), &windows), ==, 12);
    g_assert_cmpuint(buf[1], ==, 0x0a);

    /* MODE SENSE(10) page 2Ah and GET CONFIGURATION's current profile. */
    uint8_t ms[12] = { 0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 64 };
    packet(&f, ms, 0xfffe, false);
    g_assert_cmpuint(packet_data_in(&f, buf, sizeof(buf), &windows), ==, 28);
    g_assert_cmphex(buf[8], ==, 0x2a);
    uint8_t gc[12] = { 0x46, 0, 0, 0, 0, 0, 0, 0, 64 };
    packet(&f, gc, 0xfffe, false);
    unsigned n = packet_data_in(&f, buf, sizeof(buf), &windows);
    g_assert_cmpuint(n, >=, 16);
    g_assert_cmpuint(buf[6] << 8 | buf[7], ==, 0x0008);
    fx_free(&f);

    /* No disc: NOT READY, MEDIUM NOT PRESENT. */
    fx_init(&f, true, false, false);
    packet(&f, tur, 0, false);
    g_assert_cmphex(inb(&f, S(IDE_REG_ERROR)) >> 4, ==, 0x02);
    packet(&f, rs, 0xfffe, false);
    packet_data_in(&f, buf, sizeof(buf), &windows);
    g_assert_cmphex(buf[12], ==, 0x3a);
    fx_free(&f);
}

/* --- state ----------------------------------------------------------------- */

static void test_vmstate(void)
{
    Fx a, b;
    GError *err = NULL;
    uint8_t buf[1024];

    /* Save in the middle of a 2-sector PIO read (first sector half read). */
    fx_init(&a, false, false, false);
    ata_cmd28(&a, ATA_CMD_READ_SECTORS, 7, 2);
    fx_drain(&a);
    pio_in(&a, IDE_PRIMARY_BASE, buf, 256);
    /* The machine saves the function's PCI bytes in the bus's section and
     * the IDE state in its own. */
    GByteArray *out = g_byte_array_new(), *cfg = g_byte_array_new();
    g_assert_cmpint(vmstate_save_fields(out, &piix3_ide_vmstate, a.ide, &err), ==, 0);
    g_assert_cmpint(vmstate_save_fields(cfg, &pci_device_vmstate, &a.ide->pci, &err), ==, 0);

    fx_init(&b, false, false, false);
    pci_bus_config_write(b.bus, DEVFN, PCI_COMMAND, 0, 2);
    pci_bus_config_write(b.bus, DEVFN, PCI_BASE_ADDRESS_0 + 16, 0, 4);
    g_assert_cmpint(vmstate_load_fields(out->data, out->len, 1, &piix3_ide_vmstate,
                                        b.ide, "piix3-ide", &err), ==, 0);
    g_assert_cmpint(vmstate_load_fields(cfg->data, cfg->len, 1, &pci_device_vmstate,
                                        &b.ide->pci, "pci.01.1", &err), ==, 0);
    g_assert_cmpint(b.irq_level[0], ==, 1);
    pio_in(&b, IDE_PRIMARY_BASE, buf + 256, 256);
    fx_drain(&b);
    g_assert_cmphex(inb(&b, P(IDE_REG_STATUS)), ==, 0x58);
    pio_in(&b, IDE_PRIMARY_BASE, buf + 512, 512);
    g_assert_cmphex(inb(&b, P(IDE_REG_STATUS)), ==, 0x50);
    g_assert_cmpmem(buf, 1024, a.disk_data + 7 * 512, 1024);
    /* The bus master BAR came along: its registers answer at BM_BASE. */
    g_assert_cmphex(pci_bus_config_read(b.bus, DEVFN, PCI_BASE_ADDRESS_0 + 16, 4), ==,
                    BM_BASE | 1);
    g_assert_cmphex(inb(&b, BM_BASE + IDE_BM_STATUS), ==, inb(&a, BM_BASE + IDE_BM_STATUS));
    g_byte_array_free(out, TRUE);
    g_byte_array_free(cfg, TRUE);
    fx_free(&a);
    fx_free(&b);
}

/* Random register traffic from a guest: never a crash, never a read past
 * a buffer (ASan watches). */
static void test_random_ports(void)
{
    Fx f;
    GRand *r = g_rand_new_with_seed(4242);
    static const uint16_t ports[] = {
        0x1f0, 0x1f1, 0x1f2, 0x1f3, 0x1f4, 0x1f5, 0x1f6, 0x1f7, 0x3f6,
        0x170, 0x171, 0x172, 0x173, 0x174, 0x175, 0x176, 0x177, 0x376,
        BM_BASE, BM_BASE + 2, BM_BASE + 4, BM_BASE + 8, BM_BASE + 10, BM_BASE + 12,
    };
    static const uint8_t cmds[] = {
        0x20, 0x24, 0x25, 0x29, 0x30, 0x34, 0x35, 0x39, 0xc4, 0xc5, 0xc6, 0xc8, 0xca,
        0xe7, 0xea, 0xec, 0xef, 0x91, 0x90, 0xa0, 0xa1, 0x08, 0xe5, 0x40,
    };

    fx_init(&f, true, true, false);
    for (int i = 0; i < 200000; i++) {
        uint16_t port = ports[g_rand_int_range(r, 0, G_N_ELEMENTS(ports))];
        unsigned size = 1u << g_rand_int_range(r, 0, 3);
        uint32_t v = g_rand_int(r);
        if ((port & 7) == 7 && port < 0x400 && g_rand_boolean(r)) {
            v = cmds[g_rand_int_range(r, 0, G_N_ELEMENTS(cmds))];
        }
        if ((port & 0xff) == 0x04 && port >= BM_BASE) {
            v &= 0xff000;      /* PRD tables inside RAM, mostly */
        }
        if (g_rand_int_range(r, 0, 3) == 0) {
            as_port_read(f.as, port, size);
        } else {
            as_port_write(f.as, port, v, size);
        }
        if (g_rand_int_range(r, 0, 64) == 0) {
            fx_drain(&f);
        }
    }
    g_rand_free(r);
    fx_free(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ide/pci-identity", test_pci_identity);
    g_test_add_func("/ide/signatures-selection", test_signatures_and_selection);
    g_test_add_func("/ide/identify", test_identify);
    g_test_add_func("/ide/pio-read-write", test_pio_read_write);
    g_test_add_func("/ide/multiple-lba48", test_multiple_and_lba48);
    g_test_add_func("/ide/dma", test_dma);
    g_test_add_func("/ide/errors-reset", test_errors_and_reset);
    g_test_add_func("/ide/atapi", test_atapi);
    g_test_add_func("/ide/vmstate", test_vmstate);
    g_test_add_func("/ide/random-ports", test_random_ports);
    return g_test_run();
}
