package io.pando.cluster.impl;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.topic.ITopic;
import com.hazelcast.topic.Message;
import io.pando.cluster.ClusterMember;
import io.pando.cluster.MemberRequests;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * {@link MemberRequests} on the engine: each member listens on a topic of its own ({@code pando.member.ID}) for
 * requests and for the answers to its own requests; handlers run on a small pool of worker threads, never on the
 * engine's event threads. Published values live in a map ({@code pando.published}, key {@code MEMBER-ID/KEY}) with
 * their time to live; values of members that left are not shown.
 *
 * <p>Frames: a request is {@code 1, id (8), sender id (UTF), topic (UTF), body length (4), body}; an answer is
 * {@code 2, id, status (1: 0 answered, 1 no handler, 2 the handler failed), then the answer (length, bytes) or the
 * reason (UTF)}.
 */
final class MemberMessaging {

    static final String PUBLISHED = "pando.published";
    static final String MEMBER_TOPIC = "pando.member.";
    private static final Logger LOG = System.getLogger(MemberMessaging.class.getName());
    private static final Pattern TOPIC = Pattern.compile("[\\x21-\\x7e]{1,128}");
    private static final byte REQUEST = 1;
    private static final byte ANSWER = 2;
    private static final byte ANSWERED = 0;
    private static final byte NO_HANDLER = 1;
    private static final byte FAILED = 2;
    /** Requests waiting for a worker beyond which new ones are answered "busy" at once. */
    private static final int QUEUE = 1024;

    private final HazelcastInstance hz;
    private final String localId;
    private final String localName;
    private final Supplier<List<ClusterMember>> members;
    private final IMap<String, String> published;
    private final ITopic<byte[]> inbox;
    private final UUID listener;
    private final ExecutorService workers;
    private final Map<String, Function<byte[], byte[]>> handlers = new ConcurrentHashMap<>();
    private final Map<Long, CompletableFuture<byte[]>> pending = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();

    MemberMessaging(HazelcastInstance hz, String localId, String localName, Supplier<List<ClusterMember>> members) {
        this.hz = hz;
        this.localId = localId;
        this.localName = localName;
        this.members = members;
        this.published = hz.getMap(PUBLISHED);
        AtomicInteger n = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(2, 2, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(QUEUE), r -> {
            Thread t = new Thread(r, "pando-cluster-requests-" + localName + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.inbox = hz.getTopic(MEMBER_TOPIC + localId);
        this.listener = inbox.addMessageListener(this::received);
    }

    void close() {
        try {
            inbox.removeMessageListener(listener);
        } catch (RuntimeException e) {
            // the engine is shutting down
        }
        workers.shutdownNow();
        IllegalStateException stopped = new IllegalStateException("cluster member " + localName + " stopped");
        pending.values().forEach(f -> f.completeExceptionally(stopped));
        pending.clear();
    }

    // ---- requests ----------------------------------------------------------------------------------------------

    CompletableFuture<byte[]> request(String member, String topic, byte[] body, Duration timeout) {
        topic(topic);
        if (body.length > MemberRequests.MAX_BYTES) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("a request body is at most "
                + MemberRequests.MAX_BYTES + " bytes, got " + body.length));
        }
        Optional<ClusterMember> to = members.get().stream().filter(m -> m.name().equals(member)).findFirst();
        if (to.isEmpty()) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("no member " + member
                + " in the cluster as " + localName + " sees it"));
        }
        long id = ids.incrementAndGet();
        CompletableFuture<byte[]> answer = new CompletableFuture<>();
        pending.put(id, answer);
        answer.whenComplete((a, e) -> pending.remove(id));
        hz.getTopic(MEMBER_TOPIC + to.get().id()).publishAsync(frame(out -> {
            out.writeByte(REQUEST);
            out.writeLong(id);
            out.writeUTF(localId);
            out.writeUTF(topic);
            out.writeInt(body.length);
            out.write(body);
        })).whenComplete((v, e) -> {
            if (e != null) {
                answer.completeExceptionally(new IllegalStateException("request " + topic + " to " + member
                    + " not sent: " + e.getMessage(), e));
            }
        });
        long millis = timeout.toMillis();
        return answer.orTimeout(millis, TimeUnit.MILLISECONDS).exceptionallyCompose(e -> {
            if (e instanceof TimeoutException || e.getCause() instanceof TimeoutException) {
                return CompletableFuture.failedFuture(new TimeoutException(member + " did not answer " + topic
                    + " within " + millis + " ms"));
            }
            return CompletableFuture.failedFuture(e);
        });
    }

    AutoCloseable serve(String topic, Function<byte[], byte[]> handler) {
        topic(topic);
        if (handlers.putIfAbsent(topic, handler) != null) {
            throw new IllegalStateException("a handler already serves " + topic + " on " + localName);
        }
        return () -> handlers.remove(topic, handler);
    }

    private void received(Message<byte[]> message) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(message.getMessageObject()))) {
            byte kind = in.readByte();
            long id = in.readLong();
            if (kind == REQUEST) {
                String sender = in.readUTF();
                String topic = in.readUTF();
                byte[] body = in.readNBytes(in.readInt());
                try {
                    workers.execute(() -> answer(sender, id, topic, body));
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    send(sender, id, FAILED, null, localName + " is busy (" + QUEUE + " requests waiting)");
                }
            } else if (kind == ANSWER) {
                CompletableFuture<byte[]> f = pending.get(id);
                if (f == null) {
                    return; // timed out meanwhile
                }
                byte status = in.readByte();
                if (status == ANSWERED) {
                    f.complete(in.readNBytes(in.readInt()));
                } else {
                    f.completeExceptionally(new IllegalStateException(in.readUTF()));
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, localName + ": unreadable message from another member dropped: " + e);
        }
    }

    private void answer(String sender, long id, String topic, byte[] body) {
        Function<byte[], byte[]> handler = handlers.get(topic);
        if (handler == null) {
            send(sender, id, NO_HANDLER, null, localName + " serves no " + topic);
            return;
        }
        byte[] answer;
        try {
            answer = handler.apply(body);
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, localName + ": " + topic + " failed", e);
            send(sender, id, FAILED, null, localName + ": " + topic + " failed: " + e.getMessage());
            return;
        }
        if (answer.length > MemberRequests.MAX_BYTES) {
            send(sender, id, FAILED, null, localName + ": the answer to " + topic + " is " + answer.length
                + " bytes, more than " + MemberRequests.MAX_BYTES);
            return;
        }
        send(sender, id, ANSWERED, answer, null);
    }

    private void send(String to, long id, byte status, byte[] answer, String reason) {
        try {
            hz.getTopic(MEMBER_TOPIC + to).publish(frame(out -> {
                out.writeByte(ANSWER);
                out.writeLong(id);
                out.writeByte(status);
                if (status == ANSWERED) {
                    out.writeInt(answer.length);
                    out.write(answer);
                } else {
                    out.writeUTF(reason.length() > 4096 ? reason.substring(0, 4096) : reason);
                }
            }));
        } catch (RuntimeException e) {
            LOG.log(Level.INFO, localName + ": the answer to request " + id + " was not sent (the asking member "
                + "left?): " + e.getMessage());
        }
    }

    // ---- published values --------------------------------------------------------------------------------------

    void publish(String key, String value, Duration ttl) {
        topic(key);
        if (value.length() > MemberRequests.MAX_BYTES) {
            throw new IllegalArgumentException("a published value is at most " + MemberRequests.MAX_BYTES
                + " characters, got " + value.length());
        }
        if (ttl.toMillis() < 1000) {
            throw new IllegalArgumentException("a published value lives at least 1 s, got " + ttl);
        }
        published.set(localId + "/" + key, value, ttl.toMillis(), TimeUnit.MILLISECONDS);
    }

    void withdraw(String key) {
        topic(key);
        published.delete(localId + "/" + key);
    }

    Map<String, String> published(String key) {
        topic(key);
        Map<String, String> out = new TreeMap<>();
        for (ClusterMember m : members.get()) {
            String v = published.get(m.id() + "/" + key);
            if (v != null) {
                out.put(m.name(), v);
            }
        }
        return out;
    }

    private static void topic(String topic) {
        if (topic == null || !TOPIC.matcher(topic).matches()) {
            throw new IllegalArgumentException("a topic or key is 1-128 printable ASCII characters without spaces, "
                + "got " + (topic == null ? "none" : "'" + topic + "'"));
        }
    }

    private interface Writer {
        void write(DataOutputStream out) throws IOException;
    }

    private static byte[] frame(Writer w) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            w.write(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }
}
