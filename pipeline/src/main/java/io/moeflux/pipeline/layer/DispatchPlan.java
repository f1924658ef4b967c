package io.moeflux.pipeline.layer;

import io.moeflux.pipeline.model.Placement;
import java.util.Arrays;

/**
 * The source side of one layer's exchange: the router's picks for this rank's tokens, which
 * destination ranks each token goes to, and which of a destination's local expert slots each pick
 * lands on. Arrays are sized for the capacity once, grow only for a padded step beyond it, and are
 * reused every layer of every step.
 */
final class DispatchPlan {
  private final int ranks;
  private final int topK;
  private int maxTokens;

  /** Router output, {@code tokens × topK}: logical expert ids and gate weights. */
  int[] ids;

  float[] weights;

  /** Physical slot of each pick, {@code tokens × topK}. */
  private int[] slots;

  /** Tokens sent to each destination rank. */
  final int[] destCount;

  /** {@code destTokens[r * maxTokens + i]}: the i-th token sent to rank r. */
  private int[] destTokens;

  /** {@code posInDest[t * ranks + r]}: where token t sits in rank r's list, -1 if not sent. */
  private int[] posInDest;

  private int slotsPerRank;
  private int tokens;

  DispatchPlan(int ranks, int topK, int maxTokens) {
    this.ranks = ranks;
    this.topK = topK;
    this.destCount = new int[ranks];
    allocate(maxTokens);
  }

  /** Makes room for {@code tokens} tokens (grows, never shrinks). */
  void reserve(int tokens) {
    if (tokens > maxTokens) {
      allocate(tokens);
    }
  }

  private void allocate(int maxTokens) {
    this.maxTokens = maxTokens;
    this.ids = new int[maxTokens * topK];
    this.weights = new float[maxTokens * topK];
    this.slots = new int[maxTokens * topK];
    this.destTokens = new int[ranks * maxTokens];
    this.posInDest = new int[maxTokens * ranks];
  }

  /**
   * Fills the plan from the router output already in {@link #ids} and {@link #weights}: each pick
   * goes to the replica {@link Placement#slotFor} chooses for (step, this rank, token, expert).
   */
  void build(Placement placement, long step, int layer, int rank, int tokens) {
    this.tokens = tokens;
    this.slotsPerRank = placement.slotsPerRank();
    Arrays.fill(destCount, 0);
    Arrays.fill(posInDest, 0, tokens * ranks, -1);
    for (int t = 0; t < tokens; t++) {
      int base = t * ranks;
      for (int k = 0; k < topK; k++) {
        int slot = placement.slotFor(layer, ids[t * topK + k], step, rank, t);
        slots[t * topK + k] = slot;
        int dest = placement.rankOfSlot(slot);
        if (posInDest[base + dest] < 0) {
          posInDest[base + dest] = destCount[dest];
          destTokens[dest * maxTokens + destCount[dest]++] = t;
        }
      }
    }
  }

  int tokens() {
    return tokens;
  }

  /** The i-th token sent to {@code dest}. */
  int token(int dest, int i) {
    return destTokens[dest * maxTokens + i];
  }

  /**
   * Where token t sits among the tokens sent to {@code dest}, or -1 when none of its picks is
   * there.
   */
  int position(int t, int dest) {
    return posInDest[t * ranks + dest];
  }

  /** The destination-local slot of pick k of token t, or -1 when it is not on {@code dest}. */
  int localSlot(int t, int k, int dest) {
    int slot = slots[t * topK + k];
    int local = slot - dest * slotsPerRank;
    return local >= 0 && local < slotsPerRank ? local : -1;
  }
}
