package io.moeflux.transport.protocol;

/**
 * The version of every layout in this package. A connecting rank sends it first in its SETUP
 * ({@link SetupCodec}); a rank refuses a peer that speaks another one, with both versions in its
 * own log. Any change to a frame header, a body, the lane-open payload or the handshake bumps it.
 *
 * <p>History: 1, the first mesh; 2, the ABORT kind (an aborted step was a DISPATCH frame with count
 * -1) and a fingerprint of key/value entries; 3, the mutual challenge-response (SETUP, challenge
 * and proof messages) before the handshake; 4, the header's kind narrowed to a byte, followed by
 * the wire precision and the micro-batch; hidden rows of DATA bodies in that precision, with fp8
 * scales before them.
 */
public final class ProtocolVersion {
  /** The version this build speaks. */
  public static final int CURRENT = 4;

  private ProtocolVersion() {}
}
