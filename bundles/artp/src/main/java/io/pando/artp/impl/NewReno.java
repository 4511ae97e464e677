package io.pando.artp.impl;

/**
 * NewReno congestion control (RFC 5681, RFC 6582) in the packet-number form of RFC 9002 §7: a byte-counted
 * window, slow start below ssthresh, additive increase above it, one multiplicative decrease per recovery
 * period (a loss of a packet sent before the period started does not reduce again), and the loss window of
 * RFC 5681 §3.1 after a retransmission timeout. Initial window per RFC 6928.
 */
final class NewReno {

    private final int mss;
    private long cwnd;
    private long ssthresh = Long.MAX_VALUE;
    private long recoveryStart = Long.MIN_VALUE;
    private long bytesInFlight;
    private long acc;

    NewReno(int mss) {
        this.mss = mss;
        this.cwnd = Math.min(10L * mss, Math.max(2L * mss, 14720));
    }

    long cwnd() {
        return cwnd;
    }

    long ssthresh() {
        return ssthresh;
    }

    long bytesInFlight() {
        return bytesInFlight;
    }

    /** RFC 9002 §7: an ack-eliciting packet may be sent while bytes in flight are below the window. */
    boolean canSend() {
        return bytesInFlight < cwnd;
    }

    void onSent(int bytes) {
        bytesInFlight += bytes;
    }

    /** A packet counted in flight was acknowledged. */
    void onAcked(int bytes, long sentAt) {
        boolean limited = bytesInFlight >= cwnd / 2;
        bytesInFlight -= bytes;
        if (sentAt <= recoveryStart) {
            return; // acknowledgements of packets sent before recovery do not grow the window
        }
        if (!limited) {
            return; // the window was not the limit: do not grow it (RFC 9002 §7.8, RFC 7661)
        }
        if (cwnd < ssthresh) {
            cwnd += bytes;
        } else {
            acc += (long) mss * bytes;
            if (acc >= cwnd) {
                cwnd += acc / cwnd;
                acc %= cwnd;
            }
        }
    }

    /** A packet counted in flight was declared lost. */
    void onLost(int bytes, long sentAt, long now) {
        bytesInFlight -= bytes;
        if (sentAt > recoveryStart) {
            recoveryStart = now;
            cwnd = Math.max(cwnd / 2, 2L * mss);
            ssthresh = cwnd;
            acc = 0;
        }
    }

    /** The retransmission timer expired: collapse to the loss window. */
    void onRetransmissionTimeout(long now) {
        ssthresh = Math.max(bytesInFlight / 2, 2L * mss);
        cwnd = mss;
        recoveryStart = now;
        acc = 0;
    }

    /** A packet that was declared lost got acknowledged after all (spurious loss); it no longer counts in flight. */
    void forget(int bytes) {
        bytesInFlight -= bytes;
    }
}
