package io.moeflux.pipeline.model;

/**
 * The draw that picks which replica of an expert serves one pick: a pure function of (step, layer,
 * source rank, token index, logical expert), uniform on {@code [0, }{@link Placement#SHARE_UNITS}
 * {@code )}. The pick goes to the replica whose cumulative share first exceeds the draw, so every
 * rank (and the single-process reference) makes the same choice without communicating, and each
 * replica receives its share of the expert's tokens on average.
 */
public final class ReplicaDraw {
  /** Keeps these draws apart from the other counter-based streams (weights, workloads). */
  private static final long SALT = 0x5e1ec7ed_4e91ca5aL;

  private ReplicaDraw() {}

  /**
   * The draw for pick {@code (step, layer, sourceRank, token, logical)}, in {@code [0,
   * SHARE_UNITS)}.
   */
  public static int of(long step, int layer, int sourceRank, int token, int logical) {
    long key = CounterBasedRandom.key(CounterBasedRandom.key(SALT, step), layer);
    key = CounterBasedRandom.key(CounterBasedRandom.key(key, sourceRank), logical);
    return (int) (CounterBasedRandom.bits(key, token) >>> (Long.SIZE - Placement.SHARE_BITS));
  }
}
