package io.moeflux.eplb.policy;

import io.moeflux.pipeline.model.Placement;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * The shares of one node's replicas, for a fixed layout: which part of each expert's load each of
 * its replicas takes, on the {@code 1/SHARE_UNITS} grid, so that the most loaded rank is as light
 * as it can be.
 *
 * <p>First the continuous optimum: expert by expert, its load is water-filled over the ranks that
 * hold it, given everything else on them, sweep after sweep. Each fill minimises the sum of squared
 * rank loads over that expert's split, a convex function whose minimum also minimises the peak (the
 * rank loads a layout allows form the base polytope of a coverage function), so the sweeps converge
 * to the lowest peak. Then the grid: every share is rounded down, the units left over go one at a
 * time to the replica on the least loaded rank, and single units move off the most loaded rank
 * while that lowers it. Equal shares compete, so a layout never does worse than with them.
 */
final class ShareBalancer {
  private static final double STRICT = 1 - 1e-12;
  private static final int MAX_SWEEPS = 400;

  private ShareBalancer() {}

  /** Shares per slot and the peak rank load they give. */
  record Shares(int[] units, double peak) {}

  /** Equal shares: {@code SHARE_UNITS / count}, the first replicas one unit more. */
  static int[] equalUnits(int[] layout, int experts) {
    return Placement.equalShares(new int[][] {layout}, experts)[0];
  }

  /** The peak rank load of {@code layout} with {@code units}. */
  static double peak(double[] load, int ranks, int k, int[] layout, int[] units) {
    double max = 0;
    for (int r = 0; r < ranks; r++) {
      double sum = 0;
      for (int i = 0; i < k; i++) {
        int s = r * k + i;
        sum += load[layout[s]] * units[s] / Placement.SHARE_UNITS;
      }
      max = Math.max(max, sum);
    }
    return max;
  }

  /** Equal shares for {@code layout}. */
  static Shares equal(double[] load, int ranks, int k, int[] layout) {
    int[] units = equalUnits(layout, load.length);
    return new Shares(units, peak(load, ranks, k, layout, units));
  }

  /**
   * The best shares found for {@code layout}, never worse than {@code incumbent} (or equal shares
   * when null), which win ties; {@code start} (per slot, the load it takes) is where the continuous
   * search begins, or null for equal parts.
   */
  static Shares balance(
      double[] load,
      int ranks,
      int k,
      int[] layout,
      double @Nullable [] start,
      int @Nullable [] incumbent) {
    int[] kept = incumbent == null ? equalUnits(layout, load.length) : incumbent;
    double keptPeak = peak(load, ranks, k, layout, kept);
    int[] units = quantise(load, ranks, k, layout, continuous(load, ranks, k, layout, start));
    double peak = peak(load, ranks, k, layout, units);
    return peak < keptPeak ? new Shares(units, peak) : new Shares(kept, keptPeak);
  }

  /**
   * Per slot, the load it takes at the continuous optimum, searched from {@code from} (or from
   * equal parts).
   */
  static double[] continuous(
      double[] load, int ranks, int k, int[] layout, double @Nullable [] from) {
    return continuous(load, ranks, k, layout, from, MAX_SWEEPS);
  }

  /** As {@link #continuous(double[], int, int, int[], double[])}, within {@code sweeps} sweeps. */
  static double[] continuous(
      double[] load, int ranks, int k, int[] layout, double @Nullable [] from, int sweeps) {
    int experts = load.length;
    int slots = ranks * k;
    int[] count = new int[experts];
    for (int e : layout) {
      count[e]++;
    }
    int[] start = new int[experts + 1];
    for (int e = 0; e < experts; e++) {
      start[e + 1] = start[e] + count[e];
    }
    int[] positions = new int[slots];
    int[] next = Arrays.copyOf(start, experts);
    for (int s = 0; s < slots; s++) {
      positions[next[layout[s]]++] = s;
    }
    double[] x = new double[slots];
    double[] rankLoad = new double[ranks];
    double total = 0;
    for (int s = 0; s < slots; s++) {
      int e = layout[s];
      x[s] = from == null ? load[e] / count[e] : from[s];
      rankLoad[s / k] += x[s];
      total += x[s];
    }
    double tolerance = 1e-9 * total / ranks;
    double[] base = new double[ranks];
    int[] order = new int[ranks];
    for (int sweep = 0; sweep < sweeps; sweep++) {
      double moved = 0;
      for (int e = 0; e < experts; e++) {
        int c = count[e];
        if (c < 2 || load[e] <= 0) {
          continue;
        }
        for (int j = 0; j < c; j++) {
          int s = positions[start[e] + j];
          base[j] = rankLoad[s / k] - x[s];
          order[j] = j;
        }
        sortByBase(order, base, c);
        double level = 0;
        double sum = load[e];
        for (int m = 0; m < c; m++) {
          sum += base[order[m]];
          level = sum / (m + 1);
          if (m + 1 == c || level <= base[order[m + 1]]) {
            break;
          }
        }
        for (int j = 0; j < c; j++) {
          int s = positions[start[e] + j];
          double share = Math.max(0, level - base[j]);
          moved = Math.max(moved, Math.abs(share - x[s]));
          rankLoad[s / k] += share - x[s];
          x[s] = share;
        }
      }
      if (moved <= tolerance) {
        break;
      }
    }
    return x;
  }

  private static void sortByBase(int[] order, double[] base, int n) {
    for (int i = 1; i < n; i++) {
      int v = order[i];
      int j = i - 1;
      while (j >= 0 && base[order[j]] > base[v]) {
        order[j + 1] = order[j];
        j--;
      }
      order[j + 1] = v;
    }
  }

  /** Rounds the continuous split onto the grid, then moves single units off the top rank. */
  private static int[] quantise(double[] load, int ranks, int k, int[] layout, double[] x) {
    int experts = load.length;
    int slots = ranks * k;
    int[] units = equalUnits(layout, experts);
    int[] given = new int[experts];
    for (int s = 0; s < slots; s++) {
      int e = layout[s];
      if (load[e] > 0) {
        units[s] = (int) Math.floor(x[s] / load[e] * Placement.SHARE_UNITS + 1e-9);
        units[s] = Math.max(0, Math.min(Placement.SHARE_UNITS, units[s]));
      }
      given[e] += units[s];
    }
    double[] rankLoad = new double[ranks];
    for (int s = 0; s < slots; s++) {
      rankLoad[s / k] += load[layout[s]] * units[s] / Placement.SHARE_UNITS;
    }
    // units still to give, largest experts first: their units are the coarsest
    for (int e : DeepSeekPolicy.descending(load)) {
      double unit = load[e] / Placement.SHARE_UNITS;
      while (given[e] < Placement.SHARE_UNITS) {
        int pick = -1;
        for (int s = 0; s < slots; s++) {
          if (layout[s] == e && (pick < 0 || rankLoad[s / k] < rankLoad[pick / k])) {
            pick = s;
          }
        }
        units[pick]++;
        given[e]++;
        rankLoad[pick / k] += unit;
      }
    }
    polish(load, ranks, k, layout, units, rankLoad);
    return units;
  }

  /**
   * Moves single units off the most loaded rank while that lowers it: a unit of one of its experts
   * goes to another replica of that expert; when that rank would end at the old peak or above, it
   * passes a unit of another expert on, and so on along a path of at most {@link #PATH} ranks, so
   * that units of unequal size can still even out.
   */
  private static void polish(
      double[] load, int ranks, int k, int[] layout, int[] units, double[] rankLoad) {
    new Polish(load, ranks, k, layout, units, rankLoad).run();
  }

  private static final int PATH = 4;

  /** Paths searched per move at most, so that a move costs a bounded time. */
  private static final int PATH_BUDGET = 20_000;

  /** The unit paths off the top rank. */
  private static final class Polish {
    final double[] unit;
    final int k;
    final int ranks;
    final int[] layout;
    final int[] units;
    final double[] rankLoad;
    final int[] start;
    final int[] positions;
    final int[] from = new int[PATH];
    final int[] to = new int[PATH];
    final boolean[] onPath;
    double peak;
    int explored;

    Polish(double[] load, int ranks, int k, int[] layout, int[] units, double[] rankLoad) {
      int experts = load.length;
      int slots = ranks * k;
      this.k = k;
      this.ranks = ranks;
      this.layout = layout;
      this.units = units;
      this.rankLoad = rankLoad;
      this.onPath = new boolean[ranks];
      this.unit = new double[experts];
      for (int e = 0; e < experts; e++) {
        unit[e] = load[e] / Placement.SHARE_UNITS;
      }
      this.start = new int[experts + 1];
      for (int e : layout) {
        start[e + 1]++;
      }
      for (int e = 0; e < experts; e++) {
        start[e + 1] += start[e];
      }
      this.positions = new int[slots];
      int[] next = Arrays.copyOf(start, experts);
      for (int s = 0; s < slots; s++) {
        positions[next[layout[s]]++] = s;
      }
    }

    void run() {
      for (int guard = 0; guard < 64 * layout.length; guard++) {
        int t = 0;
        for (int r = 1; r < ranks; r++) {
          if (rankLoad[r] > rankLoad[t]) {
            t = r;
          }
        }
        peak = rankLoad[t];
        boolean moved = false;
        for (int depth = 1; depth <= PATH && !moved; depth++) {
          explored = 0;
          onPath[t] = true;
          moved = shed(t, rankLoad[t], 0, depth);
          onPath[t] = false;
        }
        if (!moved) {
          return;
        }
      }
    }

    /**
     * Rank {@code r}, whose load would be {@code loadNow}, passes one unit on (hop {@code hop} of
     * at most {@code depth}) so that every rank on the path ends below the peak; applies the path
     * when found.
     */
    private boolean shed(int r, double loadNow, int hop, int depth) {
      for (int i = 0; i < k; i++) {
        int s = r * k + i;
        int e = layout[s];
        if (units[s] == 0 || unit[e] <= 0) {
          continue;
        }
        double after = loadNow - unit[e];
        if (after >= peak * STRICT) {
          continue;
        }
        for (int p = start[e]; p < start[e + 1]; p++) {
          int q = positions[p];
          int r2 = q / k;
          if (onPath[r2] || ++explored > PATH_BUDGET) {
            continue;
          }
          from[hop] = s;
          to[hop] = q;
          double arriving = rankLoad[r2] + unit[e];
          if (arriving < peak * STRICT) {
            apply(hop);
            return true;
          }
          if (hop + 1 < depth) {
            onPath[r2] = true;
            boolean found = shed(r2, arriving, hop + 1, depth);
            onPath[r2] = false;
            if (found) {
              return true;
            }
          }
        }
      }
      return false;
    }

    private void apply(int lastHop) {
      for (int h = 0; h <= lastHop; h++) {
        double u = unit[layout[from[h]]];
        units[from[h]]--;
        units[to[h]]++;
        rankLoad[from[h] / k] -= u;
        rankLoad[to[h] / k] += u;
      }
    }
  }
}
