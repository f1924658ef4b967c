package io.moeflux.pipeline;

/** A step that cannot run: bad input, a peer that refused the step, a protocol violation. */
public class PipelineException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public PipelineException(String message) {
    super(message);
  }

  public PipelineException(String message, Throwable cause) {
    super(message, cause);
  }
}
