package io.moeflux.pipeline.kernel;

/**
 * The activation every kernel uses, {@code silu(z) = z / (1 + exp(-z))}, with an exponential made
 * of float32 operations that have one exact result each (fma, multiply, add, divide, min, max, bit
 * shifts). The vector kernel runs the same steps lane by lane, so scalar and vector activations
 * agree to the bit, on any machine; {@link Math#exp} would tie the result to one JVM's intrinsic.
 *
 * <p>{@code exp(x)}: clamp x so that {@code 2^n} stays a normal float, {@code n = round(x / ln 2)}
 * (adding 1.5 * 2^23 rounds to an integer), {@code r = x - n ln 2} in two fma steps (Cody-Waite),
 * {@code exp(r)} by its Taylor polynomial of degree 7 (error below 1e-8 for {@code |r| <= ln2/2}),
 * times {@code 2^n} built from its exponent bits. Within 2 ulp of the true value.
 */
public final class Silu {
  static final float MIN_ARGUMENT = -87.33655f;
  static final float MAX_ARGUMENT = 88f;
  static final float LOG2_E = 1.44269504f;
  static final float ROUNDER = 0x1.8p23f;
  static final int ROUNDER_BITS_MINUS_BIAS = 0x4B400000 - 127;
  static final float LN2_HIGH = 0.693359375f;
  static final float LN2_LOW = -2.12194440e-4f;
  static final float C7 = 1f / 5040;
  static final float C6 = 1f / 720;
  static final float C5 = 1f / 120;
  static final float C4 = 1f / 24;
  static final float C3 = 1f / 6;
  static final float C2 = 0.5f;

  private Silu() {}

  /** {@code z / (1 + exp(-z))}. */
  public static float silu(float z) {
    return z / (1f + exp(-z));
  }

  /** {@code e^x}, as described on the class. */
  public static float exp(float x) {
    float clamped = Math.min(Math.max(x, MIN_ARGUMENT), MAX_ARGUMENT);
    float rounded = Math.fma(clamped, LOG2_E, ROUNDER);
    float n = rounded - ROUNDER;
    float r = Math.fma(n, -LN2_HIGH, clamped);
    r = Math.fma(n, -LN2_LOW, r);
    float p = Math.fma(C7, r, C6);
    p = Math.fma(p, r, C5);
    p = Math.fma(p, r, C4);
    p = Math.fma(p, r, C3);
    p = Math.fma(p, r, C2);
    p = Math.fma(p, r, 1f);
    p = Math.fma(p, r, 1f);
    float scale =
        Float.intBitsToFloat((Float.floatToRawIntBits(rounded) - ROUNDER_BITS_MINUS_BIAS) << 23);
    return p * scale;
  }
}
