package io.pando.aggregation.impl;

import io.pando.artp.ArtpConfig;
import io.pando.link.AggregationPort;
import java.net.InetSocketAddress;

/** Starts and stops the real aggregation unit ({@link AggregationCore}, package-private) for the benchmarks. */
public final class BenchAggregation {

    private BenchAggregation() {
    }

    /**
     * @param bind the egress endpoint's address
     * @param config its ARTP configuration
     * @return the aggregation unit, with no strategy registered (results pass straight through)
     */
    public static AggregationPort start(InetSocketAddress bind, ArtpConfig config) {
        return new AggregationCore(bind, config, "direct");
    }

    /** @param port an aggregation unit {@link #start} returned */
    public static void stop(AggregationPort port) {
        ((AggregationCore) port).stop();
    }
}
