package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.jspecify.annotations.Nullable;

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
      0   int8   kind    FrameKind ordinal: picks the lane and the body codec
      1   int8   wire    WirePrecision ordinal of the body's hidden values (DATA kinds); 0 otherwise
      2   int16  micro   micro-batch of the step (DISPATCH, COMBINE); 0 otherwise
      4   int64  step    step id (MIGRATION: the migration's tag; barrier: its tag)
      12  int32  layer   MoE layer; 0 for SYNC, PLAN, HEAT; -1 for ABORT, barrier; MIGRATION: round
      16  int32  source  sending rank; a frame claiming another rank than its lane's is refused
      20  int32  count   tokens, values, floats or bytes in the body; never negative
      """;

  private static final int KIND = 0;
  private static final int WIRE = 1;
  private static final int MICRO = 2;
  private static final int STEP = 4;
  private static final int LAYER = 12;
  private static final int SOURCE = 16;
  private static final int COUNT = 20;

  private FrameHeaderCodec() {}

  /** The most micro-batches a step may be split into: the {@code micro} field is a short. */
  public static final int MAX_MICRO_BATCHES = Short.MAX_VALUE + 1;

  /**
   * Allocates a pooled frame with its header written (wire 0, micro-batch 0) and the writer index
   * at the body start. The caller writes exactly {@code bodyBytes} more bytes and hands the frame
   * to the mesh.
   */
  public static ByteBuf allocate(
      ByteBufAllocator allocator,
      FrameKind kind,
      long step,
      int layer,
      int source,
      int count,
      int bodyBytes) {
    return allocate(allocator, kind, WirePrecision.F32, 0, step, layer, source, count, bodyBytes);
  }

  /**
   * Allocates a pooled frame of a DATA kind whose hidden values travel in {@code wire}, for
   * micro-batch {@code micro} of its step; otherwise as {@link #allocate(ByteBufAllocator,
   * FrameKind, long, int, int, int, int)}.
   */
  public static ByteBuf allocate(
      ByteBufAllocator allocator,
      FrameKind kind,
      WirePrecision wire,
      int micro,
      long step,
      int layer,
      int source,
      int count,
      int bodyBytes) {
    if (micro < 0 || micro >= MAX_MICRO_BATCHES) {
      throw new IllegalArgumentException(
          "micro-batch must be in [0, " + MAX_MICRO_BATCHES + "), got " + micro);
    }
    ByteBuf frame = allocator.directBuffer(HEADER_BYTES + bodyBytes, HEADER_BYTES + bodyBytes);
    frame
        .writeByte(kind.ordinal())
        .writeByte(wire.ordinal())
        .writeShort(micro)
        .writeLong(step)
        .writeInt(layer)
        .writeInt(source)
        .writeInt(count);
    return frame;
  }

  public static FrameKind kind(ByteBuf frame) {
    return FrameKind.of(frame.getUnsignedByte(frame.readerIndex() + KIND));
  }

  /**
   * The kind of a frame that may be cut short or malformed: null when fewer than {@value
   * #HEADER_BYTES} bytes are readable or the kind is unknown.
   */
  public static @Nullable FrameKind knownKind(ByteBuf frame) {
    if (frame.readableBytes() < HEADER_BYTES) {
      return null;
    }
    int kind = frame.getUnsignedByte(frame.readerIndex() + KIND);
    return FrameKind.isKnown(kind) ? FrameKind.of(kind) : null;
  }

  /** The precision of the body's hidden values (meaningful for DATA kinds). */
  public static WirePrecision wire(ByteBuf frame) {
    return WirePrecision.of(frame.getUnsignedByte(frame.readerIndex() + WIRE));
  }

  /** The micro-batch of the step this frame belongs to. */
  public static int micro(ByteBuf frame) {
    return frame.getUnsignedShort(frame.readerIndex() + MICRO);
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
   * Checks that {@code frame} holds a whole header of a known kind and a known wire precision: what
   * every body codec reads before its body.
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
    int kind = frame.getUnsignedByte(frame.readerIndex() + KIND);
    if (!FrameKind.isKnown(kind)) {
      throw new MalformedFrameException("a frame of unknown kind " + kind);
    }
    int wire = frame.getUnsignedByte(frame.readerIndex() + WIRE);
    if (!WirePrecision.isKnown(wire)) {
      throw new MalformedFrameException("a frame of unknown wire precision " + wire);
    }
  }

  /**
   * The header in words, for messages: {@code DISPATCH(step=3, layer=0, ...)}; an unknown kind is
   * shown as its number. The frame must hold a whole header.
   */
  public static String describe(ByteBuf frame) {
    int kind = frame.getUnsignedByte(frame.readerIndex() + KIND);
    boolean known = FrameKind.isKnown(kind);
    int wire = frame.getUnsignedByte(frame.readerIndex() + WIRE);
    return (known ? FrameKind.of(kind).toString() : "kind " + kind)
        + "(step="
        + step(frame)
        + (micro(frame) != 0 ? ", micro=" + micro(frame) : "")
        + ", layer="
        + layer(frame)
        + ", source="
        + source(frame)
        + ", count="
        + count(frame)
        + (known && FrameKind.of(kind).lane() == FrameKind.Lane.DATA
            ? ", wire=" + (WirePrecision.isKnown(wire) ? WirePrecision.of(wire) : wire)
            : "")
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
    expectKind(frame, kind);
    if (bodyLength(frame) != bodyBytes) {
      throw new MalformedFrameException(
          describe(frame) + " should hold " + what + " in " + bodyBytes + " body bytes");
    }
  }

  /**
   * Checks that {@code frame} is a {@code kind} frame whose hidden values travel in {@code wire}.
   *
   * @throws MalformedFrameException naming what differs
   */
  static void expectWire(ByteBuf frame, FrameKind kind, WirePrecision wire) {
    expectKind(frame, kind);
    if (wire(frame) != wire) {
      throw new MalformedFrameException(
          describe(frame) + ": hidden values in " + wire(frame) + ", expected " + wire);
    }
  }

  private static void expectKind(ByteBuf frame, FrameKind kind) {
    requireHeader(frame);
    if (kind(frame) != kind) {
      throw new MalformedFrameException("expected a " + kind + " frame, got " + describe(frame));
    }
  }
}
