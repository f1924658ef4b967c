package io.moeflux.transport.protocol;

/**
 * The version of every layout in this package. Ranks exchange it first in the handshake and refuse
 * a peer that speaks another one, saying both versions. Any change to a frame header, a body, the
 * lane-open payload or the handshake bumps it.
 *
 * <p>History: 1, the first mesh; 2, the ABORT kind (an aborted step was a DISPATCH frame with count
 * -1) and a fingerprint of key/value entries.
 */
public final class ProtocolVersion {
  /** The version this build speaks. */
  public static final int CURRENT = 2;

  private ProtocolVersion() {}
}
