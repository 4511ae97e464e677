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
        b.putShort((short) 1);
        str(b, "42");
        str(b, "echo");
        b.putInt(5000).putShort((short) 2).putShort((short) 0).putShort((short) 9);
        b.putShort((short) 1);
        str(b, "k");
        str(b, "v");
        b.putInt(1);
        str(b, "s");
        b.putInt(2).put(new byte[] {1, 2});
        b.flip();
        Init init = Init.parse(b.duplicate());
        assertEquals("42", init.session());
        assertEquals(5000, init.budgetMicros());
        assertEquals(9, init.flows()[1]);
        assertEquals("v", init.parameters().get("k"));
        assertEquals(2, init.state().get("s").length);
        ByteBuffer cut = b.duplicate().limit(b.limit() - 1);
        assertTrue(assertThrows(ProtocolException.class, () -> Init.parse(cut)).getMessage()
            .contains("INIT state value truncated"));
        ByteBuffer v2 = b.duplicate();
        v2.putShort(0, (short) 2);
        assertTrue(assertThrows(ProtocolException.class, () -> Init.parse(v2)).getMessage()
            .contains("protocol version 2"));
    }

    private static void str(ByteBuffer b, String s) {
        byte[] u = s.getBytes(StandardCharsets.UTF_8);
        b.putShort((short) u.length).put(u);
    }
}
