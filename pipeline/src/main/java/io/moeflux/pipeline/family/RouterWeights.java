package io.moeflux.pipeline.family;

/**
 * The gate projection both router functions start from: {@code logits[e] = x . W[e]}, W row-major
 * {@code [experts, hidden]} as checkpoints store it, each logit summed in float32 over ascending
 * input index.
 */
final class RouterWeights {
  private RouterWeights() {}

  static void logits(float[] w, int experts, int hidden, float[] x, int row, float[] logits) {
    for (int e = 0; e < experts; e++) {
      int base = e * hidden;
      float sum = 0f;
      for (int i = 0; i < hidden; i++) {
        sum += x[row + i] * w[base + i];
      }
      logits[e] = sum;
    }
  }

  /**
   * The largest {@code s[values + i]}, {@code i < count}, among those whose flag {@code s[flags +
   * i]} is 0 (the lower {@code i} on ties); marks it taken (flag 1) and returns {@code i}. Flags of
   * 1 keep an entry out: already picked, or outside the kept groups.
   */
  static int pick(float[] s, int values, int flags, int count) {
    int best = -1;
    for (int i = 0; i < count; i++) {
      if (s[flags + i] == 0f && (best < 0 || s[values + i] > s[values + best])) {
        best = i;
      }
    }
    s[flags + best] = 1f;
    return best;
  }
}
