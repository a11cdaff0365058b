/*
 * The BusLogic BT-958 (hw/buslogic.c) driven from the host side as its
 * drivers drive it: register reads and writes through the PCI I/O BAR,
 * mailboxes and CCBs written into guest RAM, completions read back from
 * the incoming mailboxes, the INTx line watched through the bus's PIRQ.
 * Two disks in memory (IDs 0 and 2) hold known bytes.
 */
#include <string.h>
#include <glib.h>
#include "hw/buslogic.h"
#include "hw/pci.h"
#include "memory.h"
#include "timer.h"
#include "vmstate.h"

#define RAM_SIZE    (16u << 20)
#define IO_BASE     0xc000
#define MMIO_BASE   0xfebf0000u
#define SLOT        16
#define IRQ_LINE    11

#define MBOX_BASE   0x10000u
#define CCB_BASE    0x20000u            /* CCB n at CCB_BASE + 64 n */
#define SENSE_BASE  0x30000u
#define SG_BASE     0x40000u
#define DATA_BASE   0x100000u

#define DISK0_BLOCKS 2048               /* ID 0: 1 MiB */
#define DISK2_BLOCKS 6144               /* ID 2: 3 MiB */

static AddressSpace *as;
static uint8_t *ram;
static PciBus *bus;
static BusLogic *bl;
static BlockNode *mem0, *mem2;
static BlockBackend *blk0, *blk2;
static int pirq_level[PCI_NUM_PIRQS];

static uint8_t pattern(int disk, uint64_t off)
{
    return (uint8_t)(off * 3 + (off >> 9) * 29 + disk * 101);
}

static void pirq_handler(void *opaque, int pirq, int level)
{
    (void)opaque;
    pirq_level[pirq] = level;
}

static int intx(void)
{
    return pirq_level[pci_slot_pin_to_pirq(SLOT, PCI_INTA)];
}

static BlockNode *disk_new(int disk, uint64_t blocks)
{
    uint8_t *data = g_malloc(blocks * 512);
    for (uint64_t i = 0; i < blocks * 512; i++) {
        data[i] = pattern(disk, i);
    }
    BlockNode *n = blk_mem_open(data, blocks * 512, BLK_O_RDWR);
    g_free(data);
    return n;
}

static void adapter_attach_disks(BusLogic *s)
{
    ScsiDiskConfig c0 = { .type = SCSI_TYPE_DISK, .name = "disk0" };
    ScsiDiskConfig c2 = { .type = SCSI_TYPE_DISK, .name = "disk2" };
    g_assert_cmpint(buslogic_attach(s, 0, blk0, &c0), ==, 0);
    g_assert_cmpint(buslogic_attach(s, 2, blk2, &c2), ==, 0);
}

static void adapter_configure(void)
{
    int devfn = PCI_DEVFN(SLOT, 0);
    pci_bus_config_write(bus, devfn, PCI_BASE_ADDRESS_0, IO_BASE, 4);
    pci_bus_config_write(bus, devfn, PCI_BASE_ADDRESS_0 + 4, MMIO_BASE, 4);
    pci_bus_config_write(bus, devfn, PCI_INTERRUPT_LINE, IRQ_LINE, 1);
    pci_bus_config_write(bus, devfn, PCI_COMMAND,
                         PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
}

static void setup(void)
{
    vclock_set_manual(0);
    as = as_new();
    ram = g_malloc0(RAM_SIZE);
    g_assert_cmpint(as_add_ram(as, "ram", 0, RAM_SIZE, ram), ==, 0);
    bus = pci_bus_new(as);
    memset(pirq_level, 0, sizeof(pirq_level));
    pci_bus_set_pirq_handler(bus, pirq_handler, NULL);
    mem0 = disk_new(0, DISK0_BLOCKS);
    mem2 = disk_new(2, DISK2_BLOCKS);
    blk0 = blk_backend_new(blk_mem_share(mem0, BLK_O_RDWR));
    blk2 = blk_backend_new(blk_mem_share(mem2, BLK_O_RDWR));
    bl = buslogic_new(0);
    adapter_attach_disks(bl);
    g_assert_cmpint(buslogic_plug(bl, bus, PCI_DEVFN(SLOT, 0)), ==, 0);
    adapter_configure();
}

static void teardown(void)
{
    buslogic_free(bl);
    blk_backend_close(blk0, BLK_REDO_KEEP, NULL);
    blk_backend_close(blk2, BLK_REDO_KEEP, NULL);
    blk_node_close(mem0);
    blk_node_close(mem2);
    pci_bus_free(bus);
    as_free(as);
    g_free(ram);
}

static uint8_t inb(unsigned reg)
{
    return as_port_read(as, IO_BASE + reg, 1);
}

static void outb(unsigned reg, uint8_t v)
{
    as_port_write(as, IO_BASE + reg, v, 1);
}

/* A host adapter command as a driver issues it: wait for READY, opcode,
 * parameters (stopping if the command completes early), reply bytes while
 * DATA IN READY; then COMMAND COMPLETE is expected and acknowledged.
 * Returns the reply bytes received, or -1 for COMMAND INVALID. */
static int hacmd(uint8_t op, const uint8_t *p, int np, uint8_t *reply, int nreply)
{
    g_assert_cmphex(inb(BUSLOGIC_REG_STATUS) & (BUSLOGIC_STAT_READY | BUSLOGIC_STAT_CMD_BUSY),
                    ==, BUSLOGIC_STAT_READY);
    outb(BUSLOGIC_REG_COMMAND, op);
    for (int i = 0; i < np; i++) {
        if (inb(BUSLOGIC_REG_INTERRUPT) & BUSLOGIC_INT_CMD_COMPLETE) {
            break;
        }
        g_assert_false(inb(BUSLOGIC_REG_STATUS) & BUSLOGIC_STAT_READY);
        outb(BUSLOGIC_REG_COMMAND, p[i]);
    }
    int got = 0;
    while (inb(BUSLOGIC_REG_STATUS) & BUSLOGIC_STAT_DATA_IN_READY) {
        /* No completion before the last reply byte is read. */
        g_assert_false(inb(BUSLOGIC_REG_INTERRUPT) & BUSLOGIC_INT_CMD_COMPLETE);
        uint8_t v = inb(BUSLOGIC_REG_DATA_IN);
        if (got < nreply) {
            reply[got] = v;
        }
        got++;
        g_assert_cmpint(got, <=, 256);
    }
    uint8_t st = inb(BUSLOGIC_REG_STATUS);
    uint8_t intr = inb(BUSLOGIC_REG_INTERRUPT);
    g_assert_true(st & BUSLOGIC_STAT_READY);
    if (op != BUSLOGIC_CMD_MODIFY_IO_ADDRESS || (st & BUSLOGIC_STAT_CMD_INVALID)) {
        g_assert_cmphex(intr, ==, BUSLOGIC_INT_VALID | BUSLOGIC_INT_CMD_COMPLETE);
        g_assert_cmpint(intx(), ==, 1);
    } else {
        g_assert_cmphex(intr, ==, 0);
    }
    outb(BUSLOGIC_REG_CONTROL, BUSLOGIC_CTRL_INT_RESET);
    g_assert_cmphex(inb(BUSLOGIC_REG_INTERRUPT), ==, 0);
    g_assert_cmpint(intx(), ==, 0);
    g_assert_false(inb(BUSLOGIC_REG_STATUS) & BUSLOGIC_STAT_CMD_INVALID);
    return (st & BUSLOGIC_STAT_CMD_INVALID) ? -1 : got;
}

static int hacmd1(uint8_t op, uint8_t param, uint8_t *reply, int nreply)
{
    return hacmd(op, &param, 1, reply, nreply);
}

/* --- guest memory ------------------------------------------------------------- */

static void put32(uint32_t addr, uint32_t v)
{
    ram[addr] = v; ram[addr + 1] = v >> 8; ram[addr + 2] = v >> 16; ram[addr + 3] = v >> 24;
}

static uint32_t get32(uint32_t addr)
{
    return ram[addr] | ram[addr + 1] << 8 | ram[addr + 2] << 16 | (uint32_t)ram[addr + 3] << 24;
}

static void mbox_init32(uint8_t count, bool strict)
{
    uint8_t p[5] = { count };
    p[1] = MBOX_BASE & 0xff;
    p[2] = (MBOX_BASE >> 8) & 0xff;
    p[3] = (MBOX_BASE >> 16) & 0xff;
    p[4] = (MBOX_BASE >> 24) & 0xff;
    memset(ram + MBOX_BASE, 0, 16 * count);
    g_assert_cmpint(hacmd(BUSLOGIC_CMD_INIT_EXT_MAILBOX, p, 5, NULL, 0), ==, 0);
    g_assert_false(inb(BUSLOGIC_REG_STATUS) & BUSLOGIC_STAT_INIT_REQUIRED);
    if (strict) {
        g_assert_cmpint(hacmd1(BUSLOGIC_CMD_STRICT_ROUND_ROBIN, 1, NULL, 0), ==, 0);
    }
    g_assert_cmpint(hacmd1(BUSLOGIC_CMD_SET_CCB_FORMAT, 1, NULL, 0), ==, 0);
}

typedef struct CcbSpec {
    uint8_t opcode, dir, target, lun;
    const uint8_t *cdb;
    uint8_t cdb_len;
    uint32_t data_len, data_ptr;
    uint8_t sense_len;
} CcbSpec;

static uint32_t ccb_addr(int n)
{
    return CCB_BASE + 64 * n;
}

static void ccb32_write(int n, const CcbSpec *c)
{
    uint32_t a = ccb_addr(n);
    memset(ram + a, 0, 64);
    ram[a] = c->opcode;
    ram[a + 1] = c->dir << 3;
    ram[a + 2] = c->cdb_len;
    ram[a + 3] = c->sense_len;
    put32(a + 4, c->data_len);
    put32(a + 8, c->data_ptr);
    ram[a + 14] = 0xee;                     /* statuses: must be written */
    ram[a + 15] = 0xee;
    ram[a + 16] = c->target;
    ram[a + 17] = c->lun;
    if (c->cdb_len) {
        memcpy(ram + a + 18, c->cdb, c->cdb_len <= 12 ? c->cdb_len : 12);
    }
    put32(a + 36, SENSE_BASE + 128 * n);
    memset(ram + SENSE_BASE + 128 * n, 0xcc, 128);
}

/* Outgoing mailbox i: CCB address and action, then the doorbell. */
static void mbo_start(unsigned count, int i, uint32_t ccb, uint8_t action)
{
    (void)count;
    put32(MBOX_BASE + 8 * i, ccb);
    ram[MBOX_BASE + 8 * i + 7] = action;
    outb(BUSLOGIC_REG_COMMAND, BUSLOGIC_CMD_START_MAILBOX);
}

static uint8_t *mbi(unsigned count, int i)
{
    return ram + MBOX_BASE + 8 * count + 8 * i;
}

/* Incoming mailbox i holds this completion; free it. */
static void mbi_check(unsigned count, int i, uint32_t ccb, uint8_t code, uint8_t ha, uint8_t ts)
{
    uint8_t *m = mbi(count, i);
    g_assert_cmphex(m[7], ==, code);
    g_assert_cmphex(get32(m - ram), ==, ccb);
    g_assert_cmphex(m[4], ==, ha);
    g_assert_cmphex(m[5], ==, ts);
    m[7] = BUSLOGIC_MBI_FREE;
}

/* The same, and the interrupt says so; acknowledge it. */
static void mbi_expect(unsigned count, int i, uint32_t ccb, uint8_t code, uint8_t ha, uint8_t ts)
{
    mbi_check(count, i, ccb, code, ha, ts);
    g_assert_true(inb(BUSLOGIC_REG_INTERRUPT) & BUSLOGIC_INT_MBIN_LOADED);
    g_assert_true(inb(BUSLOGIC_REG_INTERRUPT) & BUSLOGIC_INT_VALID);
    g_assert_cmpint(intx(), ==, 1);
    outb(BUSLOGIC_REG_CONTROL, BUSLOGIC_CTRL_INT_RESET);
    g_assert_cmpint(intx(), ==, 0);
}

static void cdb10(uint8_t *c, uint8_t op, uint32_t lba, uint16_t n)
{
    memset(c, 0, 10);
    c[0] = op;
    c[2] = lba >> 24; c[3] = lba >> 16; c[4] = lba >> 8; c[5] = lba;
    c[7] = n >> 8; c[8] = n;
}

/* Run one CCB through outgoing mailbox `i` and expect completion `code`
 * with statuses ha/ts in incoming mailbox `i`. */
static void run_ccb(unsigned count, int i, int n, const CcbSpec *c, uint8_t code,
                    uint8_t ha, uint8_t ts)
{
    ccb32_write(n, c);
    mbo_start(count, i, ccb_addr(n), BUSLOGIC_MBO_START);
    g_assert_cmphex(ram[MBOX_BASE + 8 * i + 7], ==, BUSLOGIC_MBO_FREE);
    mbi_expect(count, i, ccb_addr(n), code, ha, ts);
    g_assert_cmphex(ram[ccb_addr(n) + 14], ==, ha);
    g_assert_cmphex(ram[ccb_addr(n) + 15], ==, ts);
}

/* Consume the unit attention of the power-on/bus reset on a target. */
static void clear_ua(unsigned count, int *slot, int target)
{
    static const uint8_t tur[6] = { 0x00 };
    CcbSpec c = { .opcode = BUSLOGIC_CCB_INITIATOR, .target = target,
                  .cdb = tur, .cdb_len = 6 };
    run_ccb(count, *slot, 0, &c, BUSLOGIC_MBI_ERROR, BUSLOGIC_HA_OK,
            SCSI_STATUS_CHECK_CONDITION);
    *slot = (*slot + 1) % count;
}

/* --- tests ----------------------------------------------------------------- */

static void test_pci_identity(void)
{
    setup();
    int devfn = PCI_DEVFN(SLOT, 0);
    g_assert_cmphex(pci_bus_config_read(bus, devfn, PCI_VENDOR_ID, 2), ==, 0x104b);
    g_assert_cmphex(pci_bus_config_read(bus, devfn, PCI_DEVICE_ID, 2), ==, 0x1040);
    g_assert_cmphex(pci_bus_config_read(bus, devfn, PCI_CLASS_DEVICE, 2), ==, 0x0100);
    g_assert_cmphex(pci_bus_config_read(bus, devfn, PCI_INTERRUPT_PIN, 1), ==, 1);
    /* BAR 0: 4 I/O ports; BAR 1: memory. */
    pci_bus_config_write(bus, devfn, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
    g_assert_cmphex(pci_bus_config_read(bus, devfn, PCI_BASE_ADDRESS_0, 4), ==, 0xfffffffd);
    pci_bus_config_write(bus, devfn, PCI_BASE_ADDRESS_0 + 4, 0xffffffff, 4);
    g_assert_cmphex(pci_bus_config_read(bus, devfn, PCI_BASE_ADDRESS_0 + 4, 4), ==,
                    (uint32_t)~(BUSLOGIC_MMIO_SIZE - 1));
    adapter_configure();
    /* The memory BAR shows the same registers. */
    g_assert_cmphex(as_mmio_read(as, MMIO_BASE + BUSLOGIC_REG_STATUS, 1), ==,
                    inb(BUSLOGIC_REG_STATUS));
    g_assert_cmphex(as_mmio_read(as, MMIO_BASE + BUSLOGIC_REG_GEOMETRY, 1), ==,
                    inb(BUSLOGIC_REG_GEOMETRY));
    teardown();
}

/* What Linux's probe and hard reset look at. */
static void test_probe_and_reset(void)
{
    setup();
    uint8_t st = inb(BUSLOGIC_REG_STATUS);
    g_assert_cmphex(st, ==, BUSLOGIC_STAT_READY | BUSLOGIC_STAT_INIT_REQUIRED);
    g_assert_cmphex(inb(BUSLOGIC_REG_INTERRUPT), ==, 0);
    uint8_t geo = inb(BUSLOGIC_REG_GEOMETRY);
    g_assert_cmphex(geo, !=, 0xff);
    g_assert_cmphex(geo, ==, BUSLOGIC_GEOM_EXT_TRANSLATION | 1);  /* 1 MiB disk at 0 */

    /* Hard reset: DIAGNOSTIC ACTIVE shows, then goes, then READY. */
    outb(BUSLOGIC_REG_CONTROL, BUSLOGIC_CTRL_HARD_RESET);
    g_assert_true(inb(BUSLOGIC_REG_STATUS) & BUSLOGIC_STAT_DIAG_ACTIVE);
    int reads = 0;
    while ((st = inb(BUSLOGIC_REG_STATUS)) & BUSLOGIC_STAT_DIAG_ACTIVE) {
        g_assert_cmpint(++reads, <, 10);
    }
    g_assert_cmphex(st, ==, BUSLOGIC_STAT_READY | BUSLOGIC_STAT_INIT_REQUIRED);

    /* After mailbox initialization a soft reset asks for it again. */
    mbox_init32(4, true);
    outb(BUSLOGIC_REG_CONTROL, BUSLOGIC_CTRL_SOFT_RESET);
    while (inb(BUSLOGIC_REG_STATUS) & BUSLOGIC_STAT_DIAG_ACTIVE) {
    }
    g_assert_cmphex(inb(BUSLOGIC_REG_STATUS), ==,
                    BUSLOGIC_STAT_READY | BUSLOGIC_STAT_INIT_REQUIRED);
    /* The doorbell without mailboxes is an invalid command. */
    outb(BUSLOGIC_REG_COMMAND, BUSLOGIC_CMD_START_MAILBOX);
    g_assert_true(inb(BUSLOGIC_REG_STATUS) & BUSLOGIC_STAT_CMD_INVALID);
    g_assert_true(inb(BUSLOGIC_REG_INTERRUPT) & BUSLOGIC_INT_CMD_COMPLETE);
    outb(BUSLOGIC_REG_CONTROL, BUSLOGIC_CTRL_INT_RESET);
    g_assert_false(inb(BUSLOGIC_REG_STATUS) & BUSLOGIC_STAT_CMD_INVALID);
    teardown();
}

static void test_inquiry_commands(void)
{
    setup();
    uint8_t r[256];

    g_assert_cmpint(hacmd(BUSLOGIC_CMD_INQUIRE_BOARD_ID, NULL, 0, r, 4), ==, 4);
    g_assert_cmpmem(r, 4, "AA50", 4);
    g_assert_cmpint(hacmd(BUSLOGIC_CMD_INQUIRE_FW_DIGIT3, NULL, 0, r, 1), ==, 1);
    g_assert_cmpint(r[0], ==, '7');
    g_assert_cmpint(hacmd(BUSLOGIC_CMD_INQUIRE_FW_LETTER, NULL, 0, r, 1), ==, 1);
    g_assert_cmpint(r[0], ==, 'B');
    g_assert_cmpint(hacmd1(BUSLOGIC_CMD_INQUIRE_MODEL, 5, r, 5), ==, 5);
    g_assert_cmpmem(r, 4, "958 ", 4);
    g_assert_cmpint(r[4], ==, 0);

    /* Extended setup: exactly as many bytes as asked. */
    g_assert_cmpint(hacmd1(BUSLOGIC_CMD_INQUIRE_EXT_SETUP, 14, r, 14), ==, 14);
    g_assert_cmpint(r[0], ==, 'E');
    g_assert_cmpuint(r[2] | r[3] << 8, ==, BUSLOGIC_SG_LIMIT);
    g_assert_true(r[9] & 0x40);                 /* level-sensitive */
    g_assert_true(r[13] & 0x01);                /* wide */
    g_assert_cmpint(hacmd1(BUSLOGIC_CMD_INQUIRE_EXT_SETUP, 3, r, 14), ==, 3);

    g_assert_cmpint(hacmd1(BUSLOGIC_CMD_INQUIRE_SETUP, 34, r, 34), ==, 34);
    g_assert_cmpint(r[19], ==, 'F');            /* PCI */
    g_assert_cmphex(r[21], ==, 0x05);           /* wide active: IDs 0 and 2 */

    g_assert_cmpint(hacmd(BUSLOGIC_CMD_INQUIRE_CONFIG, NULL, 0, r, 3), ==, 3);
    g_assert_cmphex(r[0], ==, 0);
    g_assert_cmphex(r[1], ==, 0x04);            /* IRQ 11 */
    g_assert_cmphex(r[2], ==, 7);

    g_assert_cmpint(hacmd(BUSLOGIC_CMD_INQUIRE_PCI_INFO, NULL, 0, r, 4), ==, 4);
    g_assert_cmpint(r[0], ==, 6);               /* ISA port disabled */
    g_assert_cmpint(r[1], ==, IRQ_LINE);
    g_assert_true(r[2] & 0x80);

    g_assert_cmpint(hacmd(BUSLOGIC_CMD_INQUIRE_TARGETS, NULL, 0, r, 2), ==, 2);
    g_assert_cmphex(r[0] | r[1] << 8, ==, 0x0005);
    g_assert_cmpint(hacmd(BUSLOGIC_CMD_INQUIRE_DEVICES_0_7, NULL, 0, r, 8), ==, 8);
    g_assert_cmpmem(r, 8, "\x01\x00\x01\x00\x00\x00\x00\x00", 8);
    g_assert_cmpint(hacmd(BUSLOGIC_CMD_INQUIRE_DEVICES_8_15, NULL, 0, r, 8), ==, 8);
    g_assert_cmpmem(r, 8, "\x00\x00\x00\x00\x00\x00\x00\x00", 8);
    g_assert_cmpint(hacmd1(BUSLOGIC_CMD_INQUIRE_SYNC_PERIOD, 16, r, 16), ==, 16);

    /* AutoSCSI in local RAM: the adapter's ID at byte 14; store + fetch. */
    uint8_t fetch[2] = { BUSLOGIC_AUTOSCSI_OFFSET, 64 };
    g_assert_cmpint(hacmd(BUSLOGIC_CMD_FETCH_LOCAL_RAM, fetch, 2, r, 64), ==, 64);
    g_assert_cmpint(r[14], ==, 7);
    uint8_t store[5] = { 200, 3, 0xde, 0xad, 0x42 };
    g_assert_cmpint(hacmd(BUSLOGIC_CMD_STORE_LOCAL_RAM, store, 5, NULL, 0), ==, 0);
    uint8_t fetch2[2] = { 199, 5 };
    g_assert_cmpint(hacmd(BUSLOGIC_CMD_FETCH_LOCAL_RAM, fetch2, 2, r, 5), ==, 5);
    g_assert_cmpmem(r, 5, "\x00\xde\xad\x42\x00", 5);

    /* Echo, test interrupt, Modify I/O Address (no completion interrupt). */
    g_assert_cmpint(hacmd1(BUSLOGIC_CMD_ECHO, 0x5a, r, 1), ==, 1);
    g_assert_cmphex(r[0], ==, 0x5a);
    g_assert_cmpint(hacmd(BUSLOGIC_CMD_TEST_CMDC_INT, NULL, 0, NULL, 0), ==, 0);
    g_assert_cmpint(hacmd1(BUSLOGIC_CMD_MODIFY_IO_ADDRESS, 6, NULL, 0), ==, 0);
    teardown();
}

static void test_invalid_commands(void)
{
    setup();
    uint8_t r[8];
    /* Unknown opcodes, bad parameters. */
    g_assert_cmpint(hacmd(0x03, NULL, 0, r, 8), ==, -1);
    g_assert_cmpint(hacmd(0xff, NULL, 0, r, 8), ==, -1);
    g_assert_cmpint(hacmd1(BUSLOGIC_CMD_STRICT_ROUND_ROBIN, 2, NULL, 0), ==, -1);
    g_assert_cmpint(hacmd1(BUSLOGIC_CMD_SET_CCB_FORMAT, 9, NULL, 0), ==, -1);
    g_assert_cmpint(hacmd1(BUSLOGIC_CMD_MODIFY_IO_ADDRESS, 8, NULL, 0), ==, -1);
    uint8_t zero[5] = { 0, 0, 0, 1, 0 };        /* no mailboxes */
    g_assert_cmpint(hacmd(BUSLOGIC_CMD_INIT_EXT_MAILBOX, zero, 5, NULL, 0), ==, -1);
    g_assert_true(inb(BUSLOGIC_REG_STATUS) & BUSLOGIC_STAT_INIT_REQUIRED);
    /* The next command works. */
    g_assert_cmpint(hacmd(BUSLOGIC_CMD_INQUIRE_BOARD_ID, NULL, 0, r, 4), ==, 4);
    teardown();
}

static void test_interrupt_control(void)
{
    setup();
    /* Interrupts off: the register latches, the line stays low. */
    outb(BUSLOGIC_REG_COMMAND, BUSLOGIC_CMD_DISABLE_INT);
    outb(BUSLOGIC_REG_COMMAND, 0);
    g_assert_cmphex(inb(BUSLOGIC_REG_INTERRUPT), ==,
                    BUSLOGIC_INT_VALID | BUSLOGIC_INT_CMD_COMPLETE);
    g_assert_cmpint(intx(), ==, 0);
    outb(BUSLOGIC_REG_CONTROL, BUSLOGIC_CTRL_INT_RESET);
    outb(BUSLOGIC_REG_COMMAND, BUSLOGIC_CMD_TEST_CMDC_INT);
    g_assert_cmphex(inb(BUSLOGIC_REG_INTERRUPT), ==,
                    BUSLOGIC_INT_VALID | BUSLOGIC_INT_CMD_COMPLETE);
    g_assert_cmpint(intx(), ==, 0);
    /* On again: the pending interrupt reaches the line. */
    outb(BUSLOGIC_REG_COMMAND, BUSLOGIC_CMD_DISABLE_INT);
    outb(BUSLOGIC_REG_COMMAND, 1);
    g_assert_cmpint(intx(), ==, 1);
    outb(BUSLOGIC_REG_CONTROL, BUSLOGIC_CTRL_INT_RESET);
    g_assert_cmpint(intx(), ==, 0);
    /* Interrupt Disable in the PCI command register masks INTx too. */
    pci_bus_config_write(bus, PCI_DEVFN(SLOT, 0), PCI_COMMAND,
                         PCI_COMMAND_IO | PCI_COMMAND_MASTER | 0x400, 2);
    outb(BUSLOGIC_REG_COMMAND, BUSLOGIC_CMD_TEST_CMDC_INT);
    g_assert_cmpint(intx(), ==, 0);
    outb(BUSLOGIC_REG_CONTROL, BUSLOGIC_CTRL_INT_RESET);
    teardown();
}

static void test_ccb_inquiry(void)
{
    setup();
    mbox_init32(4, true);
    uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 36, 0 };
    CcbSpec c = { .opcode = BUSLOGIC_CCB_INITIATOR, .target = 2, .cdb = inq, .cdb_len = 6,
                  .data_len = 36, .data_ptr = DATA_BASE };
    memset(ram + DATA_BASE, 0xee, 64);
    run_ccb(4, 0, 0, &c, BUSLOGIC_MBI_OK, BUSLOGIC_HA_OK, SCSI_STATUS_GOOD);
    g_assert_cmphex(ram[DATA_BASE], ==, 0x00);
    g_assert_cmpmem(ram + DATA_BASE + 8, 8, "VMware  ", 8);
    g_assert_cmphex(ram[DATA_BASE + 36], ==, 0xee);
    g_assert_cmpuint(get32(ccb_addr(0) + 4), ==, 36);   /* no residual written */

    /* A second one goes through the next mailboxes (strict round robin). */
    run_ccb(4, 1, 1, &c, BUSLOGIC_MBI_OK, BUSLOGIC_HA_OK, SCSI_STATUS_GOOD);
    /* A mailbox out of turn is not looked at in strict mode ... */
    ccb32_write(2, &c);
    mbo_start(4, 3, ccb_addr(2), BUSLOGIC_MBO_START);
    g_assert_cmphex(mbi(4, 2)[7], ==, BUSLOGIC_MBI_FREE);
    g_assert_cmphex(ram[MBOX_BASE + 8 * 3 + 7], ==, BUSLOGIC_MBO_START);
    /* ... but is once the one in turn is started. */
    ccb32_write(3, &c);
    mbo_start(4, 2, ccb_addr(3), BUSLOGIC_MBO_START);
    mbi_expect(4, 2, ccb_addr(3), BUSLOGIC_MBI_OK, 0, 0);
    mbi_check(4, 3, ccb_addr(2), BUSLOGIC_MBI_OK, 0, 0);
    teardown();
}

/* Without strict round robin the adapter finds started mailboxes anywhere. */
static void test_aggressive_round_robin(void)
{
    setup();
    mbox_init32(8, false);
    uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 36, 0 };
    CcbSpec c = { .opcode = BUSLOGIC_CCB_INITIATOR, .target = 0, .cdb = inq, .cdb_len = 6,
                  .data_len = 36, .data_ptr = DATA_BASE };
    ccb32_write(0, &c);
    mbo_start(8, 5, ccb_addr(0), BUSLOGIC_MBO_START);
    mbi_expect(8, 0, ccb_addr(0), BUSLOGIC_MBI_OK, 0, 0);
    g_assert_cmphex(ram[MBOX_BASE + 8 * 5 + 7], ==, BUSLOGIC_MBO_FREE);
    teardown();
}

static void test_ccb_read_sg(void)
{
    setup();
    mbox_init32(4, true);
    int slot = 0;
    clear_ua(4, &slot, 2);
    /* READ(10) of 5 blocks at LBA 3000 of ID 2 into three segments. */
    uint8_t cdb[10];
    cdb10(cdb, SCSI_READ_10, 3000, 5);
    static const uint32_t seg_len[3] = { 1000, 24, 1536 };
    static const uint32_t seg_addr[3] = { DATA_BASE + 0x3000, DATA_BASE + 0x2000, DATA_BASE };
    for (int i = 0; i < 3; i++) {
        put32(SG_BASE + 8 * i, seg_len[i]);
        put32(SG_BASE + 8 * i + 4, seg_addr[i]);
    }
    memset(ram + DATA_BASE, 0xee, 0x4000);
    CcbSpec c = { .opcode = BUSLOGIC_CCB_INITIATOR_SG, .dir = BUSLOGIC_DIR_IN, .target = 2,
                  .cdb = cdb, .cdb_len = 10, .data_len = 24, .data_ptr = SG_BASE,
                  .sense_len = 18 };
    run_ccb(4, slot, 1, &c, BUSLOGIC_MBI_OK, BUSLOGIC_HA_OK, SCSI_STATUS_GOOD);
    uint64_t off = 3000 * 512;
    for (int i = 0; i < 3; i++) {
        for (uint32_t j = 0; j < seg_len[i]; j++, off++) {
            g_assert_cmphex(ram[seg_addr[i] + j], ==, pattern(2, off));
        }
    }
    g_assert_cmphex(ram[DATA_BASE + 1536], ==, 0xee);   /* nothing past a segment */
    g_assert_cmphex(ram[DATA_BASE + 0x2000 + 24], ==, 0xee);
    teardown();
}

static void test_ccb_write_sg(void)
{
    setup();
    mbox_init32(4, true);
    int slot = 0;
    clear_ua(4, &slot, 0);
    uint8_t cdb[10];
    cdb10(cdb, SCSI_WRITE_10, 77, 2);
    for (int i = 0; i < 1024; i++) {
        ram[DATA_BASE + i] = (uint8_t)(i * 5 + 1);
    }
    /* Two segments, the second first in memory. */
    put32(SG_BASE, 700);
    put32(SG_BASE + 4, DATA_BASE + 324);
    put32(SG_BASE + 8, 324);
    put32(SG_BASE + 12, DATA_BASE);
    CcbSpec c = { .opcode = BUSLOGIC_CCB_INITIATOR_SG, .dir = BUSLOGIC_DIR_OUT, .target = 0,
                  .cdb = cdb, .cdb_len = 10, .data_len = 16, .data_ptr = SG_BASE };
    run_ccb(4, slot, 1, &c, BUSLOGIC_MBI_OK, BUSLOGIC_HA_OK, SCSI_STATUS_GOOD);
    uint64_t size;
    uint8_t *medium = blk_mem_data(mem0, &size);
    g_assert_cmpmem(medium + 77 * 512, 700, ram + DATA_BASE + 324, 700);
    g_assert_cmpmem(medium + 77 * 512 + 700, 324, ram + DATA_BASE, 324);
    g_assert_cmphex(medium[79 * 512], ==, pattern(0, 79 * 512));
    teardown();
}

static void test_ccb_bad_lba(void)
{
    setup();
    mbox_init32(4, true);
    int slot = 0;
    clear_ua(4, &slot, 0);
    uint8_t cdb[10];
    cdb10(cdb, SCSI_READ_10, DISK0_BLOCKS, 1);
    CcbSpec c = { .opcode = BUSLOGIC_CCB_INITIATOR, .target = 0, .cdb = cdb, .cdb_len = 10,
                  .data_len = 512, .data_ptr = DATA_BASE, .sense_len = 18 };
    run_ccb(4, slot, 1, &c, BUSLOGIC_MBI_ERROR, BUSLOGIC_HA_OK,
            SCSI_STATUS_CHECK_CONDITION);
    const uint8_t *s = ram + SENSE_BASE + 128;
    g_assert_cmphex(s[0], ==, 0x70);
    g_assert_cmphex(s[2], ==, SCSI_SENSE_ILLEGAL_REQUEST);
    g_assert_cmphex(s[12], ==, 0x21);
    g_assert_cmphex(s[13], ==, 0x00);
    g_assert_cmphex(s[18], ==, 0xcc);           /* 18 bytes, no more */
    slot++;

    /* Sense length 0 means 14 bytes; 1 means no automatic sense. */
    c.sense_len = 0;
    run_ccb(4, slot++, 2, &c, BUSLOGIC_MBI_ERROR, BUSLOGIC_HA_OK,
            SCSI_STATUS_CHECK_CONDITION);
    s = ram + SENSE_BASE + 256;
    g_assert_cmphex(s[12], ==, 0x21);
    g_assert_cmphex(s[13], ==, 0x00);
    g_assert_cmphex(s[14], ==, 0xcc);
    c.sense_len = 1;
    run_ccb(4, slot++, 3, &c, BUSLOGIC_MBI_ERROR, BUSLOGIC_HA_OK,
            SCSI_STATUS_CHECK_CONDITION);
    g_assert_cmphex(ram[SENSE_BASE + 384], ==, 0xcc);
    /* The target kept it for a REQUEST SENSE. */
    uint8_t rs[6] = { SCSI_REQUEST_SENSE, 0, 0, 0, 18, 0 };
    CcbSpec q = { .opcode = BUSLOGIC_CCB_INITIATOR, .target = 0, .cdb = rs, .cdb_len = 6,
                  .data_len = 18, .data_ptr = DATA_BASE };
    run_ccb(4, slot % 4, 0, &q, BUSLOGIC_MBI_OK, BUSLOGIC_HA_OK, SCSI_STATUS_GOOD);
    g_assert_cmphex(ram[DATA_BASE + 12], ==, 0x21);
    teardown();
}

static void test_selection_timeout(void)
{
    setup();
    mbox_init32(4, true);
    uint8_t tur[16] = { 0 };
    CcbSpec c = { .opcode = BUSLOGIC_CCB_INITIATOR, .target = 3, .cdb = tur, .cdb_len = 6 };
    run_ccb(4, 0, 0, &c, BUSLOGIC_MBI_ERROR, BUSLOGIC_HA_SEL_TIMEOUT, 0);
    c.target = 7;                               /* the adapter itself */
    run_ccb(4, 1, 0, &c, BUSLOGIC_MBI_ERROR, BUSLOGIC_HA_SEL_TIMEOUT, 0);
    c.target = 40;
    run_ccb(4, 2, 0, &c, BUSLOGIC_MBI_ERROR, BUSLOGIC_HA_SEL_TIMEOUT, 0);
    /* Bad CCB opcode, CDB length. */
    c.target = 0;
    c.opcode = 0x07;
    run_ccb(4, 3, 0, &c, BUSLOGIC_MBI_ERROR, BUSLOGIC_HA_BAD_CCB_OPCODE, 0);
    c.opcode = BUSLOGIC_CCB_INITIATOR;
    c.cdb_len = 13;
    run_ccb(4, 0, 0, &c, BUSLOGIC_MBI_ERROR, BUSLOGIC_HA_BAD_PARAMETER, 0);
    teardown();
}

static void test_residual_and_overrun(void)
{
    setup();
    mbox_init32(4, true);
    int slot = 0;
    clear_ua(4, &slot, 0);
    uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 36, 0 };
    /* Residual CCB: 36 of 100 bytes moved, 64 left. */
    CcbSpec c = { .opcode = BUSLOGIC_CCB_INITIATOR_RESID, .target = 0, .cdb = inq,
                  .cdb_len = 6, .data_len = 100, .data_ptr = DATA_BASE };
    run_ccb(4, slot++, 1, &c, BUSLOGIC_MBI_OK, BUSLOGIC_HA_OK, SCSI_STATUS_GOOD);
    g_assert_cmpuint(get32(ccb_addr(1) + 4), ==, 64);
    /* Without residual reporting the field stays and status is OK. */
    c.opcode = BUSLOGIC_CCB_INITIATOR;
    run_ccb(4, slot++, 1, &c, BUSLOGIC_MBI_OK, BUSLOGIC_HA_OK, SCSI_STATUS_GOOD);
    g_assert_cmpuint(get32(ccb_addr(1) + 4), ==, 100);
    /* Overrun: 2 blocks into 512 bytes. */
    uint8_t cdb[10];
    cdb10(cdb, SCSI_READ_10, 0, 2);
    CcbSpec o = { .opcode = BUSLOGIC_CCB_INITIATOR, .target = 0, .cdb = cdb,
                  .cdb_len = 10, .data_len = 512, .data_ptr = DATA_BASE };
    run_ccb(4, slot++, 1, &o, BUSLOGIC_MBI_ERROR, BUSLOGIC_HA_DATA_OVERRUN, 0);
    /* Direction checked as out for a read: nothing moves. */
    memset(ram + DATA_BASE, 0xee, 1024);
    o.dir = BUSLOGIC_DIR_OUT;
    o.data_len = 1024;
    run_ccb(4, slot++ % 4, 1, &o, BUSLOGIC_MBI_ERROR, BUSLOGIC_HA_DATA_OVERRUN, 0);
    g_assert_cmphex(ram[DATA_BASE], ==, 0xee);
    teardown();
}

static void test_abort_and_bdr(void)
{
    setup();
    mbox_init32(4, true);
    int slot = 0;
    clear_ua(4, &slot, 2);
    /* Abort of a CCB that is not running: not found. */
    mbo_start(4, slot, ccb_addr(5), BUSLOGIC_MBO_ABORT);
    mbi_expect(4, slot, ccb_addr(5), BUSLOGIC_MBI_NOT_FOUND, 0, 0);
    slot++;
    /* Bus device reset: the target reports the reset next. */
    CcbSpec b = { .opcode = BUSLOGIC_CCB_BUS_DEVICE_RESET, .target = 2 };
    run_ccb(4, slot++, 1, &b, BUSLOGIC_MBI_OK, BUSLOGIC_HA_OK, 0);
    uint8_t tur[6] = { 0 };
    CcbSpec t = { .opcode = BUSLOGIC_CCB_INITIATOR, .target = 2, .cdb = tur, .cdb_len = 6,
                  .sense_len = 18 };
    run_ccb(4, slot++, 2, &t, BUSLOGIC_MBI_ERROR, 0, SCSI_STATUS_CHECK_CONDITION);
    const uint8_t *s = ram + SENSE_BASE + 256;
    g_assert_cmphex(s[2], ==, SCSI_SENSE_UNIT_ATTENTION);
    g_assert_cmphex(s[12] << 8 | s[13], ==, SCSI_ASC_BUS_DEVICE_RESET);
    /* An unknown action code. */
    slot %= 4;
    mbo_start(4, slot, ccb_addr(5), 0x07);
    mbi_expect(4, slot, ccb_addr(5), BUSLOGIC_MBI_ERROR, BUSLOGIC_HA_BAD_MBO_ACTION, 0);
    teardown();
}

/* A hard reset resets the SCSI bus: the targets report it. */
static void test_bus_reset_unit_attention(void)
{
    setup();
    mbox_init32(4, true);
    int slot = 0;
    clear_ua(4, &slot, 0);
    outb(BUSLOGIC_REG_CONTROL, BUSLOGIC_CTRL_HARD_RESET);
    while (inb(BUSLOGIC_REG_STATUS) & BUSLOGIC_STAT_DIAG_ACTIVE) {
    }
    mbox_init32(4, true);
    uint8_t tur[6] = { 0 };
    CcbSpec t = { .opcode = BUSLOGIC_CCB_INITIATOR, .target = 0, .cdb = tur, .cdb_len = 6,
                  .sense_len = 18 };
    run_ccb(4, 0, 0, &t, BUSLOGIC_MBI_ERROR, 0, SCSI_STATUS_CHECK_CONDITION);
    g_assert_cmphex(ram[SENSE_BASE + 12] << 8 | ram[SENSE_BASE + 13], ==, SCSI_ASC_BUS_RESET);
    run_ccb(4, 1, 0, &t, BUSLOGIC_MBI_OK, 0, SCSI_STATUS_GOOD);
    teardown();
}

/* The next incoming mailbox is still taken: the adapter waits for it. */
static void test_inbox_full(void)
{
    setup();
    mbox_init32(2, true);
    uint8_t inq[6] = { SCSI_INQUIRY, 0, 0, 0, 36, 0 };
    CcbSpec c = { .opcode = BUSLOGIC_CCB_INITIATOR, .target = 0, .cdb = inq, .cdb_len = 6,
                  .data_len = 36, .data_ptr = DATA_BASE };
    mbi(2, 0)[7] = BUSLOGIC_MBI_OK;             /* not yet taken by the driver */
    ccb32_write(0, &c);
    mbo_start(2, 0, ccb_addr(0), BUSLOGIC_MBO_START);
    g_assert_cmphex(ram[MBOX_BASE + 7], ==, BUSLOGIC_MBO_START);    /* left alone */
    g_assert_cmphex(inb(BUSLOGIC_REG_INTERRUPT), ==, 0);
    vclock_advance(1000000);
    g_assert_cmphex(ram[MBOX_BASE + 7], ==, BUSLOGIC_MBO_START);
    /* The driver frees it; the adapter comes back by itself. */
    mbi(2, 0)[7] = BUSLOGIC_MBI_FREE;
    vclock_advance(1000000);
    g_assert_cmphex(ram[MBOX_BASE + 7], ==, BUSLOGIC_MBO_FREE);
    mbi_expect(2, 0, ccb_addr(0), BUSLOGIC_MBI_OK, 0, 0);
    teardown();
}

/* Legacy 24-bit mailboxes and CCBs (Initialize Mailbox, command 0x01). */
static void test_mailbox_24bit(void)
{
    setup();
    uint8_t p[4] = { 2, (MBOX_BASE >> 16) & 0xff, (MBOX_BASE >> 8) & 0xff, MBOX_BASE & 0xff };
    memset(ram + MBOX_BASE, 0, 16);
    g_assert_cmpint(hacmd(BUSLOGIC_CMD_INIT_MAILBOX, p, 4, NULL, 0), ==, 0);
    g_assert_false(inb(BUSLOGIC_REG_STATUS) & BUSLOGIC_STAT_INIT_REQUIRED);
    g_assert_cmpint(hacmd1(BUSLOGIC_CMD_STRICT_ROUND_ROBIN, 1, NULL, 0), ==, 0);

    /* CCB: READ(10) LBA 10 of ID 2, one block, data checked in. */
    uint32_t a = ccb_addr(0);
    memset(ram + a, 0, 64);
    ram[a] = BUSLOGIC_CCB_INITIATOR;
    ram[a + 1] = 2 << 5 | 0x08;                 /* target 2, in, LUN 0 */
    ram[a + 2] = 10;
    ram[a + 3] = 14;
    ram[a + 4] = 0; ram[a + 5] = 0x02; ram[a + 6] = 0x00;   /* 512 bytes, MSB first */
    ram[a + 7] = (DATA_BASE >> 16) & 0xff;
    ram[a + 8] = (DATA_BASE >> 8) & 0xff;
    ram[a + 9] = DATA_BASE & 0xff;
    cdb10(ram + a + 18, SCSI_READ_10, 10, 1);
    for (int round = 0; round < 2; round++) {
        /* Mailbox: action, CCB address MSB first. */
        ram[MBOX_BASE + 4 * round + 1] = a >> 16;
        ram[MBOX_BASE + 4 * round + 2] = a >> 8;
        ram[MBOX_BASE + 4 * round + 3] = a & 0xff;
        ram[MBOX_BASE + 4 * round] = BUSLOGIC_MBO_START;
        outb(BUSLOGIC_REG_COMMAND, BUSLOGIC_CMD_START_MAILBOX);
        g_assert_cmphex(ram[MBOX_BASE + 4 * round], ==, BUSLOGIC_MBO_FREE);
        uint8_t *in = ram + MBOX_BASE + 8 + 4 * round;
        g_assert_cmphex((uint32_t)in[1] << 16 | in[2] << 8 | in[3], ==, a);
        if (round == 0) {
            /* Power-on unit attention; the sense follows the CDB. */
            g_assert_cmphex(in[0], ==, BUSLOGIC_MBI_ERROR);
            g_assert_cmphex(ram[a + 15], ==, SCSI_STATUS_CHECK_CONDITION);
            g_assert_cmphex(ram[a + 18 + 10 + 2], ==, SCSI_SENSE_UNIT_ATTENTION);
            g_assert_cmphex(ram[a + 18 + 10 + 12], ==, 0x29);
        } else {
            g_assert_cmphex(in[0], ==, BUSLOGIC_MBI_OK);
            for (int i = 0; i < 512; i++) {
                g_assert_cmphex(ram[DATA_BASE + i], ==, pattern(2, 10 * 512 + i));
            }
        }
        in[0] = BUSLOGIC_MBI_FREE;
        outb(BUSLOGIC_REG_CONTROL, BUSLOGIC_CTRL_INT_RESET);
    }
    teardown();
}

static void test_vmstate(void)
{
    setup();
    mbox_init32(4, true);
    int slot = 0;
    clear_ua(4, &slot, 0);
    g_assert_cmpint(slot, ==, 1);
    g_assert_cmpint(hacmd1(BUSLOGIC_CMD_MODIFY_IO_ADDRESS, 7, NULL, 0), ==, 0);
    /* A command half way through its reply: Inquire Board ID, 2 of 4 read. */
    outb(BUSLOGIC_REG_COMMAND, BUSLOGIC_CMD_INQUIRE_BOARD_ID);
    g_assert_cmpint(inb(BUSLOGIC_REG_DATA_IN), ==, 'A');
    g_assert_cmpint(inb(BUSLOGIC_REG_DATA_IN), ==, 'A');

    /* The adapter's section and its PCI function's, as the PC saves them. */
    GByteArray *out = g_byte_array_new(), *pci = g_byte_array_new();
    GError *err = NULL;
    g_assert_cmpint(vmstate_save_fields(out, &buslogic_vmstate, bl, &err), ==, 0);
    g_assert_cmpint(vmstate_save_fields(pci, &pci_device_vmstate, &bl->pci, &err), ==, 0);
    buslogic_free(bl);

    /* A new adapter with the same disks takes the state. */
    bl = buslogic_new(0);
    adapter_attach_disks(bl);
    g_assert_cmpint(buslogic_plug(bl, bus, PCI_DEVFN(SLOT, 0)), ==, 0);
    g_assert_cmpint(vmstate_load_fields(out->data, out->len, 1, &buslogic_vmstate, bl,
                                        "buslogic", &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(vmstate_load_fields(pci->data, pci->len, 1, &pci_device_vmstate,
                                        &bl->pci, "pci.10.0", &err), ==, 0);
    g_byte_array_unref(pci);
    /* The BARs are mapped again from the loaded config space. */
    g_assert_cmpint(inb(BUSLOGIC_REG_DATA_IN), ==, '5');
    g_assert_cmpint(inb(BUSLOGIC_REG_DATA_IN), ==, '0');
    g_assert_true(inb(BUSLOGIC_REG_INTERRUPT) & BUSLOGIC_INT_CMD_COMPLETE);
    g_assert_cmpint(intx(), ==, 1);
    outb(BUSLOGIC_REG_CONTROL, BUSLOGIC_CTRL_INT_RESET);
    uint8_t r[4];
    g_assert_cmpint(hacmd(BUSLOGIC_CMD_INQUIRE_PCI_INFO, NULL, 0, r, 4), ==, 4);
    g_assert_cmpint(r[0], ==, 7);
    /* The mailbox position went along: the next CCB is taken from slot 1,
     * and the target's unit attention stays consumed. */
    uint8_t tur[6] = { 0 };
    CcbSpec t = { .opcode = BUSLOGIC_CCB_INITIATOR, .target = 0, .cdb = tur, .cdb_len = 6 };
    run_ccb(4, 1, 0, &t, BUSLOGIC_MBI_OK, 0, SCSI_STATUS_GOOD);

    /* Another set of disks refuses the state. */
    buslogic_free(bl);
    bl = buslogic_new(0);
    ScsiDiskConfig c0 = { .name = "disk0" };
    buslogic_attach(bl, 0, blk0, &c0);
    g_assert_cmpint(buslogic_plug(bl, bus, PCI_DEVFN(SLOT, 0)), ==, 0);
    g_assert_cmpint(vmstate_load_fields(out->data, out->len, 1, &buslogic_vmstate, bl,
                                        "buslogic", &err), <, 0);
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_byte_array_unref(out);
    teardown();
}

static void test_attach_errors(void)
{
    BusLogic *s = buslogic_new(1);
    ScsiDiskConfig c = { .name = "x" };
    g_assert_cmpint(buslogic_attach(s, 7, NULL, &c), ==, -EINVAL);
    g_assert_cmpint(buslogic_attach(s, 16, NULL, &c), ==, -EINVAL);
    g_assert_cmpint(buslogic_attach(s, -1, NULL, &c), ==, -EINVAL);
    c.type = SCSI_TYPE_CDROM;
    g_assert_cmpint(buslogic_attach(s, 5, NULL, &c), ==, 0);
    g_assert_cmpint(buslogic_attach(s, 5, NULL, &c), ==, -EEXIST);
    buslogic_free(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/buslogic/pci-identity", test_pci_identity);
    g_test_add_func("/buslogic/probe-and-reset", test_probe_and_reset);
    g_test_add_func("/buslogic/inquiry-commands", test_inquiry_commands);
    g_test_add_func("/buslogic/invalid-commands", test_invalid_commands);
    g_test_add_func("/buslogic/interrupt-control", test_interrupt_control);
    g_test_add_func("/buslogic/ccb-inquiry", test_ccb_inquiry);
    g_test_add_func("/buslogic/aggressive-round-robin", test_aggressive_round_robin);
    g_test_add_func("/buslogic/ccb-read-sg", test_ccb_read_sg);
    g_test_add_func("/buslogic/ccb-write-sg", test_ccb_write_sg);
    g_test_add_func("/buslogic/ccb-bad-lba", test_ccb_bad_lba);
    g_test_add_func("/buslogic/selection-timeout", test_selection_timeout);
    g_test_add_func("/buslogic/residual-and-overrun", test_residual_and_overrun);
    g_test_add_func("/buslogic/abort-and-bdr", test_abort_and_bdr);
    g_test_add_func("/buslogic/bus-reset-unit-attention", test_bus_reset_unit_attention);
    g_test_add_func("/buslogic/inbox-full", test_inbox_full);
    g_test_add_func("/buslogic/mailbox-24bit", test_mailbox_24bit);
    g_test_add_func("/buslogic/vmstate", test_vmstate);
    g_test_add_func("/buslogic/attach-errors", test_attach_errors);
    return g_test_run();
}
