package io.moeflux.eplb.rebalance;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moeflux.eplb.heat.HeatConfig;
import io.moeflux.eplb.heat.HeatSnapshot;
import io.moeflux.eplb.heat.HeatStream;
import io.moeflux.eplb.policy.BalancedPolicy;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.MoeRank;
import io.moeflux.pipeline.Overlap;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.RankExtensions;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.checkpoint.CheckpointGenerator;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import io.moeflux.pipeline.family.CheckpointModel;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.pipeline.placement.PlacementHistory;
import io.moeflux.pipeline.placement.SwitchSchedule;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import io.moeflux.transport.MeshException;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/** The whole loop in a running group: skewed routing, heat, a plan, migration, one switch. */
class RebalanceLoopTest {
  private final Scheduler heatScheduler = Schedulers.newSingle("heat");
  private final Scheduler planner = Schedulers.newSingle("planner");
  private final List<HeatStream> heats = new CopyOnWriteArrayList<>();
  private final List<Rebalancer> balancers = new ArrayList<>();

  @AfterEach
  void close() {
    balancers.forEach(Rebalancer::dispose);
    heats.forEach(HeatStream::dispose);
    heatScheduler.dispose();
    planner.dispose();
    LeakRecorder.assertNoLeaks();
  }

  private MoeGroup start(int ranks, PipelineConfig config, int interval) {
    int slotsPerRank = config.initialPlacement(ranks).slotsPerRank();
    Map<Integer, HeatStream> heatByRank = new ConcurrentHashMap<>();
    Map<Integer, Rebalancer> balancerByRank = new ConcurrentHashMap<>();
    RankExtensions extensions =
        RankExtensions.builder()
            .heatTap(
                rank -> {
                  HeatStream heat =
                      HeatStream.start(
                          HeatConfig.builder()
                              .layers(config.model().layers())
                              .localSlots(slotsPerRank)
                              .interval(interval)
                              .build(),
                          rank.mesh(),
                          heatScheduler,
                          new SimpleMeterRegistry());
                  heats.add(heat);
                  heatByRank.put(rank.rank(), heat);
                  return heat;
                })
            .placementSource(
                rank -> {
                  Rebalancer balancer =
                      Rebalancer.start(
                          rank,
                          heatByRank.get(rank.rank()),
                          RebalanceOptions.builder()
                              .policy(new BalancedPolicy())
                              .balancedEnough(0.99)
                              .build(),
                          planner);
                  balancerByRank.put(rank.rank(), balancer);
                  return balancer;
                })
            .build();
    MoeGroup group =
        MoeGroup.start(ranks, TransportKind.LOCAL, config, extensions)
            .block(Duration.ofSeconds(30));
    for (MoeRank rank : group.ranks()) {
      balancers.add(balancerByRank.get(rank.rank()));
    }
    return group;
  }

  @Test
  void skewedRoutingIsRebalancedAndOutputsStayEqualToTheReference() {
    int ranks = 4;
    int interval = 10;
    ModelConfig model =
        ModelConfig.builder().experts(8).topK(2).layers(2).gateSkew(3.0).seed(9).build();
    PipelineConfig config =
        PipelineConfig.builder(model, 12)
            .redundantSlots(4)
            .switches(SwitchSchedule.builder().interval(interval).delay(4).build())
            .build();
    MoeGroup group = start(ranks, config, interval);
    List<HeatSnapshot> snapshots = new CopyOnWriteArrayList<>();
    heats.get(0).snapshots().subscribe(snapshots::add, error -> {});
    SyntheticWorkload workload = SyntheticWorkload.random(3, model.hidden(), 12, 0);
    int steps = 60;
    List<Flux<TokenBatch>> inputs = new ArrayList<>();
    for (int r = 0; r < ranks; r++) {
      inputs.add(pacedByPlanner(workload, r, steps, config.switches()));
    }
    List<List<TokenBatch>> outputs =
        group.forward(inputs).collectList().block(Duration.ofSeconds(60));
    group.close().block(Duration.ofSeconds(20));

    assertThat(balancers).allSatisfy(b -> assertThat(b.switches()).isPositive());
    long firstSwitch = balancers.get(0).lastSwitch();
    List<RebalanceEvent> events =
        balancers.get(0).events().take(Duration.ofMillis(200)).collectList().block();
    TreeMap<Long, Placement> history = new TreeMap<>();
    history.put(0L, config.initialPlacement(ranks));
    for (RebalanceEvent event : events) {
      if (event.kind() == RebalanceEvent.Kind.SWITCHED) {
        history.put(event.step(), event.placement());
      }
    }
    assertThat(history).hasSizeGreaterThan(1);
    // every switch was planned for a gain of at least the minimum over the placement in force; a
    // later window whose best plan gains less is skipped, and nothing moves for it
    assertThat(events)
        .filteredOn(e -> e.kind() == RebalanceEvent.Kind.MIGRATING)
        .hasSize(history.size() - 1);
    assertThat(events)
        .filteredOn(e -> e.kind() == RebalanceEvent.Kind.SKIPPED)
        .extracting(RebalanceEvent::detail)
        .anySatisfy(detail -> assertThat(detail).contains("less than the minimum 0.0100"));
    // every rank switched at the same steps, to the same maps
    for (Rebalancer other : balancers) {
      assertThat(other.lastSwitch()).isEqualTo(balancers.get(0).lastSwitch());
    }
    for (MoeRank rank : group.ranks()) {
      assertThat(rank.status().placement().samePlacementAs(group.rank(0).status().placement()))
          .isTrue();
      assertThat(rank.status().placementVersion()).isPositive();
    }
    // each rank's own record of what it switched to, where, agrees with every other and the events
    PlacementHistory first = group.rank(0).placementHistory();
    assertThat(first.entries())
        .extracting(PlacementHistory.Entry::step)
        .containsExactlyElementsOf(history.keySet());
    for (MoeRank rank : group.ranks()) {
      assertThat(rank.placementHistory().sameAs(first)).as("rank %d", rank.rank()).isTrue();
      assertThat(rank.placementHistory().digest()).isEqualTo(first.digest());
    }
    // outputs bitwise equal to the reference under the placement in force at each step
    for (List<TokenBatch> step : outputs) {
      for (int r = 0; r < ranks; r++) {
        TokenBatch actual = step.get(r);
        Placement placement = history.floorEntry(actual.step()).getValue();
        TokenBatch expected =
            new ReferenceModel(model, group.bank(), placement)
                .forward(r, workload.batch(r, actual.step()));
        assertThat(actual.data())
            .as("step %d rank %d", actual.step(), r)
            .containsExactly(expected.data());
      }
    }
    // balancedness before the first switch vs a window entirely after it
    double before =
        snapshots.stream()
            .filter(s -> s.toStep() <= firstSwitch)
            .reduce((a, b) -> b)
            .orElseThrow()
            .meanBalancedness();
    long switchStep = history.higherKey(0L);
    double after =
        snapshots.stream()
            .filter(s -> s.fromStep() > switchStep)
            .findFirst()
            .orElseThrow()
            .meanBalancedness();
    assertThat(after).isGreaterThan(before);
  }

  /**
   * A checkpoint model, one layer per step: heat per layer, a switch, the gained experts loaded
   * from each rank's own checkpoint (no byte migrated over the mesh), and outputs bitwise equal to
   * the single-process path under the placement in force.
   */
  @Test
  void aCheckpointModelRebalancesWithMovedExpertsLoadedFromTheCheckpoint(@TempDir Path dir)
      throws IOException {
    Path path = dir.resolve("qwen3");
    CheckpointGenerator.builder(ModelFamily.QWEN3_MOE)
        .hidden(16)
        .decoderLayers(2)
        .seed(5)
        .build()
        .write(path);
    int ranks = 3;
    int interval = 10;
    try (CheckpointModel model = CheckpointModel.open(path)) {
      // the longest delay: a tiny model's steps are quick, and the new experts are read from disk
      PipelineConfig config =
          PipelineConfig.builder(model, 12)
              .redundantSlots(3)
              .switches(SwitchSchedule.builder().interval(interval).delay(9).build())
              .build();
      MoeGroup group = start(ranks, config, interval);
      SyntheticWorkload workload = SyntheticWorkload.random(3, model.hidden(), 12, 0);
      int steps = 50;
      List<Flux<TokenBatch>> inputs = new ArrayList<>();
      for (int r = 0; r < ranks; r++) {
        inputs.add(pacedByPlanner(workload, r, steps, config.switches()));
      }
      List<List<TokenBatch>> outputs =
          group.forward(inputs).collectList().block(Duration.ofSeconds(60));
      group.close().block(Duration.ofSeconds(20));
      assertThat(balancers).allSatisfy(b -> assertThat(b.switches()).isPositive());
      assertThat(balancers).allSatisfy(b -> assertThat(b.bytesMigrated()).isZero());
      TreeMap<Long, Placement> history = new TreeMap<>();
      history.put(0L, config.initialPlacement(ranks));
      for (RebalanceEvent event :
          balancers.get(0).events().take(Duration.ofMillis(200)).collectList().block()) {
        if (event.kind() == RebalanceEvent.Kind.SWITCHED) {
          history.put(event.step(), event.placement());
        }
      }
      assertThat(history).hasSizeGreaterThan(1);
      for (List<TokenBatch> step : outputs) {
        for (int r = 0; r < ranks; r++) {
          TokenBatch actual = step.get(r);
          Placement placement = history.floorEntry(actual.step()).getValue();
          TokenBatch expected =
              new ReferenceModel(model, placement).forward(r, workload.batch(r, actual.step()));
          assertThat(actual.data())
              .as("step %d rank %d", actual.step(), r)
              .containsExactly(expected.data());
        }
      }
    }
  }

  @Test
  void aPeerThatDiesMidMigrationLeavesTheOldPlacementOnEverySurvivor() {
    int ranks = 3;
    int interval = 8;
    ModelConfig model =
        ModelConfig.builder().experts(6).topK(2).layers(1).gateSkew(3.0).intermediate(512).build();
    // One micro-batch per step: frames that ranks send to a rank disposed mid-step stay in
    // RSocket's in-JVM connection, unreleased, and two micro-batches send more of them in flight.
    PipelineConfig config =
        PipelineConfig.builder(model, 12)
            .redundantSlots(3)
            .switches(SwitchSchedule.builder().interval(interval).delay(6).build())
            .overlap(Overlap.off())
            .build();
    MoeGroup group = start(ranks, config, interval);
    // rank 2 dies as soon as its weights start to move
    balancers
        .get(2)
        .events()
        .filter(e -> e.kind() == RebalanceEvent.Kind.MIGRATING)
        .next()
        .subscribe(e -> group.rank(2).dispose());
    SyntheticWorkload workload = SyntheticWorkload.random(4, model.hidden(), 12, 0);
    List<Throwable> errors =
        Flux.range(0, ranks)
            .flatMap(
                r ->
                    group
                        .rank(r)
                        .forward(workload.batches(r, 0, 100_000))
                        .then(Mono.<Throwable>empty())
                        .onErrorResume(Mono::just))
            .collectList()
            .block(Duration.ofSeconds(60));
    assertThat(errors).isNotEmpty();
    for (int r = 0; r < 2; r++) {
      assertThat(group.rank(r).status().placementVersion())
          .as("rank %d keeps the start placement", r)
          .isZero();
      assertThat(balancers.get(r).switches()).isZero();
      assertThat(group.rank(r).placementHistory().switches()).isZero();
    }
    assertThat(errors).anySatisfy(error -> assertThat(error).isInstanceOf(MeshException.class));
    group.dispose();
  }

  /**
   * Rank {@code rank}'s batches, each switch step held back until that rank's balancer has decided
   * on the snapshot planned for it (skipped, rejected, failed, or weights in place). Without it, a
   * loaded machine lets the steps outrun the planner and the test sees no switch at all.
   */
  private Flux<TokenBatch> pacedByPlanner(
      SyntheticWorkload workload, int rank, int steps, SwitchSchedule switches) {
    return Flux.range(0, steps)
        .concatMap(
            step -> {
              Mono<TokenBatch> batch = Mono.fromSupplier(() -> workload.batch(rank, step));
              if (!switches.isSwitchStep(step)) {
                return batch;
              }
              long snapshotEnd = step - switches.delay();
              return balancers
                  .get(rank)
                  .events()
                  .filter(e -> e.step() == snapshotEnd && DECIDED.contains(e.kind()))
                  .next()
                  .timeout(Duration.ofSeconds(20), Mono.empty())
                  .then(batch);
            });
  }

  private static final Set<RebalanceEvent.Kind> DECIDED =
      EnumSet.of(
          RebalanceEvent.Kind.SKIPPED,
          RebalanceEvent.Kind.REJECTED,
          RebalanceEvent.Kind.READY,
          RebalanceEvent.Kind.FAILED);
}
