package io.moeflux.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.pipeline.checkpoint.CheckpointGenerator;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import io.moeflux.pipeline.family.CheckpointModel;
import io.moeflux.pipeline.model.MemoryReport;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshConfigs;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** A checkpoint model's rules at the rank: the step's layer, the handshake, the memory report. */
class CheckpointRankTest {
  @TempDir Path dir;

  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  private CheckpointModel model(String name, CheckpointGenerator.Builder builder)
      throws IOException {
    Path path = dir.resolve(name);
    builder.build().write(path);
    return CheckpointModel.open(path);
  }

  @Test
  void aBatchNamingAnotherLayerThanItsStepsIsRefusedOnEveryRank() throws IOException {
    try (CheckpointModel model =
        model("q", CheckpointGenerator.builder(ModelFamily.QWEN3_MOE).decoderLayers(3))) {
      MoeGroup group =
          MoeGroup.start(2, TransportKind.LOCAL, PipelineConfig.of(model, 4))
              .block(Duration.ofSeconds(30));
      try {
        int hidden = model.hidden();
        Flux<TokenBatch> good =
            Flux.just(
                TokenBatch.empty(0, hidden).atLayer(0),
                TokenBatch.of(1, 1, hidden, new float[hidden]));
        // step 1 runs layer 1; this rank names layer 2
        Flux<TokenBatch> wrong =
            Flux.just(
                TokenBatch.empty(0, hidden),
                TokenBatch.of(1, 1, hidden, new float[hidden]).atLayer(2));
        List<Flux<TokenBatch>> inputs = List.of(good, wrong);
        List<Throwable> errors =
            Flux.range(0, 2)
                .flatMap(
                    r ->
                        group
                            .rank(r)
                            .forward(inputs.get(r))
                            .then(Mono.<Throwable>empty())
                            .onErrorResume(Mono::just))
                .collectList()
                .block(Duration.ofSeconds(20));
        assertThat(errors)
            .hasSize(2)
            .allSatisfy(
                error ->
                    assertThat(error)
                        .isInstanceOf(PipelineException.class)
                        .hasMessageContaining(
                            "rank 1, step 1: the batch names layer 2, but step 1 runs MoE layer 1"));
      } finally {
        group.dispose();
      }
    }
  }

  @Test
  void ranksWithDifferentCheckpointsRefuseEachOther() throws IOException {
    try (CheckpointModel a = model("a", CheckpointGenerator.builder(ModelFamily.MIXTRAL).seed(1));
        CheckpointModel b =
            model("b", CheckpointGenerator.builder(ModelFamily.MIXTRAL).seed(1).topK(3))) {
      List<MeshConfig> meshes =
          MeshConfigs.group(TransportKind.LOCAL, 2, MoeRank.fingerprint(PipelineConfig.of(a, 4)))
              .stream()
              .map(m -> m.toBuilder().connectTimeout(Duration.ofSeconds(5)).build())
              .toList();
      assertThatThrownBy(
              () ->
                  MoeGroup.start(
                          meshes, r -> PipelineConfig.of(r == 0 ? a : b, 4), RankExtensions.none())
                      .block(Duration.ofSeconds(30)))
          .hasMessageContaining("checkpoint");
    }
  }

  @Test
  void theMemoryReportCountsHeldSlotsSharedExpertsAndRouters() throws IOException {
    try (CheckpointModel model =
        model(
            "mem",
            CheckpointGenerator.builder(ModelFamily.QWEN2_MOE)
                .hidden(32)
                .intermediate(16)
                .sharedIntermediate(24)
                .decoderLayers(2)
                .dtype(TensorDtype.BF16))) {
      MoeGroup group =
          MoeGroup.start(3, TransportKind.LOCAL, PipelineConfig.of(model, 4))
              .block(Duration.ofSeconds(30));
      try {
        MemoryReport memory = group.rank(1).status().memory();
        // 8 experts on 3 ranks: 3 slots per rank and layer, bf16
        assertThat(memory.routedSlots()).isEqualTo(6);
        assertThat(memory.routedBytes()).isEqualTo(6L * 3 * 32 * 16 * 2);
        assertThat(memory.sharedBytes()).isEqualTo(2L * (3 * 32 * 24 * 2 + 32 * 4));
        assertThat(memory.routerBytes()).isEqualTo(2L * 8 * 32 * 4);
        assertThat(memory.describe()).startsWith("rank 1: 6 routed expert slots 18.0 KiB");
        group.close().block(Duration.ofSeconds(10));
      } finally {
        group.dispose();
      }
    }
  }

  @Test
  void theSyntheticModelRefusesANamedLayer() {
    ModelConfig config = ModelConfig.small();
    MoeGroup group =
        MoeGroup.start(1, TransportKind.LOCAL, PipelineConfig.of(config, 4))
            .block(Duration.ofSeconds(30));
    try {
      assertThatThrownBy(
              () ->
                  group
                      .rank(0)
                      .forward(Flux.just(TokenBatch.empty(0, config.hidden()).atLayer(1)))
                      .blockLast(Duration.ofSeconds(10)))
          .hasMessageContaining("runs every layer in every step");
    } finally {
      group.dispose();
    }
  }
}
