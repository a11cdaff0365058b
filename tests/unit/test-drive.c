/*
 * Drive configuration (include/drive.h): -drive parsing, slots and their
 * defaults, the checks between options, the command line replacing a
 * .cfg's drive, and a .cfg's ideN:M keys mapped onto drives
 * (compat-esx/cfg-drive.c).
 */
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "esx-cfg.h"
#include "machine.h"

static void parse_ok(const char *spec, MachineDrive *d)
{
    GError *err = NULL;
    if (machine_drive_parse(spec, d, &err) < 0) {
        g_error("%s: %s", spec, err->message);
    }
}

static void parse_err(const char *spec, const char *msg)
{
    GError *err = NULL;
    MachineDrive d;
    g_assert_cmpint(machine_drive_parse(spec, &d, &err), <, 0);
    g_assert_cmpstr(err->message, ==, msg);
    g_error_free(err);
}

static void test_parse(void)
{
    MachineDrive d;

    parse_ok("file=a,,b.img,if=scsi,bus=1,unit=3,media=cdrom,format=raw,"
             "readonly=on,id=cd-1", &d);
    g_assert_cmpstr(d.file, ==, "a,b.img");
    g_assert_cmpint(d.iface, ==, DRIVE_IF_SCSI);
    g_assert_cmpint(d.bus, ==, 1);
    g_assert_cmpint(d.unit, ==, 3);
    g_assert_cmpint(d.index, ==, -1);
    g_assert_cmpint(d.media, ==, DRIVE_MEDIA_CDROM);
    g_assert_cmpstr(d.format, ==, "raw");
    g_assert_true(d.read_only);
    g_assert_cmpstr(d.id, ==, "cd-1");
    machine_drive_clear(&d);

    parse_ok("disk.img,mode=undoable,on-poweroff=discard,index=2", &d);
    g_assert_cmpstr(d.file, ==, "disk.img");
    g_assert_cmpint(d.iface, ==, DRIVE_IF_IDE);
    g_assert_cmpint(d.mode, ==, BLK_MODE_UNDOABLE);
    g_assert_cmpint(d.on_poweroff, ==, DRIVE_POWEROFF_DISCARD);
    g_assert_cmpint(d.index, ==, 2);
    machine_drive_clear(&d);

    parse_ok("", &d);
    g_assert_null(d.file);
    g_assert_cmpint(d.on_poweroff, ==, DRIVE_POWEROFF_ASK);
    machine_drive_clear(&d);

    parse_err("file=", "file=: empty file name");
    parse_err("file=x,if=sata", "if=sata: unknown interface (ide or scsi)");
    parse_err("file=x,bus=-1", "bus=-1: not a bus number");
    parse_err("file=x,unit=1x", "unit=1x: not a unit number");
    parse_err("file=x,media=floppy", "media=floppy: unknown media (disk or cdrom)");
    parse_err("file=x,format=qcow2",
              "format=qcow2: unknown format (raw, vmdk, cowd, plain or auto)");
    parse_err("file=x,readonly=maybe", "readonly=maybe: not on or off");
    parse_err("file=x,on-poweroff=later", "on-poweroff=later: not commit, discard, keep or ask");
    parse_err("file=x,id=1a", "id=1a: an id is a letter, then letters, digits, - _ .");
    parse_err("file=x,snapshot=on", "snapshot: unknown drive option");
    parse_err("file=x,junk", "'junk': not KEY=VALUE");
}

static int add(MachineConfig *cfg, const char *spec, int replace_below, char **msg)
{
    MachineDrive d;
    GError *err = NULL;
    parse_ok(spec, &d);
    int r = machine_config_add_drive(cfg, &d, replace_below, &err);
    machine_drive_clear(&d);
    if (r < 0) {
        *msg = g_strdup(err->message);
        g_error_free(err);
    }
    return r;
}

static void test_slots(void)
{
    MachineConfig cfg;
    char *msg = NULL;
    machine_config_init(&cfg);

    /* First free units in order; ids from the slot and the media. */
    g_assert_cmpint(add(&cfg, "file=a", 0, &msg), ==, 0);
    g_assert_cmpint(add(&cfg, "file=b", 0, &msg), ==, 0);
    g_assert_cmpint(add(&cfg, "file=c,media=cdrom", 0, &msg), ==, 0);
    g_assert_cmpint(cfg.ndrives, ==, 3);
    g_assert_cmpstr(cfg.drives[0].id, ==, "ide0-hd0");
    g_assert_cmpstr(cfg.drives[1].id, ==, "ide0-hd1");
    g_assert_cmpstr(cfg.drives[2].id, ==, "ide1-cd0");
    g_assert_true(cfg.drives[2].read_only);
    /* index=3 is bus 1 unit 1; then nothing is free. */
    g_assert_cmpint(add(&cfg, "file=d,index=3", 0, &msg), ==, 0);
    g_assert_cmpint(cfg.drives[3].bus, ==, 1);
    g_assert_cmpint(cfg.drives[3].unit, ==, 1);
    g_assert_cmpint(add(&cfg, "file=e", 0, &msg), <, 0);
    g_assert_cmpstr(msg, ==, "e: no free if=ide unit left");
    g_free(msg);
    /* A taken slot is an error ... */
    g_assert_cmpint(add(&cfg, "file=f,bus=0,unit=1", 0, &msg), <, 0);
    g_assert_cmpstr(msg, ==, "f: if=ide bus 0 unit 1 already holds b");
    g_free(msg);
    /* ... unless it came from the part of the list being overridden. */
    g_assert_cmpint(add(&cfg, "file=f,bus=0,unit=1,mode=undoable", 2, &msg), ==, 0);
    g_assert_cmpint(cfg.ndrives, ==, 4);
    g_assert_cmpstr(cfg.drives[1].file, ==, "f");
    g_assert_cmpint(cfg.drives[1].mode, ==, BLK_MODE_UNDOABLE);

    /* SCSI: unit 7 is the adapter's; the first free skips it. */
    g_assert_cmpint(add(&cfg, "file=s,if=scsi,unit=7", 0, &msg), <, 0);
    g_assert_cmpstr(msg, ==, "unit=7: if=scsi has units 0 to 15 except 7 (the adapter)");
    g_free(msg);
    for (int i = 0; i < 8; i++) {
        g_assert_cmpint(add(&cfg, "file=s,if=scsi,bus=2", 0, &msg), ==, 0);
    }
    g_assert_cmpint(cfg.drives[cfg.ndrives - 1].unit, ==, 8);
    g_assert_cmpstr(cfg.drives[cfg.ndrives - 1].id, ==, "scsi2-hd8");
    g_assert_cmpint(add(&cfg, "file=s,if=scsi,index=17", 0, &msg), ==, 0);
    g_assert_cmpint(cfg.drives[cfg.ndrives - 1].bus, ==, 1);
    g_assert_cmpint(cfg.drives[cfg.ndrives - 1].unit, ==, 1);

    /* The options against each other. */
    struct { const char *spec, *msg; } bad[] = {
        { "file=x,index=1,bus=0", "index=1: give either index= or bus=/unit=, not both" },
        { "file=x,bus=2", "bus=2: if=ide has buses 0 to 1" },
        { "file=x,if=scsi,index=64", "index=64: if=scsi has indexes 0 to 63" },
        { "file=x,media=cdrom,mode=append,if=scsi",
          "x: mode=append: a CD-ROM is read-only, it has no disk mode" },
        { "if=scsi", "if=scsi,bus=0,unit=0: a disk needs file= (only a CD-ROM may be empty)" },
        { "file=x,if=scsi,mode=append,readonly=on",
          "x: readonly=on with mode=append: that mode writes a REDO log" },
        { "file=x,if=scsi,on-poweroff=keep", "x: on-poweroff=keep applies to mode=undoable only" },
        { "file=x,if=scsi,id=ide0-hd0", "id=ide0-hd0: two drives have this id" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_cmpint(add(&cfg, bad[i].spec, 0, &msg), <, 0);
        g_assert_cmpstr(msg, ==, bad[i].msg);
        g_free(msg);
    }
    /* An empty CD-ROM drive is fine. */
    g_assert_cmpint(add(&cfg, "if=scsi,media=cdrom", 0, &msg), ==, 0);
    g_assert_null(cfg.drives[cfg.ndrives - 1].file);
    machine_config_clear(&cfg);
}

static EsxCfg *cfg_parse(const char *text)
{
    GError *err = NULL;
    EsxCfg *c = esx_cfg_parse("/vms/a/vm.cfg", text, strlen(text), &err);
    g_assert_nonnull(c);
    return c;
}

static void test_cfg(void)
{
    MachineConfig mc;
    EsxVmSettings vm = {0};
    GError *err = NULL;
    gchar *dir = g_dir_make_tmp("vmkemu-drive-XXXXXX", NULL);
    gchar *exists = g_build_filename(dir, "pool:data.dsk", NULL);
    g_file_set_contents(exists, "", 0, NULL);

    machine_config_init(&mc);
    gchar *text = g_strdup_printf(
        "ide1:0.present = TRUE\n"
        "ide1:0.fileName = \"cd.iso\"\n"
        "ide1:0.deviceType = \"cdrom-image\"\n"
        "ide0:0.present = TRUE\n"
        "ide0:0.fileName = vmhba1:3:0:2:data.dsk\n"
        "ide0:0.mode = undoable\n"
        "ide0:1.present = TRUE\n"
        "IDE0:1.NAME = /abs/disk.img\n"
        "ide0:1.deviceType = ata-hardDisk\n"
        "ide1:1.present = TRUE\n"
        "ide1:1.deviceType = atapi-cdrom\n"
        "ide1:1.fileName = /dev/cdrom\n"
        "ide1:1.startConnected = FALSE\n");
    EsxCfg *c = cfg_parse(text);
    g_assert_cmpint(esx_cfg_to_machine(c, &mc, &vm, &err), ==, 0);
    g_assert_cmpint(mc.ndrives, ==, 4);
    /* In file order of their present lines. */
    g_assert_cmpstr(mc.drives[0].id, ==, "ide1-cd0");
    g_assert_cmpstr(mc.drives[0].file, ==, "/vms/a/cd.iso");
    g_assert_cmpint(mc.drives[0].media, ==, DRIVE_MEDIA_CDROM);
    g_assert_cmpstr(mc.drives[1].file, ==, "vmhba1:3:0:2:data.dsk");
    g_assert_cmpint(mc.drives[1].mode, ==, BLK_MODE_UNDOABLE);
    g_assert_cmpint(mc.drives[1].on_poweroff, ==, DRIVE_POWEROFF_ASK);
    g_assert_cmpstr(mc.drives[2].file, ==, "/abs/disk.img");
    g_assert_cmpint(mc.drives[2].media, ==, DRIVE_MEDIA_DISK);
    g_assert_cmpstr(mc.drives[3].id, ==, "ide1-cd1");
    g_assert_null(mc.drives[3].file);
    GPtrArray *unknown = esx_cfg_unknown_keys(c);
    g_assert_cmpint(unknown->len, ==, 0);
    g_ptr_array_free(unknown, TRUE);
    esx_cfg_free(c);
    g_free(text);
    machine_config_clear(&mc);

    /* fsname:file stays an address unless such a file is beside the cfg. */
    gchar *cfgpath = g_build_filename(dir, "vm.cfg", NULL);
    const char *t2 = "ide0:0.present = TRUE\nide0:0.fileName = pool:data.dsk\n"
                     "ide0:1.present = TRUE\nide0:1.fileName = other:x.dsk\n";
    machine_config_init(&mc);
    c = esx_cfg_parse(cfgpath, t2, strlen(t2), &err);
    g_assert_cmpint(esx_cfg_to_machine(c, &mc, &vm, &err), ==, 0);
    g_assert_cmpstr(mc.drives[0].file, ==, exists);
    g_assert_cmpstr(mc.drives[1].file, ==, "other:x.dsk");
    esx_cfg_free(c);
    machine_config_clear(&mc);

    /* Errors name the file and the line. */
    struct { const char *text, *msg; } bad[] = {
        { "ide0:0.present = TRUE\nide0:0.fileName = a\nide0:0.deviceType = tape\n",
          "/vms/a/vm.cfg:3: ide0:0.deviceType = tape: not a device type (ata-hardDisk, disk, "
          "atapi-cdrom, cdrom-image or cdrom-raw)" },
        { "ide0:0.present = TRUE\nide0:0.deviceType = disk\n",
          "/vms/a/vm.cfg: ide0:0 is a present disk without ide0:0.fileName" },
        { "ide1:0.present = TRUE\nide1:0.fileName = a.iso\nide1:0.deviceType = cdrom-raw\n"
          "ide1:0.mode = undoable\n",
          "/vms/a/vm.cfg:4: ide1:0.mode = undoable: a CD-ROM is read-only, it has no disk mode" },
        { "ide0:0.present = TRUE\nide0:0.fileName = a\nide0:0.startConnected = perhaps\n",
          "/vms/a/vm.cfg:3: ide0:0.startConnected = perhaps: not a boolean (TRUE or FALSE)" },
        { "ide2:0.present = TRUE\n", NULL },     /* not an IDE slot: unknown key */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        machine_config_init(&mc);
        c = cfg_parse(bad[i].text);
        int r = esx_cfg_to_machine(c, &mc, &vm, &err);
        if (bad[i].msg) {
            g_assert_cmpint(r, <, 0);
            g_assert_cmpstr(err->message, ==, bad[i].msg);
            g_clear_error(&err);
        } else {
            g_assert_cmpint(r, ==, 0);
            g_assert_cmpint(mc.ndrives, ==, 0);
        }
        esx_cfg_free(c);
        machine_config_clear(&mc);
    }
    /* SCSI disks on an adapter model vmkemu lacks are refused by name. */
    machine_config_init(&mc);
    c = cfg_parse("scsi0.virtualDev = lsilogic\n"
                  "scsi0:1.present = TRUE\nscsi0:1.fileName = a.dsk\nscsi0:1.mode = persistent\n");
    g_assert_cmpint(esx_cfg_to_machine(c, &mc, &vm, &err), <, 0);
    g_assert_true(strstr(err->message, "not available yet") != NULL);
    g_clear_error(&err);
    esx_cfg_free(c);
    machine_config_clear(&mc);

    esx_vm_settings_clear(&vm);
    g_unlink(exists);
    g_rmdir(dir);
    g_free(exists);
    g_free(cfgpath);
    g_free(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/drive/parse", test_parse);
    g_test_add_func("/drive/slots", test_slots);
    g_test_add_func("/drive/cfg", test_cfg);
    return g_test_run();
}
