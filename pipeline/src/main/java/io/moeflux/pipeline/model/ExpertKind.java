package io.moeflux.pipeline.model;

/** What an expert computes. */
public enum ExpertKind {
  /** The DeepSeek / Qwen MoE expert: {@code down(silu(x . gate) * (x . up))}. */
  SWIGLU,
  /**
   * {@code expert(x) = x}: no arithmetic, so a run measures the data path (dispatch, combine)
   * alone.
   */
  IDENTITY
}
