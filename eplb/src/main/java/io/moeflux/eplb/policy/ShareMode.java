package io.moeflux.eplb.policy;

/** How a plan splits an expert's tokens over its replicas. */
public enum ShareMode {
  /**
   * Equal shares ({@link io.moeflux.pipeline.model.Placement#equalShares}): every replica takes the
   * same part, as DeepSeek's and vLLM's EPLB do; for like-for-like comparisons.
   */
  UNIFORM,
  /**
   * Weighted shares: each replica takes its own part, on the {@code 1/SHARE_UNITS} grid, chosen
   * with the placement so that rank loads come out even.
   */
  WEIGHTED
}
