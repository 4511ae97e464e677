package io.pando.unit.impl;

/**
 * The timers of one session on one unit, by id: an open-addressing map from the program's timer id to its
 * {@link Timer} (no boxing), the list of timers that expired and wait for the program (due, in expiry order), and a
 * free list of entries to reuse. At most {@link io.pando.api.program.ProgramContext#MAX_TIMERS} are set at a time;
 * the caller checks. Loop-confined.
 */
final class SessionTimers {

    private final UnitSession session;
    /**
     * Shared by every session that has never set a timer (most): one empty slot, never written, since the first
     * {@link #add} grows the table before it inserts. A session's table costs nothing until it is needed.
     */
    private static final long[] NO_KEYS = new long[1];
    private static final Timer[] NO_VALUES = new Timer[1];

    private long[] keys = NO_KEYS;
    private Timer[] values = NO_VALUES;
    private int size;
    private Timer free;
    private Timer dueHead;
    private Timer dueTail;
    private int dueCount;

    long set;
    long fired;
    long cancelled;
    long discarded;

    SessionTimers(UnitSession session) {
        this.session = session;
    }

    /** @return how many timers are set (due ones included) */
    int size() {
        return size;
    }

    int dueCount() {
        return dueCount;
    }

    private int home(long id) {
        long h = id * 0x9E37_79B9_7F4A_7C15L;
        return (int) (h ^ (h >>> 32)) & (keys.length - 1);
    }

    /** @return the timer with that id, or null */
    Timer get(long id) {
        int m = keys.length - 1;
        for (int i = home(id); ; i = (i + 1) & m) {
            Timer t = values[i];
            if (t == null) {
                return null;
            }
            if (keys[i] == id) {
                return t;
            }
        }
    }

    /** Adds a timer {@code id}, which must not be set; its deadline is the caller's to set. */
    Timer add(long id) {
        if ((size + 1) * 2 > keys.length) {
            grow();
        }
        Timer t = free;
        if (t == null) {
            t = new Timer(session);
        } else {
            free = t.nextFree;
            t.nextFree = null;
        }
        t.id = id;
        t.due = false;
        insert(id, t);
        size++;
        return t;
    }

    private void insert(long id, Timer t) {
        int m = keys.length - 1;
        int i = home(id);
        while (values[i] != null) {
            i = (i + 1) & m;
        }
        keys[i] = id;
        values[i] = t;
    }

    private void grow() {
        long[] oldKeys = keys;
        Timer[] oldValues = values;
        int n = Math.max(16, oldKeys.length * 2);
        keys = new long[n];
        values = new Timer[n];
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldValues[i] != null) {
                insert(oldKeys[i], oldValues[i]);
            }
        }
    }

    /** Removes a set timer (the caller took it out of the heap if it was there) and keeps its entry for reuse. */
    void remove(Timer t) {
        if (t.due) {
            unlinkDue(t);
        }
        int m = keys.length - 1;
        int i = home(t.id);
        while (values[i] != t) {
            if (values[i] == null) {
                throw new IllegalStateException("timer " + t.id + " is not set");
            }
            i = (i + 1) & m;
        }
        // backward-shift deletion: entries after the hole that may move to it do
        int j = i;
        while (true) {
            j = (j + 1) & m;
            if (values[j] == null) {
                break;
            }
            int k = home(keys[j]);
            boolean stays = i <= j ? i < k && k <= j : i < k || k <= j;
            if (!stays) {
                keys[i] = keys[j];
                values[i] = values[j];
                i = j;
            }
        }
        values[i] = null;
        size--;
        t.nextFree = free;
        free = t;
    }

    /** The timer expired (it left the heap): it waits for the program at the end of the due list. */
    void markDue(Timer t) {
        t.due = true;
        t.prevDue = dueTail;
        t.nextDue = null;
        if (dueTail == null) {
            dueHead = t;
        } else {
            dueTail.nextDue = t;
        }
        dueTail = t;
        dueCount++;
    }

    /** Takes a due timer off the due list (it is moved, cancelled or fired). */
    void unlinkDue(Timer t) {
        if (t.prevDue == null) {
            dueHead = t.nextDue;
        } else {
            t.prevDue.nextDue = t.nextDue;
        }
        if (t.nextDue == null) {
            dueTail = t.prevDue;
        } else {
            t.nextDue.prevDue = t.prevDue;
        }
        t.prevDue = null;
        t.nextDue = null;
        t.due = false;
        dueCount--;
    }

    /** @return the timer that expired first and waits for the program, or null */
    Timer firstDue() {
        return dueHead;
    }

    /** @return the ids of the set timers (for a new sandbox's INIT) */
    long[] ids() {
        long[] out = new long[size];
        int n = 0;
        for (int i = 0; i < values.length; i++) {
            if (values[i] != null) {
                out[n++] = keys[i];
            }
        }
        return out;
    }

    /**
     * Discards every timer: those in the heap leave it.
     *
     * @return how many were set
     */
    int clear(TimerHeap heap) {
        int n = size;
        for (int i = 0; i < values.length; i++) {
            Timer t = values[i];
            if (t != null) {
                if (t.heapIndex >= 0) {
                    heap.remove(t);
                }
                values[i] = null;
            }
        }
        size = 0;
        dueHead = null;
        dueTail = null;
        dueCount = 0;
        free = null;
        discarded += n;
        return n;
    }
}
