package io.moeflux.pipeline.reference;

/**
 * The router of mixtral, qwen2_moe and qwen3_moe in double precision: {@code logits = W x}, {@code
 * p = softmax(logits)} over all experts, the top-k of {@code p}, and those k probabilities as
 * weights, divided by their sum when the family renormalises (mixtral always; qwen when {@code
 * norm_topk_prob}).
 *
 * <p>The selection gap is measured on the logits: softmax keeps their order, and a logit gap of g
 * is a relative probability gap of {@code 1 - e^-g}.
 */
final class Float64SoftmaxRouter implements Float64Router {
  private final int hidden;
  private final int experts;
  private final int topK;
  private final float[] weight;
  private final boolean renormalise;

  /**
   * @param weight {@code [experts, hidden]} row-major
   */
  Float64SoftmaxRouter(int hidden, int experts, int topK, float[] weight, boolean renormalise) {
    if (weight.length != (long) experts * hidden) {
      throw new IllegalArgumentException(
          "router weight has " + weight.length + " values, not " + experts + " x " + hidden);
    }
    this.hidden = hidden;
    this.experts = experts;
    this.topK = topK;
    this.weight = weight;
    this.renormalise = renormalise;
  }

  @Override
  public int topK() {
    return topK;
  }

  @Override
  public double route(double[] x, int offset, int[] ids, double[] weights, int at) {
    double[] logits = new double[experts];
    double max = Double.NEGATIVE_INFINITY;
    for (int e = 0; e < experts; e++) {
      logits[e] = Float64Router.dot(weight, e, hidden, x, offset);
      max = Math.max(max, logits[e]);
    }
    double[] p = new double[experts];
    double total = 0;
    for (int e = 0; e < experts; e++) {
      p[e] = Math.exp(logits[e] - max);
      total += p[e];
    }
    for (int e = 0; e < experts; e++) {
      p[e] /= total;
    }
    DescendingSelection.topK(p, topK, ids, at);
    double chosen = 0;
    for (int k = 0; k < topK; k++) {
      chosen += p[ids[at + k]];
    }
    for (int k = 0; k < topK; k++) {
      double w = p[ids[at + k]];
      weights[at + k] = renormalise ? w / chosen : w;
    }
    return DescendingSelection.smallestGap(logits, topK);
  }
}
