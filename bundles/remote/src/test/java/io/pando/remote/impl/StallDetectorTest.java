package io.pando.remote.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The data-path rule for a hung unit node, on a clock the test drives (checks every 50 ms, floor 500 ms). */
class StallDetectorTest {

    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long FLOOR = 500 * MS;
    private static final long CHECK = 50 * MS;

    private final StallDetector rule = new StallDetector(FLOOR, 2 * CHECK);
    private long now = 1_000_000 * MS;

    /** @return the silence (ms) at the check that declares the node, or -1 if none of {@code checks} checks does */
    private long silentChecksUntilDeclared(long signature, boolean outstanding, long rto, int checks) {
        for (int k = 0; k < checks; k++) {
            now += CHECK;
            if (rule.check(now, signature, outstanding, rto)) {
                return (k + 1) * 50L;
            }
        }
        return -1;
    }

    @Test
    void aSilentNodeWithDatagramsOutstandingIsDeclaredAtTheFloorNotBefore() {
        assertFalse(rule.check(now, 7, true, 0), "the first check only starts the clock");
        assertEquals(500, silentChecksUntilDeclared(7, true, 0, 100));
        assertEquals(FLOOR, rule.silentNanos());
    }

    @Test
    void anythingFromTheNodeRestartsTheSilence() {
        rule.check(now, 1, true, 0);
        assertEquals(-1, silentChecksUntilDeclared(1, true, 0, 9), "450 ms of silence is not enough");
        now += CHECK;
        assertFalse(rule.check(now, 2, true, 0), "an ACK, a reply or an acknowledgement came: alive");
        assertEquals(0, rule.silentNanos());
        assertEquals(500, silentChecksUntilDeclared(2, true, 0, 100), "silence counts again from the news");
    }

    @Test
    void aSlowNodeThatStillAnswersNowAndThenIsNeverDeclared() {
        long signature = 0;
        rule.check(now, signature, true, 0);
        for (int k = 0; k < 1_000; k++) { // 50 s, datagrams always outstanding, a sign of life every 400 ms
            now += CHECK;
            if (k % 8 == 7) {
                signature++;
            }
            assertFalse(rule.check(now, signature, true, 0), "declared after " + (k + 1) * 50 + " ms");
        }
    }

    @Test
    void anIdleNodeIsNeverDeclaredByThisRule() {
        rule.check(now, 3, false, 0);
        assertEquals(-1, silentChecksUntilDeclared(3, false, 0, 10_000), "nothing outstanding, silent for 500 s");
        assertEquals(500, silentChecksUntilDeclared(3, true, 0, 100),
            "silence counts from the first check with something outstanding, not from the last news");
    }

    @Test
    void aLongRoundTripRaisesTheBoundToFourRtos() {
        long rto = 300 * MS;
        assertEquals(1_200 * MS, rule.bound(rto));
        assertEquals(FLOOR, rule.bound(100 * MS));
        assertEquals(FLOOR, rule.bound(0));
        rule.check(now, 5, true, rto);
        assertEquals(1_200, silentChecksUntilDeclared(5, true, rto, 100));
        assertEquals(Long.MAX_VALUE, rule.bound(Long.MAX_VALUE / 2), "no overflow");
    }

    @Test
    void timeThisNodeWasItselfStoppedDoesNotCountAsThePeersSilence() {
        rule.check(now, 9, true, 0);
        now += 10_000 * MS; // our own loop did not run for 10 s: the peer's packets may be unread
        assertFalse(rule.check(now, 9, true, 0));
        assertEquals(2 * CHECK, rule.silentNanos(), "a late check adds at most two periods");
        assertEquals(400, silentChecksUntilDeclared(9, true, 0, 100));
        assertTrue(rule.check(now - 5 * MS, 9, true, 0), "a clock that goes back adds nothing, takes nothing");
        assertEquals(FLOOR, rule.silentNanos());
    }

    @Test
    void resetForgetsTheSilence() {
        rule.check(now, 4, true, 0);
        silentChecksUntilDeclared(4, true, 0, 5);
        rule.reset();
        assertEquals(0, rule.silentNanos());
        assertFalse(rule.check(now + 60_000 * MS, 4, true, 0), "the first check after a reset only starts the clock");
        now += 60_000 * MS;
        assertEquals(500, silentChecksUntilDeclared(4, true, 0, 100));
    }

    @Test
    void badSettingsAreRefusedWithTheRule() {
        assertThrows(IllegalArgumentException.class, () -> new StallDetector(0, CHECK));
        assertThrows(IllegalArgumentException.class, () -> new StallDetector(FLOOR, -1));
        assertEquals(0, RemoteUnits.checkStallMillis(0), "0 turns the rule off");
        assertEquals(100, RemoteUnits.checkStallMillis(100));
        assertEquals(60_000, RemoteUnits.checkStallMillis(60_000));
        for (long bad : new long[] {-1, 1, 99, 60_001}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RemoteUnits.checkStallMillis(bad));
            assertTrue(e.getMessage().contains("stall.ms must be 0 (off) or in [100, 60000] ms, got " + bad),
                e.getMessage());
        }
        assertEquals(50, RemoteNode.stallCheckMillis(500));
        assertEquals(10, RemoteNode.stallCheckMillis(100));
        assertEquals(100, RemoteNode.stallCheckMillis(60_000));
    }
}
