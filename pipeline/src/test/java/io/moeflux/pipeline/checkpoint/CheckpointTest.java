package io.moeflux.pipeline.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CheckpointTest {
  @TempDir Path dir;

  private Path generate(String name, CheckpointGenerator.Builder builder) throws IOException {
    Path target = dir.resolve(name);
    builder.build().write(target);
    return target;
  }

  @ParameterizedTest
  @EnumSource(ModelFamily.class)
  void aShardedCheckpointReadsLikeOneFile(ModelFamily family) throws IOException {
    Path single = generate("single", CheckpointGenerator.builder(family).decoderLayers(3));
    Path sharded =
        generate("sharded", CheckpointGenerator.builder(family).decoderLayers(3).shards(3));
    assertThat(Files.exists(sharded.resolve(Checkpoint.INDEX))).isTrue();
    assertThat(Files.exists(sharded.resolve("model-00003-of-00003.safetensors"))).isTrue();
    try (Checkpoint one = Checkpoint.open(single);
        Checkpoint three = Checkpoint.open(sharded)) {
      assertThat(one.family()).isEqualTo(family);
      assertThat(three.tensors().keySet()).isEqualTo(one.tensors().keySet());
      for (int layer : one.moeLayers()) {
        for (int e = 0; e < one.config().experts(); e++) {
          ExpertTensors a = one.expert(layer, e);
          assertThat(a.gate().dtype()).isEqualTo(TensorDtype.BF16);
          assertThat(a.gate().rows()).isEqualTo(32);
          assertThat(a.gate().cols()).isEqualTo(64);
          assertThat(a.down().rows()).isEqualTo(64);
          assertThat(a.sameBits(three.expert(layer, e))).isTrue();
        }
        assertThat(three.routerWeight(layer)).containsExactly(one.routerWeight(layer));
        assertThat(one.routerWeight(layer)).hasSize(8 * 64);
        ExpertTensors shared = one.sharedExpert(layer);
        boolean hasShared = family == ModelFamily.QWEN2_MOE || family == ModelFamily.DEEPSEEK_V3;
        assertThat(shared != null).isEqualTo(hasShared);
        if (shared != null) {
          assertThat(shared.sameBits(three.sharedExpert(layer))).isTrue();
        }
        assertThat(one.sharedExpertGate(layer) != null).isEqualTo(family == ModelFamily.QWEN2_MOE);
        assertThat(one.correctionBias(layer) != null).isEqualTo(family == ModelFamily.DEEPSEEK_V3);
      }
    }
  }

  @Test
  void f32WeightsStayF32AndTheDigestFollowsTheContent() throws IOException {
    Path a =
        generate("a", CheckpointGenerator.builder(ModelFamily.QWEN3_MOE).dtype(TensorDtype.F32));
    Path b =
        generate("b", CheckpointGenerator.builder(ModelFamily.QWEN3_MOE).dtype(TensorDtype.F32));
    Path other =
        generate(
            "c", CheckpointGenerator.builder(ModelFamily.QWEN3_MOE).dtype(TensorDtype.F32).topK(3));
    try (Checkpoint ca = Checkpoint.open(a);
        Checkpoint cb = Checkpoint.open(b);
        Checkpoint cc = Checkpoint.open(other)) {
      assertThat(ca.expert(0, 0).gate().dtype()).isEqualTo(TensorDtype.F32);
      assertThat(ca.expert(0, 0).bytes()).isEqualTo(3L * 64 * 32 * 4);
      assertThat(ca.digest()).hasSize(64).isEqualTo(cb.digest()).isNotEqualTo(cc.digest());
    }
  }

  @Test
  void deepseekFp8WeightsAreDequantizedToBf16WithTheirBlockScales() throws IOException {
    Path fp8 =
        generate(
            "fp8",
            CheckpointGenerator.builder(ModelFamily.DEEPSEEK_V3)
                .hidden(160)
                .intermediate(136)
                .dtype(TensorDtype.F8_E4M3));
    try (Checkpoint c = Checkpoint.open(fp8);
        SafetensorsFile file = SafetensorsFile.open(fp8.resolve(Checkpoint.SINGLE_FILE))) {
      String name = ModelFamily.DEEPSEEK_V3.expertWeight(1, 3, Projection.UP);
      assertThat(c.tensor(name).dtype()).isEqualTo("F8_E4M3");
      byte[] codes = file.readE4m3(name);
      float[] scales = file.readFloats(name + "_scale_inv");
      assertThat(c.tensor(name + "_scale_inv").shape()).containsExactly(2, 2);
      StoredTensor w = c.expert(1, 3).up();
      assertThat(w.dtype()).isEqualTo(TensorDtype.BF16);
      for (int i = 0; i < 136; i++) {
        for (int j = 0; j < 160; j++) {
          float expected =
              NarrowFloats.e4m3ToFloat(codes[i * 160 + j]) * scales[(i / 128) * 2 + j / 128];
          assertThat(w.halves()[i * 160 + j]).isEqualTo(NarrowFloats.floatToBf16(expected));
        }
      }
      // routers stay bf16, the correction bias f32
      assertThat(c.tensor(ModelFamily.DEEPSEEK_V3.routerWeight(1)).dtype()).isEqualTo("BF16");
      assertThat(c.tensor(ModelFamily.DEEPSEEK_V3.correctionBias(1)).dtype()).isEqualTo("F32");
    }
  }

  @Test
  void aDenseLayerIsRefusedNamingIt() throws IOException {
    Path path =
        generate("dense", CheckpointGenerator.builder(ModelFamily.DEEPSEEK_V3).decoderLayers(3));
    try (Checkpoint c = Checkpoint.open(path)) {
      assertThat(c.moeLayers()).containsExactly(1, 2);
      assertThatThrownBy(() -> c.expert(0, 0))
          .isInstanceOf(CheckpointException.class)
          .hasMessageContaining("layer 0 is a dense layer");
    }
  }

  @Test
  void brokenDirectoriesAreRefusedNamingTheFile() throws IOException {
    assertThatThrownBy(() -> Checkpoint.open(dir.resolve("none")))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("not a model directory");

    Path noWeights = dir.resolve("noweights");
    Files.createDirectories(noWeights);
    Files.write(
        noWeights.resolve(Checkpoint.CONFIG),
        CheckpointGenerator.builder(ModelFamily.MIXTRAL).build().configJson());
    assertThatThrownBy(() -> Checkpoint.open(noWeights))
        .hasMessageContaining("neither model.safetensors nor model.safetensors.index.json");

    Path sharded = generate("sharded", CheckpointGenerator.builder(ModelFamily.MIXTRAL).shards(2));
    Files.delete(sharded.resolve("model-00002-of-00002.safetensors"));
    assertThatThrownBy(() -> Checkpoint.open(sharded))
        .hasMessageContaining("model-00002-of-00002.safetensors: no such file");

    Path escaping =
        generate("escaping", CheckpointGenerator.builder(ModelFamily.MIXTRAL).shards(2));
    String index = Files.readString(escaping.resolve(Checkpoint.INDEX));
    Files.writeString(
        escaping.resolve(Checkpoint.INDEX),
        index.replace("model-00001-of-00002.safetensors", "../a/model.safetensors"));
    assertThatThrownBy(() -> Checkpoint.open(escaping))
        .hasMessageContaining("'../a/model.safetensors'")
        .hasMessageContaining("is not a file of");

    Path unsupported = generate("llama", CheckpointGenerator.builder(ModelFamily.MIXTRAL));
    String config = Files.readString(unsupported.resolve(Checkpoint.CONFIG));
    Files.writeString(
        unsupported.resolve(Checkpoint.CONFIG),
        config.replace("\"mixtral\"", "\"llama\""),
        StandardCharsets.UTF_8);
    assertThatThrownBy(() -> Checkpoint.open(unsupported))
        .hasMessageContaining("model_type 'llama' is not supported");
  }

  @Test
  void aTensorOfTheWrongShapeIsRefusedWithBothShapes() throws IOException {
    Path path = generate("shape", CheckpointGenerator.builder(ModelFamily.QWEN3_MOE));
    String config = Files.readString(path.resolve(Checkpoint.CONFIG));
    Files.writeString(
        path.resolve(Checkpoint.CONFIG),
        config.replace("\"moe_intermediate_size\" : 32", "\"moe_intermediate_size\" : 16"));
    try (Checkpoint c = Checkpoint.open(path)) {
      assertThatThrownBy(() -> c.expert(0, 1))
          .isInstanceOf(CheckpointException.class)
          .hasMessageContaining("model.layers.0.mlp.experts.1.gate_proj.weight")
          .hasMessageContaining("[32, 64], expected [16, 64]");
    }
  }

  @Test
  void theIndexMustAgreeWithTheShardHeaders() throws IOException {
    Path path = generate("lying", CheckpointGenerator.builder(ModelFamily.QWEN3_MOE).shards(2));
    String index = Files.readString(path.resolve(Checkpoint.INDEX));
    String name = "model.layers.0.mlp.gate.weight";
    Map<String, TensorInfo> before;
    try (Checkpoint c = Checkpoint.open(path)) {
      before = c.tensors();
    }
    assertThat(before).containsKey(name);
    String moved =
        index.replace(
            "\"" + name + "\" : \"model-00001-of-00002.safetensors\"",
            "\"" + name + "\" : \"model-00002-of-00002.safetensors\"");
    assertThat(moved).isNotEqualTo(index);
    Files.writeString(path.resolve(Checkpoint.INDEX), moved);
    assertThatThrownBy(() -> Checkpoint.open(path)).hasMessageContaining("whose header lacks it");
  }
}
