package io.moeflux.pipeline.reference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.moeflux.pipeline.checkpoint.Checkpoint;
import io.moeflux.pipeline.checkpoint.CheckpointException;
import io.moeflux.pipeline.checkpoint.CheckpointGenerator;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The float64 block against results worked out by hand from the families' formulas, on one-layer
 * checkpoints whose weights make each rule visible.
 */
class Float64MoeBlockTest {
  private static final double EXACT = 1e-12;

  @TempDir Path dir;

  /** silu(z) = z · sigmoid(z). */
  private static double silu(double z) {
    return z / (1 + Math.exp(-z));
  }

  private static double sigmoid(double z) {
    return 1 / (1 + Math.exp(-z));
  }

  /**
   * Hidden 2, x = (1, 0); router rows give logits (1, 2, 0, 3); expert e has gate (1, 0), up (e+1,
   * 0), down (1, 2), so expert e's output is silu(1)·(e+1)·(1, 2).
   */
  private static HandCheckpoint fourExperts(ModelFamily family) {
    HandCheckpoint hand = new HandCheckpoint(family, 2).router(1, 0, 2, 0, 0, 0, 3, 0);
    for (int e = 0; e < 4; e++) {
      hand.expert(e, new float[] {1, 0}, new float[] {e + 1, 0}, new float[] {1, 2});
    }
    return hand;
  }

  @Test
  void mixtralTakesTheTopTwoOfTheSoftmaxAndRenormalisesThem() throws IOException {
    try (Checkpoint c =
        fourExperts(ModelFamily.MIXTRAL)
            .open(
                dir,
                "\"num_local_experts\": 4, \"num_experts_per_tok\": 2,"
                    + " \"intermediate_size\": 1")) {
      Float64Output out = Float64MoeBlock.load(c, 0).forward(new float[] {1, 0}, 1);
      Float64Routing r = out.routing();
      assertThat(r.ids()).containsExactly(3, 1);
      double w3 = Math.exp(3) / (Math.exp(3) + Math.exp(2));
      double w1 = Math.exp(2) / (Math.exp(3) + Math.exp(2));
      assertThat(r.weight(0, 0)).isCloseTo(w3, within(EXACT));
      assertThat(r.weight(0, 1)).isCloseTo(w1, within(EXACT));
      double y = silu(1) * (w3 * 4 + w1 * 2);
      assertThat(out.hiddenStates()).containsExactly(new double[] {y, 2 * y}, within(EXACT));
      // logits 3, 2 | 1: the order and the choice are decided by gaps of 1
      assertThat(r.gaps()).containsExactly(1.0);
    }
  }

  @Test
  void qwen3KeepsTheSoftmaxProbabilitiesUnlessNormTopkProb() throws IOException {
    String fields =
        "\"num_experts\": 4, \"num_experts_per_tok\": 2, \"moe_intermediate_size\": 1,"
            + " \"norm_topk_prob\": ";
    double z = Math.exp(1) + Math.exp(2) + Math.exp(0) + Math.exp(3);
    try (Checkpoint c =
        fourExperts(ModelFamily.QWEN3_MOE).open(dir.resolve("raw"), fields + "false")) {
      Float64Routing r = Float64MoeBlock.load(c, 0).route(new float[] {1, 0}, 1);
      assertThat(r.ids()).containsExactly(3, 1);
      assertThat(r.weights())
          .containsExactly(new double[] {Math.exp(3) / z, Math.exp(2) / z}, within(EXACT));
    }
    try (Checkpoint c =
        fourExperts(ModelFamily.QWEN3_MOE).open(dir.resolve("normalised"), fields + "true")) {
      Float64Routing r = Float64MoeBlock.load(c, 0).route(new float[] {1, 0}, 1);
      assertThat(r.weight(0, 0) + r.weight(0, 1)).isCloseTo(1.0, within(EXACT));
    }
  }

  @Test
  void qwen2AddsTheSharedExpertScaledBySigmoidOfItsGate() throws IOException {
    try (Checkpoint c =
        fourExperts(ModelFamily.QWEN2_MOE)
            .shared(new float[] {0, 1}, new float[] {0, 3}, new float[] {-1, 1})
            .sharedGate(0.5f, 0.25f)
            .open(
                dir,
                "\"num_experts\": 4, \"num_experts_per_tok\": 1, \"moe_intermediate_size\": 1,"
                    + " \"shared_expert_intermediate_size\": 1, \"norm_topk_prob\": false")) {
      // x = (1, 2): logits 1, 2, 0, 3 again; top-1 is expert 3 with its softmax probability
      Float64Output out = Float64MoeBlock.load(c, 0).forward(new float[] {1, 2}, 1);
      double z = Math.exp(1) + Math.exp(2) + Math.exp(0) + Math.exp(3);
      double routed = Math.exp(3) / z * silu(1) * 4;
      double shared = sigmoid(0.5 + 0.5) * silu(2) * 6;
      assertThat(out.routing().ids()).containsExactly(3);
      assertThat(out.hiddenStates())
          .containsExactly(new double[] {routed - shared, 2 * routed + shared}, within(EXACT));
    }
  }

  private static final String DEEPSEEK_FOUR =
      "\"n_routed_experts\": 4, \"num_experts_per_tok\": 2, \"moe_intermediate_size\": 1,"
          + " \"n_shared_experts\": 1, \"n_group\": 2, \"topk_group\": 1,"
          + " \"norm_topk_prob\": true, \"routed_scaling_factor\": 2.5,"
          + " \"first_k_dense_replace\": 0";

  /** Hidden 1, x = 1: logits are the router weights; expert e computes silu(1)·(e+1). */
  private static HandCheckpoint deepseek(float[] router, float[] bias, int experts) {
    HandCheckpoint hand = new HandCheckpoint(ModelFamily.DEEPSEEK_V3, 1).router(router).bias(bias);
    for (int e = 0; e < experts; e++) {
      hand.expert(e, new float[] {1}, new float[] {e + 1}, new float[] {1});
    }
    return hand.shared(new float[] {1}, new float[] {10}, new float[] {1});
  }

  @Test
  void deepseekMasksDroppedGroupsToZeroSoAMaskedExpertCanBeatANegativeKeptOne() throws IOException {
    // s = sigmoid(5, -3, 0, 0.2); c = s + bias = (0.9933, -0.0526, 0.45, 0.4498):
    // group 0 sums 0.9407, group 1 0.8998, so group 1 is dropped and its c become 0.0,
    // above expert 1's -0.0526: the top-2 are expert 0 and expert 2 (equal to expert 3 at 0.0,
    // the lower id wins), weighted by their unbiased scores.
    float[] router = {5, -3, 0, 0.2f};
    try (Checkpoint c =
        deepseek(router, new float[] {0, -0.1f, -0.05f, -0.1f}, 4).open(dir, DEEPSEEK_FOUR)) {
      Float64Output out = Float64MoeBlock.load(c, 0).forward(new float[] {1}, 1);
      Float64Routing r = out.routing();
      assertThat(r.ids()).containsExactly(0, 2);
      double s0 = sigmoid(5);
      double s2 = sigmoid(0);
      double w0 = s0 / (s0 + s2 + 1e-20) * 2.5;
      double w2 = s2 / (s0 + s2 + 1e-20) * 2.5;
      assertThat(r.weights()).containsExactly(new double[] {w0, w2}, within(EXACT));
      double routed = silu(1) * (w0 * 1 + w2 * 3);
      double shared = silu(1) * 10;
      assertThat(out.hiddenStates()).containsExactly(new double[] {routed + shared}, within(EXACT));
      // experts 2 and 3 tie at 0.0 after the mask: the gap says so
      assertThat(r.smallestGap()).isZero();
    }
  }

  @Test
  void deepseekScoresAGroupByItsTwoBestExpertsNotItsBestOne() throws IOException {
    // 8 experts, 4 groups of 2, keep 2, top-3, no bias. Group 0 holds the single best expert
    // (0.95 with 0.05), group 1 two good ones (0.6, 0.6), group 2 (0.55, 0.5), group 3 (0.1, 0.1):
    // sums 1.0, 1.2, 1.05, 0.2 keep groups 1 and 2, so expert 0 is not chosen.
    float[] probabilities = {0.95f, 0.05f, 0.6f, 0.6001f, 0.55f, 0.5f, 0.1f, 0.1f};
    float[] logits = new float[8];
    for (int e = 0; e < 8; e++) {
      logits[e] = (float) Math.log(probabilities[e] / (1 - probabilities[e]));
    }
    String fields =
        "\"n_routed_experts\": 8, \"num_experts_per_tok\": 3, \"moe_intermediate_size\": 1,"
            + " \"n_shared_experts\": 1, \"n_group\": 4, \"topk_group\": 2,"
            + " \"norm_topk_prob\": false, \"routed_scaling_factor\": 1.5,"
            + " \"first_k_dense_replace\": 0";
    try (Checkpoint c = deepseek(logits, new float[8], 8).open(dir, fields)) {
      Float64Routing r = Float64MoeBlock.load(c, 0).route(new float[] {1}, 1);
      assertThat(r.ids()).containsExactly(3, 2, 4);
      for (int k = 0; k < 3; k++) {
        double s = sigmoid(logits[r.id(0, k)]);
        assertThat(r.weight(0, k)).isCloseTo(s * 1.5, within(EXACT));
      }
    }
  }

  @Test
  void itLoadsOnlyMoeLayersAndRefusesADenseOneNamingIt() throws IOException {
    CheckpointGenerator.builder(ModelFamily.DEEPSEEK_V3).decoderLayers(3).build().write(dir);
    try (Checkpoint c = Checkpoint.open(dir)) {
      assertThatThrownBy(() -> Float64MoeBlock.load(c, 0))
          .isInstanceOf(CheckpointException.class)
          .hasMessageContaining("layer 0 is a dense layer");
      assertThatThrownBy(() -> Float64MoeBlock.load(c, 3))
          .isInstanceOf(CheckpointException.class)
          .hasMessageContaining("out of range");
      assertThat(Float64MoeBlock.load(c, 2).layer()).isEqualTo(2);
    }
  }

  @Test
  void anEmptyBatchHasAnEmptyOutput() throws IOException {
    CheckpointGenerator.builder(ModelFamily.QWEN2_MOE).build().write(dir);
    try (Checkpoint c = Checkpoint.open(dir)) {
      Float64Output out = Float64MoeBlock.load(c, 1).forward(new float[0], 0);
      assertThat(out.tokens()).isZero();
      assertThat(out.rms()).isZero();
      assertThat(out.routing().smallestGap()).isInfinite();
    }
  }
}
