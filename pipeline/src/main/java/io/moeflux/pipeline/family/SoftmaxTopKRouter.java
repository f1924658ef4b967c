package io.moeflux.pipeline.family;

import io.moeflux.pipeline.model.TokenRouter;
import java.util.Arrays;
import java.util.Objects;

/**
 * Mixtral's and Qwen-MoE's router: logits {@code x . W^T} in float32, softmax over all experts
 * ({@code exp(l - max) / sum}, the sum over ascending expert id), the top-k probabilities (ties to
 * the lower id, emitted in descending order), and, when {@code renormalize} ({@code
 * norm_topk_prob}, always for Mixtral), those k divided by their sum.
 */
public final class SoftmaxTopKRouter implements TokenRouter {
  private final int hidden;
  private final int experts;
  private final int topK;
  private final float[] weight;
  private final boolean renormalize;

  /**
   * @param weight {@code [experts, hidden]} row-major; owned by the router
   */
  public SoftmaxTopKRouter(int hidden, int experts, int topK, float[] weight, boolean renormalize) {
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
    this.renormalize = renormalize;
  }

  @Override
  public int hidden() {
    return hidden;
  }

  @Override
  public int experts() {
    return experts;
  }

  @Override
  public int topK() {
    return topK;
  }

  public boolean renormalizes() {
    return renormalize;
  }

  @Override
  public int scratchLength() {
    return 2 * experts;
  }

  @Override
  public long weightBytes() {
    return (long) weight.length * Float.BYTES;
  }

  @Override
  public void route(float[] x, int tokens, int[] topkIds, float[] topkWeights, float[] scratch) {
    Objects.checkFromIndexSize(0, Math.multiplyExact(tokens, hidden), x.length);
    Objects.checkFromIndexSize(0, Math.multiplyExact(tokens, topK), topkIds.length);
    Objects.checkFromIndexSize(0, tokens * topK, topkWeights.length);
    Objects.checkFromIndexSize(0, scratchLength(), scratch.length);
    int taken = experts;
    for (int t = 0; t < tokens; t++) {
      RouterWeights.logits(weight, experts, hidden, x, t * hidden, scratch);
      float max = Float.NEGATIVE_INFINITY;
      for (int e = 0; e < experts; e++) {
        max = Math.max(max, scratch[e]);
      }
      float sum = 0f;
      for (int e = 0; e < experts; e++) {
        scratch[e] = (float) Math.exp(scratch[e] - max);
        sum += scratch[e];
      }
      for (int e = 0; e < experts; e++) {
        scratch[e] /= sum;
      }
      Arrays.fill(scratch, taken, taken + experts, 0f);
      int out = t * topK;
      float chosen = 0f;
      for (int k = 0; k < topK; k++) {
        int e = RouterWeights.pick(scratch, 0, taken, experts);
        topkIds[out + k] = e;
        topkWeights[out + k] = scratch[e];
        chosen += scratch[e];
      }
      if (renormalize) {
        for (int k = 0; k < topK; k++) {
          topkWeights[out + k] /= chosen;
        }
      }
    }
  }

  @Override
  public String toString() {
    return "SoftmaxTopKRouter{experts="
        + experts
        + ", topK="
        + topK
        + (renormalize ? ", renormalized" : "")
        + "}";
  }
}
