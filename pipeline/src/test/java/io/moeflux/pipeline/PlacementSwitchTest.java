package io.moeflux.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.model.ExpertBank;
import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.pipeline.placement.PlacementSource;
import io.moeflux.pipeline.placement.PreparedPlacement;
import io.moeflux.pipeline.placement.SwitchSchedule;
import io.moeflux.pipeline.sync.SyncOptions;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.IntFunction;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.publisher.Flux;

/**
 * The switch gate compares the plans themselves (maps and shares), not only their version; an
 * agreed plan with weighted shares switches every rank, and the outputs stay equal to the reference
 * in both comm modes.
 */
class PlacementSwitchTest {
  private static final int SWITCH_STEP = 5;

  private final ModelConfig model =
      ModelConfig.builder().experts(4).topK(2).layers(2).gateSkew(1.5).build();

  /** 4 experts in 6 slots on 2 ranks; experts 0 and 1 split unevenly over both ranks. */
  private static final int[][] WEIGHTED_MAP = {{0, 1, 2, 0, 1, 3}, {1, 0, 3, 1, 0, 2}};

  private static final int[][] WEIGHTED_SHARES = {
    {40, 200, 256, 216, 56, 256}, {1, 128, 256, 255, 128, 256}
  };

  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  /** A source that offers one placement at every switch step and records the outcomes. */
  private static final class Offer implements PlacementSource {
    final PreparedPlacement offered;
    final List<String> outcomes = new CopyOnWriteArrayList<>();

    Offer(PreparedPlacement offered) {
      this.offered = offered;
    }

    @Override
    public PreparedPlacement preparedFor(long switchStep) {
      return offered;
    }

    @Override
    public void switched(long step, @Nullable PreparedPlacement applied, String why) {
      outcomes.add(step + " " + (applied == null ? "kept" : "applied") + ": " + why);
    }
  }

  private PreparedPlacement prepared(Placement placement, int rank, ExpertBank bank) {
    int slots = placement.slotsPerRank();
    ExpertFfn[][] local = new ExpertFfn[placement.layers()][slots];
    for (int l = 0; l < placement.layers(); l++) {
      for (int i = 0; i < slots; i++) {
        local[l][i] = bank.expert(l, placement.logicalOf(l, rank * slots + i));
      }
    }
    return new PreparedPlacement(placement, local);
  }

  private PipelineConfig config(SyncOptions sync) {
    return PipelineConfig.builder(model, 4)
        .redundantSlots(2)
        .sync(sync)
        .switches(SwitchSchedule.builder().interval(4).delay(1).build())
        .build();
  }

  private MoeGroup start(
      PipelineConfig config, IntFunction<Placement> offers, Map<Integer, Offer> sources) {
    ExpertBank bank = new ExpertBank(model);
    RankExtensions extensions =
        RankExtensions.builder()
            .placementSource(
                rank ->
                    sources.computeIfAbsent(
                        rank.rank(), r -> new Offer(prepared(offers.apply(r), r, bank))))
            .build();
    return MoeGroup.start(2, TransportKind.LOCAL, config, extensions).block(Duration.ofSeconds(30));
  }

  /** Rank 1's plan under rank 0's version: other maps, or the same maps with other shares. */
  static Stream<Arguments> differingPlans() {
    return Stream.of(
        Arguments.of(
            "other maps",
            Placement.of(WEIGHTED_MAP, 4, 2, 7L),
            Placement.of(new int[][] {{0, 1, 2, 0, 1, 3}, {1, 0, 2, 1, 0, 3}}, 4, 2, 7L)),
        Arguments.of(
            "other shares",
            Placement.of(WEIGHTED_MAP, WEIGHTED_SHARES, 4, 2, 7L),
            Placement.of(WEIGHTED_MAP, 4, 2, 7L)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("differingPlans")
  void differentPlansUnderOneVersionAreRefusedOnEveryRank(
      String what, Placement mine, Placement theirs) {
    assertThat(theirs.version()).isEqualTo(mine.version());
    Map<Integer, Offer> sources = new ConcurrentHashMap<>();
    PipelineConfig config = config(SyncOptions.decodeOnly());
    MoeGroup group = start(config, r -> r == 0 ? mine : theirs, sources);
    try {
      SyntheticWorkload workload = SyntheticWorkload.random(3, model.hidden(), 4, 0.1);
      run(group, workload, SWITCH_STEP + 2, config.initialPlacement(2), null);
      for (int r = 0; r < 2; r++) {
        assertThat(sources.get(r).outcomes)
            .as("rank %d", r)
            .singleElement()
            .asString()
            .startsWith(SWITCH_STEP + " kept: ranks proposed different plans at step 5")
            .contains(String.format("version 7 digest %016x on rank 0", mine.digest()))
            .contains(String.format("version 7 digest %016x on rank 1", theirs.digest()));
        assertThat(group.rank(r).status().placementVersion()).isZero();
      }
      assertThat(sources.get(0).outcomes).isEqualTo(sources.get(1).outcomes);
      group.close().block(Duration.ofSeconds(20));
    } finally {
      group.dispose();
    }
  }

  /** Counts up to twice the capacity with the sync on: padded and variable steps both run. */
  @Test
  void anAgreedWeightedPlanSwitchesEveryRankAndMatchesTheReferenceInBothModes() {
    Placement weighted = Placement.of(WEIGHTED_MAP, WEIGHTED_SHARES, 4, 2, 7L);
    Map<Integer, Offer> sources = new ConcurrentHashMap<>();
    PipelineConfig config = config(SyncOptions.mixed());
    MoeGroup group = start(config, r -> weighted, sources);
    try {
      SyntheticWorkload workload = SyntheticWorkload.random(5, model.hidden(), 8, 0.1);
      run(group, workload, 16, config.initialPlacement(2), weighted);
      for (int r = 0; r < 2; r++) {
        assertThat(sources.get(r).outcomes.get(0))
            .startsWith(SWITCH_STEP + " applied: every rank ready with version 7 digest");
        assertThat(group.rank(r).status().placement().samePlacementAs(weighted)).isTrue();
        assertThat(group.rank(r).status().paddedSteps()).isPositive();
      }
      group.close().block(Duration.ofSeconds(20));
    } finally {
      group.dispose();
    }
  }

  /**
   * Runs {@code steps} steps and checks every output against the reference of the placement in
   * force: {@code before} until the switch step, {@code after} (or still {@code before}) from it.
   */
  private void run(
      MoeGroup group,
      SyntheticWorkload workload,
      int steps,
      Placement before,
      @Nullable Placement after) {
    ReferenceModel old = new ReferenceModel(model, group.bank(), before);
    ReferenceModel next = after == null ? old : new ReferenceModel(model, group.bank(), after);
    List<Flux<TokenBatch>> inputs = new ArrayList<>();
    for (int r = 0; r < 2; r++) {
      inputs.add(workload.batches(r, 0, steps));
    }
    List<List<TokenBatch>> outputs =
        group.forward(inputs).collectList().block(Duration.ofSeconds(60));
    assertThat(outputs).hasSize(steps);
    for (List<TokenBatch> step : outputs) {
      for (int r = 0; r < 2; r++) {
        TokenBatch actual = step.get(r);
        ReferenceModel reference = actual.step() < SWITCH_STEP ? old : next;
        MoeGroupReferenceTest.assertClose(
            actual, reference.forward(r, workload.batch(r, actual.step())));
      }
    }
  }
}
