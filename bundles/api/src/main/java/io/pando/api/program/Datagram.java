package io.pando.api.program;

import io.pando.api.session.FlowId;
import java.nio.ByteBuffer;
import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * One datagram of a session's flow: the unit of processing. Packets of one datagram are never split over
 * units; a program always sees whole datagrams.
 *
 * <p>A datagram is a view: {@link #data()} shows the bytes between the position and the limit of the buffer
 * it was created from, without copying, and read-only. <b>Ownership:</b> a datagram does not own its bytes.
 * Whoever created it keeps the backing memory and decides how long it is valid; a datagram passed to
 * {@link ActiveProgram#process} is valid only until that call returns (the router reuses the memory
 * afterwards), so a program that keeps data copies it with {@link #copyData()}. A datagram made by
 * {@link #of(FlowId, byte[])} or {@link #control(FlowId, byte[])} copies its input and is valid forever.
 *
 * <p>A <em>control</em> datagram carries control information rather than flow data; the router forwards it
 * to every unit that serves the session. Two datagrams are equal when flow, control flag and bytes are equal.
 */
@ProviderType
public final class Datagram {

    private final FlowId flow;
    private final boolean control;
    private final ByteBuffer data;

    private Datagram(FlowId flow, boolean control, ByteBuffer data) {
        this.flow = Objects.requireNonNull(flow, "flow");
        this.control = control;
        this.data = data;
    }

    /**
     * Wraps a buffer without copying. The datagram shows the buffer's bytes from its current position to its
     * current limit; later changes of the buffer's position or limit do not affect it, changes of the bytes
     * do. The caller keeps ownership of the buffer and must keep the bytes unchanged while the datagram is in
     * use.
     *
     * @param flow the flow the datagram belongs to
     * @param control whether the datagram carries control information
     * @param data the bytes, from position to limit
     * @return a view of {@code data}
     */
    public static Datagram wrap(FlowId flow, boolean control, ByteBuffer data) {
        return new Datagram(flow, control, data.slice().asReadOnlyBuffer());
    }

    /**
     * @param flow the flow the datagram belongs to
     * @param data the bytes (copied)
     * @return a data datagram that owns a copy of {@code data}
     */
    public static Datagram of(FlowId flow, byte[] data) {
        return new Datagram(flow, false, ByteBuffer.wrap(data.clone()).asReadOnlyBuffer());
    }

    /**
     * @param flow the flow the control information is about
     * @param data the control information (copied)
     * @return a control datagram that owns a copy of {@code data}
     */
    public static Datagram control(FlowId flow, byte[] data) {
        return new Datagram(flow, true, ByteBuffer.wrap(data.clone()).asReadOnlyBuffer());
    }

    /** @return the flow the datagram belongs to */
    public FlowId flow() {
        return flow;
    }

    /** @return true if the datagram carries control information, false for flow data */
    public boolean isControl() {
        return control;
    }

    /**
     * @return a new read-only buffer over the datagram's bytes, position 0 and limit {@link #length()}; the
     *         caller may move its position and limit freely. Valid as long as the datagram is (see above).
     */
    public ByteBuffer data() {
        return data.duplicate();
    }

    /** @return the number of bytes */
    public int length() {
        return data.remaining();
    }

    /** @return a copy of the bytes, owned by the caller */
    public byte[] copyData() {
        byte[] copy = new byte[data.remaining()];
        data.duplicate().get(copy);
        return copy;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Datagram other
            && control == other.control
            && flow.equals(other.flow)
            && data.equals(other.data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(flow, control, data);
    }

    @Override
    public String toString() {
        return (control ? "control" : "data") + "[flow=" + flow + ", " + data.remaining() + " bytes]";
    }
}
