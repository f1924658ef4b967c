package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.FloatBuffer;

/**
 * The body of a COMBINE frame: one gate-weighted partial sum ({@code hidden} floats) per token the
 * sender received from this frame's target, in the order the target sent them ({@link #LAYOUT}).
 */
public final class CombineFrameCodec {
  /** The body's layout. The README's wire-format section shows it verbatim. */
  public static final String LAYOUT =
      """
      COMBINE body, little-endian, count = tokens the receiver sent this rank
      count × hidden  float32  partial  weighted partial sum of each token, in the receiver's order
      """;

  private CombineFrameCodec() {}

  public static int bodyBytes(int count, int hidden) {
    return count * hidden * Float.BYTES;
  }

  /** A complete frame holding the first {@code count} rows of {@code partials}. */
  public static ByteBuf encode(
      ByteBufAllocator alloc,
      long step,
      int layer,
      int source,
      float[] partials,
      int count,
      int hidden) {
    ByteBuf frame =
        FrameHeaderCodec.allocate(
            alloc, FrameKind.COMBINE, step, layer, source, count, bodyBytes(count, hidden));
    if (count > 0) {
      partials(frame, count, hidden).put(0, partials, 0, count * hidden);
    }
    frame.writerIndex(FrameHeaderCodec.HEADER_BYTES + bodyBytes(count, hidden));
    return frame;
  }

  /**
   * Checks a received frame: its body must be as long as its count implies. Returns the count.
   *
   * @throws MalformedFrameException naming the count and the lengths when they differ
   */
  public static int checkBody(ByteBuf frame, int hidden) {
    int count = BodyLength.requireCount(frame);
    long expected = (long) count * hidden * Float.BYTES;
    if (!BodyLength.is(frame, expected)) {
      throw BodyLength.mismatch(frame, expected, "count " + count + " × hidden " + hidden);
    }
    return count;
  }

  /** A view of the {@code count} partial sums, row-major. */
  public static FloatBuffer partials(ByteBuf frame, int count, int hidden) {
    return FloatViews.of(frame, FrameHeaderCodec.bodyIndex(frame), count * hidden);
  }
}
