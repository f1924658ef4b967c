package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.FloatBuffer;

/**
 * The body of a GATHER frame (padded all-gather mode): a rank's {@code count} tokens with their
 * routing, padded to the step's largest batch {@code padded} so that every rank sends the same
 * number of rows ({@link #LAYOUT}).
 */
public final class GatherFrameCodec {
  /**
   * The body's layout ({@code padded} is the step's largest batch, which every rank knows from the
   * DP metadata sync). The README's wire-format section shows it verbatim.
   */
  public static final String LAYOUT =
      """
      GATHER body, little-endian, count = tokens, padded = the step's largest count
      count × topK     int32    expert  logical expert id of each pick
      count × topK     float32  weight  gate weight of each pick
      padded × hidden  float32  row     hidden vector of each token; rows from count on are zero
      """;

  private static final int PICK_BYTES = Integer.BYTES + Float.BYTES;

  private GatherFrameCodec() {}

  public static int bodyBytes(int count, int padded, int topK, int hidden) {
    return count * topK * PICK_BYTES + padded * hidden * Float.BYTES;
  }

  /**
   * A complete frame: the first {@code count × topK} entries of {@code ids} and {@code weights},
   * the first {@code count} rows of {@code rows}, and zero rows up to {@code padded}.
   */
  public static ByteBuf encode(
      ByteBufAllocator alloc,
      long step,
      int layer,
      int source,
      int count,
      int padded,
      int topK,
      int hidden,
      int[] ids,
      float[] weights,
      float[] rows) {
    if (count > padded) {
      throw new IllegalArgumentException("count " + count + " exceeds the padded count " + padded);
    }
    int bodyBytes = bodyBytes(count, padded, topK, hidden);
    ByteBuf frame =
        FrameHeaderCodec.allocate(alloc, FrameKind.GATHER, step, layer, source, count, bodyBytes);
    int base = FrameHeaderCodec.bodyIndex(frame);
    int picks = count * topK;
    for (int i = 0; i < picks; i++) {
      frame.setIntLE(base + i * Integer.BYTES, ids[i]);
      frame.setFloatLE(base + (picks + i) * Float.BYTES, weights[i]);
    }
    int rowsIndex = base + picks * PICK_BYTES;
    if (padded > 0) {
      FloatViews.of(frame, rowsIndex, padded * hidden).put(0, rows, 0, count * hidden);
      frame.setZero(
          rowsIndex + count * hidden * Float.BYTES, (padded - count) * hidden * Float.BYTES);
    }
    frame.writerIndex(FrameHeaderCodec.HEADER_BYTES + bodyBytes);
    return frame;
  }

  /**
   * Checks a received frame against the step's padded count: its count must not exceed it, and its
   * body must be as long as both imply. Returns the count.
   *
   * @throws MalformedFrameException naming what differs
   */
  public static int checkBody(ByteBuf frame, int padded, int topK, int hidden) {
    int count = BodyLength.requireCount(frame);
    if (count > padded) {
      throw new MalformedFrameException(
          FrameHeaderCodec.describe(frame) + ": count exceeds the padded count " + padded);
    }
    long expected = (long) count * topK * PICK_BYTES + (long) padded * hidden * Float.BYTES;
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
              + hidden);
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

  /** A view of the {@code count} real rows, row-major (the padding is left out). */
  public static FloatBuffer rows(ByteBuf frame, int count, int topK, int hidden) {
    return FloatViews.of(
        frame, FrameHeaderCodec.bodyIndex(frame) + count * topK * PICK_BYTES, count * hidden);
  }
}
