package io.pando.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** {@link FlowIndex}: dense indexes in first-seen order, through growth, up to its limit. */
class FlowIndexTest {

    @Test
    void indexesInTheOrderFlowsAreMetThroughGrowth() {
        FlowIndex index = new FlowIndex(1024);
        assertEquals(-1, index.indexOf(0));
        for (int i = 0; i < 1000; i++) {
            long flow = i % 2 == 0 ? i * 7919L : 0xFFFF_FFFFL - i; // both ends of the id range
            assertEquals(i, index.add(flow));
            assertEquals(i, index.add(flow), "adding again finds it");
        }
        assertEquals(1000, index.size());
        for (int i = 0; i < 1000; i++) {
            long flow = i % 2 == 0 ? i * 7919L : 0xFFFF_FFFFL - i;
            assertEquals(i, index.indexOf(flow));
            assertEquals(flow, index.flowAt(i));
        }
        assertEquals(-1, index.indexOf(1));
        assertThrows(IndexOutOfBoundsException.class, () -> index.flowAt(1000));
    }

    @Test
    void aFullIndexTakesNoMoreFlows() {
        FlowIndex index = new FlowIndex(3);
        assertEquals(0, index.add(5));
        assertEquals(1, index.add(6));
        assertEquals(2, index.add(7));
        assertEquals(-1, index.add(8));
        assertEquals(1, index.add(6), "known flows are still found");
        assertEquals(3, index.size());
    }
}
