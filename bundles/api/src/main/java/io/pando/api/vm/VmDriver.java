package io.pando.api.vm;

import java.util.Set;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Drives one kind of virtual machine (Xen through {@code xl}, QEMU/KVM, a process sandbox). A driver bundle
 * registers it as a service; the VM-host layer calls it from any thread, so implementations are thread safe.
 *
 * <p>Every operation returns when it has taken effect or failed. A failed {@link #start} leaves nothing
 * behind. {@link #destroy} always succeeds in freeing what it can.
 */
@ConsumerType
public interface VmDriver {

    /** @return a short, stable name of the driver kind, e.g. {@code "xen"}, {@code "qemu"}, {@code "process"} */
    String type();

    /** @return what this driver supports on this host beyond start, resume and destroy */
    Set<VmCapability> capabilities();

    /**
     * Starts a VM and returns when it runs.
     *
     * @param spec what to start
     * @throws VmException if the VM could not be started (bad image, resources exhausted, unknown option, an
     *         id already in use)
     */
    void start(VmSpec spec) throws VmException;

    /**
     * Freezes a running VM; it keeps its memory but gets no CPU.
     *
     * @param id a VM started by this driver
     * @throws VmException if the VM is unknown, not running, or the driver lacks {@link VmCapability#PAUSE}
     */
    void pause(VmId id) throws VmException;

    /**
     * Lets a paused VM run again; does nothing for a running VM.
     *
     * @param id a VM started by this driver
     * @throws VmException if the VM is unknown
     */
    void resume(VmId id) throws VmException;

    /**
     * Stops a VM at once and frees its resources. Does nothing for an unknown or already destroyed VM.
     *
     * @param id a VM started by this driver
     * @throws VmException if resources could not all be freed; the VM no longer runs regardless
     */
    void destroy(VmId id) throws VmException;
}
