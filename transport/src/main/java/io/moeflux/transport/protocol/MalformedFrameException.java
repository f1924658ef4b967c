package io.moeflux.transport.protocol;

import io.moeflux.transport.MeshException;

/**
 * Bytes from a peer that do not match the layout their header announces: too short, an unknown
 * kind, a count the body cannot hold. The message says which field is wrong and what was expected;
 * there is no stack trace (the bytes, not the code, are at fault, and a peer sending many bad
 * frames must not cost a stack walk each).
 */
public final class MalformedFrameException extends MeshException {
  private static final long serialVersionUID = 1L;

  public MalformedFrameException(String message) {
    super(message, false);
  }
}
