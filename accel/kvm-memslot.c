/*
 * KVM memory slots that follow the address space (api.rst 4.35,
 * KVM_SET_USER_MEMORY_REGION).  Every RAM region becomes a slot; every ROM
 * region becomes a KVM_MEM_READONLY slot, so guest reads run at full speed
 * while guest writes exit as MMIO and are dropped by hw/core (as_mmio_write
 * never writes ROM).  MMIO regions and unmapped addresses have no slot:
 * accesses there exit to userspace.
 *
 * KVM maps whole pages: a region's base, size and host address must be
 * page-aligned.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "kvm-internal.h"
#include "log.h"

typedef struct KvmSlot {
    uint32_t id;
    bool used;
    uint64_t gpa;
    uint64_t size;
    void *host;
    uint32_t flags;
} KvmSlot;

static KvmSlot *slot_by_gpa(KvmState *s, uint64_t gpa)
{
    for (guint i = 0; i < s->slots->len; i++) {
        KvmSlot *sl = &g_array_index(s->slots, KvmSlot, i);
        if (sl->used && sl->gpa == gpa) {
            return sl;
        }
    }
    return NULL;
}

static KvmSlot *slot_free(KvmState *s)
{
    for (guint i = 0; i < s->slots->len; i++) {
        KvmSlot *sl = &g_array_index(s->slots, KvmSlot, i);
        if (!sl->used) {
            return sl;
        }
    }
    if (s->slots->len >= s->max_slots) {
        return NULL;
    }
    KvmSlot fresh = { .id = s->slots->len };
    g_array_append_val(s->slots, fresh);
    return &g_array_index(s->slots, KvmSlot, s->slots->len - 1);
}

static int slot_commit(KvmState *s, const KvmSlot *sl, uint64_t size)
{
    struct kvm_userspace_memory_region mr = {
        .slot = sl->id,
        .flags = sl->flags,
        .guest_phys_addr = sl->gpa,
        .memory_size = size,        /* 0 deletes the slot */
        .userspace_addr = (uintptr_t)sl->host,
    };
    return kvm_ioctl(s->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr);
}

static void slot_fail(KvmState *s, const MemRegion *r, const char *what)
{
    char *msg = g_strdup_printf("-accel kvm: cannot %s memory region '%s' "
                                "[0x%" G_GINT64_MODIFIER "x, +0x%" G_GINT64_MODIFIER "x): %s",
                                r->kind == REGION_ROM ? "map ROM" : "map RAM",
                                r->name ? r->name : "?", r->base, r->size, what);
    if (!s->slot_error) {
        s->slot_error = msg;
    } else {
        g_free(msg);
    }
    if (s->vcpus && s->vcpus[0].thread_started) {
        /* The map changed while the guest runs: it cannot go on. */
        verror("%s", s->slot_error);
        machine_request_shutdown(s->m, SHUTDOWN_INTERNAL_ERROR, 1);
    }
}

void kvm_memslot_listener(void *opaque, const MemRegion *r, bool added)
{
    KvmState *s = opaque;
    long page = sysconf(_SC_PAGESIZE);

    if (!added) {
        KvmSlot *sl = slot_by_gpa(s, r->base);
        if (sl) {
            int ret = slot_commit(s, sl, 0);
            if (ret < 0) {
                slot_fail(s, r, g_strerror(-ret));
            }
            sl->used = false;
        }
        return;
    }
    if ((r->base | r->size | (uintptr_t)r->host) & (page - 1)) {
        slot_fail(s, r, "not page-aligned (base, size and host memory must be)");
        return;
    }
    KvmSlot *sl = slot_free(s);
    if (!sl) {
        slot_fail(s, r, "KVM has no free memory slot");
        return;
    }
    sl->gpa = r->base;
    sl->size = r->size;
    sl->host = r->host;
    sl->flags = r->kind == REGION_ROM ? KVM_MEM_READONLY : 0;
    int ret = slot_commit(s, sl, sl->size);
    if (ret < 0) {
        slot_fail(s, r, g_strerror(-ret));
        return;
    }
    sl->used = true;
}

void kvm_memslots_init(KvmState *s)
{
    s->slots = g_array_new(FALSE, TRUE, sizeof(KvmSlot));
}

void kvm_memslots_free(KvmState *s)
{
    if (s->slots) {
        g_array_free(s->slots, TRUE);
        s->slots = NULL;
    }
}
