package io.pando.aggregation.impl;

import io.pando.api.policy.AggregationStrategy;

/** Where the aggregation unit gets its strategy instance (one per aggregation unit for prototype services). */
interface StrategyFactory {

    /** @return an instance */
    AggregationStrategy get();

    /** Gives an instance back. */
    void unget(AggregationStrategy strategy);
}
