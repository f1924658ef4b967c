package io.moeflux.pipeline.layer;

import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.Placement;

/**
 * This rank's batch while it runs through the layers of one step: its hidden states, which the
 * combine updates in place (with the residual) or leaves as the layer's input (without: the output
 * goes to {@link #output}), and the router's picks of the current layer for all its tokens. Its
 * micro-batches ({@link MicroBatch}) split the tokens between them. The fields are read on the hot
 * path, so they are plain fields; only the {@link LayerRunner} writes them, before the
 * micro-batches of a layer start, and the combine of each micro-batch writes only its own tokens'
 * rows.
 */
final class LocalBatch {
  /** This rank, and the ranks of the group. */
  final int rank;

  final int ranks;
  final int hidden;
  final int topK;

  /** Whether the combine adds into {@link #state} (every layer, synthetic) or fills the output. */
  final boolean residual;

  long step;

  /** The current MoE layer, as placements and heat count it. */
  int layer;

  /** The current layer's decoder-layer index, as frames name it. */
  int layerId;

  int tokens;
  boolean prefill;
  Placement placement;

  /** {@link #placement}'s slots per rank, read once per step. */
  int slotsPerRank;

  /** Hidden states, {@code tokens × hidden}, row-major. */
  float[] state;

  /** A layer's output without residual, {@code tokens × hidden}: routed sum plus shared expert. */
  float[] output;

  /** The shared expert's output for this rank's tokens, {@code tokens × hidden}. */
  float[] shared;

  /** Router output of the current layer, {@code tokens × topK}: logical expert ids and weights. */
  int[] ids;

  float[] weights;

  LocalBatch(
      int rank,
      int ranks,
      int topK,
      int hidden,
      int maxTokens,
      Placement placement,
      boolean residual) {
    this.rank = rank;
    this.residual = residual;
    this.ranks = ranks;
    this.hidden = hidden;
    this.topK = topK;
    this.placement = placement;
    this.slotsPerRank = placement.slotsPerRank();
    allocate(maxTokens);
  }

  /**
   * Starts a step: takes {@code in}'s hidden states, with room for {@code tokensPerRank} tokens.
   */
  void begin(TokenBatch in, Placement placement, int tokensPerRank) {
    if (state.length < tokensPerRank * hidden) {
      allocate(tokensPerRank);
    }
    this.step = in.step();
    this.tokens = in.tokens();
    this.prefill = in.prefill();
    this.placement = placement;
    this.slotsPerRank = placement.slotsPerRank();
    System.arraycopy(in.data(), 0, state, 0, tokens * hidden);
  }

  private void allocate(int maxTokens) {
    this.state = new float[maxTokens * hidden];
    int outputs = residual ? 0 : maxTokens * hidden;
    this.output = new float[outputs];
    this.shared = new float[outputs];
    this.ids = new int[maxTokens * topK];
    this.weights = new float[maxTokens * topK];
  }
}
