package io.moeflux.pipeline.sync;

/** How a step moves tokens to their experts. */
public enum CommMode {
  /**
   * Variable-size dispatch/combine: every rank sends its own count, no agreement on sizes, bounded
   * by {@code maxTokensPerRank}.
   */
  VARIABLE,
  /**
   * Every rank pads to the step's largest batch (known from the DP metadata sync) and all-gathers
   * tokens; each rank runs its experts on everyone's tokens and sends the partial sums home. Needs
   * equal sizes, so it needs the sync; it has no capacity bound.
   */
  PADDED_ALLGATHER;

  /**
   * The mode for a step whose largest batch is {@code maxTokens}, in the spirit of vllm-ascend's
   * {@code _select_moe_comm_method}: variable while within capacity, padded all-gather beyond.
   */
  public static CommMode select(int maxTokens, int capacity) {
    return maxTokens <= capacity ? VARIABLE : PADDED_ALLGATHER;
  }
}
