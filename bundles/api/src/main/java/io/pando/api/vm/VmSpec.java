package io.pando.api.vm;

import java.util.Map;
import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * What to start: a VM image with its resource caps.
 *
 * @param id the VM's name on this host
 * @param image the image to boot, in a form the driver understands (a path to a disk or kernel image, or a
 *        program for the process sandbox); not blank
 * @param vcpus virtual CPUs, {@code >= 1}
 * @param memoryMiB memory cap in MiB, {@code >= 1}
 * @param cpuShare CPU cap as a fraction of one host CPU per virtual CPU, in {@code (0, 1]}
 * @param options driver-specific settings (e.g. kernel command line, data-channel socket path); copied,
 *        unmodifiable; a driver rejects options it does not know
 */
@ProviderType
public record VmSpec(VmId id, String image, int vcpus, long memoryMiB, double cpuShare, Map<String, String> options) {

    /**
     * @throws NullPointerException if an argument, an option key or value is null
     * @throws IllegalArgumentException if the image is blank or a number is outside its range
     */
    public VmSpec {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(image, "image");
        if (image.isBlank()) {
            throw new IllegalArgumentException("a VM spec names an image");
        }
        if (vcpus < 1) {
            throw new IllegalArgumentException("vcpus must be >= 1, got " + vcpus);
        }
        if (memoryMiB < 1) {
            throw new IllegalArgumentException("memoryMiB must be >= 1, got " + memoryMiB);
        }
        if (!(cpuShare > 0.0 && cpuShare <= 1.0)) {
            throw new IllegalArgumentException("cpuShare is a fraction in (0, 1], got " + cpuShare);
        }
        options = Map.copyOf(options);
    }
}
