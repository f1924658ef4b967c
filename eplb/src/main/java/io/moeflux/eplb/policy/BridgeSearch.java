package io.moeflux.eplb.policy;

/**
 * Opens a way out for the most loaded ranks of a layout with weighted shares. At the continuous
 * optimum of the shares ({@link ShareBalancer#continuous}), the ranks at the peak hold only experts
 * whose other replicas are at the peak too: no share can move off them. A slot on a lighter rank is
 * turned into a replica of an expert on the peak (the slot's old expert passing its load to its
 * other replicas), and the shares are balanced again; the change that lowers the peak most is kept,
 * and the search repeats while one does, within a budget of tries.
 */
final class BridgeSearch {
  /**
   * Loads within this (relative) of the peak count as the peak, and a trial must lower the peak by
   * more: the continuous shares are only converged to about that.
   */
  private static final double CLOSE = 1e-6;

  private static final int WIDTH = 3;

  /** Sweeps that score a trial; the kept one is then balanced to convergence. */
  private static final int TRIAL_SWEEPS = 40;

  private final double[] load;
  private final int ranks;
  private final int k;
  private final int experts;
  private int[] layout;
  private double[] parts;
  private double peak;

  private BridgeSearch(double[] load, int ranks, int k, int[] layout, double[] parts) {
    this.load = load;
    this.ranks = ranks;
    this.k = k;
    this.experts = load.length;
    this.layout = layout.clone();
    this.parts = ShareBalancer.continuous(load, ranks, k, layout, parts);
    this.peak = peakOf(this.parts);
  }

  /**
   * Searches from {@code layout} (with {@code parts}, the load per slot, to start the shares from)
   * within {@code tries} balanced trials; the result's {@link #layout()} and {@link #parts()}.
   */
  static BridgeSearch run(
      double[] load, int ranks, int k, int[] layout, double[] parts, int tries) {
    BridgeSearch search = new BridgeSearch(load, ranks, k, layout, parts);
    int left = tries;
    while (left > 0) {
      int spent = search.improve(left);
      if (spent < 0) {
        break;
      }
      left -= spent;
    }
    return search;
  }

  int[] layout() {
    return layout;
  }

  double[] parts() {
    return parts;
  }

  private double peakOf(double[] x) {
    double[] rankLoad = rankLoads(x);
    double max = 0;
    for (double v : rankLoad) {
      max = Math.max(max, v);
    }
    return max;
  }

  private double[] rankLoads(double[] x) {
    double[] rankLoad = new double[ranks];
    for (int s = 0; s < x.length; s++) {
      rankLoad[s / k] += x[s];
    }
    return rankLoad;
  }

  /**
   * One round: tries bridges from the peak's heaviest replicas to the lightest ranks; applies the
   * best that lowers the peak. Returns the tries spent, or -1 when none helped.
   */
  private int improve(int budget) {
    double[] rankLoad = rankLoads(parts);
    double mean = java.util.Arrays.stream(rankLoad).sum() / ranks;
    if (peak <= mean * (1 + CLOSE)) {
      return -1;
    }
    boolean[] top = new boolean[ranks];
    for (int r = 0; r < ranks; r++) {
      top[r] = rankLoad[r] >= peak * (1 - CLOSE);
    }
    int[] count = new int[experts];
    boolean[] held = new boolean[ranks * experts];
    for (int s = 0; s < layout.length; s++) {
      count[layout[s]]++;
      held[(s / k) * experts + layout[s]] = true;
    }
    int[] heavy = heaviestOnTop(top, count);
    int[] light = lightestOff(top, rankLoad);
    int spent = 0;
    double bestPeak = peak * (1 - CLOSE);
    int[] bestLayout = null;
    double[] bestParts = null;
    for (int a : heavy) {
      for (int r : light) {
        if (a < 0 || r < 0 || held[r * experts + a]) {
          continue;
        }
        for (int i = 0; i < k && spent < budget; i++) {
          int q = r * k + i;
          int g = layout[q];
          int[] trialLayout = layout.clone();
          double[] trial = parts.clone();
          if (count[g] >= 2) {
            // slot q gives its part of g to g's lightest other replica, and becomes a's
            passOn(trialLayout, trial, q, g, rankLoad);
            trialLayout[q] = a;
            trial[q] = 0;
          } else {
            // g is alone: it trades places with a's lightest replica on the peak
            int from = lightestOnTop(a, top, held, g);
            if (from < 0) {
              continue;
            }
            trialLayout[q] = a;
            trialLayout[from] = g;
            trial[q] = parts[from];
            trial[from] = parts[q];
          }
          spent++;
          double[] balanced =
              ShareBalancer.continuous(load, ranks, k, trialLayout, trial, TRIAL_SWEEPS);
          double p = peakOf(balanced);
          if (p < bestPeak) {
            bestPeak = p;
            bestLayout = trialLayout;
            bestParts = balanced;
          }
        }
      }
    }
    if (bestLayout == null) {
      return -1;
    }
    layout = bestLayout;
    parts = ShareBalancer.continuous(load, ranks, k, bestLayout, bestParts);
    peak = peakOf(parts);
    return Math.max(1, spent);
  }

  /**
   * The slot of {@code a}'s smallest part on a peak rank that lacks {@code g}, or -1: the one it
   * costs least to move.
   */
  private int lightestOnTop(int a, boolean[] top, boolean[] held, int g) {
    int pick = -1;
    for (int s = 0; s < layout.length; s++) {
      int r = s / k;
      if (layout[s] == a
          && top[r]
          && !held[r * experts + g]
          && (pick < 0 || parts[s] < parts[pick])) {
        pick = s;
      }
    }
    return pick;
  }

  /** Slot {@code q}'s part of {@code g} goes to g's replica on the least loaded other rank. */
  private void passOn(int[] trialLayout, double[] trial, int q, int g, double[] rankLoad) {
    int to = -1;
    for (int s = 0; s < trialLayout.length; s++) {
      if (s != q && trialLayout[s] == g && (to < 0 || rankLoad[s / k] < rankLoad[to / k])) {
        to = s;
      }
    }
    trial[to] += trial[q];
  }

  /** The experts with the largest parts on peak ranks, that could take another replica. */
  private int[] heaviestOnTop(boolean[] top, int[] count) {
    int[] pick = new int[WIDTH];
    double[] size = new double[WIDTH];
    java.util.Arrays.fill(pick, -1);
    for (int s = 0; s < layout.length; s++) {
      int e = layout[s];
      if (!top[s / k] || count[e] >= ranks || parts[s] <= 0) {
        continue;
      }
      boolean listed = false;
      for (int p : pick) {
        listed |= p == e;
      }
      if (!listed) {
        insert(pick, size, e, parts[s], true);
      }
    }
    return pick;
  }

  /** The least loaded ranks off the peak. */
  private int[] lightestOff(boolean[] top, double[] rankLoad) {
    int[] pick = new int[WIDTH];
    double[] size = new double[WIDTH];
    java.util.Arrays.fill(pick, -1);
    for (int r = 0; r < ranks; r++) {
      if (!top[r]) {
        insert(pick, size, r, rankLoad[r], false);
      }
    }
    return pick;
  }

  /** Keeps the {@code WIDTH} largest (or smallest) values, ties to the earlier index. */
  private static void insert(int[] pick, double[] size, int index, double value, boolean largest) {
    for (int n = 0; n < pick.length; n++) {
      boolean better = pick[n] < 0 || (largest ? value > size[n] : value < size[n]);
      if (better) {
        for (int m = pick.length - 1; m > n; m--) {
          pick[m] = pick[m - 1];
          size[m] = size[m - 1];
        }
        pick[n] = index;
        size[n] = value;
        return;
      }
    }
  }
}
