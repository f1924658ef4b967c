package io.moeflux.transport;

/**
 * What a frame carries. The kind picks the lane (the per-peer request-channel) a frame travels on,
 * so that small control frames never queue behind bulk transfers of another lane.
 */
public enum FrameKind {
  /** Token hidden vectors and their local expert picks, source rank to expert rank. */
  DISPATCH(Lane.DATA),
  /** Gate-weighted partial sums, expert rank back to source rank. */
  COMBINE(Lane.DATA),
  /** Padded all-gather mode: every rank's padded tokens to every rank. */
  GATHER(Lane.DATA),
  /** DP metadata all-reduce (token counts, prefill flag). */
  SYNC(Lane.CONTROL),
  /** Expert heat all-gather. */
  HEAT(Lane.CONTROL),
  /** Placement plans and switch agreements. */
  PLAN(Lane.CONTROL),
  /** Expert weight migration chunks. */
  MIGRATION(Lane.BULK);

  private static final FrameKind[] VALUES = values();

  private final Lane lane;

  FrameKind(Lane lane) {
    this.lane = lane;
  }

  public Lane lane() {
    return lane;
  }

  public static FrameKind of(int ordinal) {
    if (ordinal < 0 || ordinal >= VALUES.length) {
      throw new IllegalArgumentException("unknown frame kind " + ordinal);
    }
    return VALUES[ordinal];
  }

  /** A long-lived request-channel from one rank to one peer. */
  public enum Lane {
    DATA,
    CONTROL,
    BULK
  }
}
