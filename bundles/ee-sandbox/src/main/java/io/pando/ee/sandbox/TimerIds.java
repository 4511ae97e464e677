package io.pando.ee.sandbox;

/**
 * The ids of the timers a program has set, as the sandbox counts them: an open-addressing set of {@code long}s
 * (linear probing, backward-shift removal), so that setting or moving a timer boxes nothing. At most
 * {@link Protocol#MAX_TIMERS} ids; worker thread only.
 */
final class TimerIds {

    private long[] keys = new long[16];
    private boolean[] used = new boolean[16];
    private int size;

    int size() {
        return size;
    }

    private int home(long id) {
        long h = id * 0x9E37_79B9_7F4A_7C15L;
        return (int) (h ^ (h >>> 32)) & (keys.length - 1);
    }

    private int find(long id) {
        int m = keys.length - 1;
        for (int i = home(id); used[i]; i = (i + 1) & m) {
            if (keys[i] == id) {
                return i;
            }
        }
        return -1;
    }

    boolean contains(long id) {
        return find(id) >= 0;
    }

    /** @return true if the id was not there */
    boolean add(long id) {
        if (find(id) >= 0) {
            return false;
        }
        if ((size + 1) * 2 > keys.length) {
            long[] oldKeys = keys;
            boolean[] oldUsed = used;
            keys = new long[oldKeys.length * 2];
            used = new boolean[oldKeys.length * 2];
            for (int i = 0; i < oldKeys.length; i++) {
                if (oldUsed[i]) {
                    insert(oldKeys[i]);
                }
            }
        }
        insert(id);
        size++;
        return true;
    }

    private void insert(long id) {
        int m = keys.length - 1;
        int i = home(id);
        while (used[i]) {
            i = (i + 1) & m;
        }
        keys[i] = id;
        used[i] = true;
    }

    /** @return true if the id was there */
    boolean remove(long id) {
        int i = find(id);
        if (i < 0) {
            return false;
        }
        int m = keys.length - 1;
        int j = i;
        while (true) {
            j = (j + 1) & m;
            if (!used[j]) {
                break;
            }
            int k = home(keys[j]);
            boolean stays = i <= j ? i < k && k <= j : i < k || k <= j;
            if (!stays) {
                keys[i] = keys[j];
                i = j;
            }
        }
        used[i] = false;
        size--;
        return true;
    }
}
