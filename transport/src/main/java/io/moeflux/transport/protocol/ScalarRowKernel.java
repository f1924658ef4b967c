package io.moeflux.transport.protocol;

/**
 * The row conversions one value at a time: the reference every other {@link RowKernel} matches to
 * the bit, and the one a JVM without the Vector API runs. Its loops take a start index, so that a
 * vector kernel finishes the tail of a row with them.
 */
final class ScalarRowKernel implements RowKernel {
  static final ScalarRowKernel INSTANCE = new ScalarRowKernel();

  private ScalarRowKernel() {}

  @Override
  public void narrowBf16(float[] src, int off, short[] out, int n) {
    narrowBf16(src, off, out, 0, n);
  }

  @Override
  public void widenBf16(short[] src, float[] dst, int off, int n) {
    widenBf16(src, dst, off, 0, n);
  }

  @Override
  public float absMax(float[] src, int off, int n) {
    return absMax(src, off, 0, n, 0f);
  }

  @Override
  public void encodeE4m3(float[] src, int off, float factor, byte[] codes, int n) {
    encodeE4m3(src, off, factor, codes, 0, n);
  }

  @Override
  public void decodeE4m3(byte[] codes, float scale, float[] dst, int off, int n) {
    decodeE4m3(codes, scale, dst, off, 0, n);
  }

  @Override
  public String name() {
    return "scalar";
  }

  static void narrowBf16(float[] src, int off, short[] out, int from, int n) {
    for (int j = from; j < n; j++) {
      out[j] = Bf16.narrow(src[off + j]);
    }
  }

  static void widenBf16(short[] src, float[] dst, int off, int from, int n) {
    for (int j = from; j < n; j++) {
      dst[off + j] = Bf16.widen(src[j]);
    }
  }

  static float absMax(float[] src, int off, int from, int n, float start) {
    float max = start;
    for (int j = from; j < n; j++) {
      max = Math.max(max, Math.abs(src[off + j]));
    }
    return max;
  }

  static void encodeE4m3(float[] src, int off, float factor, byte[] codes, int from, int n) {
    for (int j = from; j < n; j++) {
      codes[j] = E4m3.encode(src[off + j] * factor);
    }
  }

  static void decodeE4m3(byte[] codes, float scale, float[] dst, int off, int from, int n) {
    for (int j = from; j < n; j++) {
      dst[off + j] = E4m3.value(codes[j]) * scale;
    }
  }
}
