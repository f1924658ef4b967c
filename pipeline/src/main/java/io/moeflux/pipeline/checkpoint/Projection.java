package io.moeflux.pipeline.checkpoint;

/**
 * The three matrices of a SwiGLU expert, {@code down(silu(gate x) * up x)}: {@link #GATE} and
 * {@link #UP} are {@code [intermediate, hidden]}, {@link #DOWN} is {@code [hidden, intermediate]}.
 */
public enum Projection {
  GATE,
  UP,
  DOWN
}
