/*
 * Suspend to disk (include/suspend.h): pause, write the .std, announce it,
 * end.  Resuming is the launcher's part (system/main.c): it loads the .std
 * into the machine it built from the same .cfg before the vCPUs start.
 */
#include <errno.h>
#include <string.h>
#include "log.h"
#include "monitor.h"
#include "std-file.h"
#include "suspend.h"

static struct {
    char *std_path;
    char *cfg_path;
    uint8_t cfg_digest[STD_DIGEST_LEN];
    bool repeatable;
} target;

void suspend_set_target(const char *std_path, const char *cfg_path,
                        const uint8_t *cfg_digest, bool repeatable)
{
    suspend_clear_target();
    target.std_path = g_strdup(std_path);
    target.cfg_path = g_strdup(cfg_path);
    memcpy(target.cfg_digest, cfg_digest, STD_DIGEST_LEN);
    target.repeatable = repeatable;
}

void suspend_clear_target(void)
{
    g_free(target.std_path);
    g_free(target.cfg_path);
    memset(&target, 0, sizeof(target));
}

int machine_suspend(Machine *m, char **written, GError **errp)
{
    if (!target.std_path) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "this virtual machine was not started from a .cfg: it has no "
                    "suspend file");
        return -EINVAL;
    }
    if (m->state == RUN_STATE_SHUTDOWN) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "the virtual machine has shut down");
        return -EINVAL;
    }
    /* Manual, "Repeatable Resumes": the .std stays until removed by hand;
     * only then may the VM be suspended in a new state. */
    if (target.repeatable && g_file_test(target.std_path, G_FILE_TEST_EXISTS)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    "%s: resume.repeatable = TRUE keeps this suspended state; remove "
                    "the file to suspend in a new state", target.std_path);
        return -EEXIST;
    }
    bool was_running = m->state == RUN_STATE_RUNNING;
    GError *err = NULL;
    machine_pause(m);
    if (std_save(m, target.std_path, target.cfg_digest, target.cfg_path, &err) < 0) {
        vlog("suspend failed: %s", err->message);
        g_propagate_error(errp, err);
        if (was_running) {
            machine_resume(m);
        }
        return -EIO;
    }
    JsonObject *data = json_object_new();
    json_object_set_string_member(data, "file", target.std_path);
    monitor_event("SUSPEND", data);
    if (written) {
        *written = g_strdup(target.std_path);
    }
    machine_request_shutdown(m, SHUTDOWN_HOST_SUSPEND, 0);
    return 0;
}
