/*
 * .cfg parsing and mapping (compat-esx/cfg-file.c, compat-esx/cfg-machine.c).
 */
#include <string.h>
#include <glib.h>
#include "esx-cfg.h"

static EsxCfg *parse(const char *text, GError **err)
{
    return esx_cfg_parse("/vms/a/vm.cfg", text, strlen(text), err);
}

static void test_syntax(void)
{
    GError *err = NULL;
    EsxCfg *c = parse("# comment\n"
                      "displayName = \"Red Hat # 6.2\"   # trailing\n"
                      "  MemSize=64\r\n"
                      "\n"
                      "guestOS = linux\n"
                      "empty = \"\"\n"
                      "memsize = 96\n", &err);
    g_assert_no_error(err);
    g_assert_cmpstr(esx_cfg_get(c, "displayname"), ==, "Red Hat # 6.2");
    g_assert_cmpstr(esx_cfg_get(c, "MEMSIZE"), ==, "96");       /* last wins */
    g_assert_cmpint(esx_cfg_lookup(c, "memsize")->line, ==, 7);
    g_assert_cmpstr(esx_cfg_get(c, "guestOS"), ==, "linux");
    g_assert_cmpstr(esx_cfg_get(c, "empty"), ==, "");
    g_assert_null(esx_cfg_get(c, "absent"));
    esx_cfg_free(c);
}

static void expect_error(const char *text, const char *message)
{
    GError *err = NULL;
    EsxCfg *c = parse(text, &err);
    g_assert_null(c);
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, message);
    g_error_free(err);
}

static void test_syntax_errors(void)
{
    expect_error("memsize 64\n", "/vms/a/vm.cfg:1: expected 'key = value'");
    expect_error("a = 1\n= 2\n", "/vms/a/vm.cfg:2: expected a key (letters, digits, '.', ':', '_')");
    expect_error("a = \"open\n", "/vms/a/vm.cfg:1: unterminated quoted value");
    expect_error("a = \"x\" y\n", "/vms/a/vm.cfg:1: unexpected text after the value");
}

static void test_booleans(void)
{
    bool b;
    g_assert_true(esx_cfg_parse_bool("TRUE", &b) && b);
    g_assert_true(esx_cfg_parse_bool("False", &b) && !b);
    g_assert_true(esx_cfg_parse_bool("0", &b) && !b);
    g_assert_false(esx_cfg_parse_bool("maybe", &b));
}

static int map(const char *text, MachineConfig *mc, EsxVmSettings *vm, GError **err)
{
    EsxCfg *c = parse(text, err);
    g_assert_nonnull(c);
    machine_config_init(mc);
    int r = esx_cfg_to_machine(c, mc, vm, err);
    esx_cfg_free(c);
    return r;
}

static void test_mapping_defaults(void)
{
    MachineConfig mc;
    EsxVmSettings vm = {0};
    GError *err = NULL;
    g_assert_cmpint(map("memsize = 256\nvmkemu.kernel = bzImage\n"
                        "vmkemu.cmdline = \"console=ttyS0 quiet\"\n"
                        "vmkemu.accel = EMU\n", &mc, &vm, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpuint(mc.ram_size, ==, 256ULL << 20);
    g_assert_cmpuint(vm.mem_min_mb, ==, 128);        /* half of memsize */
    g_assert_cmpuint(vm.mem_shares, ==, 2560);       /* 10 x memsize */
    g_assert_cmpuint(vm.cpu_shares, ==, 1000);
    g_assert_cmpstr(vm.cpu_affinity, ==, "all");
    g_assert_cmpstr(vm.suspend_dir, ==, "/vms/a");
    g_assert_cmpstr(vm.log_filename, ==, "/vms/a/vmware.log");
    g_assert_true(vm.sleep_when_idle);
    g_assert_true(vm.time_sync_resume_disk);
    g_assert_false(vm.resume_repeatable);
    g_assert_cmpint(vm.remote_display_depth, ==, 8);
    g_assert_cmpstr(mc.kernel, ==, "/vms/a/bzImage");  /* relative to the cfg */
    g_assert_cmpstr(mc.append, ==, "console=ttyS0 quiet");
    g_assert_cmpstr(mc.accel, ==, "emu");
    machine_config_clear(&mc);
    esx_vm_settings_clear(&vm);
}

static void test_mapping_values(void)
{
    MachineConfig mc;
    EsxVmSettings vm = {0};
    GError *err = NULL;
    g_assert_cmpint(map("memsize = 100\nsched.mem.minsize = 60\nsched.mem.shares = 0\n"
                        "sched.cpu.shares = 100000\nsched.cpu.affinity = 0\n"
                        "suspend.directory = /vmfs/vmhba0:0:0:8\nresume.repeatable = TRUE\n"
                        "machine.id = \"RedHat62VM 148.30.16.24\"\n"
                        "isolation.tools.machine.id.get.disable = TRUE\n"
                        "monitor.SleepWhenIdle = 0\ntime.synchronize.resume.disk = FALSE\n"
                        "log.filename = logs/my.log\nRemoteDisplay.depth = 24\n"
                        "ethernet0.present = FALSE\nethernet0.address = 00:50:56:3F:FF:FF\n",
                        &mc, &vm, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpuint(vm.mem_min_mb, ==, 60);
    g_assert_cmpuint(vm.mem_shares, ==, 0);
    g_assert_cmpuint(vm.cpu_shares, ==, 100000);
    g_assert_cmpstr(vm.suspend_dir, ==, "/vmfs/vmhba0:0:0:8");
    g_assert_true(vm.resume_repeatable);
    g_assert_cmpstr(vm.machine_id, ==, "RedHat62VM 148.30.16.24");
    g_assert_true(vm.machine_id_get_disabled);
    g_assert_false(vm.sleep_when_idle);
    g_assert_false(vm.time_sync_resume_disk);
    g_assert_cmpstr(vm.log_filename, ==, "/vms/a/logs/my.log");
    g_assert_cmpint(vm.remote_display_depth, ==, 24);
    machine_config_clear(&mc);
    esx_vm_settings_clear(&vm);
}

static void expect_map_error(const char *text, const char *message)
{
    MachineConfig mc;
    EsxVmSettings vm = {0};
    GError *err = NULL;
    g_assert_cmpint(map(text, &mc, &vm, &err), <, 0);
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, message);
    g_error_free(err);
    machine_config_clear(&mc);
    esx_vm_settings_clear(&vm);
}

static void test_mapping_errors(void)
{
    expect_map_error("memsize = lots\n",
                     "/vms/a/vm.cfg:1: memsize = lots: not a size in MB from 1 to 65536");
    expect_map_error("memsize = 100\nsched.mem.minsize = 49\n",
                     "/vms/a/vm.cfg:2: sched.mem.minsize = 49: the minimum size must be 50 to 100 MB (50% to 100% of memsize)");
    expect_map_error("memsize = 100\nsched.mem.minsize = 101\n",
                     "/vms/a/vm.cfg:2: sched.mem.minsize = 101: the minimum size must be 50 to 100 MB (50% to 100% of memsize)");
    expect_map_error("sched.mem.shares = 100001\n",
                     "/vms/a/vm.cfg:1: sched.mem.shares = 100001: not a whole number from 0 to 100000");
    expect_map_error("sched.cpu.shares = 0\n",
                     "/vms/a/vm.cfg:1: sched.cpu.shares = 0: not a whole number from 1 to 100000");
    gchar *msg = g_strdup_printf("/vms/a/vm.cfg:1: sched.cpu.affinity = 0,99999: "
                                 "'99999' is not a CPU of this host (0-%u, or all)",
                                 g_get_num_processors() - 1);
    expect_map_error("sched.cpu.affinity = 0,99999\n", msg);
    g_free(msg);
    expect_map_error("resume.repeatable = sometimes\n",
                     "/vms/a/vm.cfg:1: resume.repeatable = sometimes: not a boolean (TRUE or FALSE)");
    expect_map_error("RemoteDisplay.depth = 12\n",
                     "/vms/a/vm.cfg:1: RemoteDisplay.depth = 12: the colour depth must be 8, 15, 16 or 24");
    expect_map_error("ethernet0.address = 00:50:56:40:00:00\n",
                     "/vms/a/vm.cfg:1: ethernet0.address = 00:50:56:40:00:00: a manual MAC address must lie in 00:50:56:00:00:00-00:50:56:3F:FF:FF");
    expect_map_error("scsi0:2.mode = undo\n",
                     "/vms/a/vm.cfg:1: scsi0:2.mode = undo: not a disk mode (persistent, nonpersistent, undoable or append)");
    expect_map_error("vmkemu.accel = xen\n",
                     "/vms/a/vm.cfg:1: vmkemu.accel = xen: not an accelerator (kvm, emu, tcg or auto)");
}

static void test_unmodelled_devices_refused(void)
{
    expect_map_error("scsi0.present = TRUE\nscsi0.virtualDev = lsilogic\n"
                     "scsi0:2.present = TRUE\nscsi0:2.name = vmhba1:3:0:2:data.dsk\n",
                     "/vms/a/vm.cfg:2: scsi0.virtualDev = lsilogic: not available yet");
    expect_map_error("scsi1.virtualDev = lsilogic\nscsi1:0.present = TRUE\n"
                     "scsi1:0.fileName = a.dsk\n",
                     "/vms/a/vm.cfg:1: scsi1.virtualDev = lsilogic: not available yet");
    expect_map_error("ethernet0.present = TRUE\nethernet0.virtualDev = vmxnet\n",
                     "/vms/a/vm.cfg:2: ethernet0.virtualDev = vmxnet: not available yet");
    expect_map_error("floppy0.present = TRUE\n",
                     "/vms/a/vm.cfg:1: floppy0.present: not available yet");
}

/* SCSI adapters and disks onto MachineConfig (the manual's examples). */
static void test_scsi_mapping(void)
{
    MachineConfig mc;
    EsxVmSettings vm = {0};
    GError *err = NULL;
    g_assert_cmpint(map("scsi0.present = TRUE\nscsi0.virtualDev = vmxbuslogic\n"
                        "scsi0:2.present = TRUE\nscsi0:2.name = vmhba1:3:0:2:data.dsk\n"
                        "scsi0:2.mode = undoable\n"
                        "scsi1.present = TRUE\nscsi1.virtualDev = buslogic\n"
                        "scsi1:1.present = TRUE\nscsi1:1.fileName = virt-scsi.dsk\n"
                        "scsi1:1.mode = nonpersistent\n"
                        "scsi1:3.present = TRUE\nscsi1:3.deviceType = cdrom-image\n"
                        "scsi1:3.fileName = /isos/x.iso\n"
                        "scsi2.present = TRUE\n",
                        &mc, &vm, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmphex(mc.scsi_present, ==, 0x07);
    g_assert_cmpint(mc.ndrives, ==, 3);
    g_assert_cmpint(mc.drives[0].iface, ==, DRIVE_IF_SCSI);
    g_assert_cmpint(mc.drives[0].bus, ==, 0);
    g_assert_cmpint(mc.drives[0].unit, ==, 2);
    g_assert_cmpstr(mc.drives[0].file, ==, "vmhba1:3:0:2:data.dsk");
    g_assert_cmpint(mc.drives[0].mode, ==, BLK_MODE_UNDOABLE);
    g_assert_cmpint(mc.drives[1].bus, ==, 1);
    g_assert_cmpint(mc.drives[1].unit, ==, 1);
    g_assert_cmpstr(mc.drives[1].file, ==, "/vms/a/virt-scsi.dsk");
    g_assert_cmpint(mc.drives[1].mode, ==, BLK_MODE_NONPERSISTENT);
    g_assert_cmpint(mc.drives[2].media, ==, DRIVE_MEDIA_CDROM);
    g_assert_cmpint(mc.drives[2].unit, ==, 3);
    machine_config_clear(&mc);
    esx_vm_settings_clear(&vm);

    /* Disks without scsiN.present (as in the manual's vmkfstools example). */
    g_assert_cmpint(map("scsi0.virtualDev = vmxbuslogic\nscsi0:0.present = TRUE\n"
                        "scsi0:0.name = scsi0:2:0:0:nt4.dsk\n", &mc, &vm, &err), ==, 0);
    g_assert_cmpint(mc.ndrives, ==, 1);
    g_assert_cmpstr(mc.drives[0].file, ==, "scsi0:2:0:0:nt4.dsk");
    g_assert_cmphex(mc.scsi_present, ==, 0);
    machine_config_clear(&mc);
    esx_vm_settings_clear(&vm);

    expect_map_error("scsi0.present = FALSE\nscsi0:1.present = TRUE\nscsi0:1.fileName = a.dsk\n",
                     "/vms/a/vm.cfg:1: scsi0.present = FALSE: the adapter of present scsi0:N disks");
    expect_map_error("scsi0:1.present = TRUE\n",
                     "/vms/a/vm.cfg: scsi0:1 is a present disk without scsi0:1.fileName");
    expect_map_error("scsi0:1.present = TRUE\nscsi0:1.fileName = a.dsk\nscsi0:1.deviceType = tape\n",
                     "/vms/a/vm.cfg:3: scsi0:1.deviceType = tape: not a device type "
                     "(scsi-hardDisk, disk, cdrom-image or cdrom-raw)");
}

static void test_unknown_keys_kept(void)
{
    GError *err = NULL;
    EsxCfg *c = parse("memsize = 64\nfoo.bar = 1\nscsi0.frob = 2\nFOO.BAR = 3\n", &err);
    MachineConfig mc;
    EsxVmSettings vm = {0};
    machine_config_init(&mc);
    g_assert_cmpint(esx_cfg_to_machine(c, &mc, &vm, &err), ==, 0);
    GPtrArray *u = esx_cfg_unknown_keys(c);
    g_assert_cmpint(u->len, ==, 3);
    g_assert_cmpstr(((EsxCfgEntry *)u->pdata[0])->key, ==, "foo.bar");
    g_assert_cmpstr(((EsxCfgEntry *)u->pdata[1])->key, ==, "scsi0.frob");
    g_ptr_array_free(u, TRUE);
    esx_cfg_free(c);
    machine_config_clear(&mc);
    esx_vm_settings_clear(&vm);
}

/* Random and mutated input: an error or a parse, never a crash. */
static void test_fuzz(void)
{
    static const char seed[] = "displayName = \"x\"\nmemsize = 64\nscsi0:1.mode = append\n"
                               "ethernet0.address = 00:50:56:01:02:03\n";
    GRand *rng = g_rand_new_with_seed(1234);
    for (int round = 0; round < 20000; round++) {
        char buf[sizeof(seed)];
        memcpy(buf, seed, sizeof(seed));
        int flips = g_rand_int_range(rng, 1, 6);
        for (int f = 0; f < flips; f++) {
            buf[g_rand_int_range(rng, 0, sizeof(seed) - 1)] = g_rand_int_range(rng, 0, 256);
        }
        GError *err = NULL;
        EsxCfg *c = esx_cfg_parse("fuzz.cfg", buf, sizeof(seed) - 1, &err);
        if (c) {
            MachineConfig mc;
            EsxVmSettings vm = {0};
            machine_config_init(&mc);
            esx_cfg_to_machine(c, &mc, &vm, &err);
            machine_config_clear(&mc);
            esx_vm_settings_clear(&vm);
            esx_cfg_free(c);
        }
        if (err) {
            g_assert_true(g_str_has_prefix(err->message, "fuzz.cfg:"));
            g_error_free(err);
        }
    }
    g_rand_free(rng);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/esx-cfg/scsi-mapping", test_scsi_mapping);
    g_test_add_func("/esx-cfg/syntax", test_syntax);
    g_test_add_func("/esx-cfg/syntax-errors", test_syntax_errors);
    g_test_add_func("/esx-cfg/booleans", test_booleans);
    g_test_add_func("/esx-cfg/defaults", test_mapping_defaults);
    g_test_add_func("/esx-cfg/values", test_mapping_values);
    g_test_add_func("/esx-cfg/errors", test_mapping_errors);
    g_test_add_func("/esx-cfg/unmodelled-devices", test_unmodelled_devices_refused);
    g_test_add_func("/esx-cfg/unknown-keys", test_unknown_keys_kept);
    g_test_add_func("/esx-cfg/fuzz", test_fuzz);
    return g_test_run();
}
