/*
 * vmware-control: register virtual machines and control running ones
 * (ESX Server 1.0 manual, "Registering Your Virtual Machines" and
 * "Gracefully Powering Off or Resetting a Virtual Machine").
 *
 *   vmware-control -s register CFG | -s unregister CFG | -s list
 *   vmware-control CFG start|stop|reset|suspend|request_stop|request_reset|getstate
 *
 * The per-VM commands speak QMP to the VM's monitor socket in its runtime
 * directory (include/esx-runtime.h).  start launches vmkemu in the
 * background and returns once its monitor answers; stop and reset are the
 * forced forms; request_stop presses the ACPI power button and returns at
 * once, as the manual says; request_reset asks the guest to reboot with
 * Ctrl-Alt-Del and returns at once.  suspend writes the VM's .std file
 * (manual, "Suspending and Resuming Virtual Machines") and returns once the
 * VM has ended; start then resumes it.  getstate says on, paused, off, or
 * suspended (a .std exists and the VM does not run).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include "esx-runtime.h"
#include "esx-suspend.h"
#include "esx-vmlist.h"
#include "qmp-client.h"

#define EXIT_USAGE 2

static int usage(void)
{
    fputs("usage: vmware-control -s register CFG\n"
          "       vmware-control -s unregister CFG\n"
          "       vmware-control -s list\n"
          "       vmware-control CFG start|stop|reset|suspend|request_stop|request_reset|getstate\n"
          "The vm-list is /etc/vmware/vm-list, or $VMKEMU_VMLIST.\n", stderr);
    return EXIT_USAGE;
}

static int server_command(int argc, char **argv)
{
    const char *list = esx_vmlist_path();
    GError *err = NULL;
    int r;

    if (argc == 1 && !strcmp(argv[0], "list")) {
        gchar **cfgs = esx_vmlist_read(list, &err);
        if (!cfgs) {
            fprintf(stderr, "vmware-control: %s\n", err->message);
            g_error_free(err);
            return 1;
        }
        for (gchar **c = cfgs; *c; c++) {
            printf("%s\n", *c);
        }
        g_strfreev(cfgs);
        return 0;
    }
    if (argc == 2 && !strcmp(argv[0], "register")) {
        if (!g_file_test(argv[1], G_FILE_TEST_IS_REGULAR)) {
            fprintf(stderr, "vmware-control: %s: no such configuration file\n", argv[1]);
            return 1;
        }
        r = esx_vmlist_register(list, argv[1], &err);
    } else if (argc == 2 && !strcmp(argv[0], "unregister")) {
        r = esx_vmlist_unregister(list, argv[1], &err);
    } else {
        if (argc >= 1) {
            fprintf(stderr, "vmware-control: -s %s: unknown server command "
                    "(register CFG, unregister CFG or list)\n", argv[0]);
            return EXIT_USAGE;
        }
        return usage();
    }
    if (r < 0) {
        fprintf(stderr, "vmware-control: %s\n", err->message);
        g_error_free(err);
        return 1;
    }
    return 0;
}

/* vmkemu beside this program, else on PATH; VMKEMU_BINARY overrides. */
static char *vmkemu_binary(void)
{
    const char *env = g_getenv("VMKEMU_BINARY");
    if (env && *env) {
        return g_strdup(env);
    }
    char *self = g_file_read_link("/proc/self/exe", NULL);
    if (self) {
        gchar *dir = g_path_get_dirname(self);
        gchar *sibling = g_build_filename(dir, "vmkemu", NULL);
        g_free(dir);
        g_free(self);
        if (g_file_test(sibling, G_FILE_TEST_IS_EXECUTABLE)) {
            return sibling;
        }
        g_free(sibling);
    }
    return g_strdup("vmkemu");
}

static QmpClient *connect_vm(const char *cfg, GError **errp)
{
    char *sock = esx_runtime_qmp_socket(cfg);
    QmpClient *c = qmp_client_connect(sock, errp);
    g_free(sock);
    return c;
}

/* Run one monitor command on the VM; prints a clear line on failure. */
static int vm_execute(const char *cfg, const char *command, const char *args,
                      JsonNode **ret)
{
    GError *err = NULL;
    QmpClient *c = connect_vm(cfg, &err);
    if (!c) {
        fprintf(stderr, "vmware-control: %s: the virtual machine is not running (%s)\n",
                cfg, err->message);
        g_error_free(err);
        return 1;
    }
    JsonNode *r = qmp_client_execute(c, command, args, &err);
    qmp_client_close(c);
    if (!r) {
        fprintf(stderr, "vmware-control: %s: %s: %s\n", cfg, command, err->message);
        g_error_free(err);
        return 1;
    }
    if (ret) {
        *ret = r;
    } else {
        json_node_unref(r);
    }
    return 0;
}

static int vm_start(const char *cfg)
{
    GError *err = NULL;
    QmpClient *running = connect_vm(cfg, &err);
    if (running) {
        qmp_client_close(running);
        fprintf(stderr, "vmware-control: %s: the virtual machine is already running\n", cfg);
        return 1;
    }
    g_clear_error(&err);
    if (!g_file_test(cfg, G_FILE_TEST_IS_REGULAR)) {
        fprintf(stderr, "vmware-control: %s: no such configuration file\n", cfg);
        return 1;
    }
    int errpipe[2];
    if (pipe2(errpipe, O_CLOEXEC) < 0) {
        perror("vmware-control: pipe");
        return 1;
    }
    char *bin = vmkemu_binary();
    char *abs = esx_cfg_abspath(cfg);
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        int null = open("/dev/null", O_RDWR);
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(errpipe[1], STDERR_FILENO);
        execlp(bin, bin, abs, "-nographic", (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    close(errpipe[1]);
    g_free(abs);
    if (pid < 0) {
        perror("vmware-control: fork");
        g_free(bin);
        close(errpipe[0]);
        return 1;
    }
    /* Wait for the monitor to answer, or for vmkemu to give up. */
    int status = 0;
    for (int tries = 0; tries < 300; tries++) {
        QmpClient *c = connect_vm(cfg, NULL);
        if (c) {
            qmp_client_close(c);
            close(errpipe[0]);
            g_free(bin);
            return 0;
        }
        if (waitpid(pid, &status, WNOHANG) == pid) {
            char buf[1024];
            ssize_t n = read(errpipe[0], buf, sizeof(buf) - 1);
            buf[n > 0 ? n : 0] = '\0';
            g_strchomp(buf);
            fprintf(stderr, "vmware-control: %s: the virtual machine did not start%s%s\n",
                    cfg, *buf ? ": " : "", buf);
            close(errpipe[0]);
            g_free(bin);
            return 1;
        }
        g_usleep(100 * 1000);
    }
    fprintf(stderr, "vmware-control: %s: %s started but its monitor does not answer\n",
            cfg, bin);
    close(errpipe[0]);
    g_free(bin);
    return 1;
}

/* Suspend: the monitor answers once the .std is written; then wait for the
 * VM to end (its runtime directory goes away). */
static int vm_suspend(const char *cfg)
{
    JsonNode *r = NULL;
    if (vm_execute(cfg, "vmkemu-suspend", NULL, &r) != 0) {
        return 1;
    }
    const char *file = NULL;
    if (JSON_NODE_HOLDS_OBJECT(r)) {
        file = json_object_get_string_member_with_default(json_node_get_object(r),
                                                          "file", NULL);
    }
    char *sock = esx_runtime_qmp_socket(cfg);
    int tries;
    for (tries = 0; tries < 600 && g_file_test(sock, G_FILE_TEST_EXISTS); tries++) {
        g_usleep(50 * 1000);
    }
    if (tries == 600) {
        fprintf(stderr, "vmware-control: %s: suspended to %s, but the virtual machine "
                "has not ended\n", cfg, file ? file : "its .std file");
    }
    g_free(sock);
    json_node_unref(r);
    return tries == 600 ? 1 : 0;
}

static int vm_getstate(const char *cfg)
{
    JsonNode *r = NULL;
    GError *err = NULL;
    QmpClient *c = connect_vm(cfg, &err);
    const char *state = "off";
    bool running = c != NULL;
    if (c) {
        r = qmp_client_execute(c, "query-status", NULL, &err);
        qmp_client_close(c);
    }
    g_clear_error(&err);
    if (r && JSON_NODE_HOLDS_OBJECT(r)) {
        const char *st = json_object_get_string_member_with_default(
            json_node_get_object(r), "status", "");
        state = !strcmp(st, "paused") ? "paused" : "on";
    }
    if (r) {
        json_node_unref(r);
    } else if (!running) {
        /* Not running: suspended when its .std file exists. */
        char *std = esx_suspend_file_of_cfg(cfg, NULL);
        if (std && g_file_test(std, G_FILE_TEST_IS_REGULAR)) {
            state = "suspended";
        }
        g_free(std);
    }
    printf("getstate() = %s\n", state);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "-s")) {
        return server_command(argc - 2, argv + 2);
    }
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage();
        return 0;
    }
    if (argc != 3 || argv[1][0] == '-') {
        return usage();
    }
    const char *cfg = argv[1], *cmd = argv[2];
    if (!strcmp(cmd, "start")) {
        return vm_start(cfg);
    } else if (!strcmp(cmd, "stop")) {
        return vm_execute(cfg, "quit", NULL, NULL);
    } else if (!strcmp(cmd, "reset")) {
        return vm_execute(cfg, "system_reset", NULL, NULL);
    } else if (!strcmp(cmd, "request_stop")) {
        return vm_execute(cfg, "system_powerdown", NULL, NULL);
    } else if (!strcmp(cmd, "request_reset")) {
        /* Without guest tools, the graceful reset is the three-finger
         * salute: the guest's own keyboard handler reboots it. */
        return vm_execute(cfg, "send-key",
                          "{\"keys\": [{\"type\": \"qcode\", \"data\": \"ctrl\"}, "
                          "{\"type\": \"qcode\", \"data\": \"alt\"}, "
                          "{\"type\": \"qcode\", \"data\": \"delete\"}]}", NULL);
    } else if (!strcmp(cmd, "getstate")) {
        return vm_getstate(cfg);
    } else if (!strcmp(cmd, "suspend")) {
        return vm_suspend(cfg);
    }
    fprintf(stderr, "vmware-control: %s: unknown command (start, stop, reset, suspend, "
            "request_stop, request_reset or getstate)\n", argv[2]);
    return EXIT_USAGE;
}
