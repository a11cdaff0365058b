/*
 * The PC's self-description for its guest: the e820 map (hw/e820.c), the
 * ACPI tables (hw/acpi-tables.c) and the fw_cfg items firmware reads (QEMU
 * docs/specs/fw_cfg.rst; the keys of QEMU's fw_cfg_keys.h).
 *
 * Without -bios nothing runs before the kernel, so the tables are placed
 * directly at 0xe0000 (see include/hw/pc-firmware.h).  With -bios they go
 * to fw_cfg as "etc/acpi/rsdp", "etc/acpi/tables" and the
 * "etc/table-loader" script, and the firmware places them itself.
 */
#include <errno.h>
#include <string.h>
#include "hw/pc-firmware.h"
#include "hw/fw-cfg.h"
#include "hw/hpet.h"
#include "log.h"

static void pc_firmware_write_acpi(Machine *m)
{
    PCFirmware *fw = m->pc->firmware;
    uint8_t *area = m->ram + PC_ACPI_AREA;
    memset(area, 0, PC_ACPI_AREA_SIZE);
    acpi_tables_place(fw->acpi, PC_ACPI_RSDP_ADDR, PC_ACPI_TABLES_ADDR,
                      area + (PC_ACPI_RSDP_ADDR - PC_ACPI_AREA),
                      area + (PC_ACPI_TABLES_ADDR - PC_ACPI_AREA));
}

static void pc_firmware_reset(void *opaque)
{
    Machine *m = opaque;
    if (m->pc->fw_cfg) {
        fw_cfg_reset(m->pc->fw_cfg);
    }
    if (m->pc->firmware->acpi_rsdp) {
        pc_firmware_write_acpi(m);      /* the guest may have written there */
    }
}

static void pc_firmware_update_bootorder(Machine *m)
{
    PCFirmware *fw = m->pc->firmware;
    fw_cfg_add_file(m->pc->fw_cfg, "bootorder", fw->bootorder->str,
                    fw->bootorder->len);
}

void pc_firmware_add_boot_device(Machine *m, const char *of_path)
{
    g_string_append_printf(m->pc->firmware->bootorder, "%s\n", of_path);
    pc_firmware_update_bootorder(m);
}

int pc_firmware_init(Machine *m, GError **errp)
{
    MachineConfig *cfg = m->cfg;
    FwCfg *f = m->pc->fw_cfg;
    PCFirmware *fw = g_new0(PCFirmware, 1);
    AcpiConfig acfg;
    uint8_t buf[E820_MAX_ENTRIES * E820_ENTRY_SIZE];

    m->pc->firmware = fw;
    fw->bootorder = g_string_new(NULL);
    e820_build_pc(&fw->e820, m->below_4g, m->above_4g, !cfg->bios);
    e820_build_pc_firmware(&fw->fw_e820, m->below_4g, m->above_4g);
    acpi_config_pc(&acfg, m->ncpus);
    if (m->pc->hpet) {
        acfg.hpet_addr = HPET_DEFAULT_BASE;
        acfg.hpet_block_id = (uint32_t)hpet_reg_read(m->pc->hpet, HPET_REG_CAP);
        acfg.hpet_min_tick = HPET_MIN_PERIOD_NS / HPET_TICK_NS;
    }
    fw->acpi = acpi_tables_build(&acfg);

    if (!cfg->bios) {
        if (fw->acpi->blob[ACPI_BLOB_TABLES]->len >
            PC_ACPI_AREA_SIZE - (PC_ACPI_TABLES_ADDR - PC_ACPI_AREA)) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                        "ACPI tables (%u bytes) do not fit below 1 MiB",
                        fw->acpi->blob[ACPI_BLOB_TABLES]->len);
            return -ENOSPC;
        }
        /* The host bytes behind the 640K-1M hole are part of the RAM
         * mapping and otherwise unused. */
        int r = as_add_ram(m->as, "acpi", PC_ACPI_AREA, PC_ACPI_AREA_SIZE,
                           m->ram + PC_ACPI_AREA);
        if (r < 0) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                        "cannot map the ACPI tables at 0x%llx: %s",
                        PC_ACPI_AREA, g_strerror(-r));
            return r;
        }
        fw->acpi_rsdp = PC_ACPI_RSDP_ADDR;
        pc_firmware_write_acpi(m);
    } else {
        const AcpiTables *t = fw->acpi;
        fw_cfg_add_file(f, ACPI_FILE_RSDP, t->blob[ACPI_BLOB_RSDP]->data,
                        t->blob[ACPI_BLOB_RSDP]->len);
        fw_cfg_add_file(f, ACPI_FILE_TABLES, t->blob[ACPI_BLOB_TABLES]->data,
                        t->blob[ACPI_BLOB_TABLES]->len);
        fw_cfg_add_file(f, ACPI_FILE_LOADER, t->loader->data, t->loader->len);
    }

    /* The machine, as firmware asks for it. */
    static const uint8_t uuid[16];
    fw_cfg_add_i16(f, FW_CFG_NB_CPUS, m->ncpus);
    fw_cfg_add_i16(f, FW_CFG_MAX_CPUS, m->ncpus);
    fw_cfg_add_i64(f, FW_CFG_RAM_SIZE, m->ram_size);
    fw_cfg_add_i16(f, FW_CFG_NOGRAPHIC, cfg->nographic);
    fw_cfg_add_bytes(f, FW_CFG_UUID, uuid, sizeof(uuid));
    fw_cfg_add_i16(f, FW_CFG_BOOT_DEVICE,
                   cfg->boot_order && cfg->boot_order[0] ? cfg->boot_order[0] : 'c');
    fw_cfg_add_i16(f, FW_CFG_BOOT_MENU, 0);
    fw_cfg_add_i32(f, FW_CFG_IRQ0_OVERRIDE, 1);
    size_t n = e820_to_bytes(&fw->fw_e820, buf, sizeof(buf));
    fw_cfg_add_file(f, "etc/e820", buf, n);
    pc_firmware_update_bootorder(m);

    machine_add_reset_hook(m, pc_firmware_reset, m);
    return 0;
}

void pc_firmware_free(Machine *m)
{
    PCFirmware *fw = m->pc ? m->pc->firmware : NULL;
    if (!fw) {
        return;
    }
    if (fw->acpi_rsdp) {
        as_remove(m->as, PC_ACPI_AREA);
    }
    acpi_tables_free(fw->acpi);
    g_string_free(fw->bootorder, TRUE);
    pc_kernel_files_free(fw->kernel_files);
    g_free(fw);
    m->pc->firmware = NULL;
}
