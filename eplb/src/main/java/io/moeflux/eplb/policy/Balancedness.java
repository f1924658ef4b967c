package io.moeflux.eplb.policy;

/** The one definition of balancedness: mean over max of per-rank load. */
public final class Balancedness {
  private Balancedness() {}

  /**
   * Mean/max of per-rank load for one layer, where a replica of expert e carries {@code load[e] /
   * logcnt[e]}; 1 when the layer has no load.
   */
  public static double of(double[] load, int[] phy2log, int[] logcnt, int ranks) {
    double[] perRank = rankLoads(load, phy2log, logcnt, ranks);
    double max = 0;
    double sum = 0;
    for (double v : perRank) {
      max = Math.max(max, v);
      sum += v;
    }
    return max == 0 ? 1.0 : sum / ranks / max;
  }

  static double[] rankLoads(double[] load, int[] phy2log, int[] logcnt, int ranks) {
    int slotsPerRank = phy2log.length / ranks;
    double[] perRank = new double[ranks];
    for (int s = 0; s < phy2log.length; s++) {
      int e = phy2log[s];
      perRank[s / slotsPerRank] += load[e] / logcnt[e];
    }
    return perRank;
  }
}
