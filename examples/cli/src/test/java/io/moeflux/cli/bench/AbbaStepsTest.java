package io.moeflux.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.sync.SyncOptions;
import io.moeflux.pipeline.toggle.StepToggle;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import io.moeflux.transport.TransportKind;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class AbbaStepsTest {

  /** Both blocks of a pair run the same batches; the next pair runs the next ones. */
  @Test
  void bothBlocksOfAPairRunTheSameWork() {
    int block = 3;
    for (long step = 0; step < 60; step++) {
      long pair = step / (2 * block);
      long expected = pair * block + step % block;
      assertThat(AbbaSteps.sameWorkAs(step, block)).isEqualTo(expected);
    }
    assertThat(AbbaSteps.sameWorkAs(2, 3)).isEqualTo(AbbaSteps.sameWorkAs(5, 3));
    assertThat(AbbaSteps.sameWorkAs(6, 3)).isEqualTo(AbbaSteps.sameWorkAs(9, 3)).isEqualTo(3);
  }

  /** Measured pairs only; each pair's ratio is its on block's time over its off block's. */
  @Test
  void pairRatiosCompareOnWithOffAfterTheWarmup() {
    StepToggle toggle = StepToggle.abba(2);
    int warmup = 4;
    int measured = 8;
    long[] times = new long[warmup + measured];
    for (int s = 0; s < times.length; s++) {
      times[s] = s < warmup ? 1_000_000 : toggle.isOn(s) ? 102 + s % 2 : 100 + s % 2;
    }
    AbbaSteps.Result result = AbbaSteps.result(times, toggle, warmup, measured, 0);
    assertThat(result.pairRatios()).hasSize(2).containsOnly(205.0 / 201.0);
    assertThat(result.offSteps()).isEqualTo(4);
    assertThat(result.onSteps()).isEqualTo(4);
    assertThat(result.off().at(100)).isEqualTo(101);
    assertThat(result.on().at(1)).isEqualTo(102);
  }

  @Test
  void warmupAndMeasuredStepsAreWholePairsOfBlocks() {
    StepToggle toggle = StepToggle.abba(5);
    assertThat(AbbaSteps.warmupSteps(toggle, 0)).isZero();
    assertThat(AbbaSteps.warmupSteps(toggle, 11)).isEqualTo(20);
    assertThat(AbbaSteps.measuredSteps(toggle, 1000)).isEqualTo(1000);
    assertThat(AbbaSteps.measuredSteps(toggle, 1009)).isEqualTo(1000);
    assertThat(AbbaSteps.measuredSteps(toggle, 3)).isEqualTo(10);
  }

  /** A real group switching sync and skip at run time: every step ran, half of them skipping. */
  @Test
  void aGroupRunsEveryStepAndSwitchesAtTheAgreedSteps() {
    ModelConfig model = ModelConfig.small();
    StepToggle toggle = StepToggle.abba(1);
    PipelineConfig config =
        PipelineConfig.builder(model, 4)
            .sync(SyncOptions.decodeOnly().toBuilder().skipSteps(toggle).build())
            .build();
    MoeGroup group = MoeGroup.start(2, TransportKind.LOCAL, config).block(Duration.ofSeconds(30));
    try {
      SyntheticWorkload workload = SyntheticWorkload.full(3, model.hidden(), 2);
      AbbaSteps.Result result = AbbaSteps.run(group, workload, toggle, 4, 8);
      assertThat(result.pairRatios()).hasSize(4);
      for (double ratio : result.pairRatios()) {
        assertThat(ratio).isPositive();
      }
      assertThat(result.tokensInOnSteps()).isEqualTo(2L * 2 * 6);
      assertThat(group.rank(0).status().syncedSteps()).isEqualTo(6);
      assertThat(group.rank(0).status().skippedSteps()).isEqualTo(6);
      group.close().block(Duration.ofSeconds(20));
    } finally {
      group.dispose();
    }
    assertThatThrownBy(() -> AbbaSteps.run(group, null, StepToggle.abba(2), 2, 8))
        .hasMessageContaining("whole pairs of blocks of 2");
  }
}
