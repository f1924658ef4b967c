package io.moeflux.pipeline.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class HfModelConfigTest {

  private static HfModelConfig parse(String json) {
    return HfModelConfig.parse(json.getBytes(StandardCharsets.UTF_8), "config.json");
  }

  @Test
  void mixtralHasEveryLayerMoeAndRenormalises() {
    HfModelConfig c =
        parse(
            "{\"model_type\":\"mixtral\",\"hidden_size\":4096,\"num_hidden_layers\":32,"
                + "\"num_local_experts\":8,\"num_experts_per_tok\":2,\"intermediate_size\":14336}");
    assertThat(c.family()).isEqualTo(ModelFamily.MIXTRAL);
    assertThat(c.moeLayers()).hasSize(32).startsWith(0, 1).endsWith(31);
    assertThat(c.normTopkProb()).isTrue();
    assertThat(c.hasSharedExpert()).isFalse();
    assertThat(c.expertIntermediate()).isEqualTo(14336);
  }

  @Test
  void qwenLayersFollowTheSparseStepAndTheMlpOnlyList() {
    HfModelConfig c =
        parse(
            "{\"model_type\":\"qwen2_moe\",\"hidden_size\":16,\"num_hidden_layers\":8,"
                + "\"num_experts\":4,\"num_experts_per_tok\":2,\"moe_intermediate_size\":8,"
                + "\"shared_expert_intermediate_size\":12,\"decoder_sparse_step\":2,"
                + "\"mlp_only_layers\":[3]}");
    // (l + 1) % 2 == 0 -> 1, 3, 5, 7; minus 3
    assertThat(c.moeLayers()).containsExactly(1, 5, 7);
    assertThat(c.normTopkProb()).isFalse();
    assertThat(c.sharedIntermediate()).isEqualTo(12);
    assertThat(c.moeIndex(5)).isEqualTo(1);
    assertThatThrownBy(() -> c.moeIndex(3))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("layer 3 is a dense layer")
        .hasMessageContaining("1, 5, 7");
    assertThatThrownBy(() -> c.moeIndex(8))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("layer 8 is out of range");
  }

  @Test
  void qwen3HasNoSharedExpert() {
    HfModelConfig c =
        parse(
            "{\"model_type\":\"qwen3_moe\",\"hidden_size\":2048,\"num_hidden_layers\":48,"
                + "\"num_experts\":128,\"num_experts_per_tok\":8,\"moe_intermediate_size\":768,"
                + "\"norm_topk_prob\":true,\"shared_expert_intermediate_size\":5632}");
    assertThat(c.hasSharedExpert()).isFalse();
    assertThat(c.normTopkProb()).isTrue();
    assertThat(c.moeLayers()).hasSize(48);
  }

  @Test
  void deepseekLayersStartAfterTheDenseOnesAtTheirFrequency() {
    HfModelConfig c =
        parse(
            "{\"model_type\":\"deepseek_v3\",\"hidden_size\":7168,\"num_hidden_layers\":61,"
                + "\"n_routed_experts\":256,\"num_experts_per_tok\":8,"
                + "\"moe_intermediate_size\":2048,\"n_shared_experts\":1,\"n_group\":8,"
                + "\"topk_group\":4,\"routed_scaling_factor\":2.5,\"first_k_dense_replace\":3,"
                + "\"moe_layer_freq\":1,\"norm_topk_prob\":true,\"scoring_func\":\"sigmoid\","
                + "\"topk_method\":\"noaux_tc\",\"quantization_config\":{\"quant_method\":\"fp8\","
                + "\"weight_block_size\":[128,128]}}");
    assertThat(c.moeLayers()).hasSize(58).startsWith(3, 4).endsWith(60);
    assertThat(c.sharedIntermediate()).isEqualTo(2048);
    assertThat(c.groups()).isEqualTo(8);
    assertThat(c.topkGroups()).isEqualTo(4);
    assertThat(c.routedScalingFactor()).isEqualTo(2.5);
    assertThat(c.fp8Block()).containsExactly(128, 128);
    assertThatThrownBy(() -> c.moeIndex(2)).hasMessageContaining("dense");

    HfModelConfig every2 =
        parse(
            "{\"model_type\":\"deepseek_v3\",\"hidden_size\":16,\"num_hidden_layers\":8,"
                + "\"n_routed_experts\":8,\"num_experts_per_tok\":2,\"moe_intermediate_size\":8,"
                + "\"n_group\":2,\"topk_group\":1,\"first_k_dense_replace\":3,"
                + "\"moe_layer_freq\":2}");
    assertThat(every2.moeLayers()).containsExactly(4, 6);
  }

  @Test
  void refusalsNameTheField() {
    assertThatThrownBy(() -> parse("{\"model_type\":\"llama\"}"))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("model_type 'llama' is not supported")
        .hasMessageContaining("mixtral, qwen2_moe, qwen3_moe, deepseek_v3");
    assertThatThrownBy(() -> parse("{\"hidden_size\":4}")).hasMessageContaining("model_type");
    assertThatThrownBy(
            () ->
                parse(
                    "{\"model_type\":\"mixtral\",\"hidden_size\":4,\"num_hidden_layers\":1,"
                        + "\"num_experts_per_tok\":2,\"intermediate_size\":8}"))
        .hasMessageContaining("missing field num_local_experts");
    assertThatThrownBy(
            () ->
                parse(
                    "{\"model_type\":\"mixtral\",\"hidden_size\":4,\"num_hidden_layers\":1,"
                        + "\"num_local_experts\":2,\"num_experts_per_tok\":3,"
                        + "\"intermediate_size\":8}"))
        .hasMessageContaining("num_experts_per_tok (3) exceeds");
    assertThatThrownBy(
            () ->
                parse(
                    "{\"model_type\":\"mixtral\",\"hidden_size\":4,\"num_hidden_layers\":1,"
                        + "\"num_local_experts\":2,\"num_experts_per_tok\":1,"
                        + "\"intermediate_size\":8,\"hidden_act\":\"gelu\"}"))
        .hasMessageContaining("hidden_act is 'gelu'");
    assertThatThrownBy(
            () ->
                parse(
                    "{\"model_type\":\"deepseek_v3\",\"hidden_size\":4,\"num_hidden_layers\":1,"
                        + "\"n_routed_experts\":6,\"num_experts_per_tok\":1,"
                        + "\"moe_intermediate_size\":8,\"n_group\":4,\"topk_group\":1}"))
        .hasMessageContaining("n_group (4) does not divide the 6 experts");
    assertThatThrownBy(() -> parse("[]")).hasMessageContaining("not a JSON object");
    assertThatThrownBy(() -> parse("{")).hasMessageContaining("not JSON");
  }
}
