package io.moeflux.eplb.policy;

/**
 * Longest-processing-time packing that may split an expert, for weighted shares: experts, largest
 * first, go to the least loaded rank with a free slot that lacks them; while spare slots remain, an
 * expert that would push that rank past the mean fills it to the mean and carries the rest to the
 * next least loaded rank, as McNaughton's wrap-around rule does for preemptive jobs. Slots still
 * free at the end take an empty replica of an expert on the most loaded rank, a path along which
 * {@link ShareBalancer} can later move load.
 */
final class SplitPacking {
  private final int[] layout;
  private final double[] weights;

  private SplitPacking(int[] layout, double[] weights) {
    this.layout = layout;
    this.weights = weights;
  }

  /** {@code [rank * k + i]}: the node-local expert in each slot. */
  int[] layout() {
    return layout;
  }

  /** Per slot, the part of its expert's load it takes. */
  double[] weights() {
    return weights;
  }

  static SplitPacking of(double[] load, int ranks, int k) {
    int experts = load.length;
    int slots = ranks * k;
    double total = 0;
    for (double v : load) {
      total += v;
    }
    double mean = total / ranks;
    int[] layout = new int[slots];
    double[] weights = new double[slots];
    int[] filled = new int[ranks];
    double[] rankLoad = new double[ranks];
    boolean[] holds = new boolean[ranks * experts];
    int spare = slots - experts;
    for (int e : DeepSeekPolicy.descending(load)) {
      double remaining = load[e];
      boolean first = true;
      while (first || remaining > 0) {
        int r = lightestWithRoom(rankLoad, filled, holds, e, k, experts);
        double piece = remaining;
        if (!first) {
          spare--;
        }
        boolean mayCarry =
            spare > 0 && rankLoad[r] < mean && rankLoad[r] + remaining > mean * (1 + 1e-9);
        if (mayCarry && secondWithRoom(rankLoad, filled, holds, e, k, experts, r)) {
          piece = mean - rankLoad[r];
        }
        int s = r * k + filled[r]++;
        layout[s] = e;
        weights[s] = piece;
        rankLoad[r] += piece;
        holds[r * experts + e] = true;
        remaining -= piece;
        first = false;
      }
    }
    for (int r = 0; r < ranks; r++) {
      while (filled[r] < k) {
        int e = bridgeFor(r, rankLoad, layout, holds, filled, k, experts);
        layout[r * k + filled[r]++] = e;
        holds[r * experts + e] = true;
      }
    }
    return new SplitPacking(layout, weights);
  }

  private static int lightestWithRoom(
      double[] rankLoad, int[] filled, boolean[] holds, int e, int k, int experts) {
    int pick = -1;
    for (int r = 0; r < rankLoad.length; r++) {
      if (filled[r] < k && !holds[r * experts + e] && (pick < 0 || rankLoad[r] < rankLoad[pick])) {
        pick = r;
      }
    }
    return pick;
  }

  private static boolean secondWithRoom(
      double[] rankLoad, int[] filled, boolean[] holds, int e, int k, int experts, int except) {
    for (int r = 0; r < rankLoad.length; r++) {
      if (r != except && filled[r] < k && !holds[r * experts + e]) {
        return true;
      }
    }
    return false;
  }

  /** An expert rank {@code r} lacks, held by the most loaded rank that holds one. */
  private static int bridgeFor(
      int r, double[] rankLoad, int[] layout, boolean[] holds, int[] filled, int k, int experts) {
    int pick = -1;
    double pickLoad = -1;
    for (int q = 0; q < rankLoad.length; q++) {
      if (q == r || rankLoad[q] <= pickLoad) {
        continue;
      }
      for (int i = 0; i < filled[q]; i++) {
        int e = layout[q * k + i];
        if (!holds[r * experts + e]) {
          pick = e;
          pickLoad = rankLoad[q];
          break;
        }
      }
    }
    if (pick >= 0) {
      return pick;
    }
    for (int e = 0; e < experts; e++) {
      if (!holds[r * experts + e]) {
        return e;
      }
    }
    throw new IllegalStateException("rank " + r + " already holds every expert");
  }
}
