package io.moeflux.eplb.heat;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.RankExtensions;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Heat from a running group equals what the router picked: per window, layer and physical slot, the
 * snapshot counts exactly the (token, pick) pairs the single-process reference sends there. The
 * heat scheduler is held until every step has run, so the pipeline reuses its count arrays many
 * times before the heat stream reads anything: only counts the stream owns survive.
 */
class HeatFromPipelineTest {
  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  @Test
  void heatCountsAreTheRoutersPicksPerPhysicalSlot() throws Exception {
    int ranks = 3;
    int interval = 4;
    int windows = 3;
    int steps = interval * windows;
    ModelConfig model =
        ModelConfig.builder().experts(6).topK(2).layers(3).gateSkew(1.5).seed(12).build();
    PipelineConfig config = PipelineConfig.builder(model, 7).redundantSlots(3).build();
    Placement placement = config.initialPlacement(ranks);
    int slotsPerRank = placement.slotsPerRank();
    HeatStreamTest.HeldExecutor held = new HeatStreamTest.HeldExecutor();
    Scheduler heatScheduler = Schedulers.fromExecutor(held);
    HeatStreams heats = new HeatStreams(interval, heatScheduler, new SimpleMeterRegistry());
    MoeGroup group =
        MoeGroup.start(
                ranks,
                TransportKind.LOCAL,
                config,
                RankExtensions.builder().heatTap(heats::start).build())
            .block(Duration.ofSeconds(30));
    try {
      SyntheticWorkload workload = SyntheticWorkload.random(8, model.hidden(), 7, 0.1);
      List<Flux<TokenBatch>> inputs = new ArrayList<>();
      for (int r = 0; r < ranks; r++) {
        inputs.add(workload.batches(r, 0, steps));
      }
      group.forward(inputs).blockLast(Duration.ofSeconds(30));
      assertThat(heats.all()).allSatisfy(heat -> assertThat(heat.tokensCounted()).isZero());

      List<CompletableFuture<List<HeatSnapshot>>> seen = new ArrayList<>();
      for (HeatStream heat : heats.all()) {
        seen.add(heat.snapshots().take(windows).collectList().toFuture());
      }
      held.runAll();
      long[][][][] expected =
          expectedCounts(group, model, placement, workload, ranks, steps, interval);
      for (int r = 0; r < ranks; r++) {
        List<HeatSnapshot> snapshots = seen.get(r).get(20, TimeUnit.SECONDS);
        assertThat(snapshots).hasSize(windows);
        for (int w = 0; w < windows; w++) {
          HeatSnapshot snapshot = snapshots.get(w);
          assertThat(snapshot.fromStep()).isEqualTo((long) w * interval);
          for (int l = 0; l < model.layers(); l++) {
            for (int rank = 0; rank < ranks; rank++) {
              for (int s = 0; s < slotsPerRank; s++) {
                assertThat(snapshot.count(l, rank, s))
                    .as("rank %d's view of window %d, layer %d, rank %d slot %d", r, w, l, rank, s)
                    .isEqualTo(expected[w][l][rank][s]);
              }
            }
          }
        }
      }
      group.close().block(Duration.ofSeconds(20));
    } finally {
      heats.dispose();
      group.dispose();
    }
  }

  /** {@code [window][layer][rank][localSlot]}: picks the reference routes to each slot. */
  private static long[][][][] expectedCounts(
      MoeGroup group,
      ModelConfig model,
      Placement placement,
      SyntheticWorkload workload,
      int ranks,
      int steps,
      int interval) {
    int slotsPerRank = placement.slotsPerRank();
    long[][][][] counts = new long[steps / interval][model.layers()][ranks][slotsPerRank];
    ReferenceModel reference = new ReferenceModel(model, group.bank(), placement);
    for (int r = 0; r < ranks; r++) {
      int source = r;
      for (int step = 0; step < steps; step++) {
        long at = step;
        long[][][] window = counts[step / interval];
        reference.forward(
            r,
            workload.batch(r, step),
            (layer, tokens, ids, weights) -> {
              for (int t = 0; t < tokens; t++) {
                for (int k = 0; k < model.topK(); k++) {
                  int slot = placement.slotFor(layer, ids[t * model.topK() + k], at, source, t);
                  window[layer][slot / slotsPerRank][slot % slotsPerRank]++;
                }
              }
            });
      }
    }
    return counts;
  }
}
