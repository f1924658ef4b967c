package io.moeflux.pipeline.checkpoint;

/**
 * A checkpoint that cannot be served as asked: a missing or malformed file, an unsupported dtype or
 * {@code model_type}, a tensor of the wrong shape, a dense layer asked for by index. The message is
 * one line that names the file, tensor or field and what is wrong with it.
 */
public final class CheckpointException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CheckpointException(String message) {
    super(message);
  }

  public CheckpointException(String message, Throwable cause) {
    super(message, cause);
  }
}
