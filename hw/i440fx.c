/*
 * The 82441FX PMC host bridge at 00:00.0 (8086:1237, class 0x060000).
 * Reference: Intel 440FX PCIset 82441FX PMC / 82442FX DBX datasheet
 * (order 290549), 3.2: PCI configuration registers.
 *
 * Modelled: the IDs, PCICMD/PCISTS reset values (0x0006 / 0x0280), the
 * PAM registers 0x59-0x5f (PAM0 has only its high nibble, bits 5:4; the
 * others bits 5:4 and 1:0: read and write enable per region), the DRB row
 * boundaries 0x60-0x67 preset from the RAM below 4 GiB as firmware would
 * have programmed them, and the SMRAM control register 0x72 (reset 0x02;
 * C_BASE_SEG fixed at 010; setting D_LCK clears D_OPEN and makes D_OPEN and
 * D_LCK read-only until reset).
 *
 * The values are recorded, not acted on: 0xc0000-0xfffff keeps the map the
 * PC gives it (the BIOS ROM, RAM) whatever the PAM registers say, and SMRAM
 * is not separated from normal RAM (there is no SMM).  docs/pci.md.
 */
#include "hw/i440fx.h"

#define I440FX_DRB_UNIT     (8ULL << 20)

static void i440fx_config_write(PciDevice *d, uint32_t addr, uint32_t val,
                                unsigned len, const uint8_t *old)
{
    (void)val;
    if (addr <= I440FX_SMRAM && addr + len > I440FX_SMRAM) {
        uint8_t v = d->config[I440FX_SMRAM];
        if (old[I440FX_SMRAM] & I440FX_SMRAM_D_LCK) {
            /* Locked: D_OPEN and D_LCK stay as they were. */
            v = (v & ~(I440FX_SMRAM_D_OPEN | I440FX_SMRAM_D_LCK)) |
                (old[I440FX_SMRAM] & (I440FX_SMRAM_D_OPEN | I440FX_SMRAM_D_LCK));
        } else if (v & I440FX_SMRAM_D_LCK) {
            v &= ~I440FX_SMRAM_D_OPEN;
        }
        d->config[I440FX_SMRAM] = v;
    }
}

void i440fx_reset(I440fx *s)
{
    PciDevice *d = &s->pci;
    pci_device_reset(d);
    pci_set_word(d->config + PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    for (int i = 0; i < I440FX_PAM_COUNT; i++) {
        d->config[I440FX_PAM0 + i] = 0;
    }
    uint64_t rows = s->ram_below_4g / I440FX_DRB_UNIT;
    for (int i = 0; i < I440FX_DRB_COUNT; i++) {
        d->config[I440FX_DRB0 + i] = rows > 0xff ? 0xff : rows;
    }
    d->config[I440FX_SMRAM] = I440FX_SMRAM_C_BASE_SEG;
}

I440fx *i440fx_new(PciBus *bus, uint64_t ram_below_4g)
{
    I440fx *s = g_new0(I440fx, 1);
    PciDevice *d = &s->pci;

    pci_device_init(d, "i440fx", PCI_VENDOR_INTEL, I440FX_DEVICE_ID,
                    PCI_CLASS_BRIDGE_HOST, I440FX_REVISION);
    d->opaque = s;
    d->config_write = i440fx_config_write;
    pci_set_word(d->config + PCI_STATUS, 0x0280);
    s->ram_below_4g = ram_below_4g;
    d->wmask[I440FX_PAM0] = 0x30;
    for (int i = 1; i < I440FX_PAM_COUNT; i++) {
        d->wmask[I440FX_PAM0 + i] = 0x33;
    }
    for (int i = 0; i < I440FX_DRB_COUNT; i++) {
        d->wmask[I440FX_DRB0 + i] = 0xff;
    }
    d->wmask[I440FX_SMRAM] = I440FX_SMRAM_D_OPEN | I440FX_SMRAM_D_CLS |
                             I440FX_SMRAM_D_LCK | I440FX_SMRAM_G_SMRAME;
    i440fx_reset(s);
    if (pci_bus_add_device(bus, d, I440FX_DEVFN) < 0) {
        g_free(s);
        return NULL;
    }
    return s;
}

void i440fx_free(I440fx *s)
{
    if (s) {
        pci_bus_remove_device(&s->pci);
        g_free(s);
    }
}
