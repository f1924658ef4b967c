package io.moeflux.eplb.policy;

import io.moeflux.pipeline.model.Placement;

/**
 * Checks a plan against its problem's constraints (every expert placed, exact slots per rank, no
 * rank holding two replicas of one expert, groups kept on one node in the hierarchical case, shares
 * that sum to one per expert); an invalid plan is rejected and the placement in force stays.
 */
public final class PlanValidator {
  private PlanValidator() {}

  /** Throws {@link IllegalArgumentException} naming the first violation. */
  public static void validate(PlacementProblem problem, PlacementPlan plan) {
    if (plan.phy2log().length != problem.layers()) {
      throw new IllegalArgumentException(
          "plan has " + plan.phy2log().length + " layers, problem " + problem.layers());
    }
    int experts = problem.experts();
    int ranks = problem.ranks();
    int slotsPerRank = problem.slotsPerRank();
    for (int l = 0; l < problem.layers(); l++) {
      if (plan.phy2log()[l].length != problem.replicas()) {
        throw new IllegalArgumentException(
            "layer "
                + l
                + " has "
                + plan.phy2log()[l].length
                + " slots, expected "
                + problem.replicas());
      }
    }
    // the maps and shares as any placement's: experts in range, each placed, shares summing to 1
    Placement.of(plan.phy2log(), plan.shares(), experts, ranks, 0);
    for (int l = 0; l < problem.layers(); l++) {
      int[] layer = plan.phy2log()[l];
      int[] count = new int[experts];
      for (int e : layer) {
        count[e]++;
      }
      for (int e = 0; e < experts; e++) {
        if (plan.logcnt()[l][e] != count[e] || plan.log2phy()[l][e].length != count[e]) {
          throw new IllegalArgumentException(
              "layer " + l + ": logcnt/log2phy of expert " + e + " disagree with phy2log");
        }
      }
      for (int r = 0; r < ranks; r++) {
        boolean[] seen = new boolean[experts];
        for (int i = 0; i < slotsPerRank; i++) {
          int e = layer[r * slotsPerRank + i];
          if (seen[e]) {
            throw new IllegalArgumentException(
                "layer " + l + ": rank " + r + " holds two replicas of expert " + e);
          }
          seen[e] = true;
        }
      }
      if (problem.hierarchical()) {
        int slotsPerNode = problem.replicas() / problem.nodes();
        int groupSize = experts / problem.groups();
        int[] nodeOfGroup = new int[problem.groups()];
        java.util.Arrays.fill(nodeOfGroup, -1);
        for (int s = 0; s < layer.length; s++) {
          int g = layer[s] / groupSize;
          int node = s / slotsPerNode;
          if (nodeOfGroup[g] >= 0 && nodeOfGroup[g] != node) {
            throw new IllegalArgumentException(
                "layer "
                    + l
                    + ": group "
                    + g
                    + " is split over nodes "
                    + nodeOfGroup[g]
                    + " and "
                    + node);
          }
          nodeOfGroup[g] = node;
        }
      }
    }
  }
}
