package io.moeflux.transport.protocol;

/**
 * fp8 e4m3, the "fn" variant of the OCP FP8 formats (what torch calls {@code float8_e4m3fn}): sign,
 * 4 exponent bits with bias 7, 3 mantissa bits; no infinities; the largest finite value is 448; the
 * codes {@code 0x7f} and {@code 0xff} are NaN. A row travels as codes plus one float32 scale
 * ({@link #quantize}): every value is the code's value times the scale.
 *
 * <p>Rounding is to nearest, ties to even, and saturates at ±448. A row that holds a NaN or an
 * infinity travels with a NaN scale and all codes 0, so every value of it arrives as NaN; such a
 * row has no finite maximum to scale by.
 */
public final class E4m3 {
  /** The largest finite e4m3 value. */
  public static final float MAX = 448f;

  /** The value of every code, exactly (NaN for the two NaN codes). */
  private static final float[] VALUE = new float[256];

  static {
    for (int code = 0; code < 256; code++) {
      int exponent = (code >>> 3) & 0xf;
      int mantissa = code & 7;
      float magnitude =
          exponent == 0 ? mantissa * 0x1p-9f : Math.scalb(1 + mantissa / 8f, exponent - 7);
      if ((code & 0x7f) == 0x7f) {
        magnitude = Float.NaN;
      }
      VALUE[code] = (code & 0x80) != 0 ? -magnitude : magnitude;
    }
  }

  private E4m3() {}

  /** The value of {@code code}, exactly. */
  public static float value(byte code) {
    return VALUE[code & 0xff];
  }

  /** The code nearest to {@code v}, a finite value; ties to even, saturating at ±{@value #MAX}. */
  public static byte encode(float v) {
    int sign = (Float.floatToRawIntBits(v) >>> 24) & 0x80;
    float a = Math.min(Math.abs(v), MAX);
    int code;
    if (a < 0x1p-6f) {
      // subnormal range: a multiple of 2^-9, rounded half to even (rint), up to 8 = 2^-6
      code = (int) Math.rint(a * 0x1p9f);
    } else {
      int bits = Float.floatToRawIntBits(a);
      // keep 3 mantissa bits, rounding half to even; a carry moves into the exponent, as it should
      int rounded = bits + 0x7ffff + ((bits >>> 20) & 1);
      code = (rounded >>> 20) - ((127 - 7) << 3);
    }
    return (byte) (code | sign);
  }

  /**
   * Quantizes {@code n} values of {@code src} from {@code off} into {@code codes} and returns the
   * row's scale: {@code max |value| / 448}, so that the largest value maps to ±448. A row of zeros
   * has scale 0; a row with a NaN or an infinity has a NaN scale and zero codes.
   */
  public static float quantize(float[] src, int off, int n, byte[] codes) {
    RowKernel kernel = RowKernels.preferred();
    float amax = kernel.absMax(src, off, n);
    if (!(amax < Float.POSITIVE_INFINITY) || amax == 0f) {
      for (int j = 0; j < n; j++) {
        codes[j] = 0;
      }
      return amax == 0f ? 0f : Float.NaN;
    }
    float scale = amax / MAX;
    float inverse = MAX / amax;
    if (inverse < Float.POSITIVE_INFINITY) {
      kernel.encodeE4m3(src, off, inverse, codes, n);
    } else {
      // a row so small that 448 / max overflows: divide by the (subnormal) scale instead
      for (int j = 0; j < n; j++) {
        codes[j] = encode(src[off + j] / scale);
      }
    }
    return scale;
  }

  /** {@code dst[off + j] = value(codes[j]) * scale} for {@code j < n}. */
  public static void dequantize(byte[] codes, float scale, float[] dst, int off, int n) {
    RowKernels.preferred().decodeE4m3(codes, scale, dst, off, n);
  }
}
