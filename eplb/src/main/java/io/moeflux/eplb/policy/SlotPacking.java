package io.moeflux.eplb.policy;

import java.util.Arrays;

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
        int bestRank = -1;
        int bestSlot = -1;
        double bestPeak = Double.MAX_VALUE;
        for (int c = 0; c < ranks; c++) {
          if (c == r || held[c][expert[a]] > 0) {
            continue;
          }
          for (int t = 0; t < slotsPerRank; t++) {
            int b = items[c][t];
            if (held[r][expert[b]] > 0) {
              continue;
            }
            double peak = peakAfterSwap(r, a, c, b);
            if (peak < bestPeak) {
              bestPeak = peak;
              bestRank = c;
              bestSlot = t;
            }
          }
        }
        if (bestRank >= 0) {
          swap(r, s, bestRank, bestSlot);
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
    double bestPeak = peak * (1 - 1e-12);
    int bs = -1;
    int bc = -1;
    int bt = -1;
    for (int s = 0; s < slotsPerRank; s++) {
      int a = items[top][s];
      for (int c = 0; c < ranks; c++) {
        if (c == top) {
          continue;
        }
        for (int t = 0; t < slotsPerRank; t++) {
          int b = items[c][t];
          if (weight[b] >= weight[a] || !swapKeepsDistinct(top, a, c, b)) {
            continue;
          }
          double newPeak = peakAfterSwap(top, a, c, b);
          if (newPeak < bestPeak) {
            bestPeak = newPeak;
            bs = s;
            bc = c;
            bt = t;
          }
        }
      }
    }
    if (bs < 0) {
      return false;
    }
    swap(top, bs, bc, bt);
    return true;
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
