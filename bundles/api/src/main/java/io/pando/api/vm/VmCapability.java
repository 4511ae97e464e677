package io.pando.api.vm;

import org.osgi.annotation.versioning.ProviderType;

/** Optional features of a {@link VmDriver}; start, resume and destroy are always supported. */
@ProviderType
public enum VmCapability {
    /** {@link VmDriver#pause} and {@link VmDriver#resume} freeze and thaw a running VM. */
    PAUSE,
    /** {@link VmSpec#cpuShare()} is enforced. */
    CPU_CAP,
    /** {@link VmSpec#memoryMiB()} is enforced. */
    MEMORY_CAP,
    /** The VM gets a host-side data channel (a Unix socket) speaking Pando's framed VM protocol. */
    DATA_CHANNEL,
    /** The driver boots user-supplied operating-system images, not only Pando's fixed VMs. */
    USER_IMAGES
}
