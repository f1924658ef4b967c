package io.moeflux.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.placement.PlacementSource;
import io.moeflux.pipeline.sync.CommMode;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/** Extensions are made once per rank at start, from a view of that rank; status reports it. */
class RankExtensionsTest {
  private final ModelConfig model = ModelConfig.builder().experts(4).build();
  private final PipelineConfig config = PipelineConfig.builder(model, 4).redundantSlots(2).build();

  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  @Test
  void eachRankMakesItsHeatTapThenItsPlacementSourceFromItsOwnContext() {
    List<String> calls = new CopyOnWriteArrayList<>();
    Map<Integer, RankContext> contexts = new ConcurrentHashMap<>();
    RankExtensions extensions =
        RankExtensions.builder()
            .heatTap(
                rank -> {
                  calls.add("tap " + rank.rank());
                  contexts.put(rank.rank(), rank);
                  return HeatTap.NONE;
                })
            .placementSource(
                rank -> {
                  calls.add("source " + rank.rank());
                  return PlacementSource.NONE;
                })
            .build();
    MoeGroup group =
        MoeGroup.start(2, TransportKind.LOCAL, config, extensions).block(Duration.ofSeconds(30));
    try {
      assertThat(calls).containsExactlyInAnyOrder("tap 0", "source 0", "tap 1", "source 1");
      for (int r = 0; r < 2; r++) {
        assertThat(calls.indexOf("tap " + r)).isLessThan(calls.indexOf("source " + r));
        RankContext context = contexts.get(r);
        assertThat(context.rank()).isEqualTo(r);
        assertThat(context.worldSize()).isEqualTo(2);
        assertThat(context.mesh().rank()).isEqualTo(r);
        assertThat(context.config()).isEqualTo(config);
        Placement placement = context.placement();
        assertThat(placement.samePlacementAs(config.initialPlacement(2))).isTrue();
        int slots = placement.slotsPerRank();
        for (int l = 0; l < model.layers(); l++) {
          for (int i = 0; i < slots; i++) {
            assertThat(context.localExpert(l, i))
                .isSameAs(group.bank().expert(l, placement.logicalOf(l, r * slots + i)));
          }
        }
      }
    } finally {
      group.close().block(Duration.ofSeconds(20));
    }
  }

  @Test
  void statusReportsWhatTheRankDid() {
    MoeGroup group = MoeGroup.start(2, TransportKind.LOCAL, config).block(Duration.ofSeconds(30));
    try {
      RankStatus before = group.rank(1).status();
      assertThat(before.hiddenBytesSent()).isZero();
      assertThat(before.skippedSteps()).isZero();
      group
          .forward(
              List.of(
                  Flux.just(
                      MoeGroupReferenceTest.batch(0, 3, model),
                      MoeGroupReferenceTest.batch(1, 4, model)),
                  Flux.just(
                      MoeGroupReferenceTest.batch(0, 2, model),
                      MoeGroupReferenceTest.batch(1, 1, model))))
          .blockLast(Duration.ofSeconds(20));
      RankStatus status = group.rank(1).status();
      assertThat(status.rank()).isEqualTo(1);
      assertThat(status.worldSize()).isEqualTo(2);
      assertThat(status.syncDecision().skip()).isTrue();
      assertThat(status.commMode()).isEqualTo(CommMode.VARIABLE);
      assertThat(status.skippedSteps()).isEqualTo(2);
      assertThat(status.syncedSteps()).isZero();
      assertThat(status.paddedSteps()).isZero();
      assertThat(status.hiddenBytesSent()).isPositive();
      assertThat(status.placementVersion()).isZero();
      assertThat(status.placement().samePlacementAs(config.initialPlacement(2))).isTrue();
      assertThat(status.model()).isSameAs(group.model());
    } finally {
      group.close().block(Duration.ofSeconds(20));
    }
  }

  @Test
  void aFactoryThatFailsFailsTheStart() {
    RankExtensions broken =
        RankExtensions.builder()
            .placementSource(
                rank -> {
                  throw new IllegalStateException("no placement source for rank " + rank.rank());
                })
            .build();
    StepVerifier.create(MoeGroup.start(1, TransportKind.LOCAL, PipelineConfig.of(model, 4), broken))
        .expectErrorMessage("no placement source for rank 0")
        .verify(Duration.ofSeconds(30));
  }
}
