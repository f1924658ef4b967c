package io.moeflux.pipeline.kernel;

/**
 * How a weight matrix holds its numbers: float32, or 16-bit bit patterns (bfloat16, IEEE
 * half-precision) that kernels widen to float32 in registers, never in memory.
 */
public enum WeightFormat {
  F32(4),
  BF16(2),
  F16(2);

  private final int bytes;

  WeightFormat(int bytes) {
    this.bytes = bytes;
  }

  /** Bytes per weight in memory. */
  public int bytes() {
    return bytes;
  }

  /** The float32 value of a bfloat16 bit pattern: its 16 bits are a float32's upper half. */
  public static float bf16ToFloat(short bits) {
    return Float.intBitsToFloat(bits << 16);
  }

  /**
   * The float32 value of an IEEE half-precision bit pattern (JDK 17 has no conversion). Exponent
   * and mantissa move to float32's positions and a multiplication by 2^112 re-biases the exponent,
   * which handles normal and subnormal values alike; infinities and NaNs keep an all-ones exponent.
   */
  public static float f16ToFloat(short bits) {
    int magnitude = (bits & 0x7FFF) << 13;
    float value =
        (bits & 0x7C00) == 0x7C00
            ? Float.intBitsToFloat(magnitude | 0x7F800000)
            : Float.intBitsToFloat(magnitude) * 0x1p112f;
    return Float.intBitsToFloat(Float.floatToRawIntBits(value) | ((bits & 0x8000) << 16));
  }

  /** The float32 value of the 16-bit pattern {@code bits} in this format (BF16 or F16). */
  float widen(short bits) {
    return this == BF16 ? bf16ToFloat(bits) : f16ToFloat(bits);
  }
}
