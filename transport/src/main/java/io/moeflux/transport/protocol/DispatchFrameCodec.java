package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.FloatBuffer;

/**
 * The body of a DISPATCH frame carrying {@code count} tokens to one destination rank ({@link
 * #LAYOUT}). A step a rank gives up travels as an ABORT frame ({@link AbortFrameCodec}), never as a
 * DISPATCH frame.
 */
public final class DispatchFrameCodec {
  /**
   * The body's layout ({@code topK} and {@code hidden} are the model's, which the handshake
   * fingerprint makes the same on both sides). The README's wire-format section shows it verbatim.
   */
  public static final String LAYOUT =
      """
      DISPATCH body, little-endian, count = tokens
      count × topK    int32    slot    local expert slot of each pick on the receiver, -1: elsewhere
      count × topK    float32  weight  gate weight of each pick
      count × hidden  float32  hidden  hidden vector of each token, row-major
      """;

  private DispatchFrameCodec() {}

  public static int bodyBytes(int count, int topK, int hidden) {
    return count * (topK * (Integer.BYTES + Float.BYTES) + hidden * Float.BYTES);
  }

  /**
   * Allocates a frame for {@code count} tokens; set every pick with {@link #setPick}, fill {@link
   * #hidden}, then {@link #finish}.
   */
  public static ByteBuf allocate(
      ByteBufAllocator alloc, long step, int layer, int source, int count, int topK, int hidden) {
    return FrameHeaderCodec.allocate(
        alloc, FrameKind.DISPATCH, step, layer, source, count, bodyBytes(count, topK, hidden));
  }

  public static void setPick(
      ByteBuf frame, int count, int token, int k, int topK, int localSlot, float weight) {
    frame.setIntLE(slotIndex(frame, token, k, topK), localSlot);
    frame.setFloatLE(weightIndex(frame, count, token, k, topK), weight);
  }

  /** A view of the hidden vectors of all {@code count} tokens, row-major. */
  public static FloatBuffer hidden(ByteBuf frame, int count, int topK, int hidden) {
    return FloatViews.of(frame, hiddenIndex(frame, count, topK), count * hidden);
  }

  /** Marks the frame complete: every body byte has been set. */
  public static void finish(ByteBuf frame, int count, int topK, int hidden) {
    frame.writerIndex(FrameHeaderCodec.HEADER_BYTES + bodyBytes(count, topK, hidden));
  }

  /**
   * Checks a received frame: its body must be as long as its count implies. Returns the count.
   *
   * @throws MalformedFrameException naming the count and the lengths when they differ
   */
  public static int checkBody(ByteBuf frame, int topK, int hidden) {
    int count = BodyLength.requireCount(frame);
    long expected =
        (long) count * (topK * (Integer.BYTES + Float.BYTES) + (long) hidden * Float.BYTES);
    if (!BodyLength.is(frame, expected)) {
      throw BodyLength.mismatch(
          frame,
          expected,
          "count " + count + " × (topK " + topK + " picks + hidden " + hidden + ")");
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

  private static int hiddenIndex(ByteBuf frame, int count, int topK) {
    return FrameHeaderCodec.bodyIndex(frame) + count * topK * (Integer.BYTES + Float.BYTES);
  }
}
