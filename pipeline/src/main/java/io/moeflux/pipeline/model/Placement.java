package io.moeflux.pipeline.model;

import java.util.Arrays;
import java.util.Objects;

/**
 * Where each layer's logical experts live, in vLLM's vocabulary: {@code phy2log[layer][slot]} is
 * the logical expert in physical slot {@code slot}; {@code logcnt[layer][e]} is how many replicas
 * expert e has; {@code log2phy[layer][e]} lists their slots in ascending order. Slots are split
 * evenly over ranks: rank r holds slots {@code [r * slotsPerRank, (r + 1) * slotsPerRank)}.
 *
 * <p>Immutable: accessors that return arrays return copies. {@link #version()} tells placements
 * apart as the balancer replaces them.
 */
public final class Placement {
  private final int layers;
  private final int experts;
  private final int slots;
  private final int ranks;
  private final long version;
  private final int[][] phy2log;
  private final int[][] logcnt;

  /** log2phy[layer][e] has exactly logcnt[layer][e] slots, ascending; no -1 padding. */
  private final int[][][] log2phy;

  private Placement(int[][] phy2log, int experts, int ranks, long version) {
    this.layers = phy2log.length;
    this.experts = experts;
    this.slots = phy2log[0].length;
    this.ranks = ranks;
    this.version = version;
    this.phy2log = phy2log;
    this.logcnt = new int[layers][experts];
    this.log2phy = new int[layers][experts][];
    for (int l = 0; l < layers; l++) {
      for (int s = 0; s < slots; s++) {
        logcnt[l][phy2log[l][s]]++;
      }
      int[] filled = new int[experts];
      for (int e = 0; e < experts; e++) {
        log2phy[l][e] = new int[logcnt[l][e]];
      }
      for (int s = 0; s < slots; s++) {
        int e = phy2log[l][s];
        log2phy[l][e][filled[e]++] = s;
      }
    }
  }

  /**
   * The start placement for any number of experts on any number of ranks: {@code experts +
   * redundantSlots} slots, rounded up to a whole number per rank. Rank r holds the run of {@code
   * slotsPerRank} experts that starts at {@code floor(r × E / R)}, wrapping past the last expert,
   * so every expert has a slot and a rank holds no expert twice; the runs of neighbouring ranks
   * overlap in the replicas. When {@code E % R == 0}, rank r holds its own {@code E/R} experts
   * first, then replicas of those of the next ranks (with 0 redundant slots this is {@link
   * #identity}). For example 8 experts on 3 ranks get 9 slots: {@code [0 1 2] [2 3 4] [5 6 7]}.
   * Version 0.
   *
   * @throws IllegalArgumentException when a rank would need more slots than there are experts
   */
  public static Placement withRedundancy(int layers, int experts, int ranks, int redundantSlots) {
    if (ranks < 1 || experts < 1) {
      throw new IllegalArgumentException(
          experts + " experts cannot be placed on " + ranks + " ranks");
    }
    if (redundantSlots < 0) {
      throw new IllegalArgumentException("redundant slots must be >= 0, got " + redundantSlots);
    }
    int slotsPerRank = Math.toIntExact(((long) experts + redundantSlots + ranks - 1) / ranks);
    if (slotsPerRank > experts) {
      throw new IllegalArgumentException(
          experts
              + " experts and "
              + redundantSlots
              + " redundant slots need "
              + slotsPerRank
              + " slots per rank on "
              + ranks
              + " ranks, more than the "
              + experts
              + " experts a rank can hold without holding one twice");
    }
    int[][] map = new int[layers][ranks * slotsPerRank];
    for (int[] layer : map) {
      for (int r = 0; r < ranks; r++) {
        int first = (int) ((long) r * experts / ranks);
        for (int i = 0; i < slotsPerRank; i++) {
          layer[r * slotsPerRank + i] = (first + i) % experts;
        }
      }
    }
    return of(map, experts, ranks, 0);
  }

  /** Slot i holds expert i on every layer; needs {@code experts % ranks == 0}. Version 0. */
  public static Placement identity(int layers, int experts, int ranks) {
    if (layers < 1) {
      throw new IllegalArgumentException("layers must be >= 1, got " + layers);
    }
    if (experts < 1) {
      throw new IllegalArgumentException("experts must be >= 1, got " + experts);
    }
    int[][] map = new int[layers][experts];
    for (int[] layer : map) {
      for (int e = 0; e < experts; e++) {
        layer[e] = e;
      }
    }
    return of(map, experts, ranks, 0L);
  }

  /**
   * A placement from its physical-to-logical map, which is copied.
   *
   * @param phy2log {@code phy2log[layer][slot]} = logical expert in that slot; every layer has the
   *     same number of slots, a multiple of {@code ranks}, and holds every expert {@code 0 ..
   *     experts-1} at least once
   * @param version {@code >= 0}, distinguishes successive placements
   */
  public static Placement of(int[][] phy2log, int experts, int ranks, long version) {
    Objects.requireNonNull(phy2log, "phy2log");
    if (experts < 1) {
      throw new IllegalArgumentException("experts must be >= 1, got " + experts);
    }
    if (ranks < 1) {
      throw new IllegalArgumentException("ranks must be >= 1, got " + ranks);
    }
    if (version < 0) {
      throw new IllegalArgumentException("version must be >= 0, got " + version);
    }
    if (phy2log.length == 0) {
      throw new IllegalArgumentException("phy2log has no layers");
    }
    int[][] copy = new int[phy2log.length][];
    for (int l = 0; l < phy2log.length; l++) {
      if (phy2log[l] == null) {
        throw new NullPointerException("phy2log[" + l + "]");
      }
      copy[l] = phy2log[l].clone();
    }
    int slots = copy[0].length;
    if (slots == 0 || slots % ranks != 0) {
      throw new IllegalArgumentException(
          "slots per layer (" + slots + ") must be a positive multiple of ranks (" + ranks + ")");
    }
    for (int l = 0; l < copy.length; l++) {
      int[] row = copy[l];
      if (row.length != slots) {
        throw new IllegalArgumentException(
            "layer " + l + " has " + row.length + " slots, layer 0 has " + slots);
      }
      boolean[] present = new boolean[experts];
      for (int s = 0; s < slots; s++) {
        if (row[s] < 0 || row[s] >= experts) {
          throw new IllegalArgumentException(
              "layer "
                  + l
                  + " slot "
                  + s
                  + " holds expert "
                  + row[s]
                  + ", outside 0.."
                  + (experts - 1));
        }
        present[row[s]] = true;
      }
      for (int e = 0; e < experts; e++) {
        if (!present[e]) {
          throw new IllegalArgumentException("layer " + l + " has no slot for logical expert " + e);
        }
      }
    }
    return new Placement(copy, experts, ranks, version);
  }

  public int layers() {
    return layers;
  }

  public int experts() {
    return experts;
  }

  /** Physical slots per layer, over all ranks. */
  public int slots() {
    return slots;
  }

  public int ranks() {
    return ranks;
  }

  public int slotsPerRank() {
    return slots / ranks;
  }

  public long version() {
    return version;
  }

  /** The rank that holds physical {@code slot}. */
  public int rankOfSlot(int slot) {
    return Objects.checkIndex(slot, slots) / slotsPerRank();
  }

  /** The logical expert in physical {@code slot} of {@code layer}. */
  public int logicalOf(int layer, int slot) {
    return phy2log[Objects.checkIndex(layer, layers)][Objects.checkIndex(slot, slots)];
  }

  /** How many physical slots hold {@code logical} in {@code layer} (vLLM logcnt). */
  public int replicas(int layer, int logical) {
    return logcnt[Objects.checkIndex(layer, layers)][Objects.checkIndex(logical, experts)];
  }

  /** The {@code i}-th slot, ascending, that holds {@code logical} in {@code layer} (log2phy). */
  public int replica(int layer, int logical, int i) {
    int[] replicas =
        log2phy[Objects.checkIndex(layer, layers)][Objects.checkIndex(logical, experts)];
    return replicas[Objects.checkIndex(i, replicas.length)];
  }

  /**
   * The slot that serves {@code logical} for a token at {@code position}: replica {@code position
   * mod replicas}, as vLLM spreads tokens over redundant experts.
   */
  public int physical(int layer, int logical, int position) {
    int[] replicas =
        log2phy[Objects.checkIndex(layer, layers)][Objects.checkIndex(logical, experts)];
    return replicas[Math.floorMod(position, replicas.length)];
  }

  /** {@code [layer][slot]} = logical expert; a copy. */
  public int[][] phy2log() {
    int[][] copy = new int[layers][];
    for (int l = 0; l < layers; l++) {
      copy[l] = phy2log[l].clone();
    }
    return copy;
  }

  /** {@code [layer][logical]} = replica count; a copy. */
  public int[][] logcnt() {
    int[][] copy = new int[layers][];
    for (int l = 0; l < layers; l++) {
      copy[l] = logcnt[l].clone();
    }
    return copy;
  }

  /**
   * {@code [layer][logical]} = the slots holding that expert, ascending; a copy. Rows are exactly
   * {@code logcnt} long (no -1 padding as in vLLM's tensor).
   */
  public int[][][] log2phy() {
    int[][][] copy = new int[layers][experts][];
    for (int l = 0; l < layers; l++) {
      for (int e = 0; e < experts; e++) {
        copy[l][e] = log2phy[l][e].clone();
      }
    }
    return copy;
  }

  /** Same ranks and the same map on every layer; the version is not compared. */
  public boolean samePlacementAs(Placement o) {
    Objects.requireNonNull(o, "o");
    return ranks == o.ranks && experts == o.experts && Arrays.deepEquals(phy2log, o.phy2log);
  }

  @Override
  public String toString() {
    StringBuilder text =
        new StringBuilder("Placement{version=")
            .append(version)
            .append(", layers=")
            .append(layers)
            .append(", experts=")
            .append(experts)
            .append(", ranks=")
            .append(ranks)
            .append(", slotsPerRank=")
            .append(slotsPerRank());
    // Full maps only while they stay readable in a log line.
    if ((long) layers * slots <= 256) {
      text.append(", phy2log=").append(Arrays.deepToString(phy2log));
    }
    return text.append('}').toString();
  }
}
