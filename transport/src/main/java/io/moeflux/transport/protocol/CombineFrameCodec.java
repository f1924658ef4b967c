package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The body of a COMBINE frame: one gate-weighted partial sum ({@code hidden} values in the frame's
 * {@link WirePrecision}) per token of one micro-batch that the sender received from this frame's
 * target, in the order the target sent them ({@link #LAYOUT}). The sender accumulates each sum and
 * writes it into the frame directly ({@link #rows}), so that nothing is copied after.
 */
public final class CombineFrameCodec {
  /** The body's layout. The README's wire-format section shows it verbatim. */
  public static final String LAYOUT =
      """
      COMBINE body, little-endian, count = tokens the receiver sent this rank, wire = the header's precision
      count × scales  float32  scale    each partial sum's scale (scales: 1 for fp8, 0 otherwise)
      count × hidden  wire     partial  weighted partial sum of each token, in the receiver's order
      """;

  private CombineFrameCodec() {}

  public static long bodyBytes(int count, int hidden, WirePrecision wire) {
    return count * wire.rowBytes(hidden);
  }

  /**
   * Allocates a frame for {@code count} partial sums of micro-batch {@code micro}; write every row
   * through {@link #rows}, then {@link #finish}.
   */
  public static ByteBuf allocate(
      ByteBufAllocator alloc,
      long step,
      int layer,
      int micro,
      int source,
      int count,
      int hidden,
      WirePrecision wire) {
    return FrameHeaderCodec.allocate(
        alloc,
        FrameKind.COMBINE,
        wire,
        micro,
        step,
        layer,
        source,
        count,
        Math.toIntExact(bodyBytes(count, hidden, wire)));
  }

  /** Marks the frame complete: every row has been written. */
  public static void finish(ByteBuf frame, int count, int hidden, WirePrecision wire) {
    frame.writerIndex(
        frame.readerIndex() + FrameHeaderCodec.HEADER_BYTES + (int) bodyBytes(count, hidden, wire));
  }

  /**
   * A complete frame holding the first {@code count} rows of {@code partials}, in {@code coder}'s
   * precision, for micro-batch 0.
   */
  public static ByteBuf encode(
      ByteBufAllocator alloc,
      long step,
      int layer,
      int source,
      float[] partials,
      int count,
      RowCoder coder) {
    int hidden = coder.hidden();
    ByteBuf frame = allocate(alloc, step, layer, 0, source, count, hidden, coder.wire());
    WireRows rows = rows(frame, count, hidden, coder.wire());
    for (int i = 0; i < count; i++) {
      coder.encode(partials, i * hidden, rows, i);
    }
    finish(frame, count, hidden, coder.wire());
    return frame;
  }

  /**
   * Checks a received frame: a COMBINE frame in {@code wire} whose body is as long as its count
   * implies. Returns the count.
   *
   * @throws MalformedFrameException naming what differs
   */
  public static int checkBody(ByteBuf frame, int hidden, WirePrecision wire) {
    FrameHeaderCodec.expectWire(frame, FrameKind.COMBINE, wire);
    int count = BodyLength.requireCount(frame);
    long expected = bodyBytes(count, hidden, wire);
    if (!BodyLength.is(frame, expected)) {
      throw BodyLength.mismatch(
          frame, expected, "count " + count + " × hidden " + hidden + " " + wire + " values");
    }
    return count;
  }

  /** The {@code count} partial sums, to write or to read. */
  public static WireRows rows(ByteBuf frame, int count, int hidden, WirePrecision wire) {
    int scales = FrameHeaderCodec.bodyIndex(frame);
    return WireRows.of(
        frame, scales, scales + count * wire.scalesPerRow() * Float.BYTES, count, hidden, wire);
  }
}
