package io.moeflux.eplb.policy;

import io.moeflux.pipeline.model.Placement;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What a placement policy solves: per layer, the load of every logical expert, to be spread over
 * {@link #replicas()} physical slots on {@link #ranks()} ranks.
 *
 * <p>Optionally, the placement in force: plans are then scored against it (gain) and, among equally
 * balanced plans, the one that moves the fewest experts from it is chosen.
 *
 * <p>Immutable (it holds its own copy of the load); made by {@link #builder(double[][])}, where the
 * replicas and the ranks must be set and groups and nodes default to 0 (not given).
 */
public final class PlacementProblem {
  private final double[][] load;
  private final int replicas;
  private final int ranks;
  private final int groups;
  private final int nodes;
  private final @Nullable Placement current;
  private final long seed;

  private PlacementProblem(
      double[][] load,
      int replicas,
      int ranks,
      int groups,
      int nodes,
      @Nullable Placement current) {
    this.load = load;
    this.replicas = replicas;
    this.ranks = ranks;
    this.groups = groups;
    this.nodes = nodes;
    this.current = current;
    this.seed = seedOf(load, replicas, ranks, groups, nodes);
  }

  /**
   * The seed of every random choice a policy makes on this problem: a hash of the load and the
   * shape, so every rank that plans from the same snapshot makes the same choices.
   */
  public long seed() {
    return seed;
  }

  private static long seedOf(double[][] load, int replicas, int ranks, int groups, int nodes) {
    long h = SplitMix.mix(replicas * 31L + ranks);
    h = SplitMix.mix(h ^ (groups * 1_000_003L + nodes));
    for (double[] layer : load) {
      for (double v : layer) {
        h = SplitMix.mix(h ^ Double.doubleToLongBits(v));
      }
    }
    return h;
  }

  /** The placement in force, or null when not given. */
  public @Nullable Placement current() {
    return current;
  }

  /**
   * A builder for the load {@code [layers × logical experts]} (non-negative, copied at {@link
   * Builder#build()}).
   */
  public static Builder builder(double[][] load) {
    return new Builder(load);
  }

  /** The load {@code [layers × logical experts]} (a copy). */
  public double[][] load() {
    return deepCopy(load);
  }

  /** Physical slots per layer, at least one per expert, a multiple of {@link #ranks()}. */
  public int replicas() {
    return replicas;
  }

  /** Ranks (GPUs, NPUs) the slots are split over, {@code replicas / ranks} each. */
  public int ranks() {
    return ranks;
  }

  /**
   * Expert groups (0: not given); with {@link #nodes()}, a group's replicas stay on one node when
   * {@code groups % nodes == 0}.
   */
  public int groups() {
    return groups;
  }

  /** Nodes the ranks are split over (0: not given). */
  public int nodes() {
    return nodes;
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

  @Override
  public String toString() {
    return "PlacementProblem[layers="
        + layers()
        + ", experts="
        + experts()
        + ", replicas="
        + replicas
        + ", ranks="
        + ranks
        + ", groups="
        + groups
        + ", nodes="
        + nodes
        + (current == null ? "" : ", current v" + current.version())
        + "]";
  }

  private static double[][] deepCopy(double[][] load) {
    double[][] copy = new double[load.length][];
    for (int l = 0; l < load.length; l++) {
      copy[l] = load[l].clone();
    }
    return copy;
  }

  /** Collects a {@link PlacementProblem}; {@link #build()} checks it and names what is wrong. */
  public static final class Builder {
    private final double[][] load;
    private int replicas;
    private int ranks;
    private int groups;
    private int nodes;
    private @Nullable Placement current;

    private Builder(double[][] load) {
      this.load = Objects.requireNonNull(load, "load");
    }

    /** Physical slots per layer: at least one per expert, a multiple of the ranks; required. */
    public Builder replicas(int replicas) {
      this.replicas = replicas;
      return this;
    }

    /** Ranks the slots are split over, {@code >= 1}; required. */
    public Builder ranks(int ranks) {
      this.ranks = ranks;
      return this;
    }

    /** Expert groups, dividing the experts; default 0 (not given). */
    public Builder groups(int groups) {
      this.groups = groups;
      return this;
    }

    /** Nodes the ranks are split over, dividing the ranks; default 0 (not given). */
    public Builder nodes(int nodes) {
      this.nodes = nodes;
      return this;
    }

    /**
     * The placement in force (default: not given): same layers, experts, slots and ranks as the
     * problem, no rank holding two replicas of one expert. It need not keep groups on one node.
     */
    public Builder current(@Nullable Placement current) {
      this.current = current;
      return this;
    }

    /**
     * @throws IllegalArgumentException saying which field or load entry is wrong
     */
    public PlacementProblem build() {
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
      if (groups < 0) {
        throw new IllegalArgumentException("groups must be >= 0, got " + groups);
      }
      if (nodes < 0) {
        throw new IllegalArgumentException("nodes must be >= 0, got " + nodes);
      }
      if (groups > 0 && experts % groups != 0) {
        throw new IllegalArgumentException(
            "groups (" + groups + ") must divide the number of experts (" + experts + ")");
      }
      if (nodes > 0 && ranks % nodes != 0) {
        throw new IllegalArgumentException(
            "nodes (" + nodes + ") must divide ranks (" + ranks + ")");
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
      if (current != null) {
        checkCurrent(current, load.length, experts);
      }
      return new PlacementProblem(deepCopy(load), replicas, ranks, groups, nodes, current);
    }

    private void checkCurrent(Placement p, int layers, int experts) {
      if (p.layers() != layers
          || p.experts() != experts
          || p.slots() != replicas
          || p.ranks() != ranks) {
        throw new IllegalArgumentException(
            "the current placement has "
                + p.layers()
                + " layers of "
                + p.experts()
                + " experts in "
                + p.slots()
                + " slots on "
                + p.ranks()
                + " ranks; the problem "
                + layers
                + " of "
                + experts
                + " in "
                + replicas
                + " on "
                + ranks);
      }
      int perRank = p.slotsPerRank();
      for (int l = 0; l < layers; l++) {
        for (int r = 0; r < ranks; r++) {
          boolean[] seen = new boolean[experts];
          for (int i = 0; i < perRank; i++) {
            int e = p.logicalOf(l, r * perRank + i);
            if (seen[e]) {
              throw new IllegalArgumentException(
                  "the current placement's layer "
                      + l
                      + ": rank "
                      + r
                      + " holds two replicas of expert "
                      + e);
            }
            seen[e] = true;
          }
        }
      }
    }
  }
}
