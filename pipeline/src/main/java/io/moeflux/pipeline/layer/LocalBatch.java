package io.moeflux.pipeline.layer;

import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.Placement;
import java.nio.FloatBuffer;

/**
 * This rank's batch while it runs through the layers of one step: its hidden states, which the
 * combine updates in place (with the residual) or leaves as the layer's input (without: the output
 * goes to {@link #output}), and the current layer's {@link DispatchPlan}. An exchange strategy
 * reads it to send this rank's tokens and to treat them as the picks this rank sent itself. The
 * fields are read on the hot path, so they are plain fields; only the {@link LayerRunner} writes
 * them.
 */
final class LocalBatch {
  /** This rank, and the ranks of the group. */
  final int rank;

  final int ranks;
  final int hidden;
  final int topK;
  final DispatchPlan plan;

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

  /** {@link #state} as a buffer, so that own rows are read like rows that came in a frame. */
  FloatBuffer stateRows;

  /** A layer's output without residual, {@code tokens × hidden}: routed sum plus shared expert. */
  float[] output;

  /** The shared expert's output for this rank's tokens, {@code tokens × hidden}. */
  float[] shared;

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
    this.plan = new DispatchPlan(ranks, topK, maxTokens);
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
    plan.reserve(tokensPerRank);
    this.step = in.step();
    this.tokens = in.tokens();
    this.prefill = in.prefill();
    this.placement = placement;
    this.slotsPerRank = placement.slotsPerRank();
    System.arraycopy(in.data(), 0, state, 0, tokens * hidden);
  }

  private void allocate(int maxTokens) {
    this.state = new float[maxTokens * hidden];
    this.stateRows = FloatBuffer.wrap(state);
    int outputs = residual ? 0 : maxTokens * hidden;
    this.output = new float[outputs];
    this.shared = new float[outputs];
  }
}
