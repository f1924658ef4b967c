package io.moeflux.eplb.heat;

import io.moeflux.pipeline.model.Placement;

/**
 * Expert heat of the whole group over one step range, the same on every rank: tokens each physical
 * expert slot received, per layer and rank ({@code [layers × ranks × localSlots]}, the upstream
 * {@code moe_load} shape). Immutable.
 */
public final class HeatSnapshot {
  private final long fromStep;
  private final long toStep;
  private final int layers;
  private final int ranks;
  private final int slots;
  private final long[] counts;

  HeatSnapshot(long fromStep, long toStep, int layers, int ranks, int slots, long[] counts) {
    this.fromStep = fromStep;
    this.toStep = toStep;
    this.layers = layers;
    this.ranks = ranks;
    this.slots = slots;
    this.counts = counts;
  }

  /**
   * A snapshot of {@code counts} ({@code [layers × ranks × localSlots]}, copied) over steps {@code
   * [fromStep, toStep)}, e.g. heat recorded elsewhere and read back.
   */
  public static HeatSnapshot of(
      long fromStep, long toStep, int layers, int ranks, int localSlots, long[] counts) {
    java.util.Objects.requireNonNull(counts, "counts");
    if (layers < 1 || ranks < 1 || localSlots < 1) {
      throw new IllegalArgumentException(
          "layers, ranks and localSlots must be >= 1, got "
              + layers
              + ", "
              + ranks
              + ", "
              + localSlots);
    }
    if (counts.length != layers * ranks * localSlots) {
      throw new IllegalArgumentException(
          counts.length + " counts for " + layers + "×" + ranks + "×" + localSlots + " slots");
    }
    if (toStep < fromStep) {
      throw new IllegalArgumentException("steps " + fromStep + ".." + toStep + " run backwards");
    }
    return new HeatSnapshot(fromStep, toStep, layers, ranks, localSlots, counts.clone());
  }

  /** First step covered. */
  public long fromStep() {
    return fromStep;
  }

  /** First step after the range (exclusive). */
  public long toStep() {
    return toStep;
  }

  public int layers() {
    return layers;
  }

  public int ranks() {
    return ranks;
  }

  public int localSlots() {
    return slots;
  }

  public long count(int layer, int rank, int localSlot) {
    return counts[(layer * ranks + rank) * slots + localSlot];
  }

  /** Tokens rank {@code rank}'s experts received in {@code layer}. */
  public long rankTotal(int layer, int rank) {
    long total = 0;
    for (int s = 0; s < slots; s++) {
      total += count(layer, rank, s);
    }
    return total;
  }

  public long layerTotal(int layer) {
    long total = 0;
    for (int r = 0; r < ranks; r++) {
      total += rankTotal(layer, r);
    }
    return total;
  }

  /**
   * Token-to-expert assignments in the snapshot, summed over layers, ranks and slots: a token
   * routed to top-k experts counts k times per layer.
   */
  public long tokenExpertAssignments() {
    long total = 0;
    for (long c : counts) {
      total += c;
    }
    return total;
  }

  /**
   * The same as {@link #tokenExpertAssignments()}, under a name that says tokens but counts
   * assignments.
   *
   * @deprecated use {@link #tokenExpertAssignments()}; to be removed in the next version
   */
  @Deprecated(since = "0.1.0", forRemoval = true)
  public long totalTokens() {
    return tokenExpertAssignments();
  }

  /** Mean over max of per-rank load in {@code layer}; 1 when the layer saw no tokens. */
  public double balancedness(int layer) {
    long max = 0;
    for (int r = 0; r < ranks; r++) {
      max = Math.max(max, rankTotal(layer, r));
    }
    return max == 0 ? 1.0 : (double) layerTotal(layer) / ranks / max;
  }

  /** Max over mean of per-rank load in {@code layer} (vllm-ascend's peak-to-average). */
  public double peakToAverage(int layer) {
    double balancedness = balancedness(layer);
    return 1.0 / balancedness;
  }

  /** Per-layer balancedness averaged over layers. */
  public double meanBalancedness() {
    double sum = 0;
    for (int l = 0; l < layers; l++) {
      sum += balancedness(l);
    }
    return sum / layers;
  }

  /**
   * Load per logical expert, {@code [layers × experts]}, under the placement that was in force over
   * the snapshot's steps: a slot's count goes to the logical expert it holds.
   */
  public double[][] logicalLoad(Placement placement) {
    if (placement.layers() != layers
        || placement.ranks() != ranks
        || placement.slotsPerRank() != slots) {
      throw new IllegalArgumentException(
          "placement "
              + placement.layers()
              + "×"
              + placement.ranks()
              + "×"
              + placement.slotsPerRank()
              + " does not match the heat "
              + layers
              + "×"
              + ranks
              + "×"
              + slots);
    }
    double[][] load = new double[layers][placement.experts()];
    for (int l = 0; l < layers; l++) {
      for (int r = 0; r < ranks; r++) {
        for (int s = 0; s < slots; s++) {
          load[l][placement.logicalOf(l, r * slots + s)] += count(l, r, s);
        }
      }
    }
    return load;
  }

  @Override
  public String toString() {
    return "HeatSnapshot{steps "
        + fromStep
        + ".."
        + toStep
        + ", "
        + tokenExpertAssignments()
        + " assignments, balancedness "
        + String.format("%.3f", meanBalancedness())
        + "}";
  }
}
