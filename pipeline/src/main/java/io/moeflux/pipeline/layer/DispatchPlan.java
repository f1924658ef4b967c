package io.moeflux.pipeline.layer;

import io.moeflux.pipeline.model.Placement;
import java.util.Arrays;

/**
 * The source side of one micro-batch's exchange in one layer: which destination ranks each of its
 * tokens goes to, and which of a destination's local expert slots each pick lands on. Tokens are
 * the batch's (numbered from 0 over the whole batch); the plan covers those from {@link #first()}
 * on, {@link #tokens()} of them. Arrays are sized for the capacity once, grow only for a padded
 * step beyond it, and are reused every layer of every step.
 */
final class DispatchPlan {
  private final int ranks;
  private final int topK;
  private int maxTokens;

  /** Physical slot of each pick, {@code (t - first) × topK + k}. */
  private int[] slots;

  /** Tokens sent to each destination rank. */
  final int[] destCount;

  /** {@code destTokens[r * maxTokens + i]}: the i-th token sent to rank r. */
  private int[] destTokens;

  /** {@code posInDest[(t - first) * ranks + r]}: where token t sits in rank r's list, or -1. */
  private int[] posInDest;

  private int slotsPerRank;
  private int first;
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
    this.slots = new int[maxTokens * topK];
    this.destTokens = new int[ranks * maxTokens];
    this.posInDest = new int[maxTokens * ranks];
  }

  /**
   * Fills the plan for the batch's tokens {@code first .. first + tokens - 1} from the router
   * output {@code ids} (logical experts, {@code tokens × topK} over the whole batch): each pick
   * goes to the replica {@link Placement#slotFor} chooses for (step, this rank, token, expert), the
   * token numbered over the whole batch, so that every micro-batch split gives the same picks as
   * the whole batch.
   */
  void build(
      Placement placement, long step, int layer, int rank, int[] ids, int first, int tokens) {
    reserve(tokens);
    this.first = first;
    this.tokens = tokens;
    this.slotsPerRank = placement.slotsPerRank();
    Arrays.fill(destCount, 0);
    Arrays.fill(posInDest, 0, tokens * ranks, -1);
    for (int i = 0; i < tokens; i++) {
      int t = first + i;
      int base = i * ranks;
      for (int k = 0; k < topK; k++) {
        int slot = placement.slotFor(layer, ids[t * topK + k], step, rank, t);
        slots[i * topK + k] = slot;
        int dest = placement.rankOfSlot(slot);
        if (posInDest[base + dest] < 0) {
          posInDest[base + dest] = destCount[dest];
          destTokens[dest * maxTokens + destCount[dest]++] = t;
        }
      }
    }
  }

  /** The first token of the batch this plan covers. */
  int first() {
    return first;
  }

  /** Tokens this plan covers. */
  int tokens() {
    return tokens;
  }

  /** The i-th token (of the batch) sent to {@code dest}. */
  int token(int dest, int i) {
    return destTokens[dest * maxTokens + i];
  }

  /**
   * Where token t (of the batch, within this plan) sits among the tokens sent to {@code dest}, or
   * -1 when none of its picks is there.
   */
  int position(int t, int dest) {
    return posInDest[(t - first) * ranks + dest];
  }

  /** The destination-local slot of pick k of token t, or -1 when it is not on {@code dest}. */
  int localSlot(int t, int k, int dest) {
    int slot = slots[(t - first) * topK + k];
    int local = slot - dest * slotsPerRank;
    return local >= 0 && local < slotsPerRank ? local : -1;
  }
}
