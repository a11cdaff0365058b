/*
 * The Linux KVM backend (Documentation/virt/kvm/api.rst).
 * Placeholder until the KVM backend lands.
 */
#include "accel.h"

static bool kvm_available(const char **why)
{
    *why = "the KVM backend is not available yet";
    return false;
}

const AccelOps accel_kvm_ops = {
    .name = "kvm",
    .available = kvm_available,
};
