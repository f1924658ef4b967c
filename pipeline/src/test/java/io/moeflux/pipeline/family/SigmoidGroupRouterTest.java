package io.moeflux.pipeline.family;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import org.junit.jupiter.api.Test;

class SigmoidGroupRouterTest {

  /**
   * A router whose logit for expert e is {@code logits[e]} when the token is the unit vector e_0:
   * W's first column holds the logits.
   */
  private static SigmoidGroupRouter router(
      float[] logits, float[] bias, int groups, int kept, int topK, boolean normalize) {
    int experts = logits.length;
    int hidden = 2;
    float[] w = new float[experts * hidden];
    for (int e = 0; e < experts; e++) {
      w[e * hidden] = logits[e];
    }
    return new SigmoidGroupRouter(
        hidden, experts, topK, w, bias.clone(), groups, kept, normalize, 2.5f);
  }

  private static double sigmoid(double z) {
    return 1 / (1 + Math.exp(-z));
  }

  @Test
  void keepsTheGroupsWithTheBestTwoAndWeighsByTheUnbiasedScores() {
    // 4 groups of 2: group scores (sum of both) favour groups 3 and 1
    float[] logits = {0.1f, -0.2f, 0.9f, 0.3f, -1f, -0.5f, 0.5f, 0.6f};
    float[] bias = new float[8];
    // the bias lifts expert 4 to the top of the selection, but its group (2) stays out
    bias[4] = 3f;
    bias[5] = -3f;
    SigmoidGroupRouter r = router(logits, bias, 4, 2, 3, true);
    int[] ids = new int[3];
    float[] weights = new float[3];
    r.route(new float[] {1, 0}, 1, ids, weights, new float[r.scratchLength()]);
    // kept groups 1 {2, 3} and 3 {6, 7}: by score 2 (0.9), 7 (0.6), 6 (0.5)
    assertThat(ids).containsExactly(2, 7, 6);
    double sum = sigmoid(0.9) + sigmoid(0.6) + sigmoid(0.5);
    assertThat((double) weights[0]).isCloseTo(sigmoid(0.9) / sum * 2.5, offset(1e-6));
    assertThat((double) weights[1]).isCloseTo(sigmoid(0.6) / sum * 2.5, offset(1e-6));
    assertThat((double) weights[2]).isCloseTo(sigmoid(0.5) / sum * 2.5, offset(1e-6));
  }

  @Test
  void biasChangesTheChoiceButNotTheWeights() {
    float[] logits = {0.5f, 0.4f, 0.3f, 0.2f};
    float[] bias = {0f, 0f, 0f, 1f};
    SigmoidGroupRouter r = router(logits, bias, 1, 1, 2, false);
    int[] ids = new int[2];
    float[] weights = new float[2];
    r.route(new float[] {1, 0}, 1, ids, weights, new float[r.scratchLength()]);
    assertThat(ids).containsExactly(3, 0);
    assertThat((double) weights[0]).isCloseTo(sigmoid(0.2) * 2.5, offset(1e-6));
    assertThat((double) weights[1]).isCloseTo(sigmoid(0.5) * 2.5, offset(1e-6));
  }

  /**
   * As transformers does, experts outside the kept groups get a selection score of 0, which beats a
   * kept expert whose biased score is negative.
   */
  @Test
  void maskedExpertsScoreZeroLikeTransformers() {
    float[] logits = {0f, 0f, 0f, 0f};
    float[] bias = {-0.2f, -0.9f, -0.95f, -0.99f};
    // selection scores 0.3, -0.4 | -0.45, -0.49: group {0, 1} is kept (-0.1 against -0.94)
    SigmoidGroupRouter r = router(logits, bias, 2, 1, 2, true);
    int[] ids = new int[2];
    float[] weights = new float[2];
    r.route(new float[] {1, 0}, 1, ids, weights, new float[r.scratchLength()]);
    // experts 2 and 3 are masked to 0, which beats expert 1 (-0.4): expert 2 is second
    assertThat(ids).containsExactly(0, 2);
  }

  @Test
  void groupTiesGoToTheLowerGroupAndExpertTiesToTheLowerId() {
    float[] logits = {0.5f, 0.5f, 0.5f, 0.5f};
    SigmoidGroupRouter r = router(logits, new float[4], 2, 1, 2, true);
    int[] ids = new int[2];
    float[] weights = new float[2];
    r.route(new float[] {1, 0}, 1, ids, weights, new float[r.scratchLength()]);
    assertThat(ids).containsExactly(0, 1);
    assertThat(weights[0]).isEqualTo(weights[1]);
  }
}
