package io.moeflux.pipeline.family;

import io.moeflux.pipeline.model.TokenRouter;
import java.util.Objects;

/**
 * What both family routers share: the gate projection {@code logits[e] = x . W[e]}, W row-major
 * {@code [experts, hidden]} as checkpoints store it, each logit summed in float32 over ascending
 * input index; the argument checks; and picking the best entry not yet taken. Subclasses turn one
 * token's logits into its picks.
 */
abstract class LinearGateRouter implements TokenRouter {
  final int hidden;
  final int experts;
  final int topK;
  private final float[] weight;

  LinearGateRouter(int hidden, int experts, int topK, float[] weight) {
    Objects.requireNonNull(weight, "weight");
    if (hidden < 1 || experts < 1 || topK < 1 || topK > experts) {
      throw new IllegalArgumentException(
          "hidden " + hidden + ", experts " + experts + ", topK " + topK + " are not a router");
    }
    if (weight.length != hidden * experts) {
      throw new IllegalArgumentException(
          "router weight has " + weight.length + " values, needs " + hidden * experts);
    }
    this.hidden = hidden;
    this.experts = experts;
    this.topK = topK;
    this.weight = weight;
  }

  @Override
  public final int hidden() {
    return hidden;
  }

  @Override
  public final int experts() {
    return experts;
  }

  @Override
  public final int topK() {
    return topK;
  }

  @Override
  public long weightBytes() {
    return (long) weight.length * Float.BYTES;
  }

  @Override
  public final void route(
      float[] x, int first, int tokens, int[] topkIds, float[] topkWeights, float[] scratch) {
    Objects.checkFromIndexSize(
        Math.multiplyExact(first, hidden), Math.multiplyExact(tokens, hidden), x.length);
    Objects.checkFromIndexSize(first * topK, Math.multiplyExact(tokens, topK), topkIds.length);
    Objects.checkFromIndexSize(first * topK, tokens * topK, topkWeights.length);
    Objects.checkFromIndexSize(0, scratchLength(), scratch.length);
    for (int t = first; t < first + tokens; t++) {
      int row = t * hidden;
      for (int e = 0; e < experts; e++) {
        int base = e * hidden;
        float sum = 0f;
        for (int i = 0; i < hidden; i++) {
          sum += x[row + i] * weight[base + i];
        }
        scratch[e] = sum;
      }
      pick(scratch, topkIds, topkWeights, t * topK);
    }
  }

  /**
   * One token's picks from its logits in {@code scratch[0 .. experts)}: {@code topK} ids and
   * weights written from {@code out}; the rest of the scratch is the subclass's.
   */
  abstract void pick(float[] scratch, int[] topkIds, float[] topkWeights, int out);

  /**
   * The largest {@code s[values + i]}, {@code i < count}, among those whose flag {@code s[flags +
   * i]} is 0 (the lower {@code i} on ties); marks it taken (flag 1) and returns {@code i}. Flags of
   * 1 keep an entry out: already picked, or outside the kept groups.
   */
  static int best(float[] s, int values, int flags, int count) {
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
