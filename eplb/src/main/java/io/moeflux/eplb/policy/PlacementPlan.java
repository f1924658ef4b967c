package io.moeflux.eplb.policy;

import io.moeflux.pipeline.model.Placement;

/**
 * A placement: {@code phy2log[layer][slot]} is the logical expert in physical slot {@code slot}
 * (slot i on rank {@code i / slotsPerRank}); {@code shares[layer][slot]} is the part of that
 * expert's tokens the slot takes, in units of {@code 1/}{@link Placement#SHARE_UNITS} (an expert's
 * shares sum to {@code SHARE_UNITS}); {@code logcnt[layer][e]} counts expert e's replicas; {@code
 * log2phy[layer][e]} lists its slots in ascending order; {@code balancedness[layer]} is mean/max of
 * per-rank load with these shares.
 */
public record PlacementPlan(
    int[][] phy2log, int[][] shares, int[][] logcnt, int[][][] log2phy, double[] balancedness) {

  /** Builds the maps from {@code phy2log} with equal shares and scores them on {@code problem}. */
  public static PlacementPlan of(PlacementProblem problem, int[][] phy2log) {
    return of(problem, phy2log, Placement.equalShares(phy2log, problem.experts()));
  }

  /**
   * Builds the maps from {@code phy2log} and scores them with {@code shares} on {@code problem}.
   */
  public static PlacementPlan of(PlacementProblem problem, int[][] phy2log, int[][] shares) {
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
          Balancedness.of(problem.layerLoad(l), phy2log[l], shares[l], problem.ranks());
    }
    return new PlacementPlan(phy2log, shares, logcnt, log2phy, balancedness);
  }

  public double meanBalancedness() {
    double sum = 0;
    for (double b : balancedness) {
      sum += b;
    }
    return sum / balancedness.length;
  }

  /** {@code [layer][slot]}: the slot's share as a fraction of its expert's tokens. */
  public double[][] shareFractions() {
    double[][] fractions = new double[shares.length][];
    for (int l = 0; l < shares.length; l++) {
      fractions[l] = new double[shares[l].length];
      for (int s = 0; s < shares[l].length; s++) {
        fractions[l][s] = (double) shares[l][s] / Placement.SHARE_UNITS;
      }
    }
    return fractions;
  }

  /** This plan as the pipeline's placement, under {@code version}. */
  public Placement toPlacement(int experts, int ranks, long version) {
    return Placement.of(phy2log, shares, experts, ranks, version);
  }
}
