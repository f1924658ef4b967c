package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import org.jspecify.annotations.Nullable;

/**
 * The hidden rows of one frame body in one {@link WirePrecision}: views over the row values (and,
 * for fp8, the per-row scales) that a {@link RowCoder} reads and writes with bulk copies. One view
 * per frame, never one per row; it does not own the frame.
 */
public final class WireRows {
  private static final WireRows[] EMPTY = new WireRows[WirePrecision.values().length];

  static {
    for (WirePrecision wire : WirePrecision.values()) {
      EMPTY[wire.ordinal()] = new WireRows(wire, 0, 0, null, null, null, null);
    }
  }

  private final WirePrecision wire;
  private final int count;
  private final int hidden;
  final @Nullable FloatBuffer f32;
  final @Nullable ShortBuffer bf16;
  final @Nullable ByteBuffer fp8;
  final @Nullable FloatBuffer scales;

  private WireRows(
      WirePrecision wire,
      int count,
      int hidden,
      @Nullable FloatBuffer f32,
      @Nullable ShortBuffer bf16,
      @Nullable ByteBuffer fp8,
      @Nullable FloatBuffer scales) {
    this.wire = wire;
    this.count = count;
    this.hidden = hidden;
    this.f32 = f32;
    this.bf16 = bf16;
    this.fp8 = fp8;
    this.scales = scales;
  }

  /**
   * The {@code count} rows of {@code frame} whose scales start at absolute byte {@code scalesIndex}
   * (fp8 only) and values at {@code valuesIndex}. A frame that arrived in several pieces is read
   * through one merged copy (frames this JVM allocates are one piece, so rows are always written in
   * place).
   */
  static WireRows of(
      ByteBuf frame, int scalesIndex, int valuesIndex, int count, int hidden, WirePrecision wire) {
    if (count == 0) {
      return EMPTY[wire.ordinal()];
    }
    int valueBytes = count * hidden * wire.valueBytes();
    ByteBuffer values = bytes(frame, valuesIndex, valueBytes);
    FloatBuffer scales =
        wire.scalesPerRow() == 0
            ? null
            : bytes(frame, scalesIndex, count * Float.BYTES).asFloatBuffer();
    return switch (wire) {
      case F32 -> new WireRows(wire, count, hidden, values.asFloatBuffer(), null, null, null);
      case BF16 -> new WireRows(wire, count, hidden, null, values.asShortBuffer(), null, null);
      case FP8 -> new WireRows(wire, count, hidden, null, null, values, scales);
    };
  }

  private static ByteBuffer bytes(ByteBuf frame, int index, int length) {
    if (frame.nioBufferCount() == 1) {
      return frame.nioBuffer(index, length).order(ByteOrder.LITTLE_ENDIAN);
    }
    ByteBuffer merged = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
    frame.getBytes(index, merged);
    merged.flip();
    CopiedBytes.add(length);
    return merged;
  }

  /** The first {@code rows} rows of this view (the same bytes). */
  WireRows first(int rows) {
    if (rows < 0 || rows > count) {
      throw new IndexOutOfBoundsException("first " + rows + " of " + count + " rows");
    }
    return rows == 0
        ? EMPTY[wire.ordinal()]
        : new WireRows(wire, rows, hidden, f32, bf16, fp8, scales);
  }

  public WirePrecision wire() {
    return wire;
  }

  /** Rows in the view. */
  public int count() {
    return count;
  }

  /** Values per row. */
  public int hidden() {
    return hidden;
  }
}
