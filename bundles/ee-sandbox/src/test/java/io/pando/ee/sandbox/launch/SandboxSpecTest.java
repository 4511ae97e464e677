package io.pando.ee.sandbox.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The spec's defaults and checks, the JVM options and the bubblewrap binds derived from it. */
class SandboxSpecTest {

    private static SandboxSpec.Builder base() {
        return SandboxSpec.builder().runtime(Path.of("/rt")).programJar(Path.of("/p.jar")).program("echo")
            .socket(Path.of("/tmp/x/ee.sock"));
    }

    @Test
    void defaultsAndJvmOptions() {
        SandboxSpec s = base().name("pando-ee-u/1").build();
        assertEquals(0.5, s.cpus());
        assertEquals(128, s.memoryMb());
        assertEquals(SandboxSpec.Bubblewrap.AUTO, s.bubblewrap());
        assertEquals("pando-ee-u_1", s.name());
        List<String> o = SandboxLauncher.jvmOptions(s, "/tmp");
        assertTrue(o.contains("-Xmx64m"), o.toString());
        for (String need : List.of("-XX:+UseSerialGC", "-XX:ActiveProcessorCount=1", "-XX:+ExitOnOutOfMemoryError",
            "-Xshare:auto", "-Xss512k")) {
            assertTrue(o.contains(need), need);
        }
        assertTrue(o.stream().anyMatch(x -> x.startsWith("-XX:MaxMetaspaceSize=")));
        assertTrue(o.stream().anyMatch(x -> x.startsWith("-XX:ReservedCodeCacheSize=")));
        assertTrue(o.stream().noneMatch(x -> x.startsWith("-XX:TieredStopAtLevel")));
        assertTrue(base().build().name().startsWith("pando-ee-"));
    }

    @Test
    void refusesBadValues() {
        assertThrows(IllegalArgumentException.class, () -> base().cpus(0).build());
        assertThrows(IllegalArgumentException.class, () -> base().memoryMb(16).build());
        assertThrows(NullPointerException.class, () -> base().program(null).build());
        assertThrows(IllegalArgumentException.class, () -> new SandboxSpec(Path.of("/rt"), Path.of("/p"), "p",
            Path.of("/tmp/s"), 1, 128, SandboxSpec.Bubblewrap.OFF, Path.of("java"), "bad name", true));
    }

    @Test
    void quotesForTheShell() {
        assertEquals("'a'\\''b'", SandboxLauncher.quote("a'b"));
    }

    @Test
    void bindsWhatTheJdkLinksToOutsideUsr() {
        Path home = Path.of(System.getProperty("java.home"));
        var binds = Bubblewrap.jdkBinds(home);
        System.out.println("[sandbox] JDK " + home + " needs binds " + binds);
        assertTrue(binds.stream().noneMatch(p -> p.equals(Path.of("/etc"))));
        Path command = Bubblewrap.command(home, Path.of("/rt"), Path.of("/p.jar"), Path.of("/tmp/x")).stream()
            .map(Path::of).filter(p -> p.equals(Path.of("/sys"))).findAny().orElse(null);
        assertEquals(null, command, "/sys is never bound");
    }
}
