package io.moeflux.eplb.migration;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.RankContext;
import io.moeflux.pipeline.RankExtensions;
import io.moeflux.pipeline.checkpoint.CheckpointGenerator;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import io.moeflux.pipeline.family.CheckpointModel;
import io.moeflux.pipeline.family.StoredExpert;
import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.placement.PlacementSource;
import io.moeflux.pipeline.placement.PreparedPlacement;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;

/**
 * A checkpoint model's moved experts come from each rank's own checkpoint, in their stored
 * precision: nothing crosses the mesh, and the new holder's copy is bitwise the checkpoint's.
 */
class CheckpointMigrationTest {
  @TempDir Path dir;

  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  @Test
  void aRankLoadsTheExpertsItGainsFromItsOwnCheckpoint() throws IOException {
    Path path = dir.resolve("mixtral");
    CheckpointGenerator.builder(ModelFamily.MIXTRAL)
        .hidden(16)
        .decoderLayers(2)
        .build()
        .write(path);
    try (CheckpointModel model = CheckpointModel.open(path)) {
      Map<Integer, RankContext> contexts = new ConcurrentHashMap<>();
      RankExtensions capture =
          RankExtensions.builder()
              .placementSource(
                  rank -> {
                    contexts.put(rank.rank(), rank);
                    return PlacementSource.NONE;
                  })
              .build();
      MoeGroup group =
          MoeGroup.start(3, TransportKind.LOCAL, PipelineConfig.of(model, 4), capture)
              .block(Duration.ofSeconds(30));
      try {
        Placement from = group.rank(0).status().placement();
        int[][] moved = from.phy2log();
        for (int[] layer : moved) {
          // 9 slots: rotate by 4 so every rank gains experts it did not hold
          int[] copy = layer.clone();
          for (int s = 0; s < layer.length; s++) {
            layer[s] = copy[(s + 4) % layer.length];
          }
        }
        Placement to = Placement.of(moved, from.experts(), from.ranks(), 1);
        MigrationPlan plan = MigrationPlan.between(from, to);
        assertThat(plan.transfers()).isNotEmpty();
        List<PreparedPlacement> prepared =
            Flux.range(0, 3)
                .flatMapSequential(r -> new WeightMigration(contexts.get(r)).migrate(plan, 1))
                .collectList()
                .block(Duration.ofSeconds(30));
        assertThat(new WeightMigration(contexts.get(0)).expertFloats()).isZero();
        for (int r = 0; r < 3; r++) {
          PreparedPlacement p = prepared.get(r);
          for (int l = 0; l < to.layers(); l++) {
            for (int i = 0; i < to.slotsPerRank(); i++) {
              int logical = to.logicalOf(l, r * to.slotsPerRank() + i);
              ExpertFfn ffn = p.localExperts()[l][i];
              StoredExpert fresh = (StoredExpert) model.expert(l, logical);
              assertThat(((StoredExpert) ffn).sameWeights(fresh)).isTrue();
              if (MigrationPlan.holds(from, l, r, logical)) {
                assertThat(ffn).isSameAs(heldBy(contexts.get(r), from, l, r, logical));
              }
            }
          }
        }
        group.close().block(Duration.ofSeconds(10));
      } finally {
        group.dispose();
      }
    }
  }

  private static ExpertFfn heldBy(RankContext rank, Placement p, int layer, int r, int logical) {
    for (int i = 0; i < p.slotsPerRank(); i++) {
      if (p.logicalOf(layer, r * p.slotsPerRank() + i) == logical) {
        return rank.localExpert(layer, i);
      }
    }
    throw new AssertionError("rank " + r + " does not hold " + logical);
  }
}
