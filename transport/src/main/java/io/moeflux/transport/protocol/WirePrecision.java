package io.moeflux.transport.protocol;

import java.util.Locale;
import java.util.Objects;

/**
 * How hidden values travel in DATA frames (DISPATCH, COMBINE, GATHER bodies). The ordinal is what a
 * frame header's {@code wire} field carries: reordering or inserting precisions changes the layout
 * and bumps {@link ProtocolVersion#CURRENT}. Whatever the precision, arithmetic on arrival is
 * float32: a value is widened exactly, then used.
 */
public enum WirePrecision {
  /** float32, as computed: nothing is rounded. */
  F32("f32", Float.BYTES, 0),
  /** bfloat16: the upper half of a float32, rounded to nearest even ({@link Bf16}). */
  BF16("bf16", 2, 0),
  /**
   * fp8 e4m3 (the "fn" variant: no infinities) with one float32 scale per token: the value times
   * the scale ({@link E4m3}).
   */
  FP8("fp8", 1, 1);

  private static final WirePrecision[] VALUES = values();

  private final String label;
  private final int valueBytes;
  private final int scalesPerRow;

  WirePrecision(String label, int valueBytes, int scalesPerRow) {
    this.label = label;
    this.valueBytes = valueBytes;
    this.scalesPerRow = scalesPerRow;
  }

  /** The name options and reports use: {@code f32}, {@code bf16}, {@code fp8}. */
  public String label() {
    return label;
  }

  /** Bytes of one hidden value on the wire. */
  public int valueBytes() {
    return valueBytes;
  }

  /** float32 scales a row carries besides its values: 1 for fp8, 0 otherwise. */
  public int scalesPerRow() {
    return scalesPerRow;
  }

  /** Bytes one row of {@code hidden} values takes on the wire, its scale included. */
  public long rowBytes(int hidden) {
    return (long) scalesPerRow * Float.BYTES + (long) hidden * valueBytes;
  }

  /**
   * The precision named {@code label} ({@code f32}, {@code bf16}, {@code fp8}; any case).
   *
   * @throws IllegalArgumentException naming the choices
   */
  public static WirePrecision parse(String label) {
    Objects.requireNonNull(label, "label");
    String wanted = label.strip().toLowerCase(Locale.ROOT);
    for (WirePrecision p : VALUES) {
      if (p.label.equals(wanted)) {
        return p;
      }
    }
    throw new IllegalArgumentException(
        "unknown wire precision '" + label + "': expected f32, bf16 or fp8");
  }

  /** The precision with wire value {@code ordinal}, or an {@link IllegalArgumentException}. */
  public static WirePrecision of(int ordinal) {
    if (!isKnown(ordinal)) {
      throw new IllegalArgumentException("unknown wire precision " + ordinal);
    }
    return VALUES[ordinal];
  }

  static boolean isKnown(int ordinal) {
    return ordinal >= 0 && ordinal < VALUES.length;
  }

  @Override
  public String toString() {
    return label;
  }
}
