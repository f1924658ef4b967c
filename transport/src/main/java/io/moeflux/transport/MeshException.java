package io.moeflux.transport;

/**
 * A mesh-level failure: a refused handshake, a lost peer, a phase that timed out. The message names
 * the ranks involved and what differed or what was waited for.
 */
public class MeshException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public MeshException(String message) {
    super(message);
  }

  public MeshException(String message, Throwable cause) {
    super(message, cause);
  }

  /** For errors a peer's bytes cause: without a stack trace, which would say nothing more. */
  protected MeshException(String message, boolean stackTrace) {
    super(message, null, true, stackTrace);
  }
}
