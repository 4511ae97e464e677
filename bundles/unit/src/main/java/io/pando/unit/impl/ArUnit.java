package io.pando.unit.impl;

import io.netty.buffer.PooledByteBufAllocator;
import io.pando.api.policy.PacketScheduler;
import io.pando.api.program.ActiveProgram;
import io.pando.api.unit.UnitId;
import io.pando.api.unit.UnitLoad;
import io.pando.link.AggregationPort;
import io.pando.link.SessionEvents;
import io.pando.link.SessionPlan;
import io.pando.link.UnitChannel;
import io.pando.link.UnitPort;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.osgi.framework.Bundle;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.ComponentServiceObjects;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * A parallel AR unit as a DS component: one instance per factory configuration of {@code io.pando.unit}.
 * Programs ({@link ActiveProgram}) and packet schedulers ({@link PacketScheduler}) are dynamic references
 * looked up by their {@code name} property, so either may be updated while the unit runs: a session whose
 * program is away holds its datagrams (charged to its quota) until the program is back.
 */
@Component(name = "io.pando.unit", configurationPolicy = ConfigurationPolicy.REQUIRE, service = UnitPort.class)
@Designate(ocd = ArUnit.Config.class, factory = true)
public class ArUnit implements UnitPort {

    /** Configuration of one unit. */
    @ObjectClassDefinition(name = "Pando parallel AR unit",
        description = "One parallel active-router unit: buffer pool, program runner, packet scheduler.")
    public @interface Config {

        /** @return the unit's id */
        @AttributeDefinition(name = "Unit id", description = "Unique in the router: 1 to 64 characters "
            + "[A-Za-z0-9._:-], starting with a letter or digit.")
        String unit_id();

        /** @return the buffer pool size */
        @AttributeDefinition(name = "Buffer pool (MiB)", description = "Memory for the datagrams the unit holds; "
            + "each session reserves its quota in it.")
        long buffer_capacity_mb() default 256;

        /** @return the link window */
        @AttributeDefinition(name = "Link window (KiB)", description = "Most result bytes at the aggregation "
            + "unit not yet sent on; beyond it the packet scheduler decides which session sends next.")
        long link_window_kb() default 1024;

        /** @return the scheduler's name */
        @AttributeDefinition(name = "Packet scheduler", description = "Name of the PacketScheduler service to "
            + "use (pando:policy-set scheduler NAME switches every unit).")
        String scheduler() default "drr";

        /** @return the sandbox runtime */
        @AttributeDefinition(name = "Sandbox runtime", description = "Directory of the sandbox runtime (sandbox.jar, "
            + "felix.jar, bundles/) for programs that run in a process; empty: the system property "
            + "pando.sandbox.runtime, else ${karaf.home}/lib/pando-sandbox.")
        String sandbox_runtime() default "";

        /** @return whether sandboxes run under bubblewrap */
        @AttributeDefinition(name = "Bubblewrap", description = "Confine sandboxes with bubblewrap: auto (when "
            + "/usr/bin/bwrap works), on (required), off.")
        String sandbox_bubblewrap() default "auto";
    }

    /** Location prefix of bundles installed from uploads (the program store): untrusted, run in a process. */
    static final String UPLOAD_LOCATION = "pando-program:";
    private static final Logger LOG = System.getLogger(ArUnit.class.getName());

    private final UnitCore core;
    private final Map<Object, ProgramFactory> programFactories = new ConcurrentHashMap<>();
    private final Map<Object, SchedulerFactory> schedulerFactories = new ConcurrentHashMap<>();

    /**
     * @param config the unit's configuration
     * @throws IllegalArgumentException if a value breaks its rule
     */
    @Activate
    public ArUnit(Config config) {
        if (config.buffer_capacity_mb() < 1 || config.buffer_capacity_mb() > 1 << 20) {
            throw new IllegalArgumentException("buffer.capacity.mb must be in [1, 1048576], got "
                + config.buffer_capacity_mb());
        }
        if (config.link_window_kb() < 1 || config.link_window_kb() > 1 << 20) {
            throw new IllegalArgumentException("link.window.kb must be in [1, 1048576], got " + config.link_window_kb());
        }
        UnitId id = UnitId.of(config.unit_id());
        SandboxHost host = null;
        String unavailable = null;
        try {
            SandboxProcesses processes = LaunchedSandboxes.create(runtime(config), config.sandbox_bubblewrap());
            unavailable = processes.unavailable();
            if (unavailable == null) {
                host = new SandboxHost(processes, jarDirectory(id), id.value());
                LOG.log(Level.INFO, "unit {0}: programs may run in a process: {1}", id, processes.confinement());
            }
        } catch (IOException | IllegalArgumentException e) {
            unavailable = e.getMessage();
        }
        if (unavailable != null) {
            LOG.log(Level.INFO, "unit {0}: programs run in-process only: {1}", id, unavailable);
        }
        core = new UnitCore(id, config.buffer_capacity_mb() << 20, config.link_window_kb() << 10, config.scheduler(),
            PooledByteBufAllocator.DEFAULT, host, unavailable);
    }

    private static Path runtime(Config config) {
        if (!config.sandbox_runtime().isBlank()) {
            return Path.of(config.sandbox_runtime());
        }
        String p = System.getProperty("pando.sandbox.runtime");
        if (p != null && !p.isBlank()) {
            return Path.of(p);
        }
        return Path.of(System.getProperty("karaf.home", "."), "lib", "pando-sandbox");
    }

    private static Path jarDirectory(UnitId id) {
        String data = System.getProperty("karaf.data");
        Path base = data != null ? Path.of(data, "pando", "sandbox-jars")
            : Path.of(System.getProperty("java.io.tmpdir"), "pando-sandbox-jars");
        return base.resolve(id.value());
    }

    @Deactivate
    void deactivate() {
        core.stop();
    }

    @Reference(service = ActiveProgram.class, cardinality = ReferenceCardinality.MULTIPLE,
        policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, target = "(name=*)")
    void bindProgram(ComponentServiceObjects<ActiveProgram> objects, Map<String, Object> props) {
        ServiceReference<ActiveProgram> ref = objects.getServiceReference();
        Bundle bundle = ref == null ? null : ref.getBundle();
        ProgramFactory f = new ProgramFactory() {
            @Override
            public ActiveProgram get() {
                return objects.getService();
            }

            @Override
            public void unget(ActiveProgram program) {
                objects.ungetService(program);
            }

            @Override
            public boolean trusted() {
                return bundle == null || !bundle.getLocation().startsWith(UPLOAD_LOCATION);
            }

            @Override
            public Path jar(Path dir) throws IOException {
                if (bundle == null || bundle.getBundleId() == 0 || bundle == FrameworkUtil.getBundle(ArUnit.class)) {
                    return ProgramFactory.super.jar(dir);
                }
                return BundleJars.pack(bundle, dir);
            }
        };
        programFactories.put(objects, f);
        core.addProgram(String.valueOf(props.get("name")), f);
    }

    void unbindProgram(ComponentServiceObjects<ActiveProgram> objects, Map<String, Object> props) {
        ProgramFactory f = programFactories.remove(objects);
        if (f != null) {
            core.removeProgram(String.valueOf(props.get("name")), f);
        }
    }

    @Reference(service = PacketScheduler.class, cardinality = ReferenceCardinality.MULTIPLE,
        policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, target = "(name=*)")
    void bindScheduler(ComponentServiceObjects<PacketScheduler> objects, Map<String, Object> props) {
        SchedulerFactory f = new SchedulerFactory() {
            @Override
            public PacketScheduler get() {
                return objects.getService();
            }

            @Override
            public void unget(PacketScheduler scheduler) {
                objects.ungetService(scheduler);
            }
        };
        schedulerFactories.put(objects, f);
        core.addScheduler(String.valueOf(props.get("name")), f);
    }

    void unbindScheduler(ComponentServiceObjects<PacketScheduler> objects, Map<String, Object> props) {
        SchedulerFactory f = schedulerFactories.remove(objects);
        if (f != null) {
            core.removeScheduler(String.valueOf(props.get("name")), f);
        }
    }

    @Override
    public UnitId id() {
        return core.id();
    }

    @Override
    public String location() {
        return core.location();
    }

    @Override
    public UnitLoad load() {
        return core.load();
    }

    @Override
    public String scheduler() {
        return core.scheduler();
    }

    @Override
    public Set<String> programs() {
        return core.programs();
    }

    @Override
    public Map<String, Long> counters() {
        return core.counters();
    }

    @Override
    public UnitChannel open(SessionPlan plan, AggregationPort aggregation, SessionEvents events) {
        return core.open(plan, aggregation, events);
    }

    @Override
    public boolean migrates() {
        return core.migrates();
    }

    @Override
    public UnitChannel openForHandover(SessionPlan plan, AggregationPort aggregation, SessionEvents events) {
        return core.openForHandover(plan, aggregation, events);
    }

    @Override
    public void validate(SessionPlan plan) {
        core.validate(plan);
    }

    @Override
    public void selectScheduler(String name) {
        core.selectScheduler(name);
    }
}
