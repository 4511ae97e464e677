package io.pando.ee.sandbox.it;

import io.pando.ee.sandbox.testing.ProgramJars;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pando.ee.sandbox.it.TestUnit.Datagram;
import io.pando.ee.sandbox.it.TestUnit.Result;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The sandbox end to end, without bubblewrap and cgroups (see {@link ConfinementIT} for those): a real child JVM
 * started by the launcher, the embedded framework, a program bundle compiled here, the protocol spoken by a test
 * unit.
 */
class SandboxIT {

    /** A program with a behaviour per datagram text, for the protocol tests. */
    static final ProgramJars.Spec KITCHEN_SINK = ProgramJars.program("test.Sink", String.join("\n",
        "calls++;",
        "if (in.isControl()) { ctx.emit(in.flow(), bytes(\"ctl:\" + text(in))); return; }",
        "String t = text(in);",
        "switch (t) {",
        "  case \"throw\": throw new IllegalStateException(\"boom\");",
        "  case \"deep\": deep(0); return;",
        "  case \"control\": ctx.sendControl(in.flow(), bytes(\"hello\")); return;",
        "  case \"count\": {",
        "    int n = Integer.parseInt(new String(ctx.state(\"n\").orElse(new byte[] {'0'}), StandardCharsets.UTF_8)) + 1;",
        "    ctx.putState(\"n\", Integer.toString(n).getBytes(StandardCharsets.UTF_8));",
        "    ctx.emit(in.flow(), bytes(\"n=\" + n)); return; }",
        "  case \"forget\": ctx.putState(\"n\", null); ctx.emit(in.flow(), bytes(\"forgot\")); return;",
        "  case \"badflow\": ctx.emit(FlowId.of(7), bytes(\"x\")); return;",
        "  case \"emitthenthrow\": ctx.emit(in.flow(), bytes(\"partial\")); throw new RuntimeException(\"after emit\");",
        "  case \"bigvalue\": ctx.putState(\"big\", new byte[65 * 1024]); return;",
        "  case \"longkey\": ctx.putState(\"k\".repeat(256), new byte[1]); return;",
        "  case \"quota\": for (int i = 0; i < 20; i++) { ctx.putState(\"q\" + i, new byte[60 * 1024]); } return;",
        "  case \"bigresult\": ctx.emit(in.flow(), ByteBuffer.allocate((1 << 20) + 1)); return;",
        "  case \"params\": ctx.emit(in.flow(), bytes(new TreeMap<>(ctx.parameters()) + \" \" + ctx.session())); return;",
        "  case \"calls\": ctx.emit(in.flow(), bytes(\"calls=\" + calls)); return;",
        "  case \"interrupt\": Thread.currentThread().interrupt(); ctx.emit(in.flow(), in.data()); return;",
        "  default: ctx.emit(in.flow(), in.data());",
        "}"),
        "int calls;\n"
            + "  static int deep(int n) { return deep(n + 1) + 1; }\n"
            + "  @Override public void validate(Map<String, String> p) {\n"
            + "    if (p.containsKey(\"refuse\")) throw new IllegalArgumentException(\"parameter refuse: not wanted\");\n"
            + "  }")
        .name("sink").symbolicName("test.sink");

    @Test
    void echoesPipelinedBatchesAndExitsOnShutdown() throws Exception {
        try (Harness.Running r = Harness.start(KITCHEN_SINK)) {
            TestUnit.Ready ready = r.init("sink", 100_000, Map.of(), Map.of());
            assertEquals("test.sink;1.0.0", ready.bundle());
            assertTrue(ready.pid() > 0);
            System.out.printf("[sandbox] start without bubblewrap/cgroup: launch→READY %d ms (JVM start→READY %d ms)%n",
                r.readyNanos / 1_000_000, ready.startupMillis());

            // three batches in flight at once
            long seq = 1000;
            int[] sizes = {100, 1, 50};
            List<Datagram> all = new ArrayList<>();
            for (int size : sizes) {
                List<Datagram> batch = new ArrayList<>();
                for (int i = 0; i < size; i++) {
                    batch.add(Datagram.of(seq++, "d" + seq));
                }
                all.addAll(batch);
                r.unit.send(TestUnit.batch(batch));
            }
            List<List<Result>> frames = r.results(all.size());
            assertEquals(3, frames.size(), "one RESULTS frame per small batch");
            int i = 0;
            for (List<Result> frame : frames) {
                for (Result res : frame) {
                    Datagram d = all.get(i++);
                    assertEquals(d.seq(), res.seq());
                    assertEquals(0, res.status());
                    assertEquals(1, res.ops().size());
                    assertEquals(1, res.ops().get(0).kind());
                    assertEquals(new String(d.data(), StandardCharsets.UTF_8), res.ops().get(0).text());
                    assertTrue(res.cpuNanos() >= 0);
                }
            }

            // one batch of 40 × 16 KiB: its results pass 256 KiB, so they come in several frames, in order
            List<Datagram> big = new ArrayList<>();
            for (int k = 0; k < 40; k++) {
                big.add(new Datagram(seq++, false, 0, new byte[16 << 10]));
            }
            r.unit.send(TestUnit.batch(big));
            List<List<Result>> bigFrames = r.results(big.size());
            assertTrue(bigFrames.size() >= 2, "RESULTS split at 256 KiB: " + bigFrames.size() + " frames");
            long expect = big.get(0).seq();
            for (List<Result> frame : bigFrames) {
                for (Result res : frame) {
                    assertEquals(expect++, res.seq());
                    assertEquals(16 << 10, res.ops().get(0).data().length);
                }
            }

            r.unit.send(TestUnit.shutdown());
            assertEquals(TestUnit.CLOSED, r.unit.next(Duration.ofSeconds(10)).type());
            assertEquals(0, r.exit(Duration.ofSeconds(10)), r.output());
        }
    }

    @Test
    void stateControlErrorsAndApiLimits() throws Exception {
        try (Harness.Running r = Harness.start(KITCHEN_SINK)) {
            r.init("sink", 0, Map.of("key", "v"), TestUnit.state("n", "5"));
            String[] texts = {"count", "count", "control", "throw", "calls", "deep", "calls", "forget", "count",
                "badflow", "emitthenthrow", "bigvalue", "longkey", "quota", "bigresult", "params", "interrupt",
                "after-interrupt"};
            List<Datagram> batch = new ArrayList<>();
            for (int k = 0; k < texts.length; k++) {
                batch.add(Datagram.of(k, texts[k]));
            }
            batch.add(new Datagram(texts.length, true, 0, "c!".getBytes(StandardCharsets.UTF_8)));
            r.unit.send(TestUnit.batch(batch));
            List<Result> res = r.results(batch.size()).stream().flatMap(List::stream).toList();

            // state seeded by INIT, changed by the program, visible to the next datagram; ops in call order
            assertEquals(List.of("n", "n=6"), opSummary(res.get(0)).subList(0, 2));
            assertEquals("n=7", res.get(1).ops().get(1).text());
            assertEquals(2, res.get(1).ops().get(0).kind(), "STATE_PUT first");
            assertEquals("7", res.get(1).ops().get(0).text());
            // CONTROL
            assertEquals(4, res.get(2).ops().get(0).kind());
            assertEquals("hello", res.get(2).ops().get(0).text());
            // the program throws: status 1, error, the instance keeps running (same instance: calls counts on)
            assertEquals(1, res.get(3).status());
            assertEquals("java.lang.IllegalStateException: boom", res.get(3).error());
            assertEquals("calls=5", res.get(4).ops().get(0).text());
            assertEquals(1, res.get(5).status());
            assertEquals("java.lang.StackOverflowError", res.get(5).error());
            assertEquals("calls=7", res.get(6).ops().get(0).text());
            // STATE_REMOVE, then the key is gone
            assertEquals(3, res.get(7).ops().get(0).kind());
            assertEquals("n", res.get(7).ops().get(0).key());
            assertEquals("n=1", res.get(8).ops().get(1).text());
            // API rules thrown to the program
            assertTrue(res.get(9).error().contains("session has no flow 7"), res.get(9).error());
            assertEquals(1, res.get(10).status());
            assertEquals(List.of("partial"), res.get(10).ops().stream().map(TestUnit.Op::text).toList(),
                "ops before the throw are kept");
            assertTrue(res.get(11).error().contains("a state value has at most 65536 bytes"), res.get(11).error());
            assertTrue(res.get(12).error().contains("a state key has 1 to 255 characters"), res.get(12).error());
            assertTrue(res.get(13).error().startsWith("java.lang.IllegalStateException: session state is limited to "
                + "1048576 bytes"), res.get(13).error());
            assertEquals(17, res.get(13).ops().size(), "the writes that fit are kept, the refused one is not");
            assertTrue(res.get(14).error().contains("a result has at most 1048576 bytes"), res.get(14).error());
            assertEquals("{key=v} 42", res.get(15).ops().get(0).text());
            // an interrupt left by the program does not break the connection
            assertEquals(0, res.get(16).status());
            assertEquals("after-interrupt", res.get(17).ops().get(0).text());
            // a control datagram
            assertEquals("ctl:c!", res.get(18).ops().get(0).text());
            for (int k = 0; k < res.size(); k++) {
                assertEquals(k, res.get(k).seq());
            }
            r.unit.send(TestUnit.shutdown());
            assertEquals(0, r.exit(Duration.ofSeconds(10)), r.output());
        }
    }

    @Test
    void flowsAndTimers() throws Exception {
        ProgramJars.Spec timers = ProgramJars.program("test.Timers", String.join("\n",
            "String[] t = text(in).split(\":\");",
            "switch (t[0]) {",
            "  case \"set\": ctx.setTimer(Long.parseLong(t[1]), Long.parseLong(t[2])); return;",
            "  case \"cancel\": ctx.cancelTimer(Long.parseLong(t[1])); return;",
            "  case \"flows\": ctx.emit(FlowId.of(2), bytes(ctx.flows().toString())); ctx.emit(in.flow(), in.data()); return;",
            "  case \"many\": for (int i = 0; i < 1025; i++) { ctx.setTimer(1000 + i, 10); } return;",
            "  case \"negative\": ctx.setTimer(1, -1); return;",
            "}"),
            "@Override public void onTimer(long timer, ProgramContext ctx) {"
                + " ctx.emit(FlowId.of(1), bytes(\"fired:\" + timer)); ctx.setTimer(timer + 1, 5); }")
            .name("timers").symbolicName("test.timers");
        try (Harness.Running r = Harness.start(timers)) {
            r.init("timers", 0, Map.of(), Map.of(), new long[] {0, 1, 2, 0xFFFF_FFFFL}, new long[] {500});
            r.unit.send(TestUnit.batch(List.of(
                Datagram.of(1, 0xFFFF_FFFFL, "flows"),
                Datagram.of(2, "set:7:250"),
                Datagram.of(3, "cancel:500"),
                Datagram.of(4, "cancel:8"),
                Datagram.expiry(5, 7),
                Datagram.of(6, "negative"),
                Datagram.of(7, "many"))));
            List<Result> res = r.results(7).stream().flatMap(List::stream).toList();
            assertEquals(2, res.get(0).ops().get(0).flow());
            assertEquals("[0, 1, 2, 4294967295]", res.get(0).ops().get(0).text());
            assertEquals(0xFFFF_FFFFL, res.get(0).ops().get(1).flow(), "u32 flows both ways");
            assertEquals(5, res.get(1).ops().get(0).kind());
            assertEquals(7, res.get(1).ops().get(0).timer());
            assertEquals(250, res.get(1).ops().get(0).delay());
            assertEquals(6, res.get(2).ops().get(0).kind(), "a timer INIT listed is cancelled");
            assertEquals(500, res.get(2).ops().get(0).timer());
            assertEquals(List.of(), res.get(3).ops(), "cancelling a timer that is not set records nothing");
            // the expiry: onTimer emits on flow 1 and sets the next timer
            assertEquals(0, res.get(4).status());
            assertEquals("fired:7", res.get(4).ops().get(0).text());
            assertEquals(1, res.get(4).ops().get(0).flow());
            assertEquals(8, res.get(4).ops().get(1).timer());
            assertTrue(res.get(5).error().contains("a timer's delay is in [0, 3600000000] µs, got -1"), res.get(5).error());
            // set: 8 (from onTimer); 1,023 more fit, the 1,024th new one is refused
            assertTrue(res.get(6).error().contains("at most 1024 timers"), res.get(6).error());
            assertEquals(1023, res.get(6).ops().size(), "the timers that fit are kept");
            r.unit.send(TestUnit.batch(List.of(Datagram.of(8, 3, "flows"))));
            assertEquals(12, r.exit(Duration.ofSeconds(10)), "a datagram of a flow the session lacks is a protocol error");
            assertTrue(r.output().contains("the session has no flow 3"), r.output());
        }
    }

    private static List<String> opSummary(Result r) {
        return r.ops().stream().map(o -> o.kind() == 2 ? o.key() : o.text()).toList();
    }

    @Test
    void infiniteLoopIsStoppedOverBudget() throws Exception {
        ProgramJars.Spec loop = ProgramJars.program("test.Loop",
            "if (text(in).equals(\"spin\")) { long x = 0; while (x >= 0) { x += in.length() | 1; } }"
                + " ctx.emit(in.flow(), in.data());", "").name("loop").symbolicName("test.loop");
        try (Harness.Running r = Harness.start(loop)) {
            long budgetMicros = 20_000;
            r.init("loop", budgetMicros, Map.of(), Map.of());
            List<Datagram> batch = new java.util.ArrayList<>();
            for (int i = 0; i < 40; i++) { // past the warm-up, whose datagrams have a budget of 2 s
                batch.add(Datagram.of(i, "fine"));
            }
            batch.add(Datagram.of(40, "spin"));
            batch.add(Datagram.of(41, "never"));
            r.unit.send(TestUnit.batch(batch));
            long sent = System.nanoTime();
            // the batch's results come only at its end: the first frame is the report
            TestUnit.Frame f = r.unit.next(Duration.ofSeconds(10));
            long reported = System.nanoTime() - sent;
            long[] report = TestUnit.report(f, TestUnit.OVER_BUDGET);
            assertEquals(40, report[0], "the seq of the datagram in process");
            assertTrue(report[1] > budgetMicros * 1000, "cpu ns over the budget: " + report[1]);
            int status = r.exit(Duration.ofSeconds(5));
            long gone = System.nanoTime() - sent;
            assertEquals(10, status, r.output());
            assertEquals(40L, r.unit.seqInFile(), "PATH.seq names the datagram");
            System.out.printf("[sandbox] over budget (%d µs): reported after %d ms (%d µs CPU), process gone after %d ms%n",
                budgetMicros, reported / 1_000_000, report[1] / 1000, gone / 1_000_000);
        }
    }

    @Test
    void waitingForeverIsReportedBlocked() throws Exception {
        ProgramJars.Spec waits = ProgramJars.program("test.Waits",
            "synchronized (this) { wait(); }", "").name("waits").symbolicName("test.waits");
        try (Harness.Running r = Harness.start(waits)) {
            r.init("waits", 5_000, Map.of(), Map.of());
            long sent = System.nanoTime();
            r.unit.send(TestUnit.batch(List.of(Datagram.of(31, "x"))));
            long[] report = TestUnit.report(r.unit.next(Duration.ofSeconds(10)), TestUnit.BLOCKED);
            long after = System.nanoTime() - sent;
            assertEquals(31, report[0]);
            assertTrue(report[1] >= 1_000_000_000L, "wall ns: " + report[1]);
            assertEquals(11, r.exit(Duration.ofSeconds(5)), r.output());
            System.out.printf("[sandbox] blocked datagram reported after %d ms%n", after / 1_000_000);
        }
    }

    @Test
    void allocationBombEndsTheSandboxAndSeqFileNamesIt() throws Exception {
        ProgramJars.Spec bomb = ProgramJars.program("test.Bomb",
            "if (text(in).equals(\"bomb\")) { while (true) { hoard.add(new byte[1 << 20]); } }"
                + " ctx.emit(in.flow(), in.data());",
            "private final List<byte[]> hoard = new ArrayList<>();").name("bomb").symbolicName("test.bomb");
        try (Harness.Running r = Harness.start(bomb, b -> b.memoryMb(96))) {
            r.init("bomb", 0, Map.of(), Map.of());
            r.unit.send(TestUnit.batch(List.of(Datagram.of(1, "ok"))));
            assertEquals(1, r.results(1).get(0).size());
            assertEquals(-1L, r.unit.seqInFile(), "-1 between datagrams");
            r.unit.send(TestUnit.batch(List.of(Datagram.of(2, "bomb"))));
            int status = r.exit(Duration.ofSeconds(20));
            assertNotEquals(0, status);
            assertEquals(3, status, "ExitOnOutOfMemoryError: " + r.output());
            assertTrue(r.output().contains("OutOfMemoryError"), r.output());
            assertEquals(2L, r.unit.seqInFile(), "PATH.seq names the culprit");
            assertEquals(TestUnit.CLOSED, r.unit.next(Duration.ofSeconds(5)).type());
        }
    }

    @Test
    void programImportingTheFrameworkIsRefusedWithTheRequirementNamed() throws Exception {
        ProgramJars.Spec sneaky = ProgramJars.program("test.Sneaky", "ctx.emit(in.flow(), in.data());", "")
            .name("sneaky").symbolicName("test.sneaky")
            .imports(ProgramJars.API_IMPORTS + ",org.osgi.framework;version=\"[1.8,2)\"");
        try (Harness.Running r = Harness.start(sneaky)) {
            r.unit.send(TestUnit.init("42", "sneaky", 0, new int[] {0}, Map.of(), Map.of()));
            String reason = TestUnit.failedReason(r.unit.next(Duration.ofSeconds(20)));
            assertTrue(reason.contains("wiring refused: Import-Package org.osgi.framework"), reason);
            assertEquals(1, r.exit(Duration.ofSeconds(10)), r.output());
        }
    }

    @Test
    void refusedParametersFailTheStart() throws Exception {
        try (Harness.Running r = Harness.start(KITCHEN_SINK)) {
            r.unit.send(TestUnit.init("42", "sink", 0, new int[] {0}, Map.of("refuse", "1"), Map.of()));
            String reason = TestUnit.failedReason(r.unit.next(Duration.ofSeconds(20)));
            assertEquals("parameters refused: parameter refuse: not wanted", reason);
            assertEquals(1, r.exit(Duration.ofSeconds(10)), r.output());
        }
    }

    @Test
    void unknownProgramNameFailsTheStart() throws Exception {
        ProgramJars.Spec other = ProgramJars.program("test.Other", "ctx.emit(in.flow(), in.data());", "")
            .name("other").symbolicName("test.other");
        try (Harness.Running r = Harness.start(other, b -> b.program("missing"))) {
            String reason = TestUnit.failedReason(r.unit.next(Duration.ofSeconds(20)));
            assertTrue(reason.contains("program 'missing' not found in bundle test.other 1.0.0"), reason);
            assertTrue(reason.contains("ActiveProgram services named [other]"), reason);
            assertEquals(1, r.exit(Duration.ofSeconds(10)), r.output());
        }
    }

    @Test
    void garbageFromTheUnitEndsTheSandbox() throws Exception {
        try (Harness.Running r = Harness.start(KITCHEN_SINK)) {
            r.init("sink", 0, Map.of(), Map.of());
            r.unit.sendRaw("garbage, not a frame".getBytes(StandardCharsets.US_ASCII));
            int status = r.exit(Duration.ofSeconds(10));
            assertEquals(12, status, r.output());
            assertTrue(r.output().contains("malformed frame from the unit"), r.output());
        }
    }

    @Test
    void killLeavesNoProcessBehind() throws Exception {
        try (Harness.Running r = Harness.start(KITCHEN_SINK)) {
            r.init("sink", 0, Map.of(), Map.of());
            ProcessHandle jvm = r.sandbox.jvm().orElseThrow();
            assertTrue(jvm.isAlive());
            r.sandbox.kill();
            r.exit(Duration.ofSeconds(5));
            jvm.onExit().get(5, java.util.concurrent.TimeUnit.SECONDS);
            assertFalse(jvm.isAlive());
        }
    }
}
