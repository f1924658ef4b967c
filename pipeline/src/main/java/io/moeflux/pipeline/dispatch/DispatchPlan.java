package io.moeflux.pipeline.dispatch;

import io.moeflux.pipeline.model.Placement;
import java.util.Arrays;

/**
 * The source side of one layer's dispatch: which tokens go to which destination rank, and which of
 * the destination's local expert slots each top-k pick lands on. Arrays are sized once for the
 * capacity and reused every layer of every step.
 */
final class DispatchPlan {
  private final int ranks;
  private final int topK;
  private final int maxTokens;

  /** Router output, {@code tokens × topK}: logical expert ids and gate weights. */
  final int[] ids;

  final float[] weights;

  /** Physical slot of each pick, {@code tokens × topK}. */
  final int[] slots;

  /** Tokens sent to each destination rank. */
  final int[] destCount;

  /** {@code destTokens[r * maxTokens + i]}: the i-th token sent to rank r. */
  final int[] destTokens;

  /** {@code posInDest[t * ranks + r]}: where token t sits in rank r's list, -1 if not sent. */
  final int[] posInDest;

  private int slotsPerRank;
  private int tokens;

  DispatchPlan(int ranks, int topK, int maxTokens) {
    this.ranks = ranks;
    this.topK = topK;
    this.maxTokens = maxTokens;
    this.ids = new int[maxTokens * topK];
    this.weights = new float[maxTokens * topK];
    this.slots = new int[maxTokens * topK];
    this.destCount = new int[ranks];
    this.destTokens = new int[ranks * maxTokens];
    this.posInDest = new int[maxTokens * ranks];
  }

  /** Fills the plan from the router output already in {@link #ids} and {@link #weights}. */
  void build(Placement placement, int layer, int rank, int tokens) {
    this.tokens = tokens;
    this.slotsPerRank = placement.slotsPerRank();
    Arrays.fill(destCount, 0);
    Arrays.fill(posInDest, 0, tokens * ranks, -1);
    for (int t = 0; t < tokens; t++) {
      int base = t * ranks;
      for (int k = 0; k < topK; k++) {
        int slot = placement.physical(layer, ids[t * topK + k], t + rank);
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

  int token(int dest, int i) {
    return destTokens[dest * maxTokens + i];
  }

  /** The destination-local slot of pick k of token t, or -1 when it is not on {@code dest}. */
  int localSlot(int t, int k, int dest) {
    int slot = slots[t * topK + k];
    int local = slot - dest * slotsPerRank;
    return local >= 0 && local < slotsPerRank ? local : -1;
  }
}
