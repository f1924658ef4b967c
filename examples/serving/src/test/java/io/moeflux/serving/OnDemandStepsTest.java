package io.moeflux.serving;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moeflux.pipeline.MoeRank;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.pipeline.placement.SwitchSchedule;
import io.moeflux.pipeline.sync.SyncOptions;
import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshConfigs;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Ranks of one group each with a batcher of its own, as serving processes run them (here in one JVM
 * over loopback TCP): clients on some ranks, none on another, stepping on demand.
 */
class OnDemandStepsTest {
  private static final Duration PEER_TIMEOUT = Duration.ofSeconds(3);

  private final ModelConfig model = ModelConfig.small();
  private final List<BalancedRank> ranks = new ArrayList<>();
  private final List<RequestBatcher> batchers = new ArrayList<>();

  @AfterEach
  void stop() {
    batchers.forEach(RequestBatcher::dispose);
    ranks.forEach(BalancedRank::dispose);
    LeakRecorder.assertNoLeaks();
  }

  private PipelineConfig config(boolean sync) {
    return PipelineConfig.builder(model, 8)
        .switches(SwitchSchedule.builder().interval(8).delay(2).build())
        .sync(sync ? SyncOptions.mixed() : SyncOptions.decodeOnly())
        .build();
  }

  private void start(int world, PipelineConfig config) {
    List<MeshConfig> meshes =
        MeshConfigs.group(TransportKind.TCP, world, MoeRank.fingerprint(config)).stream()
            .map(mesh -> mesh.toBuilder().phaseTimeout(PEER_TIMEOUT).build())
            .toList();
    ranks.addAll(
        Flux.fromIterable(meshes)
            .flatMap(mesh -> BalancedRank.start(mesh, config, new SimpleMeterRegistry()), world)
            .collectSortedList((a, b) -> Integer.compare(a.rank().rank(), b.rank().rank()))
            .block(Duration.ofSeconds(30)));
    for (BalancedRank rank : ranks) {
      batchers.add(
          RequestBatcher.start(rank.rank(), new SimpleMeterRegistry(), BatcherOptions.defaults())
              .block(Duration.ofSeconds(10)));
    }
  }

  private float[] rows(Random random, int tokens) {
    float[] data = new float[tokens * model.hidden()];
    for (int i = 0; i < data.length; i++) {
      data[i] = (float) random.nextGaussian();
    }
    return data;
  }

  @ParameterizedTest(name = "sync on: {0}")
  @ValueSource(booleans = {false, true})
  void busyRanksStepAndTheIdleRankJoinsEveryStepWithMatchingOutputs(boolean sync) {
    start(3, config(sync));
    ConcurrentLinkedQueue<RequestBatcher.StepServed> stepsRun = new ConcurrentLinkedQueue<>();
    batchers.forEach(batcher -> batcher.stepsServed().subscribe(stepsRun::add));
    Random random = new Random(15);
    List<Mono<RequestBatcher.Served>> requests = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      // rank 0 gets three requests for every one of rank 1; rank 2 gets none
      int rank = i % 4 == 3 ? 1 : 0;
      int tokens = 1 + random.nextInt(4);
      requests.add(
          batchers.get(rank).submit(rank, TokenBatch.ANY_LAYER, tokens, rows(random, tokens)));
    }
    List<RequestBatcher.Served> served =
        Flux.fromIterable(requests).flatMap(r -> r, 8).collectList().block(Duration.ofSeconds(60));
    assertThat(served).hasSize(60);
    assertThat(batchers.get(0).requestsServed() + batchers.get(1).requestsServed()).isEqualTo(60);
    assertThat(batchers.get(2).requestsServed()).isZero();
    long steps = batchers.get(0).nextStep();
    assertThat(steps).isGreaterThan(8); // past a placement switch
    // every rank ran every step, the idle one with empty batches
    for (RequestBatcher batcher : batchers) {
      assertThat(batcher.nextStep()).isEqualTo(steps);
    }
    // nothing queued anywhere: no step runs
    Mono.delay(Duration.ofMillis(300)).block();
    for (RequestBatcher batcher : batchers) {
      assertThat(batcher.nextStep()).isEqualTo(steps);
    }
    assertThat(stepsRun).hasSize((int) (3 * steps));
    // each rank's output of each step is the single-process reference's under the placement the
    // rank had in force for that step; the placement switched on every rank alike
    Map<Long, ReferenceModel> references = new HashMap<>();
    for (RequestBatcher.StepServed step : stepsRun) {
      MoeRank rank = ranks.get(step.rank()).rank();
      Placement placement = rank.placementHistory().inForceAt(step.input().step());
      assertThat(placement.version()).isEqualTo(step.placementVersion());
      ReferenceModel reference =
          references.computeIfAbsent(
              placement.version(), v -> new ReferenceModel(rank.config().model(), placement));
      TokenBatch expected = reference.forward(step.rank(), step.input());
      assertThat(bits(step.output().data())).isEqualTo(bits(expected.data()));
      assertThat(step.output().topkIds()).isEqualTo(expected.topkIds());
      assertThat(bits(step.output().topkWeights())).isEqualTo(bits(expected.topkWeights()));
    }
    for (BalancedRank rank : ranks) {
      assertThat(rank.rank().placementHistory().digest())
          .isEqualTo(ranks.get(0).rank().placementHistory().digest());
    }
  }

  private static int[] bits(float[] values) {
    int[] bits = new int[values.length];
    for (int i = 0; i < values.length; i++) {
      bits[i] = Float.floatToRawIntBits(values[i]);
    }
    return bits;
  }
}
