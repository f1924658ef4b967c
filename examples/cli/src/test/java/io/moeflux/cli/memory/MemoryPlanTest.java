package io.moeflux.cli.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.checkpoint.Checkpoint;
import io.moeflux.pipeline.checkpoint.CheckpointGenerator;
import io.moeflux.pipeline.checkpoint.HfModelConfig;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import io.moeflux.pipeline.family.CheckpointModel;
import io.moeflux.pipeline.model.MemoryReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class MemoryPlanTest {
  @TempDir Path dir;

  static Stream<Arguments> checkpoints() {
    List<Arguments> cases = new ArrayList<>();
    for (ModelFamily family : ModelFamily.values()) {
      cases.add(Arguments.of(family, TensorDtype.BF16));
      cases.add(Arguments.of(family, TensorDtype.F32));
    }
    cases.add(Arguments.of(ModelFamily.DEEPSEEK_V3, TensorDtype.F8_E4M3));
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("checkpoints")
  void theConfigAloneGivesWhatALoadedCheckpointReports(ModelFamily family, TensorDtype dtype)
      throws IOException {
    CheckpointGenerator.builder(family).decoderLayers(3).dtype(dtype).build().write(dir);
    try (CheckpointModel model = CheckpointModel.open(dir)) {
      HfModelConfig config = model.checkpoint().config();
      for (int ranks = 1; ranks <= 5; ranks++) {
        for (int redundant : new int[] {0, 1, 3}) {
          if (ranks == 1 && redundant > 0) {
            // one rank cannot hold a replica of an expert it already holds: both refuse
            int extra = redundant;
            assertThatThrownBy(() -> MemoryPlan.of(config, dtype, 1, extra))
                .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(
                    () ->
                        PipelineConfig.builder(model, 1)
                            .redundantSlots(extra)
                            .build()
                            .initialPlacement(1))
                .isInstanceOf(IllegalArgumentException.class);
            continue;
          }
          MemoryPlan plan = MemoryPlan.of(config, dtype, ranks, redundant);
          MemoryReport report =
              MemoryReport.of(
                  model,
                  PipelineConfig.builder(model, 1)
                      .redundantSlots(redundant)
                      .build()
                      .initialPlacement(ranks),
                  0);
          assertThat(plan.routedBytes()).isEqualTo(report.routedBytes());
          assertThat(plan.routerBytes()).isEqualTo(report.routerBytes());
          assertThat(plan.sharedBytes()).isEqualTo(report.sharedBytes());
          assertThat((long) plan.slotsPerLayer() * plan.layers()).isEqualTo(report.routedSlots());
        }
      }
    }
  }

  /** The README's table: Qwen3-30B-A3B (48 layers, 128 experts of 2048 × 768, bf16). */
  @Test
  void qwen3ThirtyBillionOnTwoFourAndEightRanks() throws IOException {
    Path config = Path.of("../configs/qwen3-30b-a3b/config.json");
    HfModelConfig qwen = HfModelConfig.parse(Files.readAllBytes(config), config.toString());
    long expert = 3L * 2048 * 768 * 2;
    long routers = 48L * 128 * 2048 * 4;
    int[] ranks = {2, 4, 8};
    int[] slots = {64, 32, 16};
    for (int i = 0; i < ranks.length; i++) {
      MemoryPlan plan = MemoryPlan.of(qwen, TensorDtype.BF16, ranks[i], 0);
      assertThat(plan.slotsPerLayer()).isEqualTo(slots[i]);
      assertThat(plan.routedBytes()).isEqualTo(48L * slots[i] * expert);
      assertThat(plan.routerBytes()).isEqualTo(routers);
      assertThat(plan.sharedBytes()).isZero();
    }
    // 27 GiB of routed experts per rank on 2 ranks, 6.75 GiB on 8
    assertThat(MemoryPlan.of(qwen, TensorDtype.BF16, 2, 0).routedBytes()).isEqualTo(27L << 30);
    assertThat(MemoryPlan.of(qwen, TensorDtype.BF16, 8, 0).routedBytes())
        .isEqualTo((27L << 30) / 4);
    // 3 ranks: 128 experts take 129 slots, 43 per rank, one of them a replica
    assertThat(MemoryPlan.of(qwen, TensorDtype.BF16, 3, 0).slotsPerLayer()).isEqualTo(43);
  }

  @Test
  void aModelDirectoryWorksAsWellAsItsConfig() {
    assertThat(Files.exists(Path.of("../configs/qwen3-30b-a3b", Checkpoint.CONFIG))).isTrue();
  }
}
