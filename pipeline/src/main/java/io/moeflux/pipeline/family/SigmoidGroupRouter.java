package io.moeflux.pipeline.family;

import java.util.Arrays;
import java.util.Objects;

/**
 * DeepSeek-V3's router ({@code DeepseekV3TopkRouter}, {@code noaux_tc}), per token, in float32:
 *
 * <ol>
 *   <li>{@code s = sigmoid(x . W^T)}; selection scores {@code c = s + e_score_correction_bias};
 *   <li>a group's score is the sum of its two largest {@code c}; the {@code topk_group} best groups
 *       are kept (lower group id on ties), and {@code c} of every expert outside them becomes 0, as
 *       transformers' {@code masked_fill(..., 0.0)} does;
 *   <li>the top-k of {@code c} (lower id on ties, emitted in descending order) are chosen;
 *   <li>their weights are the unbiased {@code s}, divided by {@code sum + 1e-20} when {@code
 *       norm_topk_prob}, times {@code routed_scaling_factor}.
 * </ol>
 */
public final class SigmoidGroupRouter extends LinearGateRouter {
  private final float[] bias;
  private final int groups;
  private final int perGroup;
  private final int keptGroups;
  private final boolean normalize;
  private final float scaling;

  /**
   * @param weight {@code [experts, hidden]} row-major; owned by the router
   * @param bias {@code [experts]}, the selection bias; owned by the router
   */
  public SigmoidGroupRouter(
      int hidden,
      int experts,
      int topK,
      float[] weight,
      float[] bias,
      int groups,
      int keptGroups,
      boolean normalize,
      float scaling) {
    super(hidden, experts, topK, weight);
    Objects.requireNonNull(bias, "bias");
    if (groups < 1 || experts % groups != 0 || experts / groups < 2) {
      throw new IllegalArgumentException(
          groups + " groups do not split " + experts + " experts into groups of 2 or more");
    }
    if (keptGroups < 1 || keptGroups > groups || keptGroups * (experts / groups) < topK) {
      throw new IllegalArgumentException(
          keptGroups + " kept groups of " + experts / groups + " cannot hold top-" + topK);
    }
    if (bias.length != experts) {
      throw new IllegalArgumentException(
          "router bias has " + bias.length + " values, needs " + experts);
    }
    this.bias = bias;
    this.groups = groups;
    this.perGroup = experts / groups;
    this.keptGroups = keptGroups;
    this.normalize = normalize;
    this.scaling = scaling;
  }

  /** scores, selection scores, taken flags per expert; group scores and kept flags per group. */
  @Override
  public int scratchLength() {
    return 3 * experts + 2 * groups;
  }

  @Override
  public long weightBytes() {
    return super.weightBytes() + (long) bias.length * Float.BYTES;
  }

  @Override
  void pick(float[] scratch, int[] topkIds, float[] topkWeights, int out) {
    int choice = experts;
    int taken = 2 * experts;
    int groupScore = 3 * experts;
    int groupTaken = groupScore + groups;
    for (int e = 0; e < experts; e++) {
      float s = 1f / (1f + (float) Math.exp(-scratch[e]));
      scratch[e] = s;
      scratch[choice + e] = s + bias[e];
    }
    for (int g = 0; g < groups; g++) {
      scratch[groupScore + g] = topTwoSum(scratch, choice + g * perGroup);
    }
    Arrays.fill(scratch, groupTaken, groupTaken + groups, 0f);
    for (int round = 0; round < keptGroups; round++) {
      best(scratch, groupScore, groupTaken, groups);
    }
    for (int e = 0; e < experts; e++) {
      if (scratch[groupTaken + e / perGroup] == 0f) {
        scratch[choice + e] = 0f;
      }
    }
    Arrays.fill(scratch, taken, taken + experts, 0f);
    float sum = 0f;
    for (int k = 0; k < topK; k++) {
      int e = best(scratch, choice, taken, experts);
      topkIds[out + k] = e;
      topkWeights[out + k] = scratch[e];
      sum += scratch[e];
    }
    float denominator = sum + 1e-20f;
    for (int k = 0; k < topK; k++) {
      float w = normalize ? topkWeights[out + k] / denominator : topkWeights[out + k];
      topkWeights[out + k] = w * scaling;
    }
  }

  /** The sum of the two largest of {@code perGroup} values from {@code from}: largest first. */
  private float topTwoSum(float[] s, int from) {
    float first = Float.NEGATIVE_INFINITY;
    float second = Float.NEGATIVE_INFINITY;
    for (int i = from; i < from + perGroup; i++) {
      float v = s[i];
      if (v > first) {
        second = first;
        first = v;
      } else if (v > second) {
        second = v;
      }
    }
    return first + second;
  }

  @Override
  public String toString() {
    return "SigmoidGroupRouter{experts="
        + experts
        + ", topK="
        + topK
        + ", groups="
        + groups
        + ", keptGroups="
        + keptGroups
        + (normalize ? ", normalized" : "")
        + ", scaling="
        + scaling
        + "}";
  }
}
