package io.moeflux.pipeline.checkpoint;

import java.util.Arrays;

/**
 * The narrow float formats of checkpoints, to and from float32: bfloat16, IEEE half (float16) and
 * the OCP 8-bit {@code e4m3fn} (no infinities, one NaN pattern per sign, largest finite 448).
 * Narrowing rounds to nearest, ties to even, as torch does; widening is exact.
 */
public final class NarrowFloats {
  /** Every non-negative finite e4m3 value, by code {@code 0x00 .. 0x7e}: ascending. */
  private static final float[] E4M3_POSITIVE = new float[0x7f];

  static {
    for (int code = 0; code < E4M3_POSITIVE.length; code++) {
      E4M3_POSITIVE[code] = e4m3ToFloat((byte) code);
    }
  }

  private NarrowFloats() {}

  /** The float whose top 16 bits are {@code bits}. */
  public static float bf16ToFloat(short bits) {
    return Float.intBitsToFloat((bits & 0xffff) << 16);
  }

  /** {@code value} rounded to bfloat16 (nearest, ties to even); a NaN stays a (quiet) NaN. */
  public static short floatToBf16(float value) {
    int bits = Float.floatToRawIntBits(value);
    if ((bits & 0x7fffffff) > 0x7f800000) {
      return (short) ((bits >>> 16) | 0x0040);
    }
    int rounding = 0x7fff + ((bits >>> 16) & 1);
    return (short) ((bits + rounding) >>> 16);
  }

  /** The float value of IEEE half {@code bits}. */
  public static float f16ToFloat(short bits) {
    int h = bits & 0xffff;
    int sign = (h & 0x8000) << 16;
    int exponent = (h >>> 10) & 0x1f;
    int mantissa = h & 0x3ff;
    if (exponent == 0) {
      float magnitude = mantissa * 0x1p-24f;
      return sign == 0 ? magnitude : -magnitude;
    }
    if (exponent == 31) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
    }
    return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }

  /** {@code value} rounded to IEEE half (nearest, ties to even; beyond 65504 it overflows). */
  public static short floatToF16(float value) {
    int bits = Float.floatToRawIntBits(value);
    int sign = (bits >>> 16) & 0x8000;
    int abs = bits & 0x7fffffff;
    if (abs > 0x7f800000) {
      return (short) (sign | 0x7e00);
    }
    if (abs >= 0x477ff000) {
      // 65520 and above round past the largest half, 65504
      return (short) (sign | 0x7c00);
    }
    if (abs < 0x38800000) {
      // below 2^-14: a subnormal half, counted in units of 2^-24
      if (abs <= 0x33000000) {
        return (short) sign;
      }
      int mantissa = (abs & 0x7fffff) | 0x800000;
      int shift = 126 - (abs >>> 23);
      return (short) (sign | roundShift(mantissa, shift));
    }
    int h = (((abs >>> 23) - 112) << 10) | ((abs & 0x7fffff) >>> 13);
    int rest = abs & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1) == 1)) {
      h++;
    }
    return (short) (sign | h);
  }

  private static int roundShift(int value, int shift) {
    int kept = value >>> shift;
    int rest = value & ((1 << shift) - 1);
    int half = 1 << (shift - 1);
    if (rest > half || (rest == half && (kept & 1) == 1)) {
      kept++;
    }
    return kept;
  }

  /** The float value of e4m3fn {@code bits}: sign, 4 exponent bits (bias 7), 3 mantissa bits. */
  public static float e4m3ToFloat(byte bits) {
    int b = bits & 0xff;
    boolean negative = (b & 0x80) != 0;
    int exponent = (b >>> 3) & 0xf;
    int mantissa = b & 0x7;
    float magnitude;
    if (exponent == 0xf && mantissa == 0x7) {
      return Float.NaN;
    } else if (exponent == 0) {
      magnitude = mantissa * 0x1p-9f;
    } else {
      magnitude = (1f + mantissa / 8f) * Math.scalb(1f, exponent - 7);
    }
    return negative ? -magnitude : magnitude;
  }

  /**
   * {@code value} rounded to e4m3fn (nearest, ties to the even code); magnitudes beyond 448
   * saturate to 448, as checkpoint quantizers clamp.
   */
  public static byte floatToE4m3(float value) {
    if (Float.isNaN(value)) {
      return (byte) 0x7f;
    }
    int sign = Float.floatToRawIntBits(value) < 0 ? 0x80 : 0;
    float magnitude = Math.abs(value);
    int top = E4M3_POSITIVE.length - 1;
    if (magnitude >= E4M3_POSITIVE[top]) {
      return (byte) (sign | top);
    }
    int at = Arrays.binarySearch(E4M3_POSITIVE, magnitude);
    if (at >= 0) {
      return (byte) (sign | at);
    }
    int above = -at - 1;
    int below = above - 1;
    float down = magnitude - E4M3_POSITIVE[below];
    float up = E4M3_POSITIVE[above] - magnitude;
    int code = down < up || (down == up && (below & 1) == 0) ? below : above;
    return (byte) (sign | code);
  }
}
