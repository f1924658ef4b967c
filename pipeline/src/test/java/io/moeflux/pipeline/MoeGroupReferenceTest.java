package io.moeflux.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.pipeline.model.ExpertKind;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.protocol.WireFormat;
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
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * Property test: random group shapes, a different random token count on every rank every step (0
 * and all-idle steps included), every wire precision, split into micro-batches or not, outputs
 * bitwise equal to the single-process reference with the same rounding, over both transports, with
 * no leaked buffer.
 */
class MoeGroupReferenceTest {

  @AfterEach
  void noLeaks() {
    LeakRecorder.assertNoLeaks();
  }

  static Stream<Arguments> randomConfigurations() {
    SplittableRandom random = new SplittableRandom(20261122);
    List<Arguments> cases = new ArrayList<>();
    int[] hiddens = {16, 32, 64, 128, 1024};
    String[] wires = {"f32", "bf16", "fp8", "fp8/fp8", "bf16/f32"};
    Overlap[] overlaps = {Overlap.off(), Overlap.on(), Overlap.auto(), Overlap.alternating(2)};
    for (int i = 0; i < 16; i++) {
      int ranks = 1 + random.nextInt(8);
      int expertsPerRank = 1 + random.nextInt(16);
      int experts = ranks * expertsPerRank;
      int topK = 1 + random.nextInt(Math.min(8, experts));
      int hidden = hiddens[random.nextInt(hiddens.length)];
      int layers = 1 + random.nextInt(4);
      int maxTokens = 1 + random.nextInt(24);
      ExpertKind kind = random.nextInt(4) == 0 ? ExpertKind.IDENTITY : ExpertKind.SWIGLU;
      TransportKind transport = i % 4 == 3 ? TransportKind.TCP : TransportKind.LOCAL;
      ModelConfig model =
          ModelConfig.builder()
              .hidden(hidden)
              .intermediate(8 + random.nextInt(56))
              .layers(layers)
              .experts(experts)
              .topK(topK)
              .groups(0)
              .topkGroups(0)
              .gateSkew(random.nextDouble())
              .expertKind(kind)
              .seed(random.nextLong())
              .build();
      int redundantPerRank = random.nextInt(Math.min(2, experts - expertsPerRank) + 1);
      cases.add(
          Arguments.of(
              i,
              transport,
              ranks,
              model,
              maxTokens,
              redundantPerRank * ranks,
              random.nextInt(4),
              WireFormat.parse(wires[i % wires.length]),
              overlaps[i % overlaps.length],
              random.nextLong()));
    }
    return cases.stream();
  }

  @ParameterizedTest(
      name = "[{0}] {1} ranks={2} {3} cap={4} redundant={5} threads={6} wire={7} overlap={8}")
  @MethodSource("randomConfigurations")
  void distributedOutputsEqualTheReference(
      int index,
      TransportKind transport,
      int ranks,
      ModelConfig model,
      int maxTokens,
      int redundantSlots,
      int expertThreads,
      WireFormat wire,
      Overlap overlap,
      long seed) {
    int steps = 6;
    PipelineConfig config =
        PipelineConfig.builder(model, maxTokens)
            .redundantSlots(redundantSlots)
            .expertThreads(expertThreads)
            .wire(wire)
            .overlap(overlap)
            .build();
    SyntheticWorkload workload = SyntheticWorkload.random(seed, model.hidden(), maxTokens, 0.2);
    runAgainstTheReference(ranks, transport, model, config, wire, workload, steps);
  }

  /**
   * Runs {@code steps} steps of {@code workload} through {@code ranks} ranks of {@code model} and
   * checks every output against the single-process reference rounding as {@code wire} does.
   */
  private static void runAgainstTheReference(
      int ranks,
      TransportKind transport,
      ModelConfig model,
      PipelineConfig config,
      WireFormat wire,
      SyntheticWorkload workload,
      int steps) {
    MoeGroup group = MoeGroup.start(ranks, transport, config).block(Duration.ofSeconds(60));
    try {
      ReferenceModel reference =
          new ReferenceModel(model, group.bank(), config.initialPlacement(ranks), wire);
      List<Flux<TokenBatch>> inputs = new ArrayList<>();
      for (int r = 0; r < ranks; r++) {
        inputs.add(workload.batches(r, 0, steps));
      }
      AtomicInteger checked = new AtomicInteger();
      StepVerifier.create(group.forward(inputs))
          .thenConsumeWhile(
              outputs -> {
                for (int r = 0; r < ranks; r++) {
                  TokenBatch actual = outputs.get(r);
                  TokenBatch expected = reference.forward(r, workload.batch(r, actual.step()));
                  assertThat(actual.tokens()).isEqualTo(expected.tokens());
                  assertClose(actual, expected);
                  assertThat(actual.topkIds()).isEqualTo(expected.topkIds());
                  checked.incrementAndGet();
                }
                return true;
              })
          .expectComplete()
          .verify(Duration.ofSeconds(60));
      assertThat(checked).hasValue(steps * ranks);
      group.close().block(Duration.ofSeconds(30));
    } finally {
      group.dispose();
    }
  }

  /** Bitwise equal is expected (same summation order); 1e-5 relative is the contract. */
  static void assertClose(TokenBatch actual, TokenBatch expected) {
    float[] a = actual.data();
    float[] e = expected.data();
    assertThat(a).hasSameSizeAs(e);
    for (int i = 0; i < e.length; i++) {
      double tolerance = 1e-5 * Math.max(1.0, Math.abs(e[i]));
      if (Math.abs(a[i] - e[i]) > tolerance) {
        throw new AssertionError(
            "step " + actual.step() + " value " + i + ": " + a[i] + " != reference " + e[i]);
      }
    }
    assertThat(a).as("bitwise equal to the reference").containsExactly(e);
  }

  @Test
  void hotExpertsSplitAmongThreadsStillEqualTheReference() {
    ModelConfig model =
        ModelConfig.builder()
            .hidden(64)
            .intermediate(40)
            .layers(2)
            .experts(4)
            .topK(2)
            .groups(0)
            .topkGroups(0)
            .gateSkew(2)
            .seed(5)
            .build();
    int tokens = 128;
    PipelineConfig config = PipelineConfig.builder(model, tokens).expertThreads(3).build();
    SyntheticWorkload workload = SyntheticWorkload.full(9, model.hidden(), tokens);
    MoeGroup group = MoeGroup.start(2, TransportKind.LOCAL, config).block(Duration.ofSeconds(30));
    try {
      ReferenceModel reference =
          new ReferenceModel(model, group.bank(), config.initialPlacement(2));
      List<Flux<TokenBatch>> inputs = List.of(workload.batches(0, 0, 3), workload.batches(1, 0, 3));
      StepVerifier.create(group.forward(inputs))
          .thenConsumeWhile(
              outputs -> {
                for (int r = 0; r < 2; r++) {
                  TokenBatch actual = outputs.get(r);
                  assertClose(actual, reference.forward(r, workload.batch(r, actual.step())));
                }
                return true;
              })
          .expectComplete()
          .verify(Duration.ofSeconds(60));
      group.close().block(Duration.ofSeconds(30));
    } finally {
      group.dispose();
    }
  }

  /**
   * Heavy steps ({@link PipelineConfig#heavySteps()}) run experts and combine on the expert
   * scheduler, not on the I/O thread that delivered the frames: same bits. A small model with the
   * bound lowered to it (at the default bound, paranoid leak detection makes each step take
   * seconds).
   */
  @ParameterizedTest(name = "overlap={0}")
  @MethodSource("overlapsOffAndOn")
  void heavyStepsOffTheIoThreadsStillEqualTheReference(Overlap overlap) {
    ModelConfig model =
        ModelConfig.builder()
            .hidden(64)
            .layers(2)
            .experts(6)
            .topK(2)
            .groups(0)
            .topkGroups(0)
            .expertKind(ExpertKind.IDENTITY)
            .seed(17)
            .build();
    int tokens = 24;
    PipelineConfig config =
        PipelineConfig.builder(model, tokens)
            .heavyStepValues((long) tokens * model.hidden())
            .overlap(overlap)
            .build();
    assertThat(config.heavySteps()).isTrue();
    assertThat(config.expertScheduler()).isSameAs(Schedulers.parallel());
    SyntheticWorkload workload = SyntheticWorkload.random(23, model.hidden(), tokens, 0.2);
    runAgainstTheReference(3, TransportKind.TCP, model, config, WireFormat.F32, workload, 6);
  }

  static Stream<Overlap> overlapsOffAndOn() {
    return Stream.of(Overlap.off(), Overlap.on());
  }

  @Test
  void aStreamOfBatchesTakesAFewLines() {
    ModelConfig model = ModelConfig.small(); // hidden 64, 8 experts, top-2, 2 layers, SwiGLU
    MoeGroup group =
        MoeGroup.start(2, TransportKind.LOCAL, PipelineConfig.of(model, 8)) // capacity 8
            .block(Duration.ofSeconds(30));
    try {
      Flux<TokenBatch> rank0 = Flux.just(batch(0, 3, model), TokenBatch.empty(1, model.hidden()));
      Flux<TokenBatch> rank1 = Flux.just(TokenBatch.empty(0, model.hidden()), batch(1, 8, model));
      StepVerifier.create(group.forward(List.of(rank0, rank1))) // one list of outputs per step
          .assertNext(step -> assertThat(step).extracting(TokenBatch::tokens).containsExactly(3, 0))
          .assertNext(step -> assertThat(step).extracting(TokenBatch::tokens).containsExactly(0, 8))
          .verifyComplete();
      group.close().block(Duration.ofSeconds(10)); // a last barrier, then a graceful leave
    } finally {
      group.dispose();
    }
  }

  static TokenBatch batch(long step, int tokens, ModelConfig model) {
    float[] data = new float[tokens * model.hidden()];
    for (int i = 0; i < data.length; i++) {
      data[i] = (i % 17) / 17f - 0.5f;
    }
    return TokenBatch.of(step, tokens, model.hidden(), data);
  }
}
