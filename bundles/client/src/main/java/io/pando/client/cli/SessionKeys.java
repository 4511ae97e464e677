package io.pando.client.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;

/**
 * A session's ARTP key (32 bytes, docs/artp.md 16.2) on the command line and in files: 64 hexadecimal digits, or a
 * file holding either the 32 raw bytes or the 64 digits (white space around them ignored). Files are written for
 * their owner only (0600). Every error message says what was expected.
 */
final class SessionKeys {

    /** The length of a key in bytes. */
    static final int LENGTH = 32;

    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    /** How {@link #write} stores a key. */
    enum Format {
        /** 64 lower-case hexadecimal digits and a newline. */
        HEX,
        /** The 32 bytes. */
        RAW
    }

    private SessionKeys() {
    }

    /**
     * @param what the option, for messages
     * @param hex 64 hexadecimal digits
     * @return the key
     * @throws IllegalArgumentException saying what is wrong
     */
    static byte[] parseHex(String what, String hex) {
        String h = hex.strip();
        if (h.length() != 2 * LENGTH) {
            throw new IllegalArgumentException(what + ": a session key is " + 2 * LENGTH + " hexadecimal digits ("
                + LENGTH + " bytes), got " + h.length() + " characters");
        }
        for (int i = 0; i < h.length(); i++) {
            if (Character.digit(h.charAt(i), 16) < 0) {
                throw new IllegalArgumentException(what + ": a session key is " + 2 * LENGTH
                    + " hexadecimal digits [0-9a-fA-F]; character " + (i + 1) + " is not one");
            }
        }
        return HexFormat.of().parseHex(h.toLowerCase(Locale.ROOT));
    }

    /**
     * @param what the option, for messages
     * @param file 32 raw bytes, or 64 hexadecimal digits
     * @return the key
     * @throws IllegalArgumentException when the file is missing, unreadable or holds something else
     */
    static byte[] read(String what, Path file) {
        byte[] content;
        try {
            content = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(what + " " + file + ": no such file");
        } catch (IOException e) {
            throw new IllegalArgumentException(what + " " + file + ": cannot read it: " + e.getMessage());
        }
        if (content.length == LENGTH) {
            return content;
        }
        String text = new String(content, StandardCharsets.ISO_8859_1).strip();
        if (text.length() == 2 * LENGTH) {
            return parseHex(what + " " + file, text);
        }
        throw new IllegalArgumentException(what + " " + file + ": a key file holds the " + LENGTH + " raw bytes or "
            + 2 * LENGTH + " hexadecimal digits, this one holds " + content.length + " bytes");
    }

    /**
     * Checks that {@link #write} can put a file at {@code file}, before anything is asked of the router.
     *
     * @throws IllegalArgumentException saying why not
     */
    static void checkWritable(String what, Path file) {
        Path dir = file.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IllegalArgumentException(what + " " + file + ": the directory " + dir + " does not exist");
        }
        if (Files.isDirectory(file)) {
            throw new IllegalArgumentException(what + " " + file + ": is a directory");
        }
        if (!Files.isWritable(dir)) {
            throw new IllegalArgumentException(what + " " + file + ": cannot write in " + dir);
        }
    }

    /**
     * Writes the key to {@code file} (replacing it) readable and writable by its owner only: the key is first written
     * to a new 0600 file next to it, which then takes its place, so the key is never in a file others may read.
     */
    static void write(Path file, byte[] key, Format format) throws IOException {
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        boolean posix = Files.getFileStore(dir).supportsFileAttributeView("posix");
        Path tmp = posix ? Files.createTempFile(dir, ".pando-key-", ".tmp", PosixFilePermissions.asFileAttribute(OWNER_ONLY))
            : Files.createTempFile(dir, ".pando-key-", ".tmp");
        try {
            if (!posix) {
                java.io.File f = tmp.toFile();
                if (!(f.setReadable(false, false) && f.setReadable(true, true) && f.setWritable(false, false)
                    && f.setWritable(true, true))) {
                    throw new IOException("cannot make " + tmp + " private to its owner");
                }
            }
            Files.write(tmp, format == Format.RAW ? key
                : (HexFormat.of().formatHex(key) + "\n").getBytes(StandardCharsets.US_ASCII));
            try {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException | FileAlreadyExistsException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
