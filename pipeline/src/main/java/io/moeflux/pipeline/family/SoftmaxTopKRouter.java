package io.moeflux.pipeline.family;

import java.util.Arrays;

/**
 * Mixtral's and Qwen-MoE's router: logits {@code x . W^T} in float32, softmax over all experts
 * ({@code exp(l - max) / sum}, the sum over ascending expert id), the top-k probabilities (ties to
 * the lower id, emitted in descending order), and, when {@code renormalize} ({@code
 * norm_topk_prob}, always for Mixtral), those k divided by their sum.
 */
public final class SoftmaxTopKRouter extends LinearGateRouter {
  private final boolean renormalize;

  /**
   * @param weight {@code [experts, hidden]} row-major; owned by the router
   */
  public SoftmaxTopKRouter(int hidden, int experts, int topK, float[] weight, boolean renormalize) {
    super(hidden, experts, topK, weight);
    this.renormalize = renormalize;
  }

  public boolean renormalizes() {
    return renormalize;
  }

  /** Probabilities, then taken flags, per expert. */
  @Override
  public int scratchLength() {
    return 2 * experts;
  }

  @Override
  void pick(float[] scratch, int[] topkIds, float[] topkWeights, int out) {
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
    int taken = experts;
    Arrays.fill(scratch, taken, taken + experts, 0f);
    float chosen = 0f;
    for (int k = 0; k < topK; k++) {
      int e = best(scratch, 0, taken, experts);
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
