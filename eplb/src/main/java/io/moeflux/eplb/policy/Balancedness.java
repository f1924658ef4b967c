package io.moeflux.eplb.policy;

import io.moeflux.pipeline.model.Placement;

/** The one definition of balancedness: mean over max of per-rank load. */
public final class Balancedness {
  private Balancedness() {}

  /**
   * Mean/max of per-rank load for one layer, where slot s carries {@code load[phy2log[s]] *
   * shares[s] / SHARE_UNITS}; 1 when the layer has no load.
   */
  public static double of(double[] load, int[] phy2log, int[] shares, int ranks) {
    return ofRankLoads(rankLoads(load, phy2log, shares, ranks));
  }

  /**
   * Mean/max with exactly equal replicas, {@code load[e] / logcnt[e]} each: DeepSeek's own figure,
   * without the share grid.
   */
  public static double exactEqualShares(double[] load, int[] phy2log, int[] logcnt, int ranks) {
    int slotsPerRank = phy2log.length / ranks;
    double[] perRank = new double[ranks];
    for (int s = 0; s < phy2log.length; s++) {
      int e = phy2log[s];
      perRank[s / slotsPerRank] += load[e] / logcnt[e];
    }
    return ofRankLoads(perRank);
  }

  static double ofRankLoads(double[] perRank) {
    double max = 0;
    double sum = 0;
    for (double v : perRank) {
      max = Math.max(max, v);
      sum += v;
    }
    return max == 0 ? 1.0 : sum / perRank.length / max;
  }

  static double[] rankLoads(double[] load, int[] phy2log, int[] shares, int ranks) {
    int slotsPerRank = phy2log.length / ranks;
    double[] perRank = new double[ranks];
    for (int s = 0; s < phy2log.length; s++) {
      perRank[s / slotsPerRank] += load[phy2log[s]] * shares[s] / Placement.SHARE_UNITS;
    }
    return perRank;
  }
}
