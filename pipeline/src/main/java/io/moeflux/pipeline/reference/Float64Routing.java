package io.moeflux.pipeline.reference;

/**
 * The float64 routing of a batch: per token, k expert ids in descending order of selection value
 * (lower id first on ties), the weights their outputs get (scaling included), and how far the
 * token's choice is from a tie.
 */
public final class Float64Routing {
  private final int tokens;
  private final int topK;
  private final int[] ids;
  private final double[] weights;
  private final double[] gaps;

  Float64Routing(int tokens, int topK, int[] ids, double[] weights, double[] gaps) {
    this.tokens = tokens;
    this.topK = topK;
    this.ids = ids;
    this.weights = weights;
    this.gaps = gaps;
  }

  public int tokens() {
    return tokens;
  }

  public int topK() {
    return topK;
  }

  /** {@code tokens × topK} logical expert ids, row-major; a copy. */
  public int[] ids() {
    return ids.clone();
  }

  /** Id {@code k} of token {@code token}. */
  public int id(int token, int k) {
    return ids[token * topK + k];
  }

  /** {@code tokens × topK} weights, row-major; a copy. */
  public double[] weights() {
    return weights.clone();
  }

  /** Weight {@code k} of token {@code token}. */
  public double weight(int token, int k) {
    return weights[token * topK + k];
  }

  /**
   * Per token, the smallest difference between selection values that decides its choice and its
   * order: between neighbours among the k chosen and the first expert left out (softmax families:
   * logits; deepseek_v3: the group-masked biased scores), and for deepseek_v3 also between the last
   * kept group and the first dropped one. A gap below what float32 arithmetic can resolve means
   * another implementation may legitimately choose differently. A copy.
   */
  public double[] gaps() {
    return gaps.clone();
  }

  /** The smallest of {@link #gaps()}; infinity for an empty batch. */
  public double smallestGap() {
    double smallest = Double.POSITIVE_INFINITY;
    for (double gap : gaps) {
      smallest = Math.min(smallest, gap);
    }
    return smallest;
  }
}
