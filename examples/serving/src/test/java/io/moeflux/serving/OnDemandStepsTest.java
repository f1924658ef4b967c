package io.moeflux.serving;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moeflux.pipeline.MoeRank;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.checkpoint.CheckpointGenerator;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import io.moeflux.pipeline.family.CheckpointModel;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.pipeline.placement.SwitchSchedule;
import io.moeflux.pipeline.sync.SyncOptions;
import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshConfigs;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

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
    start(world, world, config, BatcherOptions.defaults());
  }

  /** Starts {@code world} ranks, the first {@code serving} with a batcher each. */
  private void start(int world, int serving, PipelineConfig config, BatcherOptions options) {
    List<MeshConfig> meshes =
        MeshConfigs.group(TransportKind.TCP, world, MoeRank.fingerprint(config)).stream()
            .map(mesh -> mesh.toBuilder().phaseTimeout(PEER_TIMEOUT).build())
            .toList();
    ranks.addAll(
        Flux.fromIterable(meshes)
            .flatMap(mesh -> BalancedRank.start(mesh, config, new SimpleMeterRegistry()), world)
            .collectSortedList((a, b) -> Integer.compare(a.rank().rank(), b.rank().rank()))
            .block(Duration.ofSeconds(30)));
    for (BalancedRank rank : ranks.subList(0, serving)) {
      batchers.add(
          RequestBatcher.start(rank.rank(), new SimpleMeterRegistry(), options)
              .block(Duration.ofSeconds(10)));
    }
  }

  private float[] rows(Random random, int tokens) {
    return rows(random, tokens, model.hidden());
  }

  private static float[] rows(Random random, int tokens, int hidden) {
    float[] data = new float[tokens * hidden];
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

  @Test
  void aCheckpointLayerRequestWaitsForItsLayersStepAndIdleRanksJoinTheStepsBefore(@TempDir Path dir)
      throws Exception {
    Path path = dir.resolve("qwen2");
    // MoE layers 0 and 2 (layer 1 is dense): step s runs MoE layer s mod 2
    CheckpointGenerator.builder(ModelFamily.QWEN2_MOE)
        .hidden(16)
        .experts(6)
        .decoderLayers(3)
        .mlpOnlyLayers(1)
        .build()
        .write(path);
    try (CheckpointModel checkpoint = CheckpointModel.open(path)) {
      start(
          3,
          PipelineConfig.builder(checkpoint, 8)
              .switches(SwitchSchedule.builder().interval(8).delay(2).build())
              .build());
      ConcurrentLinkedQueue<RequestBatcher.StepServed> stepsRun = new ConcurrentLinkedQueue<>();
      batchers.forEach(batcher -> batcher.stepsServed().subscribe(stepsRun::add));
      Random random = new Random(11);
      // rank 0 asks for decoder layer 2 (MoE layer 1, odd steps), rank 1 for layer 0; rank 2 idles
      RequestBatcher.Served late =
          batchers.get(0).submit(0, 2, 3, rows(random, 3, 16)).block(Duration.ofSeconds(20));
      assertThat(late.batch().layer()).isEqualTo(2);
      assertThat(late.batch().step() % 2).isEqualTo(1);
      RequestBatcher.Served early =
          batchers.get(1).submit(1, 0, 2, rows(random, 2, 16)).block(Duration.ofSeconds(20));
      assertThat(early.batch().layer()).isZero();
      assertThat(early.batch().step() % 2).isZero();
      long steps = batchers.get(0).nextStep();
      for (RequestBatcher batcher : batchers) {
        assertThat(batcher.nextStep()).isEqualTo(steps);
      }
      // every step of every rank, the idle one's empty steps included, is the reference's
      Mono.delay(Duration.ofMillis(200)).block();
      assertThat(stepsRun).hasSize((int) (3 * steps));
      for (RequestBatcher.StepServed step : stepsRun) {
        MoeRank rank = ranks.get(step.rank()).rank();
        Placement placement = rank.placementHistory().inForceAt(step.input().step());
        TokenBatch expected =
            new ReferenceModel(checkpoint, placement).forward(step.rank(), step.input());
        assertThat(bits(step.output().data())).isEqualTo(bits(expected.data()));
        assertThat(step.output().topkIds()).isEqualTo(expected.topkIds());
      }
    }
  }

  @Test
  void drainingAnswersWhatIsQueuedAndRefusesNewRequests() {
    start(2, config(false));
    Random random = new Random(3);
    RequestBatcher batcher = batchers.get(0);
    List<Mono<RequestBatcher.Served>> queued = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      queued.add(batcher.submit(-1, TokenBatch.ANY_LAYER, 4, rows(random, 4)).cache());
    }
    queued.forEach(Mono::subscribe);
    StepVerifier.create(batcher.drain()).verifyComplete();
    StepVerifier.create(Flux.concat(queued)).expectNextCount(8).verifyComplete();
    StepVerifier.create(batcher.submit(0, TokenBatch.ANY_LAYER, 1, rows(random, 1)))
        .expectErrorMessage(
            "rank 0 is draining: it finishes what it holds and takes no new requests")
        .verify(Duration.ofSeconds(5));
    // the drained rank still joins the steps its peer opens
    StepVerifier.create(batchers.get(1).submit(1, TokenBatch.ANY_LAYER, 2, rows(random, 2)))
        .expectNextCount(1)
        .verifyComplete();
    assertThat(StatusFields.rank(batcher, ranks.get(0))).containsEntry("state", "draining");
  }

  @Test
  void requestsForAnotherRankAreRefusedNamingTheRankServedHere() {
    start(2, config(false));
    StepVerifier.create(batchers.get(0).submit(1, TokenBatch.ANY_LAYER, 1, rows(new Random(), 1)))
        .expectErrorMessage(
            "rank 1 serves its own clients in its own process: this one serves rank 0 of 2 (-1:"
                + " this rank)")
        .verify(Duration.ofSeconds(5));
  }

  @Test
  void aFullQueueRefusesAtOnceAndCancelledOrLateRequestsLeaveIt() {
    // rank 1 has no batcher: rank 0's first step waits for it, and what comes next queues
    start(2, 1, config(false), BatcherOptions.builder().maxQueuedRequests(2).build());
    RequestBatcher batcher = batchers.get(0);
    Random random = new Random(5);
    batcher.submit(0, TokenBatch.ANY_LAYER, 1, rows(random, 1)).subscribe(s -> {}, e -> {});
    StepVerifier.create(
            batcher.submit(0, TokenBatch.ANY_LAYER, 1, rows(random, 1), Duration.ofMillis(200)))
        .then(
            () -> {
              assertThat(batcher.queuedRequests()).isEqualTo(1);
              Disposable cancelled =
                  batcher.submit(0, TokenBatch.ANY_LAYER, 1, rows(random, 1)).subscribe();
              assertThat(batcher.queuedRequests()).isEqualTo(2);
              StepVerifier.create(batcher.submit(0, TokenBatch.ANY_LAYER, 1, rows(random, 1)))
                  .expectErrorSatisfies(
                      error ->
                          assertThat(error)
                              .isInstanceOf(RejectedExecutionException.class)
                              .hasMessage(
                                  "the queue of rank 0 is full (2 requests waiting): try again"
                                      + " later"))
                  .verify(Duration.ofSeconds(1));
              cancelled.dispose();
              assertThat(batcher.queuedRequests()).isEqualTo(1);
            })
        .expectErrorSatisfies(
            error ->
                assertThat(error)
                    .isInstanceOf(TimeoutException.class)
                    .hasMessage("no step answered the request within its deadline of PT0.2S"))
        .verify(Duration.ofSeconds(2));
    assertThat(batcher.queuedRequests()).isZero();
  }

  @Test
  void aDeadlinePassesInVirtualTimeWhileTheStepWaits() {
    // rank 1 has no batcher: rank 0's step waits for it (for the real peer timeout, 3 s), while a
    // deadline of a minute passes in virtual time
    start(2, 1, config(false), BatcherOptions.defaults());
    RequestBatcher batcher = batchers.get(0);
    float[] data = rows(new Random(13), 2);
    StepVerifier.withVirtualTime(
            () -> batcher.submit(0, TokenBatch.ANY_LAYER, 2, data, Duration.ofMinutes(1)))
        .expectSubscription()
        .expectNoEvent(Duration.ofSeconds(59))
        .thenAwait(Duration.ofSeconds(1))
        .expectErrorMessage("no step answered the request within its deadline of PT1M")
        .verify(Duration.ofSeconds(5));
  }

  @Test
  void aLostPeerFailsInFlightAndNewRequestsNamingItWithinTwicePeerTimeout() {
    // rank 2 has no batcher: rank 0's step waits for it, until it is lost
    start(3, 2, config(false), BatcherOptions.defaults());
    Random random = new Random(7);
    Mono<RequestBatcher.Served> inFlight =
        batchers.get(0).submit(0, TokenBatch.ANY_LAYER, 2, rows(random, 2)).cache();
    inFlight.subscribe(s -> {}, e -> {});
    Mono.delay(Duration.ofMillis(200)).block();
    ranks.get(2).dispose();
    Duration bound = PEER_TIMEOUT.multipliedBy(2);
    StepVerifier.create(inFlight)
        .expectErrorSatisfies(error -> assertThat(error).hasMessageContaining("rank 2"))
        .verify(bound);
    StepVerifier.create(batchers.get(1).submit(1, TokenBatch.ANY_LAYER, 1, rows(random, 1)))
        .expectErrorSatisfies(error -> assertThat(error).hasMessageContaining("rank 2"))
        .verify(bound);
    for (int r = 0; r < batchers.size(); r++) {
      Map<String, @Nullable Object> status = StatusFields.rank(batchers.get(r), ranks.get(r));
      assertThat(status).containsEntry("state", "failed").containsEntry("rank", r);
      assertThat((String) status.get("failure")).contains("rank 2");
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
