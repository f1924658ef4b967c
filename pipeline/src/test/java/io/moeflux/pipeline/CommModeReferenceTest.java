package io.moeflux.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.pipeline.sync.CommMode;
import io.moeflux.pipeline.sync.RankRole;
import io.moeflux.pipeline.sync.SyncOptions;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * The comm modes against the reference: ranks that sync run the padded all-gather when a batch
 * exceeds the capacity, prefill and decode steps mix, speculative decoding runs with the sync
 * skipped, and a batch that needs the sync on a rank that skips it is refused everywhere.
 */
class CommModeReferenceTest {

  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  static Stream<Arguments> paddedConfigurations() {
    SplittableRandom random = new SplittableRandom(7);
    List<Arguments> cases = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      int ranks = 1 + random.nextInt(5);
      int experts = ranks * (1 + random.nextInt(6));
      int topK = 1 + random.nextInt(Math.min(8, experts));
      ModelConfig model =
          ModelConfig.builder()
              .hidden(16 << random.nextInt(3))
              .layers(1 + random.nextInt(3))
              .experts(experts)
              .topK(topK)
              .seed(random.nextLong())
              .build();
      cases.add(
          Arguments.of(i, i % 3 == 2 ? TransportKind.TCP : TransportKind.LOCAL, ranks, model));
    }
    return cases.stream();
  }

  /** Counts up to 3× the capacity: steps beyond it run padded, the rest variable. */
  @ParameterizedTest(name = "[{0}] {1} ranks={2} {3}")
  @MethodSource("paddedConfigurations")
  void syncingRanksSwitchToPaddedAllGatherBeyondCapacity(
      int index, TransportKind transport, int ranks, ModelConfig model) {
    int capacity = 4;
    PipelineConfig config =
        PipelineConfig.builder(model, capacity).sync(SyncOptions.mixed()).build();
    SyntheticWorkload workload =
        SyntheticWorkload.random(index, model.hidden(), 3 * capacity, 0.1)
            .withPrefillProbability(0.3);
    MoeGroup group = MoeGroup.start(ranks, transport, config).block(Duration.ofSeconds(60));
    try {
      runAgainstReference(group, model, workload, 8);
      long padded = group.ranks().stream().mapToLong(r -> r.status().paddedSteps()).sum();
      long synced = group.ranks().stream().mapToLong(r -> r.status().syncedSteps()).sum();
      assertThat(synced).isEqualTo(8L * ranks);
      assertThat(padded).isPositive();
      group.close().block(Duration.ofSeconds(20));
    } finally {
      group.dispose();
    }
  }

  @Test
  void speculativeDecodingRunsWithTheSyncSkipped() {
    ModelConfig model = ModelConfig.builder().experts(8).topK(2).build();
    int requests = 3;
    int draft = 2;
    PipelineConfig config =
        PipelineConfig.builder(model, requests * (1 + draft))
            .sync(
                SyncOptions.builder()
                    .role(RankRole.DECODE)
                    .localRecompute(false)
                    .maxBatchTokens(requests * (1 + draft))
                    .warmupSteps(0)
                    .build())
            .build();
    SyntheticWorkload workload = SyntheticWorkload.speculative(11, model.hidden(), requests, draft);
    MoeGroup group = MoeGroup.start(4, TransportKind.LOCAL, config).block(Duration.ofSeconds(30));
    try {
      runAgainstReference(group, model, workload, 12);
      for (MoeRank rank : group.ranks()) {
        assertThat(rank.status().syncDecision().skip()).isTrue();
        assertThat(rank.status().syncedSteps()).isZero();
        assertThat(rank.status().skippedSteps()).isEqualTo(12);
        assertThat(rank.status().commMode()).isEqualTo(CommMode.VARIABLE);
      }
      group.close().block(Duration.ofSeconds(20));
    } finally {
      group.dispose();
    }
  }

  @Test
  void warmupStepsSyncThenTheDecodeRanksSkip() {
    ModelConfig model = ModelConfig.small();
    PipelineConfig config =
        PipelineConfig.builder(model, 6).sync(SyncOptions.builder().warmupSteps(3).build()).build();
    MoeGroup group = MoeGroup.start(2, TransportKind.LOCAL, config).block(Duration.ofSeconds(30));
    try {
      runAgainstReference(group, model, SyntheticWorkload.random(5, model.hidden(), 6, 0), 7);
      assertThat(group.rank(0).status().syncedSteps()).isEqualTo(3);
      assertThat(group.rank(0).status().skippedSteps()).isEqualTo(4);
      group.close().block(Duration.ofSeconds(20));
    } finally {
      group.dispose();
    }
  }

  @Test
  void aPrefillBatchOnARankThatSkipsTheSyncIsRefusedEverywhere() {
    ModelConfig model = ModelConfig.builder().experts(6).build();
    MoeGroup group =
        MoeGroup.start(3, TransportKind.LOCAL, PipelineConfig.of(model, 4))
            .block(Duration.ofSeconds(30));
    try {
      List<Flux<TokenBatch>> inputs = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        boolean prefill = r == 2;
        inputs.add(
            Flux.just(TokenBatch.of(0, 1, model.hidden(), new float[model.hidden()], prefill)));
      }
      List<Throwable> errors =
          Flux.range(0, 3)
              .flatMap(
                  r ->
                      group
                          .rank(r)
                          .forward(inputs.get(r))
                          .then(Mono.<Throwable>empty())
                          .onErrorResume(Mono::just))
              .collectList()
              .block(Duration.ofSeconds(20));
      assertThat(errors)
          .hasSize(3)
          .allSatisfy(
              error ->
                  assertThat(error)
                      .isInstanceOf(PipelineException.class)
                      .hasMessageContaining(
                          "rank 2, step 0: a prefill batch on a rank that skips"));
    } finally {
      group.dispose();
    }
  }

  @Test
  void ranksThatDisagreeOnTheSyncRefuseToStart() {
    ModelConfig model = ModelConfig.small();
    PipelineConfig decode = PipelineConfig.of(model, 4);
    PipelineConfig mixed = decode.toBuilder().sync(SyncOptions.mixed()).build();
    StepVerifier.create(
            MoeGroup.start(
                2, TransportKind.LOCAL, rank -> rank == 0 ? decode : mixed, RankExtensions.none()))
        .expectErrorSatisfies(
            error ->
                assertThat(error)
                    .hasMessageContaining("DP metadata sync")
                    .hasMessageContaining("every rank must make the same decision"))
        .verify(Duration.ofSeconds(30));
  }

  static void runAgainstReference(
      MoeGroup group, ModelConfig model, SyntheticWorkload workload, int steps) {
    int ranks = group.size();
    ReferenceModel reference =
        new ReferenceModel(model, group.bank(), group.rank(0).config().initialPlacement(ranks));
    List<Flux<TokenBatch>> inputs = new ArrayList<>();
    for (int r = 0; r < ranks; r++) {
      inputs.add(workload.batches(r, 0, steps));
    }
    AtomicInteger nextStep = new AtomicInteger();
    StepVerifier.create(group.forward(inputs))
        .thenConsumeWhile(
            outputs -> {
              long step = nextStep.getAndIncrement();
              for (int r = 0; r < ranks; r++) {
                TokenBatch actual = outputs.get(r);
                assertThat(actual.step()).as("rank %d's output in order", r).isEqualTo(step);
                TokenBatch expected = reference.forward(r, workload.batch(r, step));
                MoeGroupReferenceTest.assertClose(actual, expected);
                assertThat(actual.topkIds()).isEqualTo(expected.topkIds());
                assertThat(actual.topkWeights()).containsExactly(expected.topkWeights());
                assertThat(actual.prefill()).isEqualTo(expected.prefill());
              }
              return true;
            })
        .expectComplete()
        .verify(Duration.ofSeconds(60));
    assertThat(nextStep).as("steps checked against the reference").hasValue(steps);
  }
}
