package io.moeflux.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The one place that knows a mesh frame's bytes. A frame is a 24-byte header followed by a body:
 *
 * <pre>
 * offset 0  int   kind (FrameKind ordinal)
 * offset 4  long  step id
 * offset 12 int   layer (or a collective's tag)
 * offset 16 int   source rank
 * offset 20 int   count (tokens, or elements; 0 is valid)
 * offset 24       body
 * </pre>
 *
 * The header keeps the body 8-byte aligned. Numbers in the body are little-endian, the order of the
 * machines we run on, so float arrays move with a bulk copy.
 */
public final class FrameCodec {
  public static final int HEADER_BYTES = 24;

  private static final int KIND = 0;
  private static final int STEP = 4;
  private static final int LAYER = 12;
  private static final int SOURCE = 16;
  private static final int COUNT = 20;

  private FrameCodec() {}

  /**
   * Allocates a pooled frame with its header written and the writer index at the body start. The
   * caller writes exactly {@code bodyBytes} more bytes and hands the frame to the mesh.
   */
  public static ByteBuf allocate(
      ByteBufAllocator allocator,
      FrameKind kind,
      long step,
      int layer,
      int source,
      int count,
      int bodyBytes) {
    ByteBuf frame = allocator.directBuffer(HEADER_BYTES + bodyBytes, HEADER_BYTES + bodyBytes);
    frame.writeInt(kind.ordinal()).writeLong(step).writeInt(layer).writeInt(source).writeInt(count);
    return frame;
  }

  public static FrameKind kind(ByteBuf frame) {
    return FrameKind.of(frame.getInt(frame.readerIndex() + KIND));
  }

  public static long step(ByteBuf frame) {
    return frame.getLong(frame.readerIndex() + STEP);
  }

  public static int layer(ByteBuf frame) {
    return frame.getInt(frame.readerIndex() + LAYER);
  }

  public static int source(ByteBuf frame) {
    return frame.getInt(frame.readerIndex() + SOURCE);
  }

  public static int count(ByteBuf frame) {
    return frame.getInt(frame.readerIndex() + COUNT);
  }

  /** Index of the first body byte, absolute in {@code frame}. */
  public static int bodyIndex(ByteBuf frame) {
    return frame.readerIndex() + HEADER_BYTES;
  }

  public static int bodyLength(ByteBuf frame) {
    return frame.readableBytes() - HEADER_BYTES;
  }

  public static String describe(ByteBuf frame) {
    return kind(frame)
        + "(step="
        + step(frame)
        + ", layer="
        + layer(frame)
        + ", source="
        + source(frame)
        + ", count="
        + count(frame)
        + ", body="
        + bodyLength(frame)
        + "B)";
  }
}
