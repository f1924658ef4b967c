package io.moeflux.transport.protocol;

import java.util.Objects;

/**
 * Moves hidden rows of float32 values into and out of frame bodies ({@link WireRows}) in one {@link
 * WirePrecision}: float32 with bulk copies, bf16 and fp8 converted through scratch rows of its own.
 * A row can be quantized once and stored into several frames, as a token bound for several ranks
 * is. Not thread-safe (the scratch); a data path holds one coder per precision and thread.
 *
 * <p>{@link #roundTrip} is what a row becomes by crossing the wire, computed without a frame: the
 * single-process reference applies it where the distributed path sends a row, so that both agree to
 * the bit.
 */
public final class RowCoder {
  private final WirePrecision wire;
  private final int hidden;
  private final short[] halves;
  private final byte[] codes;
  private float scale;

  /** Bytes copied since the last {@link #flushCopied()}: counted here, not per row. */
  private long copied;

  /** float32 rows are not converted: quantize remembers where the row is, store copies it. */
  private float[] pending = new float[0];

  private int pendingOffset;

  public RowCoder(WirePrecision wire, int hidden) {
    this.wire = Objects.requireNonNull(wire, "wire");
    if (hidden < 0) {
      throw new IllegalArgumentException("hidden must be >= 0, got " + hidden);
    }
    this.hidden = hidden;
    this.halves = new short[wire == WirePrecision.BF16 ? hidden : 0];
    this.codes = new byte[wire == WirePrecision.FP8 ? hidden : 0];
  }

  public WirePrecision wire() {
    return wire;
  }

  public int hidden() {
    return hidden;
  }

  /**
   * Encodes the row at {@code src[off ..]} into this coder, for {@link #store}. A float32 row is
   * read when it is stored: it must not change in between.
   */
  public void quantize(float[] src, int off) {
    switch (wire) {
      case F32 -> {
        pending = src;
        pendingOffset = off;
      }
      case BF16 -> Bf16.narrow(src, off, halves, hidden);
      case FP8 -> scale = E4m3.quantize(src, off, hidden, codes);
    }
  }

  /** Writes the last quantized row as row {@code row} of {@code rows}. */
  public void store(WireRows rows, int row) {
    check(rows, row);
    int at = row * hidden;
    switch (wire) {
      case F32 -> {
        rows.f32.put(at, pending, pendingOffset, hidden);
        copied += (long) hidden * Float.BYTES;
      }
      case BF16 -> rows.bf16.put(at, halves, 0, hidden);
      case FP8 -> {
        rows.fp8.put(at, codes, 0, hidden);
        rows.scales.put(row, scale);
      }
    }
  }

  /** Writes the row at {@code src[off ..]} as row {@code row} of {@code rows}. */
  public void encode(float[] src, int off, WireRows rows, int row) {
    if (wire == WirePrecision.F32) {
      check(rows, row);
      rows.f32.put(row * hidden, src, off, hidden);
      copied += (long) hidden * Float.BYTES;
      return;
    }
    quantize(src, off);
    store(rows, row);
  }

  /** Reads row {@code row} of {@code rows} as float32 into {@code dst[off ..]}. */
  public void decode(WireRows rows, int row, float[] dst, int off) {
    check(rows, row);
    int at = row * hidden;
    switch (wire) {
      case F32 -> {
        rows.f32.get(at, dst, off, hidden);
        copied += (long) hidden * Float.BYTES;
      }
      case BF16 -> {
        rows.bf16.get(at, halves, 0, hidden);
        Bf16.widen(halves, dst, off, hidden);
      }
      case FP8 -> {
        rows.fp8.get(at, codes, 0, hidden);
        E4m3.dequantize(codes, rows.scales.get(row), dst, off, hidden);
      }
    }
  }

  /**
   * {@code dst[dstOff ..] = decode(encode(src[srcOff ..]))}: the row as it arrives after crossing
   * the wire. {@code dst} may be {@code src} at the same offset.
   */
  public void roundTrip(float[] src, int srcOff, float[] dst, int dstOff) {
    switch (wire) {
      case F32 -> {
        if (src != dst || srcOff != dstOff) {
          System.arraycopy(src, srcOff, dst, dstOff, hidden);
        }
      }
      case BF16 -> {
        Bf16.narrow(src, srcOff, halves, hidden);
        Bf16.widen(halves, dst, dstOff, hidden);
      }
      case FP8 -> {
        float rowScale = E4m3.quantize(src, srcOff, hidden, codes);
        E4m3.dequantize(codes, rowScale, dst, dstOff, hidden);
      }
    }
  }

  /** Adds the bytes this coder copied since the last call to {@link CopiedBytes}. */
  public void flushCopied() {
    if (copied != 0) {
      CopiedBytes.add(copied);
      copied = 0;
    }
  }

  private void check(WireRows rows, int row) {
    if (rows.wire() != wire || rows.hidden() != hidden) {
      throw new IllegalArgumentException(
          "rows of "
              + rows.hidden()
              + " "
              + rows.wire()
              + " values, this coder's are "
              + hidden
              + " "
              + wire);
    }
    Objects.checkIndex(row, rows.count());
  }
}
