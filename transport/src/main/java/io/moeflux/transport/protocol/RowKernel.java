package io.moeflux.transport.protocol;

/**
 * The loops that convert whole rows between float32 and the narrow wire precisions. Every
 * implementation gives the same bits as {@link ScalarRowKernel}, which applies the per-value rules
 * of {@link Bf16} and {@link E4m3}; {@link RowKernels#preferred()} picks the fastest one this JVM
 * can run.
 */
interface RowKernel {
  /** {@code out[j] = Bf16.narrow(src[off + j])} for {@code j < n}. */
  void narrowBf16(float[] src, int off, short[] out, int n);

  /** {@code dst[off + j] = Bf16.widen(src[j])} for {@code j < n}. */
  void widenBf16(short[] src, float[] dst, int off, int n);

  /** The largest {@code |src[off + j]|} for {@code j < n}, 0 for none; NaN if any value is NaN. */
  float absMax(float[] src, int off, int n);

  /** {@code codes[j] = E4m3.encode(src[off + j] * factor)} for {@code j < n}. */
  void encodeE4m3(float[] src, int off, float factor, byte[] codes, int n);

  /** {@code dst[off + j] = E4m3.value(codes[j]) * scale} for {@code j < n}. */
  void decodeE4m3(byte[] codes, float scale, float[] dst, int off, int n);

  /** Names the implementation in logs. */
  String name();
}
