package io.moeflux.eplb.policy;

import java.util.Arrays;
import java.util.Comparator;

/**
 * The baseline: DeepSeek's open EPLB algorithm, as vLLM and vllm-ascend run it. Hierarchical when
 * {@code groups % nodes == 0}: expert groups are packed onto nodes by greedy balanced packing, each
 * node replicates its hottest experts one replica at a time (highest load per replica first), and
 * the node's physical experts are packed onto its ranks by the same greedy. Otherwise the same runs
 * with one group and one node. Like the original, it may put two replicas of one expert on the same
 * rank.
 */
public final class DeepSeekPolicy implements PlacementPolicy {

  /** DeepSeek's layout with equal shares on the share grid (as moeflux would serve it). */
  @Override
  public PlacementPlan plan(PlacementProblem problem) {
    int[][] phy2log = new int[problem.layers()][];
    for (int l = 0; l < problem.layers(); l++) {
      phy2log[l] = BalancedPolicy.deepSeek(problem, problem.layerLoad(l));
    }
    return PlacementPlan.of(problem, phy2log);
  }

  /**
   * DeepSeek's own figure for {@code plan} on {@code problem}: balancedness per layer with every
   * replica taking exactly {@code load / logcnt}, off the share grid.
   */
  public static double[] exactBalancedness(PlacementProblem problem, PlacementPlan plan) {
    double[] result = new double[problem.layers()];
    for (int l = 0; l < result.length; l++) {
      result[l] =
          Balancedness.exactEqualShares(
              problem.layerLoad(l), plan.phy2log()[l], plan.logcnt()[l], problem.ranks());
    }
    return result;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DeepSeekPolicy;
  }

  @Override
  public int hashCode() {
    return DeepSeekPolicy.class.hashCode();
  }

  @Override
  public String toString() {
    return "DeepSeekPolicy";
  }

  /**
   * Greedy balanced packing of {@code weights} into {@code packs} packs of equal item count:
   * heaviest first, each into the lightest pack that still has room. Returns {pack, rank in pack}
   * per item.
   */
  static int[][] balancedPacking(double[] weights, int packs) {
    int n = weights.length;
    int perPack = n / packs;
    int[] pack = new int[n];
    int[] rankInPack = new int[n];
    if (perPack == 1) {
      for (int i = 0; i < n; i++) {
        pack[i] = i;
      }
      return new int[][] {pack, rankInPack};
    }
    double[] packWeight = new double[packs];
    int[] packItems = new int[packs];
    for (int item : descending(weights)) {
      int best = -1;
      for (int p = 0; p < packs; p++) {
        if (packItems[p] < perPack && (best < 0 || packWeight[p] < packWeight[best])) {
          best = p;
        }
      }
      pack[item] = best;
      rankInPack[item] = packItems[best];
      packWeight[best] += weights[item];
      packItems[best]++;
    }
    return new int[][] {pack, rankInPack};
  }

  static Integer[] descending(double[] weights) {
    Integer[] order = new Integer[weights.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -weights[i]));
    return order;
  }

  /** Adds replicas one at a time to the expert with the highest load per replica. */
  static int[] replicate(double[] weights, int physical, int[] count) {
    int logical = weights.length;
    int[] phy2log = new int[physical];
    Arrays.fill(count, 1);
    for (int i = 0; i < logical; i++) {
      phy2log[i] = i;
    }
    for (int i = logical; i < physical; i++) {
      int best = 0;
      for (int e = 1; e < logical; e++) {
        if (weights[e] / count[e] > weights[best] / count[best]) {
          best = e;
        }
      }
      phy2log[i] = best;
      count[best]++;
    }
    return phy2log;
  }

  static int[] layer(double[] load, int replicas, int groups, int nodes, int ranks) {
    int experts = load.length;
    int groupSize = experts / groups;
    int groupsPerNode = groups / nodes;
    int slotsPerRank = replicas / ranks;
    double[] groupLoad = new double[groups];
    for (int e = 0; e < experts; e++) {
      groupLoad[e / groupSize] += load[e];
    }
    int[][] groupPacking = balancedPacking(groupLoad, nodes);
    // log2mlog: logical expert -> "middle" index, node-major
    int[] log2mlog = new int[experts];
    int[] mlog2log = new int[experts];
    for (int e = 0; e < experts; e++) {
      int g = e / groupSize;
      int m = (groupPacking[0][g] * groupsPerNode + groupPacking[1][g]) * groupSize + e % groupSize;
      log2mlog[e] = m;
      mlog2log[m] = e;
    }
    int expertsPerNode = experts / nodes;
    int slotsPerNode = replicas / nodes;
    int ranksPerNode = ranks / nodes;
    int[] phy2log = new int[replicas];
    for (int node = 0; node < nodes; node++) {
      double[] nodeLoad = new double[expertsPerNode];
      for (int i = 0; i < expertsPerNode; i++) {
        nodeLoad[i] = load[mlog2log[node * expertsPerNode + i]];
      }
      int[] count = new int[expertsPerNode];
      int[] phy2mlog = replicate(nodeLoad, slotsPerNode, count);
      double[] replicaLoad = new double[slotsPerNode];
      for (int p = 0; p < slotsPerNode; p++) {
        replicaLoad[p] = nodeLoad[phy2mlog[p]] / count[phy2mlog[p]];
      }
      int[][] packing = balancedPacking(replicaLoad, ranksPerNode);
      for (int p = 0; p < slotsPerNode; p++) {
        int slot = node * slotsPerNode + packing[0][p] * slotsPerRank + packing[1][p];
        phy2log[slot] = mlog2log[node * expertsPerNode + phy2mlog[p]];
      }
    }
    return phy2log;
  }
}
