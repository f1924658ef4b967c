package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteOrder;

/**
 * One round of an expert weight migration from one rank to one peer: a slice of the float stream
 * the sender owes that peer ({@link #LAYOUT}; the header's step is the migration's tag, its layer
 * the round).
 */
public final class MigrationChunkCodec {
  /** The body's layout. The README's wire-format section shows it verbatim. */
  public static final String LAYOUT =
      """
      MIGRATION body, little-endian, count = floats
      count  float32  weight  the next floats of the expert weights the sender owes the receiver
      """;

  private MigrationChunkCodec() {}

  /** A chunk of {@code count} floats of {@code stream}, from index {@code from}. */
  public static ByteBuf encode(
      ByteBufAllocator allocator,
      long tag,
      int round,
      int source,
      float[] stream,
      int from,
      int count) {
    ByteBuf frame =
        FrameHeaderCodec.allocate(
            allocator, FrameKind.MIGRATION, tag, round, source, count, count * Float.BYTES);
    if (count > 0) {
      frame
          .nioBuffer(FrameHeaderCodec.HEADER_BYTES, count * Float.BYTES)
          .order(ByteOrder.LITTLE_ENDIAN)
          .asFloatBuffer()
          .put(stream, from, count);
    }
    frame.writerIndex(FrameHeaderCodec.HEADER_BYTES + count * Float.BYTES);
    return frame;
  }

  /**
   * Copies the chunk's floats into {@code into} from {@code offset} on; returns how many.
   *
   * @throws MalformedFrameException when the body does not hold the floats the count announces, or
   *     they do not fit in {@code into}
   */
  public static int decode(ByteBuf frame, float[] into, int offset) {
    FrameHeaderCodec.requireHeader(frame);
    int count = FrameHeaderCodec.count(frame);
    FrameHeaderCodec.expectBody(
        frame, FrameKind.MIGRATION, (long) count * Float.BYTES, count + " floats");
    if (count > into.length - offset) {
      throw new MalformedFrameException(
          FrameHeaderCodec.describe(frame)
              + " carries "
              + count
              + " floats, only "
              + (into.length - offset)
              + " are owed from offset "
              + offset);
    }
    if (count > 0) {
      frame
          .nioBuffer(FrameHeaderCodec.bodyIndex(frame), count * Float.BYTES)
          .order(ByteOrder.LITTLE_ENDIAN)
          .asFloatBuffer()
          .get(into, offset, count);
    }
    return count;
  }
}
