package io.moeflux.eplb.policy;

import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The default policy: DeepSeek's structure, then local search, and never worse than DeepSeek.
 *
 * <p>Per layer: expert groups go to nodes by balanced packing, refined by swapping groups between
 * the most loaded node and the others; within each node, replicas go to the experts with the
 * highest load per replica (at most one per rank of the node), are packed largest first onto the
 * least loaded rank that does not hold that expert yet, and then swapped out of the most loaded
 * rank while that lowers the peak. DeepSeek's own placement, improved by the same swaps (and freed
 * of any rank holding two replicas of one expert), competes with it; the better one is kept.
 */
public final class BalancedPolicy implements PlacementPolicy {
  private static final int MAX_SWAPS = 20_000;

  @Override
  public PlacementPlan plan(PlacementProblem problem) {
    int[][] phy2log = new int[problem.layers()][];
    for (int l = 0; l < problem.layers(); l++) {
      double[] load = problem.layerLoad(l);
      int[] ours = layer(problem, load);
      int[] theirs = improve(problem, load, deepSeek(problem, load));
      phy2log[l] =
          theirs != null && score(problem, load, theirs) > score(problem, load, ours)
              ? theirs
              : ours;
    }
    return PlacementPlan.of(problem, phy2log);
  }

  static int[] deepSeek(PlacementProblem problem, double[] load) {
    boolean hierarchical = problem.hierarchical();
    return DeepSeekPolicy.layer(
        load,
        problem.replicas(),
        hierarchical ? problem.groups() : 1,
        hierarchical ? problem.nodes() : 1,
        problem.ranks());
  }

  static double score(PlacementProblem problem, double[] load, int[] phy2log) {
    int[] count = new int[load.length];
    for (int e : phy2log) {
      count[e]++;
    }
    return Balancedness.of(load, phy2log, count, problem.ranks());
  }

  static int nodes(PlacementProblem problem) {
    return problem.hierarchical() ? problem.nodes() : 1;
  }

  private static int[] layer(PlacementProblem problem, double[] load) {
    int nodes = nodes(problem);
    int groups = problem.hierarchical() ? problem.groups() : 1;
    int[] nodeOf = nodesOfGroups(problem, load, nodes);
    // groups may sit better on other nodes than node totals suggest: try swapping pairs of
    // groups between nodes while the packed peak drops
    double peak = layout(problem, load, nodeOf, false, null);
    for (int round = 0; round < 16 && nodes > 1; round++) {
      int bestA = -1;
      int bestB = -1;
      double bestPeak = peak * (1 - 1e-12);
      for (int a = 0; a < groups; a++) {
        for (int b = a + 1; b < groups; b++) {
          if (nodeOf[a] == nodeOf[b]) {
            continue;
          }
          swapNodes(nodeOf, a, b);
          double trial = layout(problem, load, nodeOf, false, null);
          swapNodes(nodeOf, a, b);
          if (trial < bestPeak) {
            bestPeak = trial;
            bestA = a;
            bestB = b;
          }
        }
      }
      if (bestA < 0) {
        break;
      }
      swapNodes(nodeOf, bestA, bestB);
      peak = bestPeak;
    }
    int[] phy2log = new int[problem.replicas()];
    layout(problem, load, nodeOf, true, phy2log);
    return phy2log;
  }

  private static void swapNodes(int[] nodeOf, int a, int b) {
    int t = nodeOf[a];
    nodeOf[a] = nodeOf[b];
    nodeOf[b] = t;
  }

  /**
   * Packs every node's experts (groups placed by {@code nodeOf}) onto its ranks and returns the
   * peak rank load; with {@code searchCounts}, also tries other replica counts; writes the slots
   * into {@code phy2log} when given.
   */
  private static double layout(
      PlacementProblem problem,
      double[] load,
      int[] nodeOf,
      boolean searchCounts,
      int @Nullable [] phy2log) {
    int nodes = nodes(problem);
    int groupSize = load.length / nodeOf.length;
    int slotsPerNode = problem.replicas() / nodes;
    int ranksPerNode = problem.ranks() / nodes;
    int slotsPerRank = problem.slotsPerRank();
    double peak = 0;
    for (int node = 0; node < nodes; node++) {
      List<Integer> experts = new ArrayList<>();
      for (int e = 0; e < load.length; e++) {
        if (nodeOf[e / groupSize] == node) {
          experts.add(e);
        }
      }
      int n = experts.size();
      double[] nodeLoad = new double[n];
      for (int i = 0; i < n; i++) {
        nodeLoad[i] = load[experts.get(i)];
      }
      int[] count = replicaCounts(nodeLoad, slotsPerNode, ranksPerNode);
      Packed packed = pack(nodeLoad, count, ranksPerNode, slotsPerRank);
      // replica counts that minimise the largest replica need not pack best: try moving a
      // replica from a cool expert to a hot one while that lowers the peak
      for (int round = 0; searchCounts && round < 32; round++) {
        Packed better = null;
        for (int to : ranked(nodeLoad, count, true)) {
          for (int from : ranked(nodeLoad, count, false)) {
            if (from == to || count[from] < 2 || count[to] >= ranksPerNode) {
              continue;
            }
            count[from]--;
            count[to]++;
            Packed trial = pack(nodeLoad, count, ranksPerNode, slotsPerRank);
            count[from]++;
            count[to]--;
            if (trial.peak() < packed.peak() * (1 - 1e-12)
                && (better == null || trial.peak() < better.peak())) {
              better = trial;
            }
          }
        }
        if (better == null) {
          break;
        }
        packed = better;
        count = better.count().clone();
      }
      peak = Math.max(peak, packed.peak());
      if (phy2log != null) {
        for (int r = 0; r < ranksPerNode; r++) {
          for (int s = 0; s < slotsPerRank; s++) {
            phy2log[node * slotsPerNode + r * slotsPerRank + s] =
                experts.get(packed.expert()[packed.packing().item(r, s)]);
          }
        }
      }
    }
    return peak;
  }

  private record Packed(int[] count, int[] expert, SlotPacking packing) {
    double peak() {
      return packing.peak();
    }
  }

  private static Packed pack(double[] load, int[] count, int ranks, int slotsPerRank) {
    int slots = ranks * slotsPerRank;
    int[] expert = new int[slots];
    double[] weight = new double[slots];
    int item = 0;
    for (int i = 0; i < load.length; i++) {
      for (int c = 0; c < count[i]; c++) {
        expert[item] = i;
        weight[item] = load[i] / count[i];
        item++;
      }
    }
    SlotPacking packing = SlotPacking.greedy(ranks, slotsPerRank, load.length, expert, weight);
    packing.improve(0, MAX_SWAPS);
    return new Packed(count.clone(), expert, packing);
  }

  /** The 3 experts with the largest (hot) or smallest (cool) load per replica. */
  private static int[] ranked(double[] load, int[] count, boolean hot) {
    Integer[] order = new Integer[load.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    java.util.Arrays.sort(
        order,
        java.util.Comparator.comparingDouble((Integer e) -> (hot ? -1 : 1) * load[e] / count[e]));
    int n = Math.min(3, order.length);
    int[] top = new int[n];
    for (int i = 0; i < n; i++) {
      top[i] = order[i];
    }
    return top;
  }

  /** Replicas one at a time to the highest load per replica, at most {@code cap} per expert. */
  static int[] replicaCounts(double[] load, int slots, int cap) {
    int[] count = new int[load.length];
    java.util.Arrays.fill(count, 1);
    for (int extra = load.length; extra < slots; extra++) {
      int best = -1;
      for (int e = 0; e < load.length; e++) {
        if (count[e] < cap && (best < 0 || load[e] / count[e] > load[best] / count[best])) {
          best = e;
        }
      }
      count[best]++;
    }
    return count;
  }

  /** The node of each group: balanced packing of group loads, refined by swaps. */
  private static int[] nodesOfGroups(PlacementProblem problem, double[] load, int nodes) {
    int groups = problem.hierarchical() ? problem.groups() : 1;
    int groupSize = load.length / groups;
    double[] groupLoad = new double[groups];
    for (int e = 0; e < load.length; e++) {
      groupLoad[e / groupSize] += load[e];
    }
    int[] nodeOf = DeepSeekPolicy.balancedPacking(groupLoad, nodes)[0];
    double[] nodeLoad = new double[nodes];
    for (int g = 0; g < groups; g++) {
      nodeLoad[nodeOf[g]] += groupLoad[g];
    }
    for (int swaps = 0; swaps < MAX_SWAPS; swaps++) {
      int top = 0;
      for (int n = 1; n < nodes; n++) {
        if (nodeLoad[n] > nodeLoad[top]) {
          top = n;
        }
      }
      double best = nodeLoad[top] * (1 - 1e-12);
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
          double peak =
              Math.max(
                  nodeLoad[top] - groupLoad[a] + groupLoad[b],
                  nodeLoad[nodeOf[b]] - groupLoad[b] + groupLoad[a]);
          if (peak < best) {
            best = peak;
            ga = a;
            gb = b;
          }
        }
      }
      if (ga < 0) {
        break;
      }
      int other = nodeOf[gb];
      nodeLoad[top] += groupLoad[gb] - groupLoad[ga];
      nodeLoad[other] += groupLoad[ga] - groupLoad[gb];
      nodeOf[ga] = other;
      nodeOf[gb] = top;
    }
    return nodeOf;
  }

  /**
   * Improves a given placement by swaps within each node (its replica counts unchanged); null when
   * a rank would still hold two replicas of one expert.
   */
  static int @Nullable [] improve(PlacementProblem problem, double[] load, int[] given) {
    return improve(problem, load, given, 0);
  }

  /** As {@link #improve(PlacementProblem, double[], int[])}, stopping once the peak is reached. */
  static int @Nullable [] improve(
      PlacementProblem problem, double[] load, int[] given, double peakGoal) {
    int nodes = nodes(problem);
    int slotsPerNode = problem.replicas() / nodes;
    int ranksPerNode = problem.ranks() / nodes;
    int slotsPerRank = problem.slotsPerRank();
    int[] count = new int[load.length];
    for (int e : given) {
      count[e]++;
    }
    int[] result = new int[given.length];
    for (int node = 0; node < nodes; node++) {
      int[] expert = new int[slotsPerNode];
      double[] weight = new double[slotsPerNode];
      int[][] slots = new int[ranksPerNode][slotsPerRank];
      for (int p = 0; p < slotsPerNode; p++) {
        int e = given[node * slotsPerNode + p];
        expert[p] = e;
        weight[p] = load[e] / count[e];
        slots[p / slotsPerRank][p % slotsPerRank] = p;
      }
      SlotPacking packing =
          SlotPacking.of(ranksPerNode, slotsPerRank, load.length, expert, weight, slots);
      packing.improve(peakGoal, MAX_SWAPS);
      if (packing.hasConflicts()) {
        return null;
      }
      for (int r = 0; r < ranksPerNode; r++) {
        for (int s = 0; s < slotsPerRank; s++) {
          result[node * slotsPerNode + r * slotsPerRank + s] = expert[packing.item(r, s)];
        }
      }
    }
    return result;
  }
}
