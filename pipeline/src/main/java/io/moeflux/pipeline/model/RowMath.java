package io.moeflux.pipeline.model;

/**
 * The float steps of the combine, in one place so that the distributed pipeline and {@link
 * ReferenceModel} add in the same order and get the same bits. Each operates on one row of {@code
 * h} floats, element by element (no reduction across the row), which C2 vectorises without changing
 * any result. C2 (JDK 17) vectorises such a loop only when every array is indexed by the same
 * expression, so rows at offset 0 of both arrays (the scratch rows of the data path) take a loop of
 * their own; it computes the same bits.
 *
 * <p>The combine of token t, for the ranks r that hold its chosen experts, in ascending r:
 *
 * <pre>
 *   partial_r = 0;  for its picks on r, slot ascending: accumulateWeighted(partial_r, w[t,k], y_k)
 *   acc = 0;        for r ascending:                    addInto(acc, wire(partial_r))
 *   h'_t = h_t;                                         addInto(h'_t, acc)
 * </pre>
 *
 * where {@code wire(p)} is {@code p} rounded to the combine's wire precision when r is not the
 * token's own rank (the partial sum crossed a socket), {@code p} itself when it is. Slot order lets
 * a rank finish each token's partial sum as its experts produce it, without keeping every expert
 * output of a layer until the end.
 */
public final class RowMath {
  private RowMath() {}

  /**
   * {@code dst[dstOff + j] = 0f + w * y[yOff + j]} for {@code j < h}: {@link #accumulateWeighted}
   * into a zeroed row, bit for bit, in one pass.
   */
  public static void startWeighted(float[] dst, int dstOff, float w, float[] y, int yOff, int h) {
    if (dstOff == 0 && yOff == 0) {
      for (int j = 0; j < h; j++) {
        dst[j] = 0f + w * y[j];
      }
      return;
    }
    for (int j = 0; j < h; j++) {
      dst[dstOff + j] = 0f + w * y[yOff + j];
    }
  }

  /**
   * {@code dst[dstOff + j] = 0f + src[srcOff + j]} for {@code j < h}: {@link #addInto} a zeroed
   * row, bit for bit, in one pass.
   */
  public static void startWith(float[] dst, int dstOff, float[] src, int srcOff, int h) {
    if (dstOff == 0 && srcOff == 0) {
      for (int j = 0; j < h; j++) {
        dst[j] = 0f + src[j];
      }
      return;
    }
    for (int j = 0; j < h; j++) {
      dst[dstOff + j] = 0f + src[srcOff + j];
    }
  }

  /** {@code dst[dstOff + j] += w * y[yOff + j]} for {@code j < h}. */
  public static void accumulateWeighted(
      float[] dst, int dstOff, float w, float[] y, int yOff, int h) {
    if (dstOff == 0 && yOff == 0) {
      for (int j = 0; j < h; j++) {
        dst[j] += w * y[j];
      }
      return;
    }
    for (int j = 0; j < h; j++) {
      dst[dstOff + j] += w * y[yOff + j];
    }
  }

  /** {@code dst[dstOff + j] += src[srcOff + j]} for {@code j < h}. */
  public static void addInto(float[] dst, int dstOff, float[] src, int srcOff, int h) {
    if (dstOff == 0 && srcOff == 0) {
      for (int j = 0; j < h; j++) {
        dst[j] += src[j];
      }
      return;
    }
    if (dstOff == srcOff) {
      for (int j = dstOff; j < dstOff + h; j++) {
        dst[j] += src[j];
      }
      return;
    }
    for (int j = 0; j < h; j++) {
      dst[dstOff + j] += src[srcOff + j];
    }
  }
}
