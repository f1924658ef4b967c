package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The body of a DISPATCH frame carrying {@code count} tokens of one micro-batch to one destination
 * rank ({@link #LAYOUT}), their hidden values in the frame's {@link WirePrecision}. A step a rank
 * gives up travels as an ABORT frame ({@link AbortFrameCodec}), never as a DISPATCH frame.
 */
public final class DispatchFrameCodec {
  /**
   * The body's layout ({@code topK} and {@code hidden} are the model's, which the handshake
   * fingerprint makes the same on both sides; {@code wire} is the header's precision). The README's
   * wire-format section shows it verbatim.
   */
  public static final String LAYOUT =
      """
      DISPATCH body, little-endian, count = tokens, wire = the header's precision
      count × topK    int32    slot    local expert slot of each pick on the receiver, -1: elsewhere
      count × topK    float32  weight  gate weight of each pick
      count × scales  float32  scale   each token's scale (scales: 1 for fp8, 0 otherwise)
      count × hidden  wire     hidden  hidden vector of each token, row-major
      """;

  private static final int PICK_BYTES = Integer.BYTES + Float.BYTES;

  private DispatchFrameCodec() {}

  /** Body bytes of a frame of {@code count} tokens. */
  public static long bodyBytes(int count, int topK, int hidden, WirePrecision wire) {
    return (long) count * ((long) topK * PICK_BYTES + wire.rowBytes(hidden));
  }

  /**
   * Allocates a frame for {@code count} tokens of micro-batch {@code micro}; set every pick with
   * {@link #setPick}, every row through {@link #rows}, then {@link #finish}.
   */
  public static ByteBuf allocate(
      ByteBufAllocator alloc,
      long step,
      int layer,
      int micro,
      int source,
      int count,
      int topK,
      int hidden,
      WirePrecision wire) {
    return FrameHeaderCodec.allocate(
        alloc,
        FrameKind.DISPATCH,
        wire,
        micro,
        step,
        layer,
        source,
        count,
        Math.toIntExact(bodyBytes(count, topK, hidden, wire)));
  }

  public static void setPick(
      ByteBuf frame, int count, int token, int k, int topK, int localSlot, float weight) {
    frame.setIntLE(slotIndex(frame, token, k, topK), localSlot);
    frame.setFloatLE(weightIndex(frame, count, token, k, topK), weight);
  }

  /** The hidden rows of all {@code count} tokens, to write or to read. */
  public static WireRows rows(ByteBuf frame, int count, int topK, int hidden, WirePrecision wire) {
    int scales = FrameHeaderCodec.bodyIndex(frame) + count * topK * PICK_BYTES;
    return WireRows.of(
        frame, scales, scales + count * wire.scalesPerRow() * Float.BYTES, count, hidden, wire);
  }

  /** Marks the frame complete: every body byte has been set. */
  public static void finish(ByteBuf frame, int count, int topK, int hidden, WirePrecision wire) {
    frame.writerIndex(
        frame.readerIndex()
            + FrameHeaderCodec.HEADER_BYTES
            + (int) bodyBytes(count, topK, hidden, wire));
  }

  /**
   * Checks a received frame: a DISPATCH frame in {@code wire} whose body is as long as its count
   * implies. Returns the count.
   *
   * @throws MalformedFrameException naming what differs
   */
  public static int checkBody(ByteBuf frame, int topK, int hidden, WirePrecision wire) {
    FrameHeaderCodec.expectWire(frame, FrameKind.DISPATCH, wire);
    int count = BodyLength.requireCount(frame);
    long expected = bodyBytes(count, topK, hidden, wire);
    if (!BodyLength.is(frame, expected)) {
      throw BodyLength.mismatch(
          frame,
          expected,
          "count "
              + count
              + " × (topK "
              + topK
              + " picks + hidden "
              + hidden
              + " "
              + wire
              + " values)");
    }
    return count;
  }

  public static int localSlot(ByteBuf frame, int token, int k, int topK) {
    return frame.getIntLE(slotIndex(frame, token, k, topK));
  }

  public static float weight(ByteBuf frame, int count, int token, int k, int topK) {
    return frame.getFloatLE(weightIndex(frame, count, token, k, topK));
  }

  private static int slotIndex(ByteBuf frame, int token, int k, int topK) {
    return FrameHeaderCodec.bodyIndex(frame) + (token * topK + k) * Integer.BYTES;
  }

  private static int weightIndex(ByteBuf frame, int count, int token, int k, int topK) {
    return FrameHeaderCodec.bodyIndex(frame)
        + count * topK * Integer.BYTES
        + (token * topK + k) * Float.BYTES;
  }
}
