package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The body of a GATHER frame (padded all-gather mode): a rank's {@code count} tokens with their
 * routing, padded to the step's largest batch {@code padded} so that every rank sends the same
 * number of rows ({@link #LAYOUT}); hidden values in the frame's {@link WirePrecision}.
 */
public final class GatherFrameCodec {
  /**
   * The body's layout ({@code padded} is the step's largest batch, which every rank knows from the
   * DP metadata sync). The README's wire-format section shows it verbatim.
   */
  public static final String LAYOUT =
      """
      GATHER body, little-endian, count = tokens, padded = the step's largest count, wire = the header's precision
      count × topK     int32    expert  logical expert id of each pick
      count × topK     float32  weight  gate weight of each pick
      padded × scales  float32  scale   each row's scale (scales: 1 for fp8, 0 otherwise)
      padded × hidden  wire     row     hidden vector of each token; rows from count on are zero
      """;

  private static final int PICK_BYTES = Integer.BYTES + Float.BYTES;

  private GatherFrameCodec() {}

  public static long bodyBytes(int count, int padded, int topK, int hidden, WirePrecision wire) {
    return (long) count * topK * PICK_BYTES + padded * wire.rowBytes(hidden);
  }

  /**
   * A complete frame: the first {@code count × topK} entries of {@code ids} and {@code weights},
   * the first {@code count} rows of {@code rows} in {@code coder}'s precision, and zero rows up to
   * {@code padded}.
   */
  public static ByteBuf encode(
      ByteBufAllocator alloc,
      long step,
      int layer,
      int source,
      int count,
      int padded,
      int topK,
      int[] ids,
      float[] weights,
      float[] rows,
      RowCoder coder) {
    if (count > padded) {
      throw new IllegalArgumentException("count " + count + " exceeds the padded count " + padded);
    }
    int hidden = coder.hidden();
    WirePrecision wire = coder.wire();
    int bodyBytes = Math.toIntExact(bodyBytes(count, padded, topK, hidden, wire));
    ByteBuf frame =
        FrameHeaderCodec.allocate(
            alloc, FrameKind.GATHER, wire, 0, step, layer, source, count, bodyBytes);
    int base = FrameHeaderCodec.bodyIndex(frame);
    int picks = count * topK;
    for (int i = 0; i < picks; i++) {
      frame.setIntLE(base + i * Integer.BYTES, ids[i]);
      frame.setFloatLE(base + (picks + i) * Float.BYTES, weights[i]);
    }
    int rowsAt = base + picks * PICK_BYTES;
    frame.setZero(rowsAt, bodyBytes - picks * PICK_BYTES);
    WireRows view = rowsOf(frame, rowsAt, padded, hidden, wire);
    for (int t = 0; t < count; t++) {
      coder.encode(rows, t * hidden, view, t);
    }
    frame.writerIndex(frame.readerIndex() + FrameHeaderCodec.HEADER_BYTES + bodyBytes);
    return frame;
  }

  /**
   * Checks a received frame against the step's padded count: a GATHER frame in {@code wire}, its
   * count not over the padded count, its body as long as both imply. Returns the count.
   *
   * @throws MalformedFrameException naming what differs
   */
  public static int checkBody(ByteBuf frame, int padded, int topK, int hidden, WirePrecision wire) {
    FrameHeaderCodec.expectWire(frame, FrameKind.GATHER, wire);
    int count = BodyLength.requireCount(frame);
    if (count > padded) {
      throw new MalformedFrameException(
          FrameHeaderCodec.describe(frame) + ": count exceeds the padded count " + padded);
    }
    long expected = bodyBytes(count, padded, topK, hidden, wire);
    if (!BodyLength.is(frame, expected)) {
      throw BodyLength.mismatch(
          frame,
          expected,
          "count "
              + count
              + " × topK "
              + topK
              + " picks + padded "
              + padded
              + " × hidden "
              + hidden
              + " "
              + wire
              + " values");
    }
    return count;
  }

  public static int expertId(ByteBuf frame, int token, int k, int topK) {
    return frame.getIntLE(FrameHeaderCodec.bodyIndex(frame) + (token * topK + k) * Integer.BYTES);
  }

  public static float weight(ByteBuf frame, int count, int token, int k, int topK) {
    int picks = count * topK;
    return frame.getFloatLE(
        FrameHeaderCodec.bodyIndex(frame)
            + picks * Integer.BYTES
            + (token * topK + k) * Float.BYTES);
  }

  /**
   * The first {@code count} rows of a checked frame whose padded count is {@code padded} (the
   * padding is left out).
   */
  public static WireRows rows(
      ByteBuf frame, int count, int padded, int topK, int hidden, WirePrecision wire) {
    WireRows all =
        rowsOf(
            frame,
            FrameHeaderCodec.bodyIndex(frame) + count * topK * PICK_BYTES,
            padded,
            hidden,
            wire);
    return count == padded ? all : all.first(count);
  }

  private static WireRows rowsOf(
      ByteBuf frame, int scalesAt, int padded, int hidden, WirePrecision wire) {
    return WireRows.of(
        frame,
        scalesAt,
        scalesAt + padded * wire.scalesPerRow() * Float.BYTES,
        padded,
        hidden,
        wire);
  }
}
