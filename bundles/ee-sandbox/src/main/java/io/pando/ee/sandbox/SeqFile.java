package io.pando.ee.sandbox;

import java.io.Closeable;
import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The file {@code PATH.seq}: the seq of the datagram in process (u64 big-endian), -1 between datagrams. It is
 * memory-mapped, so what is written lands in the page cache at once and the unit can read it whatever ends the
 * sandbox, a SIGKILL by the OOM killer included.
 */
final class SeqFile implements Closeable {

    /** The value between datagrams. */
    static final long NONE = -1;

    private final FileChannel channel;
    private final MappedByteBuffer map;

    SeqFile(Path file) throws IOException {
        channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        map = channel.map(FileChannel.MapMode.READ_WRITE, 0, 8);
        map.putLong(0, NONE);
    }

    /** Writes the seq of the datagram about to be processed, or {@link #NONE}. */
    void set(long seq) {
        map.putLong(0, seq);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
