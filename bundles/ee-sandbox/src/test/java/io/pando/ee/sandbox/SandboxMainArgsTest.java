package io.pando.ee.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sandbox's command line and INIT parsing. */
class SandboxMainArgsTest {

    @Test
    void parsesAndChecksTheCommandLine(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("rt/bundles"));
        Path jar = Files.writeString(dir.resolve("p.jar"), "x");
        SandboxMain.Args a = SandboxMain.Args.parse(new String[] {"--socket", "/tmp/s", "--runtime",
            dir.resolve("rt").toString(), "--program-bundle", jar.toString(), "--program", "echo"});
        assertEquals("echo", a.program());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SandboxMain.Args.parse(new String[] {
            "--socket", "/tmp/s"})).getMessage().contains("--runtime --program-bundle --program"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SandboxMain.Args.parse(new String[] {
            "--sock", "x"})).getMessage().contains("unknown option --sock"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SandboxMain.Args.parse(new String[] {
            "--socket"})).getMessage().contains("needs a value"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SandboxMain.Args.parse(new String[] {
            "--socket", "/tmp/s", "--runtime", dir.toString(), "--program-bundle", jar.toString(), "--program", "e"}))
            .getMessage().contains("has no bundles/ directory"));
    }

    @Test
    void parsesInitAndRefusesATruncatedOne() throws Exception {
        ByteBuffer b = ByteBuffer.allocate(256);
        b.putShort((short) 3);
        str(b, "42");
        str(b, "echo");
        b.putInt(5000).putShort((short) 2).putInt(0).putInt(0xFFFF_FFF0);
        b.putShort((short) 1);
        str(b, "k");
        str(b, "v");
        b.putInt(1);
        str(b, "s");
        b.putInt(2).put(new byte[] {1, 2});
        b.putShort((short) 2).putLong(7).putLong(-3);
        b.put((byte) 1);
        b.flip();
        Init init = Init.parse(b.duplicate());
        assertEquals("42", init.session());
        assertEquals(5000, init.budgetMicros());
        assertEquals(0xFFFF_FFF0L, init.flows()[1], "flows are u32");
        assertEquals("v", init.parameters().get("k"));
        assertEquals(2, init.state().get("s").length);
        assertEquals(-3, init.timers()[1]);
        assertTrue(init.rings(), "the unit offers the rings");
        ByteBuffer noRing = b.duplicate().limit(b.limit() - 1);
        assertTrue(assertThrows(ProtocolException.class, () -> Init.parse(noRing)).getMessage()
            .contains("INIT rings truncated"));
        ByteBuffer cut = b.duplicate().limit(b.limit() - 2);
        assertTrue(assertThrows(ProtocolException.class, () -> Init.parse(cut)).getMessage()
            .contains("INIT timer truncated"));
        ByteBuffer badRing = b.duplicate();
        badRing.put(b.limit() - 1, (byte) 2);
        assertTrue(assertThrows(ProtocolException.class, () -> Init.parse(badRing)).getMessage()
            .contains("rings 2, expected 0 or 1"));
        ByteBuffer v1 = b.duplicate();
        v1.putShort(0, (short) 1);
        assertTrue(assertThrows(ProtocolException.class, () -> Init.parse(v1)).getMessage()
            .contains("protocol version 1, this sandbox speaks 3"));
        ByteBuffer twice = b.duplicate(); // the same bytes: back to version 3, flow 1 made 0
        twice.putShort(0, (short) 3).putInt(2 + 4 + 6 + 4 + 2 + 4, 0);
        assertTrue(assertThrows(ProtocolException.class, () -> Init.parse(twice)).getMessage()
            .contains("flow 0 given twice"));
    }

    @Test
    void checksBatchEntries() throws Exception {
        SessionContext session = new SessionContext(1, new long[] {0, 7}, java.util.Map.of(),
            new java.util.LinkedHashMap<>(), new long[0]);
        assertEquals(2, SandboxMain.Worker.check(batch(entry(1, 0, 7, 3), entry(2, Protocol.FLAG_TIMER, 0, 8)), session));
        assertTrue(assertThrows(ProtocolException.class, () -> SandboxMain.Worker.check(batch(entry(1, 0, 8, 3)),
            session)).getMessage().contains("the session has no flow 8"));
        assertTrue(assertThrows(ProtocolException.class, () -> SandboxMain.Worker.check(
            batch(entry(1, Protocol.FLAG_TIMER, 0, 4)), session)).getMessage().contains("expected a u64 timer id"));
        assertTrue(assertThrows(ProtocolException.class, () -> SandboxMain.Worker.check(batch(entry(1, 4, 0, 1)),
            session)).getMessage().contains("flags 0x4"));
    }

    private static byte[] entry(long seq, int flags, long flow, int len) {
        return ByteBuffer.allocate(Protocol.ENTRY_HEADER + len).putLong(seq).put((byte) flags).putInt((int) flow)
            .putInt(len).array();
    }

    private static ByteBuffer batch(byte[]... entries) {
        int n = 4;
        for (byte[] e : entries) {
            n += e.length;
        }
        ByteBuffer b = ByteBuffer.allocate(n).putInt(entries.length);
        for (byte[] e : entries) {
            b.put(e);
        }
        return b.flip();
    }

    private static void str(ByteBuffer b, String s) {
        byte[] u = s.getBytes(StandardCharsets.UTF_8);
        b.putShort((short) u.length).put(u);
    }
}
