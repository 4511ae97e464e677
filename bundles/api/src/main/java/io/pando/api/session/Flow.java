package io.pando.api.session;

import java.net.InetSocketAddress;
import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * One flow of an active session: the datagrams a sender streams under one {@link FlowId}, and where the
 * processed datagrams of that flow are sent.
 *
 * @param id the flow id, unique within the session
 * @param name a short label chosen by the user (e.g. {@code "audio"}): 1 to 64 printable ASCII characters
 * @param destination the ARTP endpoint that receives the processed flow
 */
@ProviderType
public record Flow(FlowId id, String name, InetSocketAddress destination) {

    /** Longest accepted {@link #name()}. */
    public static final int MAX_NAME_LENGTH = 64;

    /**
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the name is empty, too long or not printable ASCII
     */
    public Flow {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(destination, "destination");
        if (name.isEmpty() || name.length() > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException("a flow name has 1 to " + MAX_NAME_LENGTH + " characters, got "
                + name.length());
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c < 0x21 || c > 0x7E) {
                throw new IllegalArgumentException("a flow name is printable ASCII without spaces, got '"
                    + name + "'");
            }
        }
    }
}
