/*
 * -kernel: direct kernel boot.  A file with the Linux setup header ("HdrS")
 * boots by the Linux x86 boot protocol (hw/linux-boot.c); one with a
 * Multiboot header by Multiboot v1 (hw/multiboot.c).  The files are read
 * once and loaded again on every reset.
 *
 * With -bios as well, firmware boots the kernel: a bzImage's pieces are
 * handed over through fw_cfg (the KERNEL_*, SETUP_*, CMDLINE_* and
 * INITRD_* keys, laid out for the 16-bit boot protocol), as QEMU does for
 * its linuxboot option ROM, and the CPU starts at the reset vector.
 */
#include <errno.h>
#include <string.h>
#include "hw/pc-firmware.h"
#include "hw/fw-cfg.h"
#include "hw/linux-boot.h"
#include "hw/multiboot.h"
#include "log.h"

typedef struct PCModule {
    gchar *spec;            /* "file args" as given */
    gchar *data;
    gsize size;
} PCModule;

struct PCKernelFiles {
    gchar *kernel;
    gsize kernel_size;
    bool is_linux;
    gchar *initrd;          /* Linux: the one initrd */
    gsize initrd_size;
    PCModule *mods;         /* Multiboot: the modules */
    int nmods;
};

void pc_kernel_files_free(PCKernelFiles *kf)
{
    if (!kf) {
        return;
    }
    g_free(kf->kernel);
    g_free(kf->initrd);
    for (int i = 0; i < kf->nmods; i++) {
        g_free(kf->mods[i].spec);
        g_free(kf->mods[i].data);
    }
    g_free(kf->mods);
    g_free(kf);
}

static int read_file(const char *opt, const char *path, gchar **data, gsize *len,
                     GError **errp)
{
    GError *err = NULL;
    if (!g_file_get_contents(path, data, len, &err)) {
        g_set_error(errp, G_FILE_ERROR, err->code, "%s: %s", opt, err->message);
        g_error_free(err);
        return -ENOENT;
    }
    return 0;
}

static PCKernelFiles *load_files(Machine *m, GError **errp)
{
    MachineConfig *cfg = m->cfg;
    PCKernelFiles *kf = g_new0(PCKernelFiles, 1);

    if (read_file("-kernel", cfg->kernel, &kf->kernel, &kf->kernel_size, errp) < 0) {
        goto fail;
    }
    const uint8_t *img = (const uint8_t *)kf->kernel;
    kf->is_linux = linux_is_bzimage(img, kf->kernel_size);
    if (!kf->is_linux && multiboot_find_header(img, kf->kernel_size) == -1) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "-kernel %s: not a Multiboot kernel or Linux bzImage", cfg->kernel);
        goto fail;
    }
    if (!cfg->initrd) {
        return kf;
    }
    if (kf->is_linux) {
        if (read_file("-initrd", cfg->initrd, &kf->initrd, &kf->initrd_size, errp) < 0) {
            goto fail;
        }
        return kf;
    }
    gchar **items = multiboot_split_modules(cfg->initrd);
    kf->nmods = g_strv_length(items);
    kf->mods = g_new0(PCModule, kf->nmods);
    for (int i = 0; i < kf->nmods; i++) {
        PCModule *mod = &kf->mods[i];
        mod->spec = g_strdup(items[i]);
        gchar *path = g_strndup(items[i], strcspn(items[i], " "));
        int r = read_file("-initrd", path, &mod->data, &mod->size, errp);
        g_free(path);
        if (r < 0) {
            g_strfreev(items);
            goto fail;
        }
    }
    g_strfreev(items);
    return kf;

fail:
    pc_kernel_files_free(kf);
    return NULL;
}

static int boot_linux(Machine *m, PCKernelFiles *kf, GError **errp)
{
    MachineConfig *cfg = m->cfg;
    PCFirmware *fw = m->pc->firmware;
    LinuxBootArgs args = {
        .kernel_name = cfg->kernel,
        .kernel = (const uint8_t *)kf->kernel, .kernel_size = kf->kernel_size,
        .initrd = (const uint8_t *)kf->initrd, .initrd_size = kf->initrd_size,
        .cmdline = cfg->append,
        .entry_bits = cfg->linux_entry == 64 ? 64 : 32,
        .e820 = &fw->e820,
        .rsdp_addr = fw->acpi_rsdp,
    };

    if (cfg->bios) {
        FwCfg *f = m->pc->fw_cfg;
        LinuxFirmwareBoot fb;
        args.e820 = &fw->fw_e820;
        if (linux_boot_for_firmware(&args, &fb, errp) < 0) {
            return -EINVAL;
        }
        fw_cfg_add_i32(f, FW_CFG_SETUP_ADDR, fb.setup_addr);
        fw_cfg_add_i32(f, FW_CFG_SETUP_SIZE, fb.setup_size);
        fw_cfg_add_bytes(f, FW_CFG_SETUP_DATA, fb.setup, fb.setup_size);
        fw_cfg_add_i32(f, FW_CFG_KERNEL_ADDR, fb.kernel_addr);
        fw_cfg_add_i32(f, FW_CFG_KERNEL_SIZE, fb.kernel_size);
        fw_cfg_add_bytes(f, FW_CFG_KERNEL_DATA, fb.kernel, fb.kernel_size);
        fw_cfg_add_i32(f, FW_CFG_KERNEL_CMDLINE, fb.cmdline_addr);
        fw_cfg_add_i32(f, FW_CFG_CMDLINE_ADDR, fb.cmdline_addr);
        fw_cfg_add_i32(f, FW_CFG_CMDLINE_SIZE, fb.cmdline_size);
        fw_cfg_add_bytes(f, FW_CFG_CMDLINE_DATA, fb.cmdline, fb.cmdline_size);
        fw_cfg_add_i32(f, FW_CFG_INITRD_ADDR, fb.initrd_addr);
        fw_cfg_add_i32(f, FW_CFG_INITRD_SIZE, fb.initrd_size);
        fw_cfg_add_bytes(f, FW_CFG_INITRD_DATA, kf->initrd, fb.initrd_size);
        linux_firmware_boot_clear(&fb);
        x86_regs_reset(&m->boot_regs);
        return 0;
    }

    LinuxBootLayout l;
    if (linux_boot_load(m->as, &args, &m->boot_regs, &l, errp) < 0) {
        return -EINVAL;
    }
    vlog("Linux boot (%d-bit entry): kernel 0x%" G_GINT64_MODIFIER "x (+%" G_GUINT64_FORMAT
         "), initrd 0x%" G_GINT64_MODIFIER "x (+%" G_GUINT64_FORMAT "), entry 0x%"
         G_GINT64_MODIFIER "x", args.entry_bits, l.kernel_addr, l.kernel_size,
         l.initrd_addr, l.initrd_size, l.entry);
    return 0;
}

static int boot_multiboot(Machine *m, PCKernelFiles *kf, GError **errp)
{
    MachineConfig *cfg = m->cfg;
    if (cfg->bios) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "-kernel %s: a Multiboot kernel boots directly; drop -bios",
                    cfg->kernel);
        return -EINVAL;
    }
    MultibootModule *mods = g_new0(MultibootModule, kf->nmods + 1);
    for (int i = 0; i < kf->nmods; i++) {
        mods[i] = (MultibootModule){ (const uint8_t *)kf->mods[i].data,
                                     kf->mods[i].size, kf->mods[i].spec };
    }
    /* Like GRUB and QEMU: the kernel's own path first. */
    gchar *cmdline = cfg->append && *cfg->append ?
                     g_strdup_printf("%s %s", cfg->kernel, cfg->append) :
                     g_strdup(cfg->kernel);
    MultibootArgs args = {
        .kernel_name = cfg->kernel,
        .kernel = (const uint8_t *)kf->kernel, .kernel_size = kf->kernel_size,
        .cmdline = cmdline, .mods = mods, .nmods = kf->nmods,
        .e820 = &m->pc->firmware->e820,
    };
    MultibootLayout l;
    int r = multiboot_load(m->as, &args, &m->boot_regs, &l, errp);
    if (r == 0) {
        vlog("Multiboot: image 0x%x-0x%x, entry 0x%x, info 0x%x, %d module(s)",
             l.load_start, l.load_end, l.entry, l.info, kf->nmods);
    }
    g_free(cmdline);
    g_free(mods);
    return r;
}

int pc_kernel_load(Machine *m, GError **errp)
{
    PCFirmware *fw = m->pc ? m->pc->firmware : NULL;
    if (!fw) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "-kernel: the machine has no firmware tables to boot with");
        return -EINVAL;
    }
    if (!fw->kernel_files) {
        fw->kernel_files = load_files(m, errp);
        if (!fw->kernel_files) {
            return -EINVAL;
        }
    }
    PCKernelFiles *kf = fw->kernel_files;
    return kf->is_linux ? boot_linux(m, kf, errp) : boot_multiboot(m, kf, errp);
}
