package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The header every mesh frame starts with, {@value #HEADER_BYTES} bytes ({@link #LAYOUT}), followed
 * by a body whose layout the kind's codec knows.
 *
 * <p>Header fields are big-endian (network order). The header keeps the body 8-byte aligned;
 * numbers in bodies are little-endian, the order of the machines we run on, so float arrays move
 * with a bulk copy. Accessors read at the frame's reader index and never move it: no object per
 * frame.
 */
public final class FrameHeaderCodec {
  public static final int HEADER_BYTES = 24;

  /**
   * The header's layout: offset, type, field, meaning. The README's wire-format section shows it
   * verbatim, and {@code WireFormatReadmeTest} reads an encoded header through it.
   */
  public static final String LAYOUT =
      """
      frame header, 24 bytes, big-endian
      0   int32  kind    FrameKind ordinal: picks the lane and the body codec
      4   int64  step    step id (MIGRATION: the migration's tag; barrier: its tag)
      12  int32  layer   MoE layer; 0 for SYNC, PLAN, HEAT; -1 for ABORT, barrier; MIGRATION: round
      16  int32  source  sending rank; a frame claiming another rank than its lane's is refused
      20  int32  count   tokens, values, floats or bytes in the body; never negative
      """;

  private static final int KIND = 0;
  private static final int STEP = 4;
  private static final int LAYER = 12;
  private static final int SOURCE = 16;
  private static final int COUNT = 20;

  private FrameHeaderCodec() {}

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

  /**
   * Checks that {@code frame} holds a whole header of a known kind: what every body codec reads
   * before its body.
   *
   * @throws MalformedFrameException when it does not
   */
  public static void requireHeader(ByteBuf frame) {
    if (frame.readableBytes() < HEADER_BYTES) {
      throw new MalformedFrameException(
          "a frame of "
              + frame.readableBytes()
              + " bytes, shorter than the "
              + HEADER_BYTES
              + "-byte header");
    }
    int kind = frame.getInt(frame.readerIndex() + KIND);
    if (!FrameKind.isKnown(kind)) {
      throw new MalformedFrameException("a frame of unknown kind " + kind);
    }
  }

  /**
   * The header in words, for messages: {@code DISPATCH(step=3, layer=0, ...)}; an unknown kind is
   * shown as its number. The frame must hold a whole header.
   */
  public static String describe(ByteBuf frame) {
    int kind = frame.getInt(frame.readerIndex() + KIND);
    return (FrameKind.isKnown(kind) ? FrameKind.of(kind).toString() : "kind " + kind)
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

  /**
   * Checks that {@code frame} is a {@code kind} frame whose body holds exactly {@code bodyBytes}.
   *
   * @throws MalformedFrameException naming what differs
   */
  static void expectBody(ByteBuf frame, FrameKind kind, long bodyBytes, String what) {
    requireHeader(frame);
    if (kind(frame) != kind) {
      throw new MalformedFrameException("expected a " + kind + " frame, got " + describe(frame));
    }
    if (bodyLength(frame) != bodyBytes) {
      throw new MalformedFrameException(
          describe(frame) + " should hold " + what + " in " + bodyBytes + " body bytes");
    }
  }
}
