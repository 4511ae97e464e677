package io.pando.cluster;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Requests one member sends another, and values each member publishes to the others: how the parts of the router on
 * different nodes ask each other to act (the control unit's leader asks a member to open a session on its router)
 * and say what they can do (which units a member's router uses).
 *
 * <p>Members trust each other: anything that can join the cluster can send requests, so the cluster's network must
 * be private to its nodes (docs/cluster.md). Requests are not queued for a member that is not there: a request to a
 * member that left, or that serves no handler for the topic, fails (at once or at its timeout), and the sender
 * decides what to do. Bodies and answers are opaque bytes of at most {@link #MAX_BYTES}.
 *
 * @since 1.3
 */
@ProviderType
public interface MemberRequests {

    /** The largest body or answer, bytes. */
    int MAX_BYTES = 256 * 1024;

    /**
     * Sends a request to one member.
     *
     * @param member the member's name ({@link ClusterMember#name()}); may be this member
     * @param topic what is asked (1-128 printable ASCII characters without spaces)
     * @param body the request, at most {@link #MAX_BYTES}
     * @param timeout how long to wait for the answer
     * @return completes with the member's answer; or exceptionally with {@link IllegalArgumentException} (no such
     *     member, bad topic or size), {@link java.util.concurrent.TimeoutException} (no answer in time: the member
     *     may have acted all the same), or {@link IllegalStateException} (the member serves no such topic, or its
     *     handler failed: the message says why)
     */
    CompletableFuture<byte[]> request(String member, String topic, byte[] body, Duration timeout);

    /**
     * Serves requests of a topic on this member until the returned handle is closed. The handler runs on a worker
     * thread of the cluster (it may block, briefly: requests wait behind it); an exception it throws reaches the
     * sender as an {@link IllegalStateException} with its message.
     *
     * @param topic the topic
     * @param handler the answer to a body
     * @return closes the registration
     * @throws IllegalStateException if a handler already serves the topic on this member
     */
    AutoCloseable serve(String topic, Function<byte[], byte[]> handler);

    /**
     * Publishes a value of this member under a key until {@code ttl} passes without it being published again, this
     * member leaves, or it is {@linkplain #withdraw withdrawn}.
     *
     * @param key the key (as a topic)
     * @param value the value, at most {@link #MAX_BYTES} characters
     * @param ttl how long it lives unless published again (at least 1 s)
     * @throws NoQuorumException never: a minority partition may publish (what a member can do is not a decision)
     */
    void publish(String key, String value, Duration ttl);

    /** @param key a key this member published; withdrawn (nothing happens if it did not) */
    void withdraw(String key);

    /**
     * @param key the key
     * @return the values the current members publish under the key, by member name
     */
    Map<String, String> published(String key);
}
