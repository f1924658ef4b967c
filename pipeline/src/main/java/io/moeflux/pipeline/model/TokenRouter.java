package io.moeflux.pipeline.model;

/**
 * The gate of one MoE layer: for each token, its top-k logical experts and the weight each one's
 * output gets. Implementations are immutable and thread-safe (all mutable state is the caller's
 * scratch), and bitwise deterministic per token: a token's picks do not depend on the other tokens
 * routed with it.
 */
public interface TokenRouter {
  int hidden();

  int experts();

  int topK();

  /** Floats of scratch that {@link #route} needs, whatever the number of tokens. */
  int scratchLength();

  /** Bytes of weights the router holds in memory. */
  long weightBytes();

  /**
   * Routes {@code tokens} rows of {@code hidden()} floats (row-major) and writes {@code tokens *
   * topK} logical ids and weights, row-major. Within a token the ids are distinct.
   *
   * @param scratch at least {@link #scratchLength()} floats, contents ignored and overwritten
   */
  default void route(
      float[] hidden, int tokens, int[] topkIds, float[] topkWeights, float[] scratch) {
    route(hidden, 0, tokens, topkIds, topkWeights, scratch);
  }

  /**
   * Routes the {@code tokens} rows from row {@code first} on, writing their ids and weights from
   * {@code first × topK} on: a micro-batch of a batch, routed while the previous one's frames
   * travel. Bitwise what routing the whole batch writes for them.
   *
   * @param scratch at least {@link #scratchLength()} floats, contents ignored and overwritten
   */
  void route(
      float[] hidden, int first, int tokens, int[] topkIds, float[] topkWeights, float[] scratch);
}
