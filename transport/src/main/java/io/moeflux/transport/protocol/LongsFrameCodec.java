package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The body of the control collectives (SYNC, PLAN, HEAT): {@code count} int64 values, nothing else
 * ({@link #LAYOUT}).
 */
public final class LongsFrameCodec {
  /** The body's layout. The README's wire-format section shows it verbatim. */
  public static final String LAYOUT =
      """
      SYNC, PLAN and HEAT body, little-endian, count = values
      count  int64  value  the values this rank adds to the all-gather
      """;

  private LongsFrameCodec() {}

  /** A frame of {@code kind} (SYNC, PLAN or HEAT) carrying {@code values}. */
  public static ByteBuf encode(
      ByteBufAllocator allocator, FrameKind kind, long step, int layer, int source, long[] values) {
    if (kind != FrameKind.SYNC && kind != FrameKind.PLAN && kind != FrameKind.HEAT) {
      throw new IllegalArgumentException(
          kind + " is not a control kind; longs frames are SYNC, PLAN or HEAT");
    }
    int n = values.length;
    ByteBuf frame =
        FrameHeaderCodec.allocate(allocator, kind, step, layer, source, n, n * Long.BYTES);
    for (long v : values) {
      frame.writeLongLE(v);
    }
    return frame;
  }

  /**
   * Copies the {@code n} values of {@code frame} into {@code into} from {@code offset} on.
   *
   * @throws MalformedFrameException when the frame does not carry exactly {@code n} values
   */
  public static void decode(ByteBuf frame, int n, long[] into, int offset) {
    FrameHeaderCodec.requireHeader(frame);
    int count = FrameHeaderCodec.count(frame);
    if (count != n || FrameHeaderCodec.bodyLength(frame) != (long) n * Long.BYTES) {
      throw new MalformedFrameException(
          FrameHeaderCodec.describe(frame) + " should carry " + n + " longs (" + n * 8 + " bytes)");
    }
    int at = FrameHeaderCodec.bodyIndex(frame);
    for (int i = 0; i < n; i++) {
      into[offset + i] = frame.getLongLE(at + i * Long.BYTES);
    }
  }
}
