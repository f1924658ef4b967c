package io.moeflux.eplb.policy;

/**
 * Expert groups onto nodes, the same number of groups on each: DeepSeek's balanced packing of group
 * loads, then swaps of two groups between the heaviest node and another while that lowers the
 * heaviest node, restarted from seeded random swaps. A node's total bounds every rank layout inside
 * it, so the heaviest node is what this packing lowers.
 */
final class GroupPacking {
  private static final double STRICT = 1 - 1e-12;

  private GroupPacking() {}

  /** {@code nodeOf[group]} for {@code groupLoad} over {@code nodes} nodes. */
  static int[] assign(double[] groupLoad, int nodes, long seed, int restarts) {
    int groups = groupLoad.length;
    int[] nodeOf = DeepSeekPolicy.balancedPacking(groupLoad, nodes)[0];
    if (nodes == 1 || groups == nodes) {
      return nodeOf;
    }
    double[] nodeLoad = totals(groupLoad, nodeOf, nodes);
    descend(groupLoad, nodeOf, nodeLoad);
    int[] best = nodeOf.clone();
    double bestPeak = max(nodeLoad);
    SplitMix random = new SplitMix(seed);
    for (int restart = 0; restart < restarts; restart++) {
      int[] trial = best.clone();
      for (int n = 0; n < 2; n++) {
        int a = random.nextInt(groups);
        int b = random.nextInt(groups);
        int t = trial[a];
        trial[a] = trial[b];
        trial[b] = t;
      }
      double[] trialLoad = totals(groupLoad, trial, nodes);
      descend(groupLoad, trial, trialLoad);
      double peak = max(trialLoad);
      if (peak < bestPeak * STRICT) {
        bestPeak = peak;
        best = trial;
      }
    }
    return best;
  }

  /**
   * Swaps two groups between nodes while that lowers the largest node peak, {@code peakOf} scoring
   * a node by the set of its groups (a bit per group); at most {@code rounds} swaps.
   */
  static int[] refine(
      int[] nodeOf, int nodes, java.util.function.ToDoubleFunction<Long> peakOf, int rounds) {
    int groups = nodeOf.length;
    if (nodes == 1 || groups > Long.SIZE) {
      return nodeOf;
    }
    java.util.Map<Long, Double> scored = new java.util.HashMap<>();
    java.util.function.ToDoubleFunction<Long> peak =
        mask -> scored.computeIfAbsent(mask, m -> peakOf.applyAsDouble(m));
    int[] result = nodeOf.clone();
    long[] masks = masks(result, nodes);
    double current = worst(masks, peak);
    for (int round = 0; round < rounds; round++) {
      double best = current * STRICT;
      int ga = -1;
      int gb = -1;
      for (int a = 0; a < groups; a++) {
        for (int b = a + 1; b < groups; b++) {
          int na = result[a];
          int nb = result[b];
          if (na == nb) {
            continue;
          }
          long[] trial = masks.clone();
          trial[na] = (trial[na] & ~(1L << a)) | (1L << b);
          trial[nb] = (trial[nb] & ~(1L << b)) | (1L << a);
          double p = worst(trial, peak);
          if (p < best) {
            best = p;
            ga = a;
            gb = b;
          }
        }
      }
      if (ga < 0) {
        break;
      }
      int t = result[ga];
      result[ga] = result[gb];
      result[gb] = t;
      masks = masks(result, nodes);
      current = best;
    }
    return result;
  }

  private static long[] masks(int[] nodeOf, int nodes) {
    long[] masks = new long[nodes];
    for (int g = 0; g < nodeOf.length; g++) {
      masks[nodeOf[g]] |= 1L << g;
    }
    return masks;
  }

  private static double worst(long[] masks, java.util.function.ToDoubleFunction<Long> peak) {
    double max = 0;
    for (long mask : masks) {
      max = Math.max(max, peak.applyAsDouble(mask));
    }
    return max;
  }

  private static void descend(double[] groupLoad, int[] nodeOf, double[] nodeLoad) {
    int groups = groupLoad.length;
    for (int guard = 0; guard < groups * groups; guard++) {
      int top = 0;
      for (int n = 1; n < nodeLoad.length; n++) {
        if (nodeLoad[n] > nodeLoad[top]) {
          top = n;
        }
      }
      double best = nodeLoad[top] * STRICT;
      int ga = -1;
      int gb = -1;
      for (int a = 0; a < groups; a++) {
        if (nodeOf[a] != top) {
          continue;
        }
        for (int b = 0; b < groups; b++) {
          if (nodeOf[b] == top || groupLoad[b] >= groupLoad[a]) {
            continue;
          }
          double d = groupLoad[a] - groupLoad[b];
          double m = Math.max(nodeLoad[top] - d, nodeLoad[nodeOf[b]] + d);
          if (m < best) {
            best = m;
            ga = a;
            gb = b;
          }
        }
      }
      if (ga < 0) {
        return;
      }
      int other = nodeOf[gb];
      double d = groupLoad[ga] - groupLoad[gb];
      nodeLoad[top] -= d;
      nodeLoad[other] += d;
      nodeOf[ga] = other;
      nodeOf[gb] = top;
    }
  }

  private static double[] totals(double[] groupLoad, int[] nodeOf, int nodes) {
    double[] nodeLoad = new double[nodes];
    for (int g = 0; g < groupLoad.length; g++) {
      nodeLoad[nodeOf[g]] += groupLoad[g];
    }
    return nodeLoad;
  }

  private static double max(double[] values) {
    double m = 0;
    for (double v : values) {
      m = Math.max(m, v);
    }
    return m;
  }
}
