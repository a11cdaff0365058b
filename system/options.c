/*
 * vmkemu's command line.  Options are QEMU's names with one dash (two are
 * accepted too); every bad value is one line naming the option.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "options.h"
#include "config.h"

static const char usage_text[] =
"usage: vmkemu [CONFIG.cfg] [options]\n"
"\n"
"With a VMware .cfg file first, the VM it describes starts and the options\n"
"after it override the file.\n"
"\n"
"Machine:\n"
"  -m SIZE            guest RAM; a number of MiB, or with a suffix K, M, G\n"
"                     (default 128M)\n"
"  -smp N             number of virtual CPUs (default 1)\n"
"  -accel NAME        kvm, emu (alias tcg) or auto (default): auto takes KVM\n"
"                     where /dev/kvm works and the host CPU has vmx or svm\n"
"  -userspace-irqchip with KVM, use vmkemu's own PIC/PIT models\n"
"Boot:\n"
"  -bios FILE         flat ROM image ending at 0xfffff and 0xffffffff\n"
"  -kernel FILE       Multiboot kernel or Linux bzImage\n"
"  -initrd FILE       initial ramdisk (Linux) or modules, comma-separated\n"
"                     (Multiboot)\n"
"  -append CMDLINE    kernel command line\n"
"  -linux-entry 32|64 enter a Linux bzImage through its 32-bit (default) or\n"
"                     64-bit boot protocol entry point\n"
"Disks:\n"
"  -drive file=F[,if=ide|scsi][,bus=N][,unit=N][,index=N][,media=disk|cdrom]\n"
"         [,format=auto|raw|vmdk|cowd|plain][,readonly=on|off][,id=NAME]\n"
"         [,mode=persistent|nonpersistent|undoable|append]\n"
"         [,on-poweroff=ask|commit|discard|keep]\n"
"                     a disk or CD-ROM; F is a host file or device, or an\n"
"                     ESX address vmhbaA:T:L:P[:file] or fsname:file; an\n"
"                     undoable disk's REDO log is settled at power-off as\n"
"                     on-poweroff says (ask: the monitor answers, else keep)\n"
"  -hda/-hdb/-hdc/-hdd F  IDE disk at index 0-3 (primary master ... secondary\n"
"                     slave)\n"
"  -cdrom F           IDE CD-ROM at index 2 (secondary master)\n"
"Devices and output:\n"
"  -serial DEV        next serial port: stdio, file:PATH, unix:PATH[,server]\n"
"                     [,nowait], or null; repeat for COM2..COM4\n"
"  -nographic         no display window; COM1 on stdio unless -serial given\n"
"  -no-reboot         end vmkemu instead of rebooting the guest\n"
"Network:\n"
"  -netdev user,id=ID[,hostfwd=[tcp|udp]:[HADDR]:HPORT-[GADDR]:GPORT]...\n"
"         [,restrict=on|off][,net=ADDR/BITS]\n"
"                     user-mode networking (libslirp): DHCP, DNS, NAT to the\n"
"                     host's network; hostfwd forwards a host port to the guest\n"
"  -netdev tap,id=ID[,ifname=NAME][,script=no]\n"
"                     the host tap device NAME\n"
"  -device pcnet,netdev=ID[,mac=MAC]\n"
"                     an AMD PCnet-PCI II adapter (ESX's vlance) on backend ID\n"
"  -nic user|tap[,model=pcnet][,mac=MAC][,backend options]\n"
"                     both at once; -nic none: no adapter (the default)\n"
"  -qmp unix:PATH[,server][,nowait]\n"
"                     serve the QMP monitor on a UNIX socket (repeatable; a VM\n"
"                     started from a .cfg always gets one, see vmware-control)\n"
"  -name NAME         the VM's name (a .cfg's displayName)\n"
"  -D FILE            write the log to FILE (default for a .cfg: vmware.log\n"
"                     beside it, or its log.filename)\n"
"  -v                 list the .cfg keys vmkemu does not use\n"
"  -h, -help          this help\n"
"  -version           the version\n";

static bool verbose;

bool options_verbose(void)
{
    return verbose;
}

static int bad(const char *opt, const char *fmt, const char *arg)
{
    fprintf(stderr, "vmkemu: %s: ", opt);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return -1;
}

/* QEMU's size syntax: a plain number is MiB; K/M/G/T suffixes (and an
 * optional trailing B) scale explicitly. */
static int parse_size_mib(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno || *s == '-') {
        return -1;
    }
    uint64_t shift = 20;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: return -1;
    }
    if (*end == 'b' || *end == 'B') {
        end++;
    }
    if (*end || v == 0 || v > (UINT64_MAX >> shift)) {
        return -1;
    }
    *out = v << shift;
    return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) {
        return -1;
    }
    *out = (int)v;
    return 0;
}

static bool serial_spec_ok(const char *s)
{
    return !strcmp(s, "stdio") || !strcmp(s, "null") ||
           (g_str_has_prefix(s, "file:") && s[5]) ||
           (g_str_has_prefix(s, "unix:") && s[5]);
}

static void set_str(char **dst, const char *v)
{
    g_free(*dst);
    *dst = g_strdup(v);
}

/* -netdev, -nic, -device (net/config.c parses the value). */
static int parse_net_option(const char *a, const char *opt, const char *v,
                            MachineConfig *cfg)
{
    GError *err = NULL;
    int r;

    if (!strcmp(opt, "netdev")) {
        if (cfg->nnetdev >= MACHINE_MAX_NETDEVS) {
            return bad(a, "%s: at most 8 network backends", v);
        }
        r = net_netdev_parse(v, &cfg->netdev[cfg->nnetdev], &err);
        if (r == 0) {
            cfg->nnetdev++;
        }
    } else if (!strcmp(opt, "device")) {
        if (cfg->nnic >= MACHINE_MAX_NICS) {
            return bad(a, "%s: at most 8 network adapters", v);
        }
        r = net_nic_device_parse(v, &cfg->nic[cfg->nnic], &err);
        if (r == 0) {
            cfg->nnic++;
        }
    } else {
        if (cfg->nnic >= MACHINE_MAX_NICS || cfg->nnetdev >= MACHINE_MAX_NETDEVS) {
            return bad(a, "%s: at most 8 network adapters and backends", v);
        }
        r = net_nic_parse(v, cfg->nnic, &cfg->netdev[cfg->nnetdev], &cfg->nic[cfg->nnic],
                          &err);
        if (r == 0) {
            cfg->nnetdev++;
            cfg->nnic++;
        }
    }
    if (r < 0) {
        fprintf(stderr, "vmkemu: %s: %s\n", a, err->message);
        g_error_free(err);
        return -1;
    }
    return 0;
}

/* -drive SPEC, or -hda F (spec NULL: file F at index), -cdrom F. */
static int add_drive(MachineConfig *cfg, const char *opt, const char *v,
                     int index, bool cdrom, int cfg_drives)
{
    MachineDrive d;
    GError *err = NULL;
    int r;

    if (index < 0) {
        r = machine_drive_parse(v, &d, &err);
    } else {
        r = machine_drive_parse("", &d, NULL);
        d.file = g_strdup(v);
        d.index = index;
        d.media = cdrom ? DRIVE_MEDIA_CDROM : DRIVE_MEDIA_DISK;
    }
    if (r == 0) {
        r = machine_config_add_drive(cfg, &d, cfg_drives, &err);
        machine_drive_clear(&d);
    }
    if (r < 0) {
        fprintf(stderr, "vmkemu: %s: %s\n", opt, err->message);
        g_error_free(err);
        return -1;
    }
    return 0;
}

int options_parse(int argc, char **argv, MachineConfig *cfg)
{
    /* Drives from a .cfg; the command line may replace them slot by slot. */
    int cfg_drives = cfg->ndrives;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            fprintf(stderr, "vmkemu: %s: unexpected argument (options start with -)\n", a);
            return -1;
        }
        const char *opt = a + (a[1] == '-' ? 2 : 1);
        /* Options without a value. */
        if (!strcmp(opt, "h") || !strcmp(opt, "help")) {
            fputs(usage_text, stdout);
            return 1;
        }
        if (!strcmp(opt, "version")) {
            printf("vmkemu %s\n", PACKAGE_VERSION);
            return 1;
        }
        if (!strcmp(opt, "nographic")) {
            cfg->nographic = true;
            continue;
        }
        if (!strcmp(opt, "no-reboot")) {
            cfg->no_reboot = true;
            continue;
        }
        if (!strcmp(opt, "v")) {
            verbose = true;
            continue;
        }
        if (!strcmp(opt, "userspace-irqchip")) {
            cfg->userspace_irqchip = true;
            continue;
        }
        /* Options with a value. */
        static const char *const with_value[] = {
            "m", "smp", "accel", "bios", "kernel", "initrd", "append",
            "serial", "D", "boot", "qmp", "name", "linux-entry",
            "netdev", "nic", "device",
            "drive", "hda", "hdb", "hdc", "hdd", "cdrom", NULL
        };
        bool known = false;
        for (int k = 0; with_value[k]; k++) {
            known |= !strcmp(opt, with_value[k]);
        }
        if (!known) {
            fprintf(stderr, "vmkemu: %s: unknown option (see vmkemu -h)\n", a);
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "vmkemu: %s: missing value\n", a);
            return -1;
        }
        const char *v = argv[++i];

        if (!strcmp(opt, "m")) {
            if (parse_size_mib(v, &cfg->ram_size) < 0) {
                return bad(a, "invalid size '%s' (e.g. 256, 512M, 2G)", v);
            }
        } else if (!strcmp(opt, "smp")) {
            /* QEMU's -smp also takes cpus=N; accept that spelling. */
            const char *n = g_str_has_prefix(v, "cpus=") ? v + 5 : v;
            if (parse_int(n, 1, MACHINE_MAX_CPUS, &cfg->smp) < 0) {
                return bad(a, "invalid CPU count '%s' (1-64)", v);
            }
        } else if (!strcmp(opt, "accel")) {
            if (strcmp(v, "kvm") && strcmp(v, "emu") && strcmp(v, "tcg") &&
                strcmp(v, "auto")) {
                return bad(a, "unknown accelerator '%s' (kvm, emu, tcg or auto)", v);
            }
            set_str(&cfg->accel, v);
        } else if (!strcmp(opt, "bios")) {
            set_str(&cfg->bios, v);
        } else if (!strcmp(opt, "kernel")) {
            set_str(&cfg->kernel, v);
        } else if (!strcmp(opt, "initrd")) {
            set_str(&cfg->initrd, v);
        } else if (!strcmp(opt, "append")) {
            set_str(&cfg->append, v);
        } else if (!strcmp(opt, "serial")) {
            if (cfg->nserial >= MACHINE_MAX_SERIAL) {
                return bad(a, "%s: at most 4 serial ports", v);
            }
            if (!serial_spec_ok(v)) {
                return bad(a, "invalid device '%s' (stdio, file:PATH, unix:PATH, null)", v);
            }
            cfg->serial[cfg->nserial++] = g_strdup(v);
        } else if (!strcmp(opt, "qmp")) {
            if (cfg->nqmp >= 4) {
                return bad(a, "%s: at most 4 monitor sockets", v);
            }
            if (!g_str_has_prefix(v, "unix:") || !v[5]) {
                return bad(a, "invalid monitor '%s' (unix:PATH[,server][,nowait])", v);
            }
            cfg->qmp[cfg->nqmp++] = g_strdup(v);
        } else if (!strcmp(opt, "netdev") || !strcmp(opt, "nic") ||
                   !strcmp(opt, "device")) {
            if (parse_net_option(a, opt, v, cfg) < 0) {
                return -1;
            }
        } else if (!strcmp(opt, "name")) {
            set_str(&cfg->name, v);
        } else if (!strcmp(opt, "D")) {
            set_str(&cfg->logfile, v);
        } else if (!strcmp(opt, "linux-entry")) {
            if (strcmp(v, "32") && strcmp(v, "64")) {
                return bad(a, "invalid entry '%s' (32 or 64)", v);
            }
            cfg->linux_entry = atoi(v);
        } else if (!strcmp(opt, "drive")) {
            if (add_drive(cfg, a, v, -1, false, cfg_drives) < 0) {
                return -1;
            }
        } else if (!strcmp(opt, "hda") || !strcmp(opt, "hdb") || !strcmp(opt, "hdc") ||
                   !strcmp(opt, "hdd")) {
            if (!*v) {
                return bad(a, "%s", "empty file name");
            }
            if (add_drive(cfg, a, v, opt[2] - 'a', false, cfg_drives) < 0) {
                return -1;
            }
        } else if (!strcmp(opt, "cdrom")) {
            if (!*v) {
                return bad(a, "%s", "empty file name");
            }
            if (add_drive(cfg, a, v, 2, true, cfg_drives) < 0) {
                return -1;
            }
        } else if (!strcmp(opt, "boot")) {
            const char *order = g_str_has_prefix(v, "order=") ? v + 6 : v;
            if (!*order || strspn(order, "acdn") != strlen(order)) {
                return bad(a, "invalid boot order '%s' (letters a, c, d, n)", v);
            }
            set_str(&cfg->boot_order, order);
        }
    }
    /* -nographic puts the first serial port on the terminal, as QEMU does. */
    if (cfg->nographic && cfg->nserial == 0) {
        cfg->serial[cfg->nserial++] = g_strdup("stdio");
    }
    return 0;
}
