/**
 * The VM-host SPI: {@link io.pando.api.vm.VmDriver} starts, pauses, resumes and destroys virtual machines
 * (fixed VMs such as the execution environment, or user-uploaded VMs) described by a
 * {@link io.pando.api.vm.VmSpec}. Drivers exist for Xen, QEMU/KVM and a lightweight process sandbox; the
 * VM-host layer picks one by its {@link io.pando.api.vm.VmDriver#type() type} and
 * {@link io.pando.api.vm.VmDriver#capabilities() capabilities}.
 */
@Export
@Version("1.0.0")
package io.pando.api.vm;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
