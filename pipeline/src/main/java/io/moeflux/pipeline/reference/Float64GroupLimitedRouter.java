package io.moeflux.pipeline.reference;

/**
 * deepseek_v3's router ({@code noaux_tc}) in double precision:
 *
 * <ol>
 *   <li>scores {@code s = sigmoid(W x)}; selection values {@code c = s + e_score_correction_bias};
 *   <li>experts form {@code n_group} groups of consecutive ids; a group's value is the sum of its
 *       two largest {@code c}; the {@code topk_group} largest groups are kept, and {@code c} of
 *       every expert of another group is set to 0 (as transformers masks it: 0, not minus infinity,
 *       so a masked expert still beats a kept one whose {@code c} is negative);
 *   <li>the top-k of the masked {@code c} are chosen; their weights are their unbiased {@code s},
 *       divided by {@code (sum + 1e-20)} when {@code norm_topk_prob}, times {@code
 *       routed_scaling_factor}.
 * </ol>
 *
 * The selection gap is the smaller of the gaps between the chosen masked {@code c} values and of
 * the gap between the last kept group and the first dropped one.
 */
final class Float64GroupLimitedRouter implements Float64Router {
  private final int hidden;
  private final int experts;
  private final int topK;
  private final float[] weight;
  private final float[] bias;
  private final int groups;
  private final int keptGroups;
  private final boolean renormalise;
  private final double scaling;

  /**
   * @param weight {@code [experts, hidden]} row-major
   * @param bias {@code [experts]}
   */
  Float64GroupLimitedRouter(
      int hidden,
      int experts,
      int topK,
      float[] weight,
      float[] bias,
      int groups,
      int keptGroups,
      boolean renormalise,
      double scaling) {
    if (weight.length != (long) experts * hidden || bias.length != experts) {
      throw new IllegalArgumentException(
          "router weight has "
              + weight.length
              + " values and bias "
              + bias.length
              + ", not "
              + experts
              + " x "
              + hidden
              + " and "
              + experts);
    }
    if (groups < 1 || experts % groups != 0 || experts / groups < 2 || keptGroups > groups) {
      throw new IllegalArgumentException(
          groups + " groups keeping " + keptGroups + " do not fit " + experts + " experts");
    }
    this.hidden = hidden;
    this.experts = experts;
    this.topK = topK;
    this.weight = weight;
    this.bias = bias;
    this.groups = groups;
    this.keptGroups = keptGroups;
    this.renormalise = renormalise;
    this.scaling = scaling;
  }

  @Override
  public int topK() {
    return topK;
  }

  @Override
  public double route(double[] x, int offset, int[] ids, double[] weights, int at) {
    double[] s = new double[experts];
    double[] c = new double[experts];
    for (int e = 0; e < experts; e++) {
      double logit = Float64Router.dot(weight, e, hidden, x, offset);
      s[e] = 1 / (1 + Math.exp(-logit));
      c[e] = s[e] + bias[e];
    }
    int perGroup = experts / groups;
    double[] groupValue = new double[groups];
    int[] best = new int[2];
    for (int g = 0; g < groups; g++) {
      double[] members = new double[perGroup];
      System.arraycopy(c, g * perGroup, members, 0, perGroup);
      DescendingSelection.topK(members, 2, best, 0);
      groupValue[g] = members[best[0]] + members[best[1]];
    }
    int[] kept = new int[keptGroups];
    DescendingSelection.topK(groupValue, keptGroups, kept, 0);
    boolean[] keep = new boolean[groups];
    for (int g : kept) {
      keep[g] = true;
    }
    for (int e = 0; e < experts; e++) {
      if (!keep[e / perGroup]) {
        c[e] = 0.0;
      }
    }
    DescendingSelection.topK(c, topK, ids, at);
    double chosen = 0;
    for (int k = 0; k < topK; k++) {
      chosen += s[ids[at + k]];
    }
    for (int k = 0; k < topK; k++) {
      double w = s[ids[at + k]];
      weights[at + k] = (renormalise ? w / (chosen + 1e-20) : w) * scaling;
    }
    return Math.min(
        DescendingSelection.smallestGap(c, topK),
        DescendingSelection.boundaryGap(groupValue, keptGroups));
  }
}
