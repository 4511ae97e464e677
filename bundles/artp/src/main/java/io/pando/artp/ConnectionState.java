package io.pando.artp;

/** The states of an ARTP/1 connection (see docs/artp.md, "State machines"). */
public enum ConnectionState {
    /** Client: INIT sent, waiting for INIT_ACK. */
    INIT_SENT,
    /** Client: COOKIE_ECHO sent, waiting for COOKIE_ACK. */
    COOKIE_ECHOED,
    /** Data flows both ways. */
    ESTABLISHED,
    /** This side called close(): draining what is outstanding before sending CLOSE. */
    CLOSING,
    /** CLOSE sent, waiting for CLOSE_ACK. */
    CLOSE_SENT,
    /** The peer sent CLOSE: draining what is outstanding before answering CLOSE_ACK. */
    PEER_CLOSING,
    /** Done; resources released. */
    CLOSED;

    /** @return whether the connection accepts new datagrams from the application */
    public boolean acceptsSends() {
        return this == ESTABLISHED || this == INIT_SENT || this == COOKIE_ECHOED;
    }
}
