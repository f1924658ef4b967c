package io.moeflux.eplb.heat;

/**
 * One rank's own heat for a window that is still open: the rows each of its physical expert slots
 * received per layer over the steps it has counted so far, before any all-gather ({@link
 * HeatStream#currentWindow()}). Partial by nature: other ranks' counts are not in it, and more
 * steps of the window may follow. Immutable.
 */
public final class LocalHeat {
  private final int rank;
  private final long fromStep;
  private final long toStep;
  private final int layers;
  private final int slots;
  private final long[] counts;

  LocalHeat(int rank, long fromStep, long toStep, int layers, int slots, long[] counts) {
    this.rank = rank;
    this.fromStep = fromStep;
    this.toStep = toStep;
    this.layers = layers;
    this.slots = slots;
    this.counts = counts;
  }

  /** The rank whose counts these are. */
  public int rank() {
    return rank;
  }

  /** First step of the window. */
  public long fromStep() {
    return fromStep;
  }

  /** First step not counted yet (exclusive); equals {@link #fromStep()} when none was. */
  public long toStep() {
    return toStep;
  }

  public int layers() {
    return layers;
  }

  public int localSlots() {
    return slots;
  }

  /** Rows this rank's {@code localSlot} received in {@code layer} so far. */
  public long count(int layer, int localSlot) {
    return counts[layer * slots + localSlot];
  }

  /** Token-to-expert assignments this rank counted so far, summed over layers and slots. */
  public long tokenExpertAssignments() {
    long total = 0;
    for (long c : counts) {
      total += c;
    }
    return total;
  }

  @Override
  public String toString() {
    return "LocalHeat{rank "
        + rank
        + ", steps "
        + fromStep
        + ".."
        + toStep
        + ", "
        + tokenExpertAssignments()
        + " assignments}";
  }
}
