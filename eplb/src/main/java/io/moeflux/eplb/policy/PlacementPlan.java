package io.moeflux.eplb.policy;

/**
 * A placement: {@code phy2log[layer][slot]} is the logical expert in physical slot {@code slot}
 * (slot i on rank {@code i / slotsPerRank}); {@code logcnt[layer][e]} counts expert e's replicas;
 * {@code log2phy[layer][e]} lists its slots in ascending order; {@code balancedness[layer]} is
 * mean/max of per-rank load, a replica carrying {@code load / logcnt}.
 */
public record PlacementPlan(
    int[][] phy2log, int[][] logcnt, int[][][] log2phy, double[] balancedness) {

  /** Builds the maps from {@code phy2log} and scores them on {@code problem}. */
  public static PlacementPlan of(PlacementProblem problem, int[][] phy2log) {
    int layers = phy2log.length;
    int experts = problem.experts();
    int[][] logcnt = new int[layers][experts];
    int[][][] log2phy = new int[layers][experts][];
    double[] balancedness = new double[layers];
    for (int l = 0; l < layers; l++) {
      for (int e : phy2log[l]) {
        logcnt[l][e]++;
      }
      int[] filled = new int[experts];
      for (int e = 0; e < experts; e++) {
        log2phy[l][e] = new int[logcnt[l][e]];
      }
      for (int s = 0; s < phy2log[l].length; s++) {
        int e = phy2log[l][s];
        log2phy[l][e][filled[e]++] = s;
      }
      balancedness[l] =
          Balancedness.of(problem.layerLoad(l), phy2log[l], logcnt[l], problem.ranks());
    }
    return new PlacementPlan(phy2log, logcnt, log2phy, balancedness);
  }

  public double meanBalancedness() {
    double sum = 0;
    for (double b : balancedness) {
      sum += b;
    }
    return sum / balancedness.length;
  }
}
