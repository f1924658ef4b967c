package io.moeflux.pipeline.model;

import java.util.Arrays;
import java.util.Objects;

/**
 * Where each layer's logical experts live, in vLLM's vocabulary: {@code phy2log[layer][slot]} is
 * the logical expert in physical slot {@code slot}; {@code logcnt[layer][e]} is how many replicas
 * expert e has; {@code log2phy[layer][e]} lists their slots in ascending order. Slots are split
 * evenly over ranks: rank r holds slots {@code [r * slotsPerRank, (r + 1) * slotsPerRank)}.
 *
 * <p>Each slot also has a share of its expert's tokens, in units of {@code 1/}{@link #SHARE_UNITS}:
 * the shares of an expert's replicas sum to {@link #SHARE_UNITS}. A pick of expert e by token t of
 * rank s at step n goes to the replica whose cumulative share first exceeds {@link
 * ReplicaDraw#of(long, int, int, int, int) ReplicaDraw.of(n, layer, s, t, e)} ({@link #slotFor}).
 * Without given shares, replicas share equally: {@code SHARE_UNITS / count} each, the first {@code
 * SHARE_UNITS mod count} replicas one unit more.
 *
 * <p>Immutable: accessors that return arrays return copies. {@link #version()} tells placements
 * apart as the balancer replaces them; {@link #digest()} tells their maps and shares apart.
 */
public final class Placement {
  /** log2 of {@link #SHARE_UNITS}. */
  public static final int SHARE_BITS = 8;

  /** The grid of replica shares: a share is a whole number of {@code 1/SHARE_UNITS}. */
  public static final int SHARE_UNITS = 1 << SHARE_BITS;

  /**
   * Names the rule {@link #slotFor} follows (the draw and the share grid), for the handshake: ranks
   * that would pick replicas differently refuse each other.
   */
  public static final String REPLICA_RULE = "share-draw-v1/" + SHARE_UNITS;

  private final int layers;
  private final int experts;
  private final int slots;
  private final int ranks;
  private final long version;
  private final int[][] phy2log;
  private final int[][] logcnt;
  private final int[][] shares;

  /** log2phy[layer][e] has exactly logcnt[layer][e] slots, ascending; no -1 padding. */
  private final int[][][] log2phy;

  /** {@code cumulative[layer][e][i]}: shares of replicas 0..i of e, summed; the last is 256. */
  private final int[][][] cumulative;

  private final long digest;

  private Placement(int[][] phy2log, int[][] shares, int experts, int ranks, long version) {
    this.layers = phy2log.length;
    this.experts = experts;
    this.slots = phy2log[0].length;
    this.ranks = ranks;
    this.version = version;
    this.phy2log = phy2log;
    this.shares = shares;
    this.logcnt = new int[layers][experts];
    this.log2phy = new int[layers][experts][];
    this.cumulative = new int[layers][experts][];
    for (int l = 0; l < layers; l++) {
      for (int s = 0; s < slots; s++) {
        logcnt[l][phy2log[l][s]]++;
      }
      int[] filled = new int[experts];
      for (int e = 0; e < experts; e++) {
        log2phy[l][e] = new int[logcnt[l][e]];
        cumulative[l][e] = new int[logcnt[l][e]];
      }
      int[] sum = new int[experts];
      for (int s = 0; s < slots; s++) {
        int e = phy2log[l][s];
        sum[e] += shares[l][s];
        cumulative[l][e][filled[e]] = sum[e];
        log2phy[l][e][filled[e]++] = s;
      }
    }
    this.digest = digestOf(phy2log, shares, experts, ranks);
  }

  private static long digestOf(int[][] phy2log, int[][] shares, int experts, int ranks) {
    long h = CounterBasedRandom.key(CounterBasedRandom.key(phy2log.length, experts), ranks);
    for (int l = 0; l < phy2log.length; l++) {
      for (int s = 0; s < phy2log[l].length; s++) {
        h = CounterBasedRandom.key(h, ((long) phy2log[l][s] << 32) | shares[l][s]);
      }
    }
    return h;
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
    int[][] copy = checkedMaps(phy2log, experts, ranks, version);
    return new Placement(copy, equalShares(copy, experts), experts, ranks, version);
  }

  /**
   * A placement from its physical-to-logical map and the share of each slot, both copied.
   *
   * @param shares {@code shares[layer][slot]}: the slot's share of its expert's tokens in units of
   *     {@code 1/SHARE_UNITS}, {@code >= 0}; the replicas of each expert sum to {@link
   *     #SHARE_UNITS}
   * @see #of(int[][], int, int, long)
   */
  public static Placement of(
      int[][] phy2log, int[][] shares, int experts, int ranks, long version) {
    Objects.requireNonNull(phy2log, "phy2log");
    Objects.requireNonNull(shares, "shares");
    int[][] copy = checkedMaps(phy2log, experts, ranks, version);
    if (shares.length != copy.length) {
      throw new IllegalArgumentException(
          "shares have " + shares.length + " layers, phy2log " + copy.length);
    }
    int[][] shareCopy = new int[copy.length][];
    for (int l = 0; l < copy.length; l++) {
      if (shares[l] == null) {
        throw new NullPointerException("shares[" + l + "]");
      }
      if (shares[l].length != copy[l].length) {
        throw new IllegalArgumentException(
            "layer " + l + " has " + shares[l].length + " shares for " + copy[l].length + " slots");
      }
      shareCopy[l] = shares[l].clone();
      int[] sum = new int[experts];
      for (int s = 0; s < copy[l].length; s++) {
        if (shareCopy[l][s] < 0) {
          throw new IllegalArgumentException(
              "layer " + l + " slot " + s + " has a negative share " + shareCopy[l][s]);
        }
        sum[copy[l][s]] += shareCopy[l][s];
      }
      for (int e = 0; e < experts; e++) {
        if (sum[e] != SHARE_UNITS) {
          throw new IllegalArgumentException(
              "layer "
                  + l
                  + ": the shares of expert "
                  + e
                  + " sum to "
                  + sum[e]
                  + "/"
                  + SHARE_UNITS
                  + ", not 1");
        }
      }
    }
    return new Placement(copy, shareCopy, experts, ranks, version);
  }

  /**
   * Equal shares for every expert of {@code phy2log}: {@code SHARE_UNITS / count} per replica, the
   * first {@code SHARE_UNITS mod count} replicas (in slot order) one unit more.
   *
   * @throws IllegalArgumentException when an expert has more replicas than {@link #SHARE_UNITS}
   */
  public static int[][] equalShares(int[][] phy2log, int experts) {
    int[][] shares = new int[phy2log.length][];
    for (int l = 0; l < phy2log.length; l++) {
      int[] count = new int[experts];
      for (int e : phy2log[l]) {
        count[e]++;
      }
      int[] seen = new int[experts];
      shares[l] = new int[phy2log[l].length];
      for (int s = 0; s < phy2log[l].length; s++) {
        int e = phy2log[l][s];
        if (count[e] > SHARE_UNITS) {
          throw new IllegalArgumentException(
              "layer " + l + ": expert " + e + " has more than " + SHARE_UNITS + " replicas");
        }
        shares[l][s] = SHARE_UNITS / count[e] + (seen[e]++ < SHARE_UNITS % count[e] ? 1 : 0);
      }
    }
    return shares;
  }

  /** Checks the maps and returns a copy. */
  private static int[][] checkedMaps(int[][] phy2log, int experts, int ranks, long version) {
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
    return copy;
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
   * The slot that serves the pick of {@code logical} by token {@code token} of rank {@code
   * sourceRank} at step {@code step}: the replica whose cumulative share first exceeds {@link
   * ReplicaDraw#of}. Every rank computes the same slot for the same pick.
   */
  public int slotFor(int layer, int logical, long step, int sourceRank, int token) {
    int[] replicas =
        log2phy[Objects.checkIndex(layer, layers)][Objects.checkIndex(logical, experts)];
    if (replicas.length == 1) {
      return replicas[0];
    }
    int draw = ReplicaDraw.of(step, layer, sourceRank, token, logical);
    int[] upTo = cumulative[layer][logical];
    int i = 0;
    while (upTo[i] <= draw) {
      i++;
    }
    return replicas[i];
  }

  /** The share of {@code slot}'s expert that the slot takes, in units of {@code 1/SHARE_UNITS}. */
  public int share(int layer, int slot) {
    return shares[Objects.checkIndex(layer, layers)][Objects.checkIndex(slot, slots)];
  }

  /** {@code [layer][slot]} = share in units of {@code 1/SHARE_UNITS}; a copy. */
  public int[][] shares() {
    int[][] copy = new int[layers][];
    for (int l = 0; l < layers; l++) {
      copy[l] = shares[l].clone();
    }
    return copy;
  }

  /**
   * A 64-bit digest of the shape, the maps and the shares (not the version): ranks that hold
   * different placements under one version tell them apart by it.
   */
  public long digest() {
    return digest;
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

  /** Same ranks, the same map and the same shares on every layer; the version is not compared. */
  public boolean samePlacementAs(Placement o) {
    Objects.requireNonNull(o, "o");
    return ranks == o.ranks
        && experts == o.experts
        && Arrays.deepEquals(phy2log, o.phy2log)
        && Arrays.deepEquals(shares, o.shares);
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
      text.append(", shares=").append(Arrays.deepToString(shares));
    }
    return text.append('}').toString();
  }
}
