package io.moeflux.eplb.policy;

/**
 * Checks a plan against its problem's constraints; an invalid plan is rejected and the placement in
 * force stays.
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
      int[] layer = plan.phy2log()[l];
      if (layer.length != problem.replicas()) {
        throw new IllegalArgumentException(
            "layer " + l + " has " + layer.length + " slots, expected " + problem.replicas());
      }
      int[] count = new int[experts];
      for (int s = 0; s < layer.length; s++) {
        if (layer[s] < 0 || layer[s] >= experts) {
          throw new IllegalArgumentException(
              "layer " + l + " slot " + s + " holds expert " + layer[s] + " of " + experts);
        }
        count[layer[s]]++;
      }
      for (int e = 0; e < experts; e++) {
        if (count[e] == 0) {
          throw new IllegalArgumentException("layer " + l + ": expert " + e + " has no replica");
        }
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
