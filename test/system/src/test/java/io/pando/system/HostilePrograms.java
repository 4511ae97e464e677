package io.pando.system;

import java.util.List;

/**
 * The hostile-program corpus of {@link HostileProgramsIT}: active programs that try, each in one way, to escape the
 * program API or to take the router down with them, and what the router must do with each. Every program is a class
 * {@code com.example.hostile.PKG.Program} built by {@link ProgramBundle}: its {@code process} runs the case's
 * statements, then emits the datagram unchanged.
 *
 * <p>Two kinds of case:
 * <ul>
 * <li>{@link Stage#UPLOAD}: what upload verification must refuse ({@code pando:program-install} exits 1); the case
 * names, in {@link Hostile#named()}, the JDK classes or members the report must name.</li>
 * <li>{@link Stage#RUN}: a program that passes verification (its bytecode references only allowed things) and
 * misbehaves when it runs: the {@code process} sandbox must stop it; {@link Hostile#counters()} lists the per-unit
 * session counters of which at least one must move.</li>
 * </ul>
 */
final class HostilePrograms {

    private HostilePrograms() {
    }

    /** Where the router must stop the program. */
    enum Stage {
        /** refused by upload verification: never installed, never run */
        UPLOAD,
        /** installed, then stopped by the sandbox when it runs */
        RUN
    }

    /**
     * One case.
     *
     * @param name the case, also the program's name, store name and bundle name suffix
     * @param what what the program does, for the report
     * @param members fields and helper methods of the program class
     * @param body the statements run for every datagram
     * @param stage where it must be stopped
     * @param named for UPLOAD: substrings that some finding of the refusal must contain, each (a JDK class or member)
     * @param counters for RUN: the per-unit session counters of which at least one must move
     * @param count for RUN: datagrams the hostile sender sends (few: each may cost a sandbox)
     * @param rate for RUN: their pace, datagrams per second
     * @param options for RUN: extra pando:session-create options
     */
    record Hostile(String name, String what, String members, String body, Stage stage, List<String> named,
        List<String> counters, int count, int rate, String options) {

        String packageName() {
            return "com.example.hostile." + name.replace("-", "");
        }

        String source() {
            return ProgramBundle.source(packageName(), members, body);
        }

        String symbolicName() {
            return "com.example.hostile." + name;
        }
    }

    private static Hostile upload(String name, String what, String members, String body, String... named) {
        return new Hostile(name, what, members, body, Stage.UPLOAD, List.of(named), List.of(), 0, 0, "");
    }

    private static Hostile run(String name, String what, String members, String body, int count, int rate,
        String options, String... counters) {
        return new Hostile(name, what, members, body, Stage.RUN, List.of(), List.of(counters), count, rate, options);
    }

    /** What upload verification must refuse, with the class or member the report must name. */
    static final List<Hostile> UPLOAD = List.of(
        upload("reflection", "calls a private method through java.lang.reflect",
            "",
            """
            java.lang.reflect.Method m = Object.class.getDeclaredMethod("clone");
            m.setAccessible(true);
            m.invoke(this);
            """,
            "java.lang.reflect.Method", "java.lang.Class.getDeclaredMethod"),
        upload("class-loading", "loads a JDK class by name through the system class loader",
            "",
            """
            Class<?> c = ClassLoader.getSystemClassLoader().loadClass("java.lang.Runtime");
            Class<?> d = Class.forName("java.lang.ProcessBuilder");
            if (c == d) {
                return;
            }
            """,
            "java.lang.ClassLoader.loadClass", "java.lang.Class.forName"),
        upload("thread", "starts a thread that outlives the datagram (and its CPU budget)",
            "",
            """
            new Thread(() -> {
                while (System.nanoTime() != 0) {
                    // spin outside the budget
                }
            }).start();
            """,
            "java.lang.Thread.start"),
        upload("file-access", "writes a file and reads /etc/passwd",
            "",
            """
            java.nio.file.Files.write(java.nio.file.Path.of("/tmp/pando-hostile"), in.copyData());
            try (java.io.FileInputStream f = new java.io.FileInputStream("/etc/passwd")) {
                f.read();
            }
            """,
            "java.nio.file.Files.write", "java.io.FileInputStream"),
        upload("socket", "opens a TCP connection and sends the datagram out of band",
            "",
            """
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", 22)) {
                s.getOutputStream().write(in.copyData());
            }
            """,
            "java.net.Socket"),
        upload("process-spawn", "runs a shell",
            "",
            """
            new ProcessBuilder("sh", "-c", "kill -9 -1").start().waitFor();
            """,
            "java.lang.ProcessBuilder"),
        upload("system-exit", "ends its JVM with System.exit",
            "",
            """
            System.exit(42);
            """,
            "java.lang.System.exit"),
        upload("runtime-halt", "halts its JVM with Runtime.halt",
            "",
            """
            Runtime.getRuntime().halt(42);
            """,
            "java.lang.Runtime.halt"),
        upload("native-library", "loads a native library",
            "",
            """
            System.loadLibrary("pandoevil");
            System.load("/tmp/libpandoevil.so");
            """,
            "java.lang.System.loadLibrary", "java.lang.System.load"),
        upload("unsafe", "writes to raw memory through sun.misc.Unsafe",
            "",
            """
            sun.misc.Unsafe.getUnsafe().putLong(0L, 0L);
            """,
            "sun.misc.Unsafe"),
        upload("method-handles", "reaches System.exit through a method handle, past a scan of direct calls",
            "",
            """
            java.lang.invoke.MethodHandle exit = java.lang.invoke.MethodHandles.lookup().findStatic(System.class,
                "ex" + "it", java.lang.invoke.MethodType.methodType(void.class, int.class));
            try {
                exit.invoke(42);
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
            """,
            "java.lang.invoke.MethodHandles.lookup"));

    /**
     * What passes verification and must be stopped when it runs (budget 20 ms of CPU per datagram, at least 2 s for
     * the first 32 datagrams of each sandbox, its warm-up; 128 MiB, 64 MiB of heap; half a CPU). The first case is the control: a well-behaved program in the same
     * kind of sandbox, which must deliver every datagram and move none of the counters.
     */
    static final List<Hostile> RUN = List.of(
        run("benign", "control: emits every datagram unchanged", "", "", 200, 200, ""),
        run("infinite-loop", "loops forever on its first datagram (inside a sandbox's warm-up budget of 2 s CPU)",
            "private long spins;",
            """
            while (in.length() >= 0) {
                spins++;
            }
            """,
            1, 10, "", "program_over_budget", "program_killed"),
        run("deep-recursion", "recurses until the thread's stack is gone",
            """
            private static long down(long n) {
                return n == Long.MIN_VALUE ? 0 : down(n + 1) + 1;
            }
            """,
            """
            long depth = down(in.length());
            if (depth == 42) {
                return;
            }
            """,
            4, 10, "", "program_errors", "program_killed"),
        run("allocation-bomb", "keeps 4 MiB more per datagram, referenced forever, until the heap is gone",
            "private static final List<long[]> HOARD = new ArrayList<>();",
            """
            for (int i = 0; i < 4; i++) {
                HOARD.add(new long[1 << 17]);
            }
            """,
            24, 40, "", "program_killed", "sandbox_oom_kills"),
        run("huge-array", "allocates new long[Integer.MAX_VALUE - 8] (16 GiB)",
            "",
            """
            long[] huge = new long[Integer.MAX_VALUE - 8];
            huge[in.length()] = 1;
            """,
            2, 10, "", "program_killed", "sandbox_oom_kills"),
        run("blocking-forever", "waits on its own monitor, which nobody notifies",
            "",
            """
            synchronized (this) {
                wait();
            }
            """,
            2, 10, "", "program_blocked"),
        run("lock-hog", "behaves for 40 datagrams (past the sandbox's warm-up), then takes the lock of String.class "
                + "and spins holding it (the 20 ms budget)",
            """
            private static int seen;
            private long spins;
            """,
            """
            if (++seen > 40) {
                synchronized (String.class) {
                    while (in.length() >= 0) {
                        spins++;
                    }
                }
            }
            """,
            41, 100, "", "program_over_budget"),
        run("exception-storm", "throws on every datagram",
            "",
            """
            if (in.length() >= 0) {
                throw new IllegalStateException("storm: datagram of " + in.length() + " bytes refused");
            }
            """,
            200, 200, "", "program_errors"));
}
