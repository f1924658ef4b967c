package io.moeflux.eplb.policy;

import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * Replicas packed onto the ranks of one node, improved by swaps. Every rank holds exactly {@code
 * slotsPerRank} replicas; a rank holding two replicas of one expert is a conflict that the search
 * removes first; then it swaps replicas out of the most loaded rank while that lowers the peak. The
 * peak is what balancedness (mean/max) depends on, and swaps keep the mean.
 */
final class SlotPacking {
  private final int ranks;
  private final int slotsPerRank;
  private final int[] expert; // per item: its expert (node-local index)
  private final double[] weight; // per item: load / replica count
  private final int[][] items; // [rank][slot] -> item
  private final double[] rankLoad;
  private final int[][] held; // [rank][expert] -> replicas of that expert on the rank

  SlotPacking(int ranks, int slotsPerRank, int experts, int[] expert, double[] weight) {
    this.ranks = ranks;
    this.slotsPerRank = slotsPerRank;
    this.expert = expert;
    this.weight = weight;
    this.items = new int[ranks][slotsPerRank];
    this.rankLoad = new double[ranks];
    this.held = new int[ranks][experts];
  }

  /** Largest replica first onto the least loaded rank with room that lacks that expert. */
  static SlotPacking greedy(
      int ranks, int slotsPerRank, int experts, int[] expert, double[] weight) {
    SlotPacking packing = new SlotPacking(ranks, slotsPerRank, experts, expert, weight);
    int[] filled = new int[ranks];
    for (int item : DeepSeekPolicy.descending(weight)) {
      int best = -1;
      boolean bestConflicts = true;
      for (int r = 0; r < ranks; r++) {
        if (filled[r] == slotsPerRank) {
          continue;
        }
        boolean conflicts = packing.held[r][expert[item]] > 0;
        if (best < 0
            || (bestConflicts && !conflicts)
            || (conflicts == bestConflicts && packing.rankLoad[r] < packing.rankLoad[best])) {
          best = r;
          bestConflicts = conflicts;
        }
      }
      packing.place(best, filled[best]++, item);
    }
    return packing;
  }

  /** Starts from a given assignment: {@code slots[r][i]} is the item in rank r's slot i. */
  static SlotPacking of(
      int ranks, int slotsPerRank, int experts, int[] expert, double[] weight, int[][] slots) {
    SlotPacking packing = new SlotPacking(ranks, slotsPerRank, experts, expert, weight);
    for (int r = 0; r < ranks; r++) {
      for (int i = 0; i < slotsPerRank; i++) {
        packing.place(r, i, slots[r][i]);
      }
    }
    return packing;
  }

  private void place(int rank, int slot, int item) {
    items[rank][slot] = item;
    rankLoad[rank] += weight[item];
    held[rank][expert[item]]++;
  }

  private void swap(int r1, int s1, int r2, int s2) {
    int a = items[r1][s1];
    int b = items[r2][s2];
    held[r1][expert[a]]--;
    held[r2][expert[b]]--;
    rankLoad[r1] += weight[b] - weight[a];
    rankLoad[r2] += weight[a] - weight[b];
    items[r1][s1] = b;
    items[r2][s2] = a;
    held[r1][expert[b]]++;
    held[r2][expert[a]]++;
  }

  /** Whether moving a to rank r2 and b to rank r1 leaves neither with a duplicate. */
  private boolean swapKeepsDistinct(int r1, int a, int r2, int b) {
    if (expert[a] == expert[b]) {
      return true;
    }
    return held[r1][expert[b]] == 0 && held[r2][expert[a]] == 0;
  }

  boolean hasConflicts() {
    for (int r = 0; r < ranks; r++) {
      for (int count : held[r]) {
        if (count > 1) {
          return true;
        }
      }
    }
    return false;
  }

  /** Removes duplicates, then lowers the peak; stops at a local optimum or {@code peakGoal}. */
  void improve(double peakGoal, int maxSwaps) {
    for (int swaps = 0; swaps < maxSwaps; swaps++) {
      if (!resolveOneConflict() && !lowerPeak(peakGoal)) {
        return;
      }
    }
  }

  private boolean resolveOneConflict() {
    for (int r = 0; r < ranks; r++) {
      for (int s = 0; s < slotsPerRank; s++) {
        int a = items[r][s];
        if (held[r][expert[a]] < 2) {
          continue;
        }
        int rank = r;
        int[] best =
            bestSwap(
                r,
                s,
                s + 1,
                Double.MAX_VALUE,
                (x, c, b) -> held[c][expert[x]] == 0 && held[rank][expert[b]] == 0);
        if (best != null) {
          swap(r, best[0], best[1], best[2]);
          return true;
        }
      }
    }
    return false;
  }

  private boolean lowerPeak(double peakGoal) {
    int top = 0;
    for (int r = 1; r < ranks; r++) {
      if (rankLoad[r] > rankLoad[top]) {
        top = r;
      }
    }
    double peak = rankLoad[top];
    if (peak <= peakGoal) {
      return false;
    }
    int from = top;
    int[] best =
        bestSwap(
            top,
            0,
            slotsPerRank,
            peak * (1 - 1e-12),
            (a, c, b) -> weight[b] < weight[a] && swapKeepsDistinct(from, a, c, b));
    if (best == null) {
      return false;
    }
    swap(top, best[0], best[1], best[2]);
    return true;
  }

  /** Which swaps a search may make: item {@code a} of the searched rank for item b of rank c. */
  private interface SwapFilter {
    boolean allows(int a, int c, int b);
  }

  /**
   * The swap of an item in slots {@code fromSlot .. toSlot-1} of rank {@code r} with an item of
   * another rank that leaves the lowest peak of the two ranks, below {@code bound}, among those
   * {@code allowed}: {@code {slot, rank, slot}}, or null when there is none. Ties go to the first
   * found (slots, then ranks, then their slots, in order).
   */
  private int @Nullable [] bestSwap(
      int r, int fromSlot, int toSlot, double bound, SwapFilter allowed) {
    double bestPeak = bound;
    int[] best = null;
    for (int s = fromSlot; s < toSlot; s++) {
      int a = items[r][s];
      for (int c = 0; c < ranks; c++) {
        if (c == r) {
          continue;
        }
        for (int t = 0; t < slotsPerRank; t++) {
          int b = items[c][t];
          if (!allowed.allows(a, c, b)) {
            continue;
          }
          double peak = peakAfterSwap(r, a, c, b);
          if (peak < bestPeak) {
            bestPeak = peak;
            best = new int[] {s, c, t};
          }
        }
      }
    }
    return best;
  }

  /** The larger load of ranks {@code r} and {@code c} once item {@code a} of r and b of c swap. */
  private double peakAfterSwap(int r, int a, int c, int b) {
    return Math.max(rankLoad[r] - weight[a] + weight[b], rankLoad[c] - weight[b] + weight[a]);
  }

  int item(int rank, int slot) {
    return items[rank][slot];
  }

  double peak() {
    return Arrays.stream(rankLoad).max().orElse(0);
  }
}
