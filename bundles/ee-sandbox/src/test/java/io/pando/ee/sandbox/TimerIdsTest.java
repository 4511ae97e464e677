package io.pando.ee.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The sandbox's set of timer ids against a {@link HashSet}, through growth and removals that shift entries. */
class TimerIdsTest {

    @Test
    void behavesLikeASet() {
        TimerIds ids = new TimerIds();
        Set<Long> model = new HashSet<>();
        Random r = new Random(7);
        for (int i = 0; i < 200_000; i++) {
            long id = r.nextInt(3000) - 1000L + (r.nextBoolean() ? Long.MIN_VALUE : 0);
            switch (r.nextInt(3)) {
                case 0, 1 -> {
                    if (model.size() < Protocol.MAX_TIMERS || model.contains(id)) {
                        assertEquals(model.add(id), ids.add(id));
                    }
                }
                default -> assertEquals(model.remove(id), ids.remove(id));
            }
            assertEquals(model.size(), ids.size());
            long probe = r.nextInt(3000) - 1000L;
            assertEquals(model.contains(probe), ids.contains(probe));
        }
        for (long id : model) {
            assertEquals(true, ids.contains(id));
        }
    }
}
