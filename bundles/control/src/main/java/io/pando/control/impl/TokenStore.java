package io.pando.control.impl;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;

/**
 * Issues opaque random tokens and resolves them to their user until they expire. A user holds at most
 * {@link #MAX_PER_USER} live tokens; issuing one more drops the oldest. Thread-safe.
 */
final class TokenStore {

    static final int MAX_PER_USER = 16;

    private record Entry(String user, long expiresAtMillis, byte[] token) {
    }

    private final SecureRandom random = new SecureRandom();
    private final Clock clock;
    private final long lifetimeMillis;
    private final Map<String, Entry> byToken = new HashMap<>();
    private final Map<String, Deque<String>> byUser = new HashMap<>();

    TokenStore(Clock clock, long lifetimeMillis) {
        this.clock = clock;
        this.lifetimeMillis = lifetimeMillis;
    }

    /** @return a new 32-byte token of {@code user} */
    synchronized byte[] issue(String user) {
        purge();
        byte[] token = new byte[32];
        random.nextBytes(token);
        String key = HexFormat.of().formatHex(token);
        byToken.put(key, new Entry(user, clock.millis() + lifetimeMillis, token.clone()));
        Deque<String> mine = byUser.computeIfAbsent(user, u -> new ArrayDeque<>());
        mine.addLast(key);
        while (mine.size() > MAX_PER_USER) {
            byToken.remove(mine.removeFirst());
        }
        return token;
    }

    /** @return the token's user, if the token is known and not expired */
    synchronized Optional<String> user(byte[] token) {
        Entry e = byToken.get(HexFormat.of().formatHex(token));
        // the map lookup found the entry by value; compare again in constant time for good measure
        if (e == null || !MessageDigest.isEqual(e.token, token)) {
            return Optional.empty();
        }
        if (clock.millis() >= e.expiresAtMillis) {
            remove(HexFormat.of().formatHex(token), e.user);
            return Optional.empty();
        }
        return Optional.of(e.user);
    }

    long lifetimeSeconds() {
        return lifetimeMillis / 1000;
    }

    synchronized int size() {
        return byToken.size();
    }

    private void remove(String key, String user) {
        byToken.remove(key);
        Deque<String> mine = byUser.get(user);
        if (mine != null) {
            mine.remove(key);
            if (mine.isEmpty()) {
                byUser.remove(user);
            }
        }
    }

    private void purge() {
        long now = clock.millis();
        byToken.entrySet().removeIf(e -> {
            if (now >= e.getValue().expiresAtMillis) {
                Deque<String> mine = byUser.get(e.getValue().user);
                if (mine != null) {
                    mine.remove(e.getKey());
                }
                return true;
            }
            return false;
        });
        byUser.values().removeIf(Deque::isEmpty);
    }
}
