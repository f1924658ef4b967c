package io.moeflux.transport.protocol;

/**
 * What a frame carries. The kind picks the lane (the per-peer request-channel) a frame travels on,
 * so that small control frames never queue behind bulk transfers of another lane. The ordinal is
 * what goes on the wire: reordering or inserting kinds changes the layout and bumps {@link
 * ProtocolVersion#CURRENT}.
 */
public enum FrameKind {
  /** Token hidden vectors and their local expert picks, source rank to expert rank. */
  DISPATCH(Lane.DATA),
  /** Gate-weighted partial sums, expert rank back to source rank. */
  COMBINE(Lane.DATA),
  /** Padded all-gather mode: every rank's padded tokens to every rank. */
  GATHER(Lane.DATA),
  /**
   * A rank gives up a step: every DATA-lane phase of that step fails on the receiver, with the
   * reason ({@link AbortFrameCodec}). It travels on the DATA lane, behind the frames the rank sent
   * before it.
   */
  ABORT(Lane.DATA),
  /** DP metadata all-reduce (token counts, prefill flag). */
  SYNC(Lane.CONTROL),
  /** Expert heat all-gather. */
  HEAT(Lane.CONTROL),
  /** Placement plans and switch agreements. */
  PLAN(Lane.CONTROL),
  /** Expert weight migration chunks. */
  MIGRATION(Lane.BULK),
  /**
   * The sender's mesh failed, with the reason ({@link FailureFrameCodec}): sent to every peer
   * before the sender closes, so that peers name the cause rather than the sender.
   */
  FAILURE(Lane.CONTROL);

  private static final FrameKind[] VALUES = values();

  private final Lane lane;

  FrameKind(Lane lane) {
    this.lane = lane;
  }

  public Lane lane() {
    return lane;
  }

  /** The kind with wire value {@code ordinal}, or an {@link IllegalArgumentException}. */
  public static FrameKind of(int ordinal) {
    if (!isKnown(ordinal)) {
      throw new IllegalArgumentException("unknown frame kind " + ordinal);
    }
    return VALUES[ordinal];
  }

  static boolean isKnown(int ordinal) {
    return ordinal >= 0 && ordinal < VALUES.length;
  }

  /** A long-lived request-channel from one rank to one peer. */
  public enum Lane {
    DATA,
    CONTROL,
    BULK;

    private static final Lane[] LANES = values();

    /** Lanes every pair of ranks opens, one request-channel each. */
    public static int count() {
      return LANES.length;
    }

    static boolean isKnown(int ordinal) {
      return ordinal >= 0 && ordinal < LANES.length;
    }

    static Lane of(int ordinal) {
      return LANES[ordinal];
    }
  }
}
