package io.moeflux.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.sync.SyncOptions;
import io.moeflux.pipeline.toggle.StepToggle;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

/**
 * The run-time toggles every rank applies at the same step: the DP metadata skip and the heat tap.
 */
class RunTimeTogglesTest {
  private final ModelConfig model = ModelConfig.builder().experts(6).build();

  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  @Test
  void ranksThatMaySkipSyncWhereTheToggleIsOffAndStayEqualToTheReference() {
    PipelineConfig config =
        PipelineConfig.builder(model, 5)
            .sync(SyncOptions.builder().skipSteps(StepToggle.abba(2)).build())
            .build();
    MoeGroup group = MoeGroup.start(3, TransportKind.LOCAL, config).block(Duration.ofSeconds(30));
    try {
      CommModeReferenceTest.runAgainstReference(
          group, model, SyntheticWorkload.random(3, model.hidden(), 5, 0.1), 13);
      // blocks of 2: sync 0-1, skip 2-5, sync 6-9, skip 10-12
      for (MoeRank rank : group.ranks()) {
        assertThat(rank.status().syncedSteps()).isEqualTo(6);
        assertThat(rank.status().skippedSteps()).isEqualTo(7);
      }
      group.close().block(Duration.ofSeconds(20));
    } finally {
      group.dispose();
    }
  }

  @Test
  void ranksThatMayNotSkipSyncAtEveryStepWhateverTheToggle() {
    PipelineConfig config =
        PipelineConfig.builder(model, 5)
            .sync(SyncOptions.mixed().toBuilder().skipSteps(StepToggle.abba(1)).build())
            .build();
    MoeGroup group = MoeGroup.start(2, TransportKind.LOCAL, config).block(Duration.ofSeconds(30));
    try {
      CommModeReferenceTest.runAgainstReference(
          group, model, SyntheticWorkload.random(4, model.hidden(), 5, 0), 8);
      for (MoeRank rank : group.ranks()) {
        assertThat(rank.status().syncedSteps()).isEqualTo(8);
        assertThat(rank.status().skippedSteps()).isZero();
      }
      group.close().block(Duration.ofSeconds(20));
    } finally {
      group.dispose();
    }
  }

  /** Heat goes to the tap only at the steps the toggle has on; every step still ends there. */
  @Test
  void theHeatTapHearsDispatchOnlyAtTheStepsTheToggleHasOn() {
    PipelineConfig config = PipelineConfig.builder(model, 5).heatSteps(StepToggle.abba(2)).build();
    Map<Integer, List<Long>> dispatched = new ConcurrentHashMap<>();
    Map<Integer, List<Long>> ended = new ConcurrentHashMap<>();
    RankExtensions recording =
        RankExtensions.builder()
            .heatTap(
                rank -> {
                  List<Long> mine = new CopyOnWriteArrayList<>();
                  List<Long> ends = new CopyOnWriteArrayList<>();
                  dispatched.put(rank.rank(), mine);
                  ended.put(rank.rank(), ends);
                  return new HeatTap() {
                    @Override
                    public void onDispatch(long step, int layer, boolean prefill, int[] counts) {
                      mine.add(step);
                    }

                    @Override
                    public void onStepEnd(long step) {
                      ends.add(step);
                    }
                  };
                })
            .build();
    MoeGroup group =
        MoeGroup.start(2, TransportKind.LOCAL, config, recording).block(Duration.ofSeconds(30));
    try {
      CommModeReferenceTest.runAgainstReference(
          group, model, SyntheticWorkload.random(5, model.hidden(), 5, 0), 10);
      for (int r = 0; r < 2; r++) {
        // one call per layer at the steps in blocks 1 and 2 of 2 steps: 2..5
        assertThat(dispatched.get(r)).containsExactly(2L, 2L, 3L, 3L, 4L, 4L, 5L, 5L);
        assertThat(ended.get(r)).containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
      }
      group.close().block(Duration.ofSeconds(20));
    } finally {
      group.dispose();
    }
  }

  @Test
  void ranksWithDifferentTogglesRefuseEachOtherAtHandshake() {
    PipelineConfig plain = PipelineConfig.of(model, 5);
    PipelineConfig heatToggled = plain.toBuilder().heatSteps(StepToggle.abba(4)).build();
    PipelineConfig skipToggled =
        plain.toBuilder().sync(SyncOptions.builder().skipSteps(StepToggle.abba(4)).build()).build();
    StepVerifier.create(
            MoeGroup.start(
                2,
                TransportKind.LOCAL,
                rank -> rank == 0 ? plain : heatToggled,
                RankExtensions.none()))
        .expectErrorSatisfies(error -> assertThat(error).hasMessageContaining("heat-steps"))
        .verify(Duration.ofSeconds(30));
    StepVerifier.create(
            MoeGroup.start(
                2,
                TransportKind.LOCAL,
                rank -> rank == 0 ? plain : skipToggled,
                RankExtensions.none()))
        .expectErrorSatisfies(error -> assertThat(error).hasMessageContaining("skip-steps"))
        .verify(Duration.ofSeconds(30));
  }
}
