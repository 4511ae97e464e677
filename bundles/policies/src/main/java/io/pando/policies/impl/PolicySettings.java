package io.pando.policies.impl;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/** Parses and checks configuration values of the built-in policies; every error names the rule it broke. */
final class PolicySettings {

    private PolicySettings() {
    }

    /**
     * Parses {@code KEY=NUMBER} entries.
     *
     * @param policy the policy name, for messages
     * @param property the configuration property, for messages
     * @param entries the entries, may be null
     * @param keyParser turns the key text into a key; throws IllegalArgumentException on bad syntax
     * @param min smallest accepted number
     * @param max largest accepted number
     * @return the parsed entries in configuration order
     * @throws IllegalArgumentException naming the entry and the rule
     */
    static <K> Map<K, Integer> parseWeights(String policy, String property, String[] entries,
        Function<String, K> keyParser, int min, int max) {
        Map<K, Integer> result = new LinkedHashMap<>();
        if (entries == null) {
            return result;
        }
        for (String raw : entries) {
            String entry = raw == null ? "" : raw.trim();
            if (entry.isEmpty()) {
                continue;
            }
            int eq = entry.indexOf('=');
            String rule = policy + ": each '" + property + "' entry is KEY=WEIGHT with WEIGHT an integer in ["
                + min + ", " + max + "]";
            if (eq <= 0 || eq == entry.length() - 1) {
                throw new IllegalArgumentException(rule + ", got '" + entry + "'");
            }
            K key;
            try {
                key = keyParser.apply(entry.substring(0, eq).trim());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(rule + ", got '" + entry + "': " + e.getMessage(), e);
            }
            int weight;
            try {
                weight = Integer.parseInt(entry.substring(eq + 1).trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(rule + ", got '" + entry + "'", e);
            }
            if (weight < min || weight > max) {
                throw new IllegalArgumentException(rule + ", got '" + entry + "'");
            }
            if (result.put(key, weight) != null) {
                throw new IllegalArgumentException(policy + ": '" + property + "' names " + key + " twice");
            }
        }
        return result;
    }

    /**
     * @throws IllegalArgumentException if {@code value} is outside {@code [min, max]}
     */
    static long checkRange(String policy, String property, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(policy + ": '" + property + "' must be in [" + min + ", " + max
                + "], got " + value);
        }
        return value;
    }

    /**
     * A well-mixed 64-bit hash (the SplitMix64 finalizer), used to spread sessions over units.
     */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
