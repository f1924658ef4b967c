package io.moeflux.eplb.policy;

import java.util.Objects;

/**
 * What a placement policy solves: per layer, the load of every logical expert, to be spread over
 * {@code replicas} physical slots on {@code ranks} ranks.
 *
 * @param load {@code [layers × logical experts]}, non-negative
 * @param replicas physical slots per layer, at least one per expert, a multiple of {@code ranks}
 * @param ranks ranks (GPUs, NPUs) the slots are split over, {@code replicas / ranks} each
 * @param groups expert groups (0: not given); with {@code nodes}, a group's replicas stay on one
 *     node when {@code groups % nodes == 0}
 * @param nodes nodes the ranks are split over (0: not given)
 */
public record PlacementProblem(double[][] load, int replicas, int ranks, int groups, int nodes) {

  public PlacementProblem {
    Objects.requireNonNull(load, "load");
    if (load.length == 0) {
      throw new IllegalArgumentException("load is empty: need at least one layer");
    }
    int experts = -1;
    for (int l = 0; l < load.length; l++) {
      if (load[l] == null || load[l].length == 0) {
        throw new IllegalArgumentException("load layer " + l + " is empty");
      }
      if (experts >= 0 && load[l].length != experts) {
        throw new IllegalArgumentException(
            "load is ragged: layer 0 has "
                + experts
                + " experts, layer "
                + l
                + " has "
                + load[l].length);
      }
      experts = load[l].length;
      for (int e = 0; e < experts; e++) {
        double v = load[l][e];
        if (!(v >= 0) || Double.isInfinite(v)) {
          throw new IllegalArgumentException(
              "load[" + l + "][" + e + "] = " + v + ": loads must be finite and non-negative");
        }
      }
    }
    if (ranks < 1) {
      throw new IllegalArgumentException("ranks must be >= 1, got " + ranks);
    }
    if (replicas < experts) {
      throw new IllegalArgumentException(
          "replicas (" + replicas + ") must be at least the number of experts (" + experts + ")");
    }
    if (replicas % ranks != 0) {
      throw new IllegalArgumentException(
          "replicas (" + replicas + ") must be a multiple of ranks (" + ranks + ")");
    }
    if (groups < 0 || nodes < 0) {
      throw new IllegalArgumentException("groups and nodes must be >= 0");
    }
    if (groups > 0 && experts % groups != 0) {
      throw new IllegalArgumentException(
          "groups (" + groups + ") must divide the number of experts (" + experts + ")");
    }
    if (nodes > 0 && ranks % nodes != 0) {
      throw new IllegalArgumentException("nodes (" + nodes + ") must divide ranks (" + ranks + ")");
    }
    if (hierarchical(groups, nodes)) {
      int slotsPerNode = replicas / nodes;
      int expertsPerNode = experts / nodes;
      if (slotsPerNode > expertsPerNode * (ranks / nodes)) {
        throw new IllegalArgumentException(
            slotsPerNode
                + " slots per node cannot hold "
                + expertsPerNode
                + " experts without two replicas of one expert on a rank");
      }
    } else if (replicas > (long) experts * ranks) {
      throw new IllegalArgumentException(
          replicas
              + " replicas of "
              + experts
              + " experts cannot sit on "
              + ranks
              + " ranks without two replicas of one expert on a rank");
    }
    load = deepCopy(load);
  }

  private static boolean hierarchical(int groups, int nodes) {
    return groups > 0 && nodes > 0 && groups % nodes == 0;
  }

  /** Whether groups are packed onto nodes first (DeepSeek's hierarchical mode). */
  public boolean hierarchical() {
    return hierarchical(groups, nodes);
  }

  public int layers() {
    return load.length;
  }

  public int experts() {
    return load[0].length;
  }

  public int slotsPerRank() {
    return replicas / ranks;
  }

  /** The load of one layer (a copy). */
  public double[] layerLoad(int layer) {
    return load[layer].clone();
  }

  private static double[][] deepCopy(double[][] load) {
    double[][] copy = new double[load.length][];
    for (int l = 0; l < load.length; l++) {
      copy[l] = load[l].clone();
    }
    return copy;
  }
}
