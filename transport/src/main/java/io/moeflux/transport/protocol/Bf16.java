package io.moeflux.transport.protocol;

/**
 * bfloat16: the upper 16 bits of a float32 (sign, 8 exponent bits, 7 mantissa bits). Narrowing
 * rounds to nearest, ties to even, as torch and every accelerator do; a NaN stays a (quiet) NaN.
 * Widening is exact. The rows of a frame go through {@link RowCoder}; these are the per-value rules
 * it applies.
 */
public final class Bf16 {
  private Bf16() {}

  /** {@code value} rounded to bfloat16, as its 16 bits. */
  public static short narrow(float value) {
    int bits = Float.floatToRawIntBits(value);
    if ((bits & 0x7fffffff) > 0x7f800000) {
      return (short) ((bits >>> 16) | 0x0040);
    }
    return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
  }

  /** The float32 whose upper half is {@code bits}: exact. */
  public static float widen(short bits) {
    return Float.intBitsToFloat(bits << 16);
  }

  /** {@code out[j] = narrow(src[off + j])} for {@code j < n}. */
  static void narrow(float[] src, int off, short[] out, int n) {
    RowKernels.preferred().narrowBf16(src, off, out, n);
  }

  /** {@code dst[off + j] = widen(src[j])} for {@code j < n}. */
  static void widen(short[] src, float[] dst, int off, int n) {
    RowKernels.preferred().widenBf16(src, dst, off, n);
  }
}
