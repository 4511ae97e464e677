package io.pando.system;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.Random;
import java.util.function.Consumer;
import java.util.jar.Attributes;
import java.util.jar.Manifest;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Uploads that the program store must refuse, made from a good program jar (built with
 * {@code io.pando.ee.sandbox.testing.ProgramJars}) or from nothing: a text file, a truncated jar, a zip bomb, a jar
 * over the size limit, a jar with an edited manifest. Every file is written to the given path and kept, so that a
 * refusal can be repeated by hand ({@code pando:program-install FILE}).
 */
final class BadUploads {

    private BadUploads() {
    }

    /** A text file with a {@code .jar} name. */
    static Path textFile(Path to) throws IOException {
        Files.writeString(to, "this is a program, honestly\n", StandardCharsets.UTF_8);
        return to;
    }

    /** The first half of {@code jar}: it starts like a zip, but its central directory is gone. */
    static Path truncated(Path jar, Path to) throws IOException {
        byte[] all = Files.readAllBytes(jar);
        Files.write(to, Arrays.copyOf(all, all.length / 2));
        return to;
    }

    /**
     * {@code jar} with its manifest edited by {@code edit} (main attributes), every other entry copied as it is.
     */
    static Path withManifest(Path jar, Path to, Consumer<Attributes> edit) throws IOException {
        return rewrite(jar, to, edit, null);
    }

    /**
     * {@code jar} plus an entry {@code data/zeros.bin} of {@code mib} MiB of zeros, deflated at the best compression
     * (about 1000:1): small to upload, huge to inflate.
     */
    static Path zipBomb(Path jar, Path to, int mib) throws IOException {
        return rewrite(jar, to, null, zip -> {
            zip.setLevel(Deflater.BEST_COMPRESSION);
            zip.putNextEntry(new ZipEntry("data/zeros.bin"));
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < mib; i++) {
                zip.write(zeros);
            }
            zip.closeEntry();
        });
    }

    /** {@code jar} plus an entry {@code data/random.bin} of {@code bytes} random bytes (they do not compress). */
    static Path oversized(Path jar, Path to, int bytes) throws IOException {
        return rewrite(jar, to, null, zip -> {
            zip.setLevel(Deflater.NO_COMPRESSION);
            zip.putNextEntry(new ZipEntry("data/random.bin"));
            byte[] noise = new byte[bytes];
            new Random(42).nextBytes(noise);
            zip.write(noise);
            zip.closeEntry();
        });
    }

    private interface Extra {
        void write(ZipOutputStream zip) throws IOException;
    }

    private static Path rewrite(Path jar, Path to, Consumer<Attributes> edit, Extra extra) throws IOException {
        try (ZipFile in = new ZipFile(jar.toFile()); OutputStream os = Files.newOutputStream(to);
             ZipOutputStream zip = new ZipOutputStream(os)) {
            Manifest m;
            try (InputStream mf = in.getInputStream(in.getEntry("META-INF/MANIFEST.MF"))) {
                m = new Manifest(mf);
            }
            if (edit != null) {
                edit.accept(m.getMainAttributes());
            }
            zip.putNextEntry(new ZipEntry("META-INF/MANIFEST.MF"));
            m.write(zip);
            zip.closeEntry();
            for (Enumeration<? extends ZipEntry> e = in.entries(); e.hasMoreElements();) {
                ZipEntry entry = e.nextElement();
                if (entry.getName().equals("META-INF/MANIFEST.MF")) {
                    continue;
                }
                zip.putNextEntry(new ZipEntry(entry.getName()));
                try (InputStream data = in.getInputStream(entry)) {
                    data.transferTo(zip);
                }
                zip.closeEntry();
            }
            if (extra != null) {
                extra.write(zip);
            }
        }
        return to;
    }
}
