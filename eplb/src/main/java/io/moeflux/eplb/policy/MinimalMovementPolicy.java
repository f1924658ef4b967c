package io.moeflux.eplb.policy;

import java.util.Objects;

/**
 * Prefers keeping experts where they are. It takes the balanced policy's replica counts, keeps
 * every replica the current placement already has on a rank (within each node), places the rest
 * largest first, and swaps only while balancedness is more than {@code tolerance} below the
 * balanced policy's: fewer expert weights to migrate for a plan nearly as good.
 */
public final class MinimalMovementPolicy implements PlacementPolicy {
  private final int[][] current;
  private final double tolerance;

  /**
   * @param current the placement in force, {@code phy2log[layer][slot]}
   * @param tolerance how much balancedness (absolute, per layer) to give up for fewer moves
   */
  public MinimalMovementPolicy(int[][] current, double tolerance) {
    this.current = Objects.requireNonNull(current, "current");
    if (!(tolerance >= 0 && tolerance < 1)) {
      throw new IllegalArgumentException("tolerance must be in [0, 1), got " + tolerance);
    }
    this.tolerance = tolerance;
  }

  @Override
  public PlacementPlan plan(PlacementProblem problem) {
    if (current.length != problem.layers()) {
      throw new IllegalArgumentException(
          "current placement has " + current.length + " layers, the load " + problem.layers());
    }
    PlacementPlan best = new BalancedPolicy().plan(problem);
    int ranks = problem.ranks();
    int slotsPerRank = problem.slotsPerRank();
    int[][] phy2log = new int[problem.layers()][];
    for (int l = 0; l < problem.layers(); l++) {
      if (current[l].length % ranks != 0) {
        throw new IllegalArgumentException(
            "current layer " + l + " has " + current[l].length + " slots for " + ranks + " ranks");
      }
      double[] load = problem.layerLoad(l);
      int[] target = best.phy2log()[l];
      int[] kept = keepInPlace(problem, current[l], target);
      double[] rankLoads = Balancedness.rankLoads(load, target, best.logcnt()[l], ranks);
      double mean = java.util.Arrays.stream(rankLoads).sum() / ranks;
      double goal = best.balancedness()[l] - tolerance;
      double peakGoal = goal <= 0 ? Double.MAX_VALUE : mean / goal;
      int[] improved = BalancedPolicy.improve(problem, load, kept, peakGoal);
      phy2log[l] = improved != null ? improved : target;
    }
    return PlacementPlan.of(problem, phy2log);
  }

  /**
   * The target's replicas (same experts, counts and nodes), arranged so that each rank keeps what
   * it holds now where it can.
   */
  private static int[] keepInPlace(PlacementProblem problem, int[] now, int[] target) {
    int ranks = problem.ranks();
    int slotsPerRank = problem.slotsPerRank();
    int nowPerRank = now.length / ranks;
    int nodes = BalancedPolicy.nodes(problem);
    int ranksPerNode = ranks / nodes;
    int[] result = new int[target.length];
    java.util.Arrays.fill(result, -1);
    for (int node = 0; node < nodes; node++) {
      int[] remaining = new int[problem.experts()];
      int from = node * ranksPerNode * slotsPerRank;
      int to = from + ranksPerNode * slotsPerRank;
      for (int s = from; s < to; s++) {
        remaining[target[s]]++;
      }
      int[] filled = new int[ranks];
      for (int r = node * ranksPerNode; r < (node + 1) * ranksPerNode; r++) {
        boolean[] holds = new boolean[problem.experts()];
        for (int i = 0; i < nowPerRank && filled[r] < slotsPerRank; i++) {
          int e = now[r * nowPerRank + i];
          if (e >= 0 && e < remaining.length && remaining[e] > 0 && !holds[e]) {
            holds[e] = true;
            remaining[e]--;
            result[r * slotsPerRank + filled[r]++] = e;
          }
        }
      }
      for (int r = node * ranksPerNode; r < (node + 1) * ranksPerNode; r++) {
        boolean[] holds = new boolean[problem.experts()];
        for (int i = 0; i < filled[r]; i++) {
          holds[result[r * slotsPerRank + i]] = true;
        }
        for (int e = 0; e < remaining.length && filled[r] < slotsPerRank; e++) {
          while (remaining[e] > 0 && !holds[e] && filled[r] < slotsPerRank) {
            holds[e] = true;
            remaining[e]--;
            result[r * slotsPerRank + filled[r]++] = e;
          }
        }
      }
      // anything still unplaced fills leftover slots; the swaps resolve duplicates
      for (int e = 0; e < remaining.length; e++) {
        for (int r = node * ranksPerNode; remaining[e] > 0 && r < (node + 1) * ranksPerNode; r++) {
          while (remaining[e] > 0 && filled[r] < slotsPerRank) {
            remaining[e]--;
            result[r * slotsPerRank + filled[r]++] = e;
          }
        }
      }
    }
    return result;
  }
}
